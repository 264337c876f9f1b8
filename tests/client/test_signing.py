"""client.signing: every method's transaction is accepted by a real chain (docs/spec/domain.md
§3–§5), and inputs the ledger would reject are refused before signing with the ledger's code."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from client.signing import AdminClient, Client, DepartmentClient, KeyGrant
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, PersonHolder, build_licence
from ledger.encoding import b64encode
from ledger.errors import CryptoError, ValidationError
from ledger.governance import read_org, read_recognition
from ledger.identity import KeyStatus
from ledger.licences import ISSUE_FIELDS, NEW_VERSION_FIELDS, read_licence, stored_seal_signature
from ledger.scenarios import read_scenario
from ledger.seals import ISSUE_KIND, SealSignature, read_seal, read_seal_signature
from ledger.seals import SIGN_PURPOSE as SEAL_PURPOSE
from ledger.tx import SIGN_PURPOSE as TX_PURPOSE
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
    ledger.accept(admin.declare_scenario("beijing", "BJ-SP-001", "食品经营许可核查", [T_OPEN, T_DATED], name_en="Food business licence check"))
    assert read_scenario(ledger.state, "beijing", "BJ-SP-001")["licence_types"] == sorted([T_DATED, T_OPEN])
    ledger.accept(admin.declare_scenario("beijing", "BJ-SP-001", "食品经营许可核查", [T_DATED], withdrawn=True))
    assert read_scenario(ledger.state, "beijing", "BJ-SP-001")["withdrawn"] is True


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


def test_issue_is_a_sealed_transaction_signed_by_the_seal_key_not_the_client_key(world, net):
    """transactions.md §5: a seal key apart from the client's key signs the issue alone; the
    client's key still signs the new versions, whose body.new carries private and the deadline."""
    ledger, chain_id = world.ledger, net.genesis.chain_id
    draws: list[int] = []
    sealer = DepartmentClient(
        world.key, chain_id, ORG, "BJCLIENT0002", world.spare, issuer_name="北京市某区市场监督管理局",
        entropy=lambda n: draws.append(n) or bytes(n), clock=lambda: ledger.time,
    )
    ledger.accept(sealer.register_seal("BJCLIENT0002", name="second seal", type="licence", image_hash=bytes(32), valid_from=GENESIS_TIME, valid_until=GENESIS_TIME + YEAR_MS))
    draws.clear()
    tx, document = sealer.issue_licence(world.draft(commitment_deadline="2026-06-30"))
    seal = document.seal_signature
    assert (tx.kind, tx.signer, tx.nonce, tx.signature) == ("licence.issue", world.spare.public_key.key_id, document.hash[:16], seal.signature)
    assert draws == []  # the nonce is the document hash's prefix, not drawn
    assert seal.kind == ISSUE_KIND and set(tx.body) == set(ISSUE_FIELDS)
    assert tx.body["seal"] == {"seal_id": "BJCLIENT0002", "signing_time": seal.signing_time}
    assert tx.body["private"] == b64encode(document.licence.private_hash()) and tx.body["holder"] == document.licence.holder.to_ledger()
    statement = SealSignature("BJCLIENT0002", document.hash, tx.signer, seal.signing_time, tx.signature, ISSUE_KIND)
    world.spare.public_key.verify(SEAL_PURPOSE, chain_id, statement.message(), tx.signature)
    with pytest.raises(CryptoError):
        world.spare.public_key.verify(TX_PURPOSE, chain_id, tx.id, tx.signature)  # not an envelope signature
    ledger.accept(tx)
    record = read_licence(ledger.state, document.licence.id)
    assert stored_seal_signature(record) == seal and record["seal_signature"]["signer"] == b64encode(world.spare.public_key.key_id)

    change_tx, v2 = sealer.change_licence(sealer.next_licence(document.licence, fields={"经营场所": "北京市西城区"}), "correction")
    assert change_tx.signer == world.key.public_key.key_id and "kind" not in change_tx.body["new"]["seal_signature"]
    assert set(change_tx.body["new"]) == set(NEW_VERSION_FIELDS)
    assert (change_tx.body["new"]["private"], change_tx.body["new"]["commitment_deadline"]) == (b64encode(v2.licence.private_hash()), "2026-06-30")
    ledger.accept(change_tx)
    assert read_licence(ledger.state, v2.licence.id)["document_hash"] == b64encode(v2.hash)


