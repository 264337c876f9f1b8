"""eledger.client: every method's transaction is accepted by a real chain (docs/spec/domain.md
§3–§5), and inputs the ledger would reject are refused before signing with the ledger's code."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from eledger.client import AdminClient, Client, DepartmentClient, KeyGrant
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, PersonHolder
from ledger.encoding import b64encode
from ledger.errors import ValidationError
from ledger.governance import read_org, read_recognition
from ledger.identity import KeyStatus
from ledger.licences import read_licence
from ledger.seals import read_seal, read_seal_signature
from tests.ledger.conftest import GENESIS_TIME, make_net
from tests.ledger.test_governance import YEAR_MS, Ledger, type_code, uscc

ORG = uscc(501)
OTHER_ORG = uscc(502)
SEAL = "BJCLIENT0001"
T_DATED = type_code(101)
T_OPEN = type_code(102)
HOLDER = EnterpriseHolder(uscc(900), "天津某某科技有限公司")


@pytest.fixture(scope="module")
def net():
    return make_net()


def grant(key: PrivateKey) -> KeyGrant:
    return KeyGrant(key.public_key, GENESIS_TIME, GENESIS_TIME + YEAR_MS)


class World:
    """A fresh chain with a Beijing department (ORG) admitted, granted both types, with a seal."""

    def __init__(self, net) -> None:
        self.ledger = Ledger(net)
        chain_id = net.genesis.chain_id
        self.admin = AdminClient(net.admin_keys["beijing"], chain_id)
        self.key, self.spare = PrivateKey.generate(), PrivateKey.generate()
        self.ledger.accept(
            self.admin.register_type(T_DATED, "食品经营许可证", validity_required=True),
            self.admin.register_type(T_OPEN, "open type", validity_required=False),
        )
        self.ledger.accept(self.admin.admit_org(ORG, "北京市某区市场监督管理局", [grant(self.key)], [T_DATED]))
        self.ledger.accept(self.admin.grant_types(ORG, [T_OPEN]), self.admin.add_key(ORG, grant(self.spare)))
        # Seals are signed at the last block's time: never after the block that records them.
        self.dept = DepartmentClient(self.key, chain_id, ORG, SEAL, issuer_name="北京市某区市场监督管理局", clock=lambda: self.ledger.time)
        self.ledger.accept(self.dept.register_seal(SEAL, name="licence seal", type="licence", image_hash=bytes(32), valid_from=GENESIS_TIME, valid_until=GENESIS_TIME + YEAR_MS))
        self.serials = itertools.count(1)

    def draft(self, **changes: object):
        fields: dict[str, object] = {
            "type": T_DATED, "serial": str(next(self.serials)), "holder": HOLDER, "type_name": "食品经营许可证",
            "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2027-12-31", "fields": {"经营场所": "北京市东城区"},
        }
        return self.dept.draft_licence(**(fields | changes))


@pytest.fixture
def world(net) -> World:
    return World(net)


def test_governance_methods_are_accepted_by_the_chain(world, net):
    ledger, admin = world.ledger, world.admin
    assert read_org(ledger.state, ORG)["licence_types"] == sorted([T_DATED, T_OPEN])
    assert read_org(ledger.state, ORG)["keys"] == [b64encode(world.key.public_key.key_id), b64encode(world.spare.public_key.key_id)]
    tianjin = AdminClient(net.admin_keys["tianjin"], net.genesis.chain_id)
    ledger.accept(tianjin.declare_recognition("beijing", T_DATED, T_OPEN, "original on request"))
    assert read_recognition(ledger.state, "tianjin", "beijing", T_DATED)["as_type"] == T_OPEN
    ledger.accept(tianjin.withdraw_recognition("beijing", T_DATED), admin.revoke_key(ORG, world.spare.public_key, "key_lost", note="token lost"))
    assert read_recognition(ledger.state, "tianjin", "beijing", T_DATED) is None
    assert ledger.identity(world.spare).status is KeyStatus.REVOKED
    ledger.accept(admin.suspend_org(ORG, "inspection"))
    assert read_org(ledger.state, ORG)["status"] == "suspended"
    ledger.accept(admin.resume_org(ORG, "inspection_passed"))
    assert read_org(ledger.state, ORG)["status"] == "active"


def test_issue_change_and_renew_are_accepted_and_match_their_documents(world):
    ledger, dept = world.ledger, world.dept
    tx, document = dept.issue_licence(world.draft())
    person = dept.person("张三", "110101199003071234")
    person_tx, person_doc = dept.issue_licence(
        type=T_OPEN, serial="77", holder=person, type_name="open type", issue_date="2026-01-01", valid_from="2026-01-01", commitment_deadline="2026-03-31",
    )
    ledger.accept(tx, person_tx)
    record = read_licence(ledger.state, document.licence.id)
    assert (record["status"], record["document_hash"], record["holder"]) == ("valid", b64encode(document.hash), {"kind": "enterprise", "uscc": HOLDER.uscc})
    person_record = read_licence(ledger.state, person_doc.licence.id)
    assert person_record["holder"] == {"kind": "person", "commitment": b64encode(person.commitment)}
    assert person_record["valid_until"] is None and person_record["commitment"] == {"deadline": "2026-03-31", "state": "pending"}
    assert "张三" not in person_tx.to_bytes().decode() and "110101199003071234" not in person_tx.to_bytes().decode()

    renamed = dept.next_licence(document.licence, holder=EnterpriseHolder(HOLDER.uscc, "天津某某科技股份有限公司"), fields={"经营场所": "北京市西城区"})
    change_tx, v2 = dept.change_licence(renamed, "holder_renamed", note="名称变更", new_holder=True)
    ledger.accept(change_tx)
    renew_tx, v3 = dept.renew_licence(dept.next_licence(v2.licence, valid_until="2029-12-31"), "expiry")
    ledger.accept(renew_tx)
    assert read_licence(ledger.state, document.licence.id)["superseded_by"] == v2.licence.id
    latest = read_licence(ledger.state, v3.licence.id)
    assert (latest["supersedes"], latest["valid_until"], latest["document_hash"]) == (v2.licence.id, "2029-12-31", b64encode(v3.hash))
    assert v3.licence.holder.name == "天津某某科技股份有限公司" and dict(v3.licence.fields) == {"经营场所": "北京市西城区"}


def test_status_operations_of_department_and_admin_are_accepted(world):
    ledger, dept = world.ledger, world.dept
    docs = [dept.issue_licence(world.draft(commitment_deadline="2026-06-30")) for _ in range(5)]
    ledger.accept(*(tx for tx, _ in docs))
    ids = [doc.licence.id for _, doc in docs]
    ledger.accept(
        dept.suspend(ids[0], "inspection"), dept.revoke(ids[1], "fraud", note="forged papers"), dept.annul(ids[2], "commitment_failed"),
        world.admin.cancel(ids[3], "holder_request"), dept.confirm(ids[4], note="inspected on site"),
    )
    ledger.accept(world.admin.resume(ids[0], "inspection_passed"))
    statuses = [(read_licence(ledger.state, i)["status"], read_licence(ledger.state, i)["commitment"]["state"]) for i in ids]
    assert statuses == [("valid", "pending"), ("revoked", "void"), ("annulled", "failed"), ("cancelled", "void"), ("valid", "confirmed")]


def test_seal_methods_are_accepted_and_record_signatures(world):
    ledger, dept = world.ledger, world.dept
    digest = hashlib.sha256(b"a contract").digest()
    ledger.accept(dept.record_seal_signature(digest))
    assert read_seal_signature(ledger.state, digest, SEAL)["signer"] == b64encode(world.key.public_key.key_id)
    ledger.accept(world.admin.register_seal("BJADMIN00001", owner=ORG, name="second seal", type="official", image_hash=bytes(range(32)),
                                            signers=[world.key.public_key], valid_from=GENESIS_TIME, valid_until=GENESIS_TIME + YEAR_MS))
    ledger.accept(dept.revoke_seal(SEAL, "replaced"), world.admin.revoke_seal("BJADMIN00001", "replaced"))
    assert read_seal(ledger.state, SEAL)["status"] == read_seal(ledger.state, "BJADMIN00001")["status"] == "revoked"
    tx, _ = dept.issue_licence(world.draft())
    assert (ledger.reject(tx).code, ledger.reject(tx).check) == ("licence.bad_seal", "seal.valid_at_signing")


def test_refusals_carry_the_code_and_field_the_ledger_gives(world):
    """Each case: what the client refuses, and the same body signed raw, which the chain rejects."""
    ledger, admin, dept = world.ledger, world.admin, world.dept
    bad_uscc = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    doc_id = world.draft().id
    cases = [
        (lambda: admin.grant_types(bad_uscc, [T_OPEN]), "org.grant", {"uscc": bad_uscc, "licence_types": [T_OPEN]}),
        (lambda: admin.grant_types(ORG, [T_OPEN, T_OPEN]), "org.grant", {"uscc": ORG, "licence_types": [T_OPEN, T_OPEN]}),
        (lambda: admin.suspend_org(ORG, "Inspection"), "org.suspend", {"uscc": ORG, "reason": "Inspection"}),
        (lambda: admin.register_type(T_OPEN[:-1] + "x", "t", validity_required=True), "ltype.register", {"code": T_OPEN[:-1] + "x", "name": "t", "validity_required": True}),
        (lambda: admin.revoke_key(ORG, world.key.public_key, "lost", note="n" * 257), "org.key_revoke",
         {"uscc": ORG, "key_id": world.key.public_key.key_id, "reason": "lost", "note": "n" * 257}),
        (lambda: dept.register_seal("BJSEAL00002", name="s", type="stamp", image_hash=bytes(32), valid_from=1, valid_until=2), "seal.register",
         {"seal_id": "BJSEAL00002", "owner": ORG, "name": "s", "type": "stamp", "image_hash": bytes(32), "signers": [world.key.public_key.key_id], "valid_from": 1, "valid_until": 2}),
        (lambda: dept.suspend(doc_id[:-1] + ("A" if doc_id[-1] != "A" else "B"), "inspection"), "licence.suspend",
         {"id": doc_id[:-1] + ("A" if doc_id[-1] != "A" else "B"), "reason": "inspection"}),
    ]
    refused = []
    for call, _, _ in cases:
        with pytest.raises(ValidationError) as err:
            call()
        refused.append((err.value.code, err.value.field))
    pending = ledger.produce(*(ledger.signed(admin.key if kind.split(".")[0] in ("org", "ltype") else world.key, kind, body) for _, kind, body in cases))
    assert pending.block.txs == ()
    assert refused == [(r.error.code, r.error.field) for r in pending.rejected]


def test_issue_refusals_name_the_licence_rule(world, net):
    dept = world.dept
    other = DepartmentClient(world.key, net.genesis.chain_id, OTHER_ORG, SEAL, issuer_name="other")
    cases = [
        (lambda: dept.issue_licence(other.draft_licence(type=T_DATED, serial="1", holder=HOLDER, type_name="t", issue_date="2026-01-01", valid_from="2026-01-01")), "licence.issuer_mismatch", "tx.body.id"),
        (lambda: dept.issue_licence(dept.next_licence(world.draft())), "licence.bad_id", "tx.body.id"),
        (lambda: dept.change_licence(world.draft(), "correction"), "licence.bad_id", "tx.body.id"),
        (lambda: dept.renew_licence(dept.next_licence(world.draft()), "Expiry"), "validation.format", "tx.body.reason"),
        (lambda: world.draft(valid_until="2025-12-31"), "licence.bad_dates", "licence.valid_until"),
        (lambda: world.draft(commitment_deadline="2025-12-31"), "licence.bad_dates", "licence.commitment_deadline"),
        (lambda: world.draft(valid_from="2026-02-30"), "validation.date", "licence.valid_from"),
        (lambda: world.draft(serial="12a"), "ids.bad_licence_id", "serial"),
        (lambda: world.draft(type="x"), "ids.bad_type_code", "licence.type"),
        (lambda: DepartmentClient(world.spare, net.genesis.chain_id, ORG, SEAL, world.spare).record_seal_signature(dept.seal_hash(bytes(32))), "seal.not_signer", "tx.body.seal_signature.signer"),
        (lambda: Client(world.key, "Bad Chain"), "validation.format", "tx.chain_id"),
        (lambda: KeyGrant(world.key.public_key, 5, 5), "validation.range", "key.not_after"),
        (lambda: world.admin.admit_org(OTHER_ORG, "x", [grant(world.key), grant(world.key)]), "identity.exists", "tx.body.keys[1].public_key"),
    ]
    for call, code, field in cases:
        with pytest.raises(ValidationError) as err:
            call()
        assert (err.value.code, err.value.field) == (code, field)
    with pytest.raises(TypeError):
        dept.issue_licence(world.draft(), serial="1")
    with pytest.raises(ValueError):
        DepartmentClient(world.key, net.genesis.chain_id, ORG).seal(world.draft())


def test_nonces_and_salts_come_from_the_injected_entropy(world, net):
    draws = []

    def entropy(n: int) -> bytes:
        draws.append(n)
        return bytes([len(draws)]) * n

    client = DepartmentClient(world.key, net.genesis.chain_id, ORG, SEAL, entropy=entropy, clock=lambda: GENESIS_TIME)
    holder = client.person("李四", "120101198001011234")
    assert isinstance(holder, PersonHolder) and holder.salt == bytes([1]) * 16
    tx = client.suspend(world.draft().id, "inspection")
    assert (tx.nonce, draws) == (bytes([2]) * 16, [16, 16])
    assert "PrivateKey" in repr(client) and "BEGIN" not in repr(client)
