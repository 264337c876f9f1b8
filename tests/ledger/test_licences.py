"""ledger.licences: status operations and new versions through real blocks (docs/spec/domain.md
§5, §8), with the secondary indexes checked against a reference; the shared helpers of the
licence tests. licence.issue, a sealed transaction, is tested in test_licence_issue.py."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, build_licence, seal_document
from ledger.encoding import b64decode, b64encode, decode
from ledger.ids import format_licence_id, mod37_36_check, next_version, parse_licence_id
from ledger.licences import (
    Status, is_lapsed, is_overdue, list_index, list_overdue, read_licence, record_id, stored_seal_signature, status_at, version_chain,
)
from ledger.licence_bodies import issue_tx, version_body
from ledger.seals import ISSUE_KIND, SealSignature
from ledger.state import FLAT_PREFIX, INDEX_PREFIX
from ledger.tx import Tx

from .test_governance import Ledger, grant, type_code, uscc
from .test_seals import seal_body

VECTOR_ID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
VECTOR_ISSUER = "11220000013544541J"
T_DATED = type_code(32)  # validity_required: the type of the GB/T 36904 vector
T_OPEN = type_code(2)  # may be permanent
HOLDER = EnterpriseHolder(uscc(700), "北京某某餐饮有限公司")
# §5: the members of every stored record, and of its seal signature (no document_hash: the record's).
RECORD_MEMBERS = {
    "id", "region", "holder", "document_hash", "issue_date", "valid_from", "valid_until", "status", "reason",
    "commitment", "supersedes", "superseded_by", "seal_signature", "issued_at", "updated_at",
}
STORED_SEAL_SIGNATURE_MEMBERS = {"seal_id", "signer", "signing_time", "signature"}
# Sizes of the records below (canonical bytes, raw 64-byte P-256 signatures): an enterprise
# licence with a 7-digit serial measures 703 (861 while records repeated the id's parts and the
# seal signature's document hash); a person holder with a pending inspection, 763.
ENTERPRISE_RECORD_BYTES = 705
PERSON_RECORD_BYTES = 765


@dataclasses.dataclass
class Dept:
    uscc: str
    key: PrivateKey  # listed in the seal
    other: PrivateKey  # a key of the department the seal does not list
    seal_id: str


def make_depts(ledger: Ledger, specs: list[tuple[str, str, list[str], str]]) -> list[Dept]:
    """Admit departments (uscc, region, types, seal id) and register one seal each, in two blocks."""
    depts = [Dept(code, PrivateKey.generate(), PrivateKey.generate(), seal) for code, _, _, seal in specs]
    ledger.accept(*(
        ledger.admin(region, "org.admit", {"uscc": d.uscc, "name": f"dept {d.uscc}", "keys": [grant(d.key), grant(d.other)], "licence_types": types})
        for d, (_, region, types, _) in zip(depts, specs)
    ))
    ledger.accept(*(ledger.signed(d.key, "seal.register", seal_body(d.seal_id, d.uscc, d.key)) for d in depts))
    return depts


@pytest.fixture
def world(net) -> tuple[Ledger, Dept, Dept]:
    """Beijing department A (both types, the vector's USCC) and B (T_DATED only), each with a seal."""
    ledger = Ledger(net)
    ledger.accept(
        ledger.admin("beijing", "ltype.register", {"code": T_DATED, "name": "食品经营许可证", "validity_required": True}),
        ledger.admin("beijing", "ltype.register", {"code": T_OPEN, "name": "open type", "validity_required": False}),
    )
    a, b = make_depts(ledger, [(VECTOR_ISSUER, "beijing", [T_DATED, T_OPEN], "BJSEALA001"), (uscc(2), "beijing", [T_DATED], "BJSEALB001")])
    return ledger, a, b


def make_doc(
    ledger: Ledger, dept: Dept, serial: int | str, *, type: str = T_DATED, version: str = "001", holder=HOLDER,
    valid_from: str = "2026-01-01", valid_until: str | None = "2027-12-31", deadline: str | None = None,
    issuer: str | None = None, seal_key: PrivateKey | None = None, seal_id: str | None = None, signing_time: int | None = None,
) -> LicenceDocument:
    """A document of `dept` sealed (by default) with its seal and listed key at the last block time;
    a first version's seal signature states the kind licence.issue (seal_document)."""
    licence_id = format_licence_id(type, issuer or dept.uscc, str(serial), version)
    part = build_licence(
        id=licence_id, type_name="食品经营许可证", issuer_name="北京市某区市场监督管理局", holder=holder,
        issue_date=dt.date(2026, 1, 1), valid_from=dt.date.fromisoformat(valid_from),
        valid_until=None if valid_until is None else dt.date.fromisoformat(valid_until),
        commitment_deadline=None if deadline is None else dt.date.fromisoformat(deadline), fields={"经营场所": "北京市东城区"},
    )
    chain_id, time = ledger.net.genesis.chain_id, ledger.time if signing_time is None else signing_time
    return seal_document(part, seal_key or dept.key, chain_id, seal_id or dept.seal_id, time)


def issue(ledger: Ledger, dept: Dept, doc: LicenceDocument, **changes: object) -> Tx:
    """The licence.issue of `doc`, which `dept` submits: `issue_tx`, whose signer and signature
    are the document's seal signature (whoever sealed it), nothing signed here. `changes`
    replace body members afterwards, keeping nonce and signature: a tampered body."""
    tx = issue_tx(doc, ledger.net.genesis.chain_id)
    return tx if not changes else Tx.sealed(tx.chain_id, tx.kind, tx.body | changes, tx.signer, tx.nonce, tx.signature)


def op(ledger: Ledger, key: PrivateKey, kind: str, licence_id: str, reason: str | None = "inspection") -> Tx:
    body: dict[str, object] = {"id": licence_id}
    if reason is not None and kind != "licence.confirm":
        body["reason"] = reason
    return ledger.signed(key, kind, body)


def check_indexes(ledger: Ledger) -> None:
    """Reference for §8: the idx/ entries are exactly those derived from the latest records (issuer
    and type from the id) and the seals (by owner), plus the history (check_history); and §5: every record, of every version and status, holds exactly the
    §5 members and names its issuing organisation's region."""
    kv = ledger.local.chain.kv
    expected: set[bytes] = set()
    for _, raw in kv.iterate(FLAT_PREFIX + b"lic/"):
        record = decode(raw)
        assert set(record) == RECORD_MEMBERS and set(record["seal_signature"]) == STORED_SEAL_SIGNATURE_MEMBERS
        parts = parse_licence_id(record["id"])
        assert record["region"] == decode(ledger.state.get(f"org/{parts.issuer}".encode()))["region"]
        if record["superseded_by"] is not None:
            continue
        holder = record["holder"]
        part = holder["uscc"] if holder["kind"] == "enterprise" else holder["commitment"]
        expected |= {f"holder/{part}/{record['id']}".encode(), f"issuer/{parts.issuer}/{record['id']}".encode(), f"type/{parts.type}/{record['id']}".encode()}
        if record["commitment"] is not None and record["commitment"]["state"] == "pending":
            expected.add(f"deadline/{record['commitment']['deadline']}/{record['id']}".encode())
    for _, raw in kv.iterate(FLAT_PREFIX + b"seal/"):
        seal = decode(raw)
        expected.add(f"seal/{seal['owner']}/{seal['seal_id']}".encode())
    history = INDEX_PREFIX + b"history/"
    assert {key[len(INDEX_PREFIX):] for key, _ in kv.iterate(INDEX_PREFIX) if not key.startswith(history)} == expected
    check_history(ledger)


def check_history(ledger: Ledger) -> None:
    """Reference for §8.3: one history entry per committed licence transaction, under its
    licence's base, at its height and position in the block, naming its kind and id."""
    chain = ledger.local.chain
    expected: dict[bytes, tuple[str, bytes]] = {}
    for height in range(1, chain.height + 1):
        for index, tx in enumerate(chain.block(height).txs):
            if tx.kind.startswith("licence."):
                parts = parse_licence_id(tx.body["id"])
                base = f"1.2.156.3005.2.{parts.type}.{parts.issuer}.{parts.serial}"
                expected[f"history/{base}/".encode() + height.to_bytes(8, "big") + index.to_bytes(4, "big")] = (tx.kind, tx.id)
    found = {key[len(INDEX_PREFIX):]: decode(value) for key, value in chain.kv.iterate(INDEX_PREFIX + b"history/")}
    assert set(found) == set(expected)
    for key, summary in found.items():
        assert (summary["kind"], b64decode(summary["tx"])) == expected[key]


# -- status operations -----------------------------------------------------------------------

SETUP = {"valid": [], "suspended": ["licence.suspend"], "revoked": ["licence.revoke"], "annulled": ["licence.annul"], "cancelled": ["licence.cancel"]}
# Literal §5 table: kind -> (statuses it applies to, resulting status or None = unchanged, commitment after).
EXPECTED = {
    "licence.suspend": ({"valid"}, "suspended", "pending"),
    "licence.resume": ({"suspended"}, "valid", "pending"),
    "licence.revoke": ({"valid", "suspended"}, "revoked", "void"),
    "licence.annul": ({"valid", "suspended"}, "annulled", "failed"),
    "licence.cancel": ({"valid", "suspended"}, "cancelled", "void"),
    "licence.confirm": ({"valid", "suspended"}, None, "confirmed"),
}


def test_every_status_operation_from_every_status(world):
    ledger, a, _ = world
    cases = [(kind, status) for kind in EXPECTED for status in SETUP]
    docs = [make_doc(ledger, a, 100 + i, deadline="2026-06-30") for i in range(len(cases))]
    ledger.accept(*(issue(ledger, a, d) for d in docs))
    ids = [d.licence.id for d in docs]
    ledger.accept(*(op(ledger, a.key, k, i) for (_, status), i in zip(cases, ids) for k in SETUP[status]))
    before = {i: read_licence(ledger.state, i) for i in ids}
    pending = ledger.produce(*(op(ledger, a.key, kind, i, reason="decided") for (kind, _), i in zip(cases, ids)))
    rejected = {r.tx.body["id"]: r.error for r in pending.rejected}
    for (kind, status), licence_id in zip(cases, ids):
        sources, target, commitment = EXPECTED[kind]
        record = read_licence(ledger.state, licence_id)
        if status in sources:
            assert licence_id not in rejected, (kind, status)
            assert record["status"] == (target or status)
            assert record["commitment"] == {"deadline": "2026-06-30", "state": commitment}
            assert record["reason"] == (before[licence_id]["reason"] if target is None else {"code": "decided", "note": None})
            assert record["updated_at"] == ledger.time
        else:
            assert (rejected[licence_id].code, rejected[licence_id].status) == ("licence.status", status), (kind, status)
            assert record == before[licence_id]
    assert len(pending.block.txs) == sum(len(EXPECTED[k][0]) for k in EXPECTED)
    check_indexes(ledger)


def test_status_operation_authority_and_errors(world, net):
    ledger, a, b = world
    docs = [make_doc(ledger, a, n) for n in (1, 2, 3)]
    ledger.accept(*(issue(ledger, a, d) for d in docs))
    first, second, third = (d.licence.id for d in docs)
    ledger.accept(
        op(ledger, net.admin_keys["beijing"], "licence.suspend", first),
        op(ledger, a.other, "licence.suspend", second),
        ledger.signed(a.key, "licence.revoke", {"id": third, "reason": "fraud", "note": "查实提供虚假材料"}),
    )
    assert read_licence(ledger.state, first)["status"] == read_licence(ledger.state, second)["status"] == "suspended"
    assert read_licence(ledger.state, third)["reason"] == {"code": "fraud", "note": "查实提供虚假材料"}
    unknown = format_licence_id(T_DATED, a.uscc, "999", "001")
    assert ledger.codes(
        op(ledger, net.admin_keys["tianjin"], "licence.resume", first),
        op(ledger, b.key, "licence.resume", first),
        op(ledger, a.key, "licence.resume", unknown),
        op(ledger, a.key, "licence.confirm", first),
        op(ledger, a.key, "licence.resume", first, reason="Bad Reason"),
        op(ledger, a.key, "licence.resume", first, reason=None),
        ledger.signed(a.key, "licence.confirm", {"id": first, "reason": "x"}),
        op(ledger, net.validator_keys[0], "licence.resume", first),
    ) == ["gov.other_region", "licence.other_issuer", "licence.unknown", "licence.commitment", "validation.format",
          "validation.missing_field", "validation.unknown_field", "tx.forbidden"]
    ledger.accept(op(ledger, net.admin_keys["beijing"], "licence.resume", first))
    assert read_licence(ledger.state, first)["status"] == "valid"


def test_admin_acts_on_licences_of_a_suspended_department(world, net):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 1)
    ledger.accept(issue(ledger, a, doc))
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": a.uscc, "reason": "inspection"}))
    assert ledger.reject(op(ledger, a.key, "licence.suspend", doc.licence.id)).code == "org.status"
    ledger.accept(op(ledger, net.admin_keys["beijing"], "licence.revoke", doc.licence.id))
    assert read_licence(ledger.state, doc.licence.id)["status"] == "revoked"