def test_an_issue_sealed_by_a_key_the_seal_does_not_list_is_rejected_at_the_signer(world, net):
    ledger = world.ledger
    outsider = DepartmentClient(world.spare, net.genesis.chain_id, ORG, SEAL, issuer_name="北京市某区市场监督管理局", clock=lambda: ledger.time)
    tx, _ = outsider.issue_licence(world.draft())
    error = ledger.reject(tx)
    assert (error.code, error.check, error.field) == ("licence.bad_seal", "seal.signer_allowed", "tx.signer")


def test_a_new_version_keeps_the_commitment_deadline_as_the_ledger_requires(world):
    ledger, dept = world.ledger, world.dept
    tx, document = dept.issue_licence(world.draft(commitment_deadline="2026-06-30"))
    ledger.accept(tx)
    with pytest.raises(ValidationError) as err:
        dept.next_licence(document.licence, commitment_deadline="2026-07-31")
    refused = (err.value.code, err.value.field)
    assert refused == ("licence.commitment", "tx.body.new.commitment_deadline")
    assert dept.next_licence(document.licence, commitment_deadline="2026-06-30").commitment_deadline == document.licence.commitment_deadline
    kept = dept.next_licence(document.licence)
    moved = build_licence(
        id=kept.id, type_name=kept.type_name, issuer_name=kept.issuer_name, holder=kept.holder, fields=dict(kept.fields),
        issue_date=kept.issue_date, valid_from=kept.valid_from, valid_until=kept.valid_until, commitment_deadline=kept.commitment_deadline.replace(month=7),
    )
    renew_tx, _ = dept.renew_licence(moved, "expiry")
    error = ledger.reject(renew_tx)
    assert (error.code, error.field) == refused


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
        (lambda: admin.declare_scenario("beijing", "BJ SP", "事项", [T_OPEN]), "scenario.declare",
         {"code": "BJ SP", "name": "事项", "region": "beijing", "licence_types": [T_OPEN]}),
        (lambda: admin.declare_scenario("beijing", "BJ-SP-001", "事项", [T_OPEN, T_OPEN]), "scenario.declare",
         {"code": "BJ-SP-001", "name": "事项", "region": "beijing", "licence_types": [T_OPEN, T_OPEN]}),
        (lambda: admin.declare_scenario("beijing", "BJ-SP-001", "事项", []), "scenario.declare",
         {"code": "BJ-SP-001", "name": "事项", "region": "beijing", "licence_types": []}),
        (lambda: dept.suspend(doc_id[:-1] + ("A" if doc_id[-1] != "A" else "B"), "inspection"), "licence.suspend",
         {"id": doc_id[:-1] + ("A" if doc_id[-1] != "A" else "B"), "reason": "inspection"}),
    ]
    refused = []
    for call, _, _ in cases:
        with pytest.raises(ValidationError) as err:
            call()
        refused.append((err.value.code, err.value.field))
    pending = ledger.produce(*(ledger.signed(admin.key if kind.split(".")[0] in ("org", "ltype", "scenario") else world.key, kind, body) for _, kind, body in cases))
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


def test_a_commitment_licence_gets_a_new_version_dated_after_its_deadline(world):
    ledger, dept = world.ledger, world.dept
    tx, document = dept.issue_licence(world.draft(commitment_deadline="2026-06-30"))
    ledger.accept(tx)
    later = dept.next_licence(document.licence, issue_date="2026-09-01", valid_from="2026-09-01")
    assert later.commitment_deadline < later.issue_date
    renew_tx, renewed = dept.renew_licence(later, "expiry")
    ledger.accept(renew_tx)
    record = read_licence(ledger.state, renewed.licence.id)
    assert (record["issue_date"], record["commitment"]["deadline"]) == ("2026-09-01", "2026-06-30")