# -- versions --------------------------------------------------------------------------------


def test_change_and_renew_make_new_versions_in_one_chain(world):
    ledger, a, _ = world
    v1 = make_doc(ledger, a, 2430599, deadline="2026-05-01")
    ledger.accept(issue(ledger, a, v1))
    new_holder = EnterpriseHolder(uscc(701), "北京新某餐饮有限公司")
    v2 = make_doc(ledger, a, 2430599, version="002", holder=new_holder, deadline="2026-05-01")
    assert v2.licence.id == next_version(VECTOR_ID)
    parsed = parse_licence_id(v2.licence.id)
    assert parsed.version == "002" and parsed.check == mod37_36_check(T_DATED + VECTOR_ISSUER + "2430599002")
    ledger.accept(ledger.signed(a.key, "licence.change", version_body(v2, VECTOR_ID, "holder_renamed", note="名称变更", with_holder=True)))
    changed_at = ledger.time
    v3 = make_doc(ledger, a, 2430599, version="003", holder=new_holder, valid_until="2030-12-31", deadline="2026-05-01")
    ledger.accept(ledger.signed(a.other, "licence.renew", version_body(v3, v2.licence.id, "expiry")))
    chain = version_chain(ledger.state, VECTOR_ID)
    assert [r["id"] for r in chain] == [VECTOR_ID, v2.licence.id, v3.licence.id]
    assert version_chain(ledger.state, v3.licence.id) == version_chain(ledger.state, v2.licence.id) == chain
    first, second, third = chain
    assert (first["superseded_by"], first["updated_at"], first["status"]) == (v2.licence.id, changed_at, "valid")
    assert (second["supersedes"], second["superseded_by"], second["reason"]) == (VECTOR_ID, v3.licence.id, {"code": "holder_renamed", "note": "名称变更"})
    assert second["holder"] == {"kind": "enterprise", "uscc": new_holder.uscc} and second["document_hash"] == b64encode(v2.hash)
    assert (third["supersedes"], third["superseded_by"], third["valid_until"], third["holder"]) == (v2.licence.id, None, "2030-12-31", second["holder"])
    assert third["commitment"] == first["commitment"] == {"deadline": "2026-05-01", "state": "pending"}
    assert first["region"] == second["region"] == third["region"] == "beijing"
    assert [(p.type, p.issuer, p.serial, p.version) for p in map(record_id, chain)] == [(T_DATED, VECTOR_ISSUER, "2430599", v) for v in ("001", "002", "003")]
    assert [stored_seal_signature(r) for r in chain] == [v1.seal_signature, v2.seal_signature, v3.seal_signature]
    kv = ledger.local.chain.kv
    assert list_index(kv, "holder", HOLDER.uscc) == [] and list_index(kv, "holder", new_holder.uscc) == [v3.licence.id]
    assert list_index(kv, "issuer", VECTOR_ISSUER) == [v3.licence.id]
    assert list_overdue(kv, "2026-05-02") == [v3.licence.id]
    assert not is_overdue(first, "2026-05-02") and is_overdue(third, "2026-05-02")
    check_indexes(ledger)
    assert version_chain(ledger.state, format_licence_id(T_DATED, a.uscc, "1", "001")) == []


def test_new_version_errors(world, net):
    ledger, a, b = world
    v1 = make_doc(ledger, a, 7)
    other = make_doc(ledger, a, 8)
    ledger.accept(issue(ledger, a, v1), issue(ledger, a, other))
    v2 = make_doc(ledger, a, 7, version="002")
    change = version_body(v2, v1.licence.id, "correction")
    ledger.accept(ledger.signed(a.key, "licence.change", change))
    v3 = make_doc(ledger, a, 7, version="003")
    other2 = make_doc(ledger, a, 8, version="002")
    ledger.accept(op(ledger, a.key, "licence.suspend", other.licence.id))
    b_doc = make_doc(ledger, a, 7, version="003", seal_key=b.key, seal_id=b.seal_id)
    assert ledger.codes(
        ledger.signed(a.key, "licence.change", change),
        op(ledger, a.key, "licence.suspend", v1.licence.id),
        ledger.signed(a.key, "licence.change", version_body(other2, other.licence.id, "correction")),
        ledger.signed(a.key, "licence.renew", version_body(v3, v2.licence.id, "expiry", with_holder=True)),
        ledger.signed(b.key, "licence.change", version_body(v3, v2.licence.id, "correction")),
        ledger.signed(net.admin_keys["beijing"], "licence.change", version_body(v3, v2.licence.id, "correction")),
        ledger.signed(a.key, "licence.change", version_body(b_doc, v2.licence.id, "correction")),
        ledger.signed(a.key, "licence.renew", version_body(v3, v2.licence.id, "expiry") | {"reason": "Expiry"}),
    ) == ["licence.superseded", "licence.superseded", "licence.status", "validation.unknown_field", "licence.other_issuer",
          "tx.forbidden", "licence.bad_seal", "validation.format"]
    check_indexes(ledger)


def test_a_new_version_keeps_the_commitment_deadline_of_the_version_it_supersedes(world):
    ledger, a, _ = world
    pending, plain = make_doc(ledger, a, 7, deadline="2026-05-01"), make_doc(ledger, a, 8)
    ledger.accept(issue(ledger, a, pending), issue(ledger, a, plain))
    before = ledger.local.chain.tip.state_root
    cases = [
        (make_doc(ledger, a, 7, version="002"), pending),
        (make_doc(ledger, a, 7, version="002", deadline="2026-06-01"), pending),
        (make_doc(ledger, a, 8, version="002", deadline="2026-05-01"), plain),
    ]
    pending_block = ledger.produce(*(ledger.signed(a.key, "licence.change", version_body(doc, old.licence.id, "correction")) for doc, old in cases))
    assert pending_block.block.txs == () and ledger.local.chain.tip.state_root == before
    assert [(r.error.code, r.error.field) for r in pending_block.rejected] == [("licence.commitment", "tx.body.new.commitment_deadline")] * 3
    kept = make_doc(ledger, a, 7, version="002", deadline="2026-05-01")
    ledger.accept(ledger.signed(a.key, "licence.renew", version_body(kept, pending.licence.id, "expiry")))
    assert read_licence(ledger.state, kept.licence.id)["commitment"] == {"deadline": "2026-05-01", "state": "pending"}


def test_a_new_version_is_refused_unless_its_seal_signature_states_no_kind_and_is_over_the_recomputed_hash(world):
    ledger, a, _ = world
    chain_id = ledger.net.genesis.chain_id
    v1 = make_doc(ledger, a, 7)
    ledger.accept(issue(ledger, a, v1))
    v2 = make_doc(ledger, a, 7, version="002")
    stated = LicenceDocument(v2.licence, SealSignature.create(a.key, chain_id, a.seal_id, v2.hash, ledger.time, kind=ISSUE_KIND))
    body = version_body(v2, v1.licence.id, "correction", with_holder=True)

    def change(**new: object) -> Tx:
        return ledger.signed(a.key, "licence.change", body | {"new": body["new"] | new})

    cases = [
        (ledger.signed(a.key, "licence.change", version_body(stated, v1.licence.id, "correction")), "licence.bad_seal", "seal.kind", "tx.body.new.seal_signature.kind"),
        (change(valid_until="2028-12-31"), "licence.bad_seal", "seal.document_hash", "tx.body.new.seal_signature.document_hash"),
        (change(issue_date="2026-01-02"), "licence.bad_seal", "seal.document_hash", "tx.body.new.seal_signature.document_hash"),
        (change(holder={"kind": "enterprise", "uscc": uscc(703)}), "licence.bad_seal", "seal.document_hash", "tx.body.new.seal_signature.document_hash"),
        (change(private=bytes(32)), "licence.bad_seal", "seal.document_hash", "tx.body.new.seal_signature.document_hash"),
        (change(private="x"), "validation.binary", None, "tx.body.new.private"),
        (change(document_hash=v2.hash), "validation.unknown_field", None, "tx.body.new.document_hash"),
    ]
    before = ledger.local.chain.tip.state_root
    pending = ledger.produce(*(tx for tx, *_ in cases))
    assert pending.block.txs == () and ledger.local.chain.tip.state_root == before
    assert [(r.error.code, r.error.fields.get("check"), r.error.field) for r in pending.rejected] == [tuple(c[1:]) for c in cases]
    ledger.accept(ledger.signed(a.key, "licence.change", body))
    assert read_licence(ledger.state, v2.licence.id)["document_hash"] == b64encode(v2.hash)


# -- derived states ----------------------------------------------------------------------------


def _cst_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, ms: int = 0) -> int:
    moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(moment.timestamp()) * 1000 + ms


def test_lapse_is_derived_from_the_window_at_the_time_asked(world):
    ledger, a, _ = world
    dated = make_doc(ledger, a, 1, valid_from="2026-01-01", valid_until="2026-06-30")
    permanent = make_doc(ledger, a, 2, type=T_OPEN, valid_until=None)
    ledger.accept(issue(ledger, a, dated), issue(ledger, a, permanent))
    record = read_licence(ledger.state, dated.licence.id)
    forever = read_licence(ledger.state, permanent.licence.id)
    assert record["status"] == "valid"  # lapse is never stored
    before, first, last, after = _cst_ms(2025, 12, 31, 23, 59, 59, 999), _cst_ms(2026, 1, 1), _cst_ms(2026, 6, 30, 23, 59, 59, 999), _cst_ms(2026, 7, 1)
    assert [is_lapsed(record, t) for t in (before, first, last, after)] == [True, False, False, True]
    assert [status_at(record, t) for t in (before, last, after)] == [Status.LAPSED, Status.VALID, Status.LAPSED]
    assert [is_lapsed(forever, t) for t in (first, _cst_ms(2999, 1, 1))] == [False, False]
    assert is_lapsed(forever, before)
    assert status_at({**record, "status": "suspended"}, after) is Status.SUSPENDED


def test_overdue_commitments_are_listed_by_date_through_the_index(world):
    ledger, a, _ = world
    deadlines = ["2026-03-01", "2026-03-15", "2026-04-01", None]
    docs = [make_doc(ledger, a, 10 + i, deadline=d) for i, d in enumerate(deadlines)]
    ledger.accept(*(issue(ledger, a, d) for d in docs))
    ids = [d.licence.id for d in docs]
    kv = ledger.local.chain.kv
    assert list_index(kv, "deadline", "2026-03-15") == [ids[1]]
    assert [list_overdue(kv, day) for day in ("2026-03-01", "2026-03-02", "2026-03-16", dt.date(2026, 4, 2))] == [
        [], [ids[0]], [ids[0], ids[1]], [ids[0], ids[1], ids[2]],
    ]
    ledger.accept(op(ledger, a.key, "licence.confirm", ids[0]), op(ledger, a.key, "licence.annul", ids[1], reason="inspection_failed"))
    assert list_overdue(kv, "2026-12-31") == [ids[2]]
    records = [read_licence(ledger.state, i) for i in ids]
    assert [r["commitment"] for r in records] == [
        {"deadline": "2026-03-01", "state": "confirmed"}, {"deadline": "2026-03-15", "state": "failed"},
        {"deadline": "2026-04-01", "state": "pending"}, None,
    ]
    assert records[1]["status"] == "annulled"
    assert [is_overdue(r, "2026-12-31") for r in records] == [False, False, True, False]
    assert [is_overdue(records[2], d) for d in ("2026-04-01", "2026-04-02")] == [False, True]
    assert ledger.reject(op(ledger, a.key, "licence.confirm", ids[0])).code == "licence.commitment"
    check_indexes(ledger)

