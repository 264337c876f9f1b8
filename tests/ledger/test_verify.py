"""ledger.verify: one verdict with every named check (docs/spec/domain.md §9), judged over states
made by real blocks: each status, lapse, versions, altered documents, person holders,
commitments, cross-region recognition, earlier heights, forged and partial states."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
from ledger.bundle import build_bundle, verify_bundle
from ledger.calendar import DAY_MS, LAST_DATED_MS, UTC_OFFSET_MS
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, PersonHolder, build_licence, seal_document
from ledger.encoding import b64encode, decode, encode
from ledger.chain import Chain
from ledger.errors import StoreError, ValidationError
from ledger.ids import format_licence_id
from ledger.kv import MemoryKV
from ledger.licences import licence_key
from ledger.licence_bodies import issue_tx, version_body
from ledger.qr import QrClaim, decode_qr, encode_qr
from ledger.verify import CHECK_NAMES, Outcome, Presented, StateAt, Verdict, verify_licence
from node.local import LocalNetwork

from .conftest import GENESIS_TIME
from .test_governance import Ledger, grant, type_code, uscc
from .test_seals import seal_body

T = type_code(41)  # a Beijing type
T_TJ = type_code(42)  # the Tianjin type it is recognised as
HOLDER = EnterpriseHolder(uscc(800), "北京某某商贸有限公司")
PERSON = PersonHolder("李四", "120101198805061234", bytes(range(16)))


@dataclasses.dataclass
class Dept:
    uscc: str
    key: PrivateKey
    seal_id: str


@pytest.fixture
def world(net) -> tuple[Ledger, Dept]:
    """A Beijing department holding type T with one seal; Tianjin has registered type T_TJ."""
    ledger = Ledger(net)
    ledger.accept(
        ledger.admin("beijing", "ltype.register", {"code": T, "name": "食品经营许可证", "validity_required": False}),
        ledger.admin("tianjin", "ltype.register", {"code": T_TJ, "name": "食品经营许可证(津)", "validity_required": False}),
    )
    dept = Dept(uscc(801), PrivateKey.generate(), "BJVERIFY0001")
    ledger.accept(ledger.admin("beijing", "org.admit", {"uscc": dept.uscc, "name": "北京市某区市场监督管理局", "keys": [grant(dept.key)], "licence_types": [T]}))
    ledger.accept(ledger.signed(dept.key, "seal.register", seal_body(dept.seal_id, dept.uscc, dept.key)))
    return ledger, dept


def make_doc(
    ledger: Ledger, dept: Dept, serial: int, *, version: str = "001", holder=HOLDER, valid_until: str | None = "2027-12-31",
    deadline: str | None = None, fields: dict[str, str] | None = None,
) -> LicenceDocument:
    part = build_licence(
        id=format_licence_id(T, dept.uscc, str(serial), version), type_name="食品经营许可证", issuer_name="北京市某区市场监督管理局",
        holder=holder, issue_date=dt.date(2026, 1, 1), valid_from=dt.date(2026, 1, 1),
        valid_until=None if valid_until is None else dt.date.fromisoformat(valid_until),
        commitment_deadline=None if deadline is None else dt.date.fromisoformat(deadline), fields=fields or {"经营场所": "北京市东城区"},
    )
    return seal_document(part, dept.key, ledger.net.genesis.chain_id, dept.seal_id, ledger.time)


def issue(ledger: Ledger, dept: Dept, *docs: LicenceDocument) -> None:
    """Record first versions: each document's seal signature is its licence.issue's (transactions.md §5)."""
    ledger.accept(*(issue_tx(d, ledger.net.genesis.chain_id) for d in docs))


def act(ledger: Ledger, dept: Dept, kind: str, *ids: str) -> None:
    ledger.accept(*(ledger.signed(dept.key, kind, {"id": i} if kind == "licence.confirm" else {"id": i, "reason": "inspection"}) for i in ids))


def verify(ledger: Ledger, *, region: str = "beijing", at: int | None = None, reader=None, **presented) -> Verdict:
    return verify_licence(
        reader if reader is not None else StateAt(ledger.local.chain), chain_id=ledger.net.genesis.chain_id,
        at_time=ledger.time if at is None else at, asking_region=region, **presented,
    )


def outcomes(verdict: Verdict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in verdict.to_json()["checks"]}


def cst_ms(day: str) -> int:
    """00:00 of `day` in China Standard Time, in ms since the epoch."""
    return (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days * DAY_MS - UTC_OFFSET_MS


def failed(verdict: Verdict) -> list[str]:
    return [c.name for c in verdict.checks if c.ok is False]


# -- the verdict -----------------------------------------------------------------------------------


def test_a_valid_licence_passes_every_check_by_id_and_by_document(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 1)
    issue(ledger, dept, doc)
    by_id = verify(ledger, licence_id=doc.licence.id)
    assert by_id.verdict is Outcome.VALID and by_id.verdict == "valid"
    assert tuple(c.name for c in by_id.checks) == CHECK_NAMES
    assert by_id.not_applicable == {"document_matches", "holder_matches", "commitment"}
    assert by_id.check("document_matches").detail == "no document presented"
    assert [c.name for c in by_id.checks if c.ok is True] == [n for n in CHECK_NAMES if n not in by_id.not_applicable]
    assert [c.name for c in by_id.seal_checks] == [
        "seal.registered", "seal.owner", "seal.valid_at_signing", "seal.signer_allowed", "seal.document_hash", "seal.signer_key", "seal.signature",
    ]
    assert by_id.recognition is None and by_id.record["document_hash"] == b64encode(doc.hash)
    assert by_id.height == ledger.local.chain.height and by_id.licence_id == doc.licence.id
    by_doc = verify(ledger, document=doc)
    assert by_doc.verdict is Outcome.VALID and by_doc.not_applicable == {"commitment"}
    assert by_doc.check("document_matches").ok and by_doc.check("holder_matches").ok
    assert verify(ledger, document=doc, licence_id=doc.licence.id).checks == by_doc.checks
    shown = by_doc.to_json()
    assert decode(encode(shown)) == shown
    assert outcomes(by_doc)["commitment"] == "not_applicable" and outcomes(by_doc)["status"] == "passed"


def test_each_status_gives_its_verdict(world):
    ledger, dept = world
    docs = [make_doc(ledger, dept, n) for n in range(1, 6)]
    issue(ledger, dept, *docs)
    ids = [d.licence.id for d in docs]
    act(ledger, dept, "licence.suspend", ids[1])
    act(ledger, dept, "licence.revoke", ids[2])
    act(ledger, dept, "licence.annul", ids[3])
    act(ledger, dept, "licence.cancel", ids[4])
    verdicts = [verify(ledger, licence_id=i) for i in ids]
    assert [v.verdict for v in verdicts] == [Outcome.VALID] + [Outcome.INVALID] * 4
    assert [failed(v) for v in verdicts] == [[]] + [["status"]] * 4
    assert [v.check("status").detail.split(" ")[0] for v in verdicts] == ["valid", "suspended", "revoked", "annulled", "cancelled"]
    assert "暂扣" in verdicts[1].check("status").detail and "reason inspection" in verdicts[1].check("status").detail
    act(ledger, dept, "licence.resume", ids[1])
    assert verify(ledger, licence_id=ids[1]).verdict is Outcome.VALID


def test_revoking_the_seal_or_key_or_suspending_the_issuer_later_leaves_the_licence_valid(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 2)
    issue(ledger, dept, doc)
    ledger.accept(ledger.signed(dept.key, "seal.revoke", {"seal_id": dept.seal_id, "reason": "replaced"}))
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": dept.uscc, "key_id": dept.key.public_key.key_id, "reason": "key_lost"}))
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": dept.uscc, "reason": "inspection"}))
    verdict = verify(ledger, document=doc)
    assert verdict.verdict is Outcome.VALID and all(c.ok for c in verdict.seal_checks)
    assert verdict.check("issuer_authorised").detail.endswith("; it is suspended now, which stops new acts, not its licences")


def test_a_licence_outside_its_window_is_lapsed_or_not_yet_in_force(world):
    ledger, dept = world
    dated, permanent = make_doc(ledger, dept, 1), make_doc(ledger, dept, 2, valid_until=None)
    issue(ledger, dept, dated, permanent)
    last_ms = cst_ms("2028-01-01") - 1  # 2027-12-31 23:59:59.999 in UTC+8
    assert verify(ledger, licence_id=dated.licence.id, at=last_ms).verdict is Outcome.VALID
    lapsed = verify(ledger, licence_id=dated.licence.id, at=last_ms + 1)
    assert (lapsed.verdict, failed(lapsed)) == (Outcome.INVALID, ["within_validity"])
    assert lapsed.check("within_validity").detail == "lapsed (失效) on 2028-01-01: its validity was 2026-01-01..2027-12-31"
    early = verify(ledger, licence_id=dated.licence.id, at=cst_ms("2026-01-01") - 1)
    assert failed(early) == ["within_validity"] and early.check("within_validity").detail.startswith("not yet in force on 2025-12-31")
    assert verify(ledger, licence_id=permanent.licence.id, at=cst_ms("2099-01-01")).verdict is Outcome.VALID


def test_a_superseded_version_is_invalid_with_latest_version_failed(world):
    ledger, dept = world
    v1 = make_doc(ledger, dept, 7, deadline="2026-03-31")
    issue(ledger, dept, v1)
    v2 = make_doc(ledger, dept, 7, version="002", valid_until="2029-12-31", deadline="2026-03-31")
    ledger.accept(ledger.signed(dept.key, "licence.renew", version_body(v2, v1.licence.id, "expiry")))
    old = verify(ledger, document=v1)
    assert (old.verdict, failed(old)) == (Outcome.INVALID, ["latest_version"])
    assert old.check("document_matches").ok and old.check("latest_version").detail == f"version 001 was superseded by {v2.licence.id}"
    new = verify(ledger, document=v2)
    assert new.verdict is Outcome.VALID and new.check("latest_version").detail == "version 002 is the latest"
    # an overdue inspection is judged on the latest version only (§5)
    late = cst_ms("2026-04-01")
    assert failed(verify(ledger, document=v1, at=late)) == ["latest_version"] and "commitment" in verify(ledger, document=v1, at=late).not_applicable
    assert failed(verify(ledger, document=v2, at=late)) == ["commitment"]
    # the old document presented under the new id is refused before any check is run
    with pytest.raises(ValidationError) as err:
        verify(ledger, document=v1, licence_id=v2.licence.id)
    assert err.value.code == "verify.id_mismatch"


def test_an_altered_document_fails_document_matches(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 3)
    issue(ledger, dept, doc)
    widened = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, fields=(("经营场所", "北京市西城区"),)))
    verdict = verify(ledger, document=widened)
    assert (verdict.verdict, failed(verdict)) == (Outcome.INVALID, ["document_matches"])
    other_holder = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, holder=EnterpriseHolder(uscc(802), HOLDER.name)))
    assert failed(verify(ledger, document=other_holder)) == ["document_matches", "holder_matches"]
    as_person = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, holder=PERSON))
    assert verify(ledger, document=as_person).check("holder_matches").detail == "the document names a person; the record's holder is an enterprise"


def test_a_presented_new_version_altered_in_its_private_part_fails_document_matches(world):
    """The ledger sees a document's fields, names and holder in full only through its `private`
    hash (§7): a version-002 document whose field value is altered keeps the recorded ledger part
    (id, holder, dates) but not the recorded document hash."""
    ledger, dept = world
    v1 = make_doc(ledger, dept, 13)
    issue(ledger, dept, v1)
    v2 = make_doc(ledger, dept, 13, version="002", valid_until="2029-12-31")
    ledger.accept(ledger.signed(dept.key, "licence.renew", version_body(v2, v1.licence.id, "expiry")))
    assert verify(ledger, document=v2).verdict is Outcome.VALID
    presented = decode(v2.to_bytes())
    assert presented["format"] == "eledger-licence/2" and "kind" not in presented["seal_signature"]
    presented["licence"]["fields"]["经营场所"] = "北京市西城区"
    altered = LicenceDocument.from_bytes(encode(presented))
    assert altered.licence.to_ledger() == v2.licence.to_ledger() and altered.licence.private_hash() != v2.licence.private_hash()
    verdict = verify(ledger, document=altered)
    assert (verdict.verdict, failed(verdict)) == (Outcome.INVALID, ["document_matches"])
    assert verdict.check("document_matches").detail.endswith("it is not the issued document (altered, or of another version)")
    assert verdict.check("holder_matches").ok and verdict.check("latest_version").ok
    renamed = dataclasses.replace(v2, licence=dataclasses.replace(v2.licence, issuer_name="北京市某区人民政府"))
    assert failed(verify(ledger, document=renamed)) == ["document_matches"]


def test_a_person_holder_must_reproduce_the_commitment(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 4, holder=PERSON)
    issue(ledger, dept, doc)
    good = verify(ledger, document=doc)
    assert good.verdict is Outcome.VALID and good.check("holder_matches").ok
    wrong_salt = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, holder=dataclasses.replace(PERSON, salt=bytes(16))))
    bad = verify(ledger, document=wrong_salt)
    assert failed(bad) == ["document_matches", "holder_matches"]
    assert bad.check("holder_matches").detail == "the document's name, ID number and salt do not reproduce the recorded holder commitment"
    shown = encode(bad.to_json()).decode()
    assert PERSON.name not in shown and PERSON.id_number not in shown
    assert verify(ledger, licence_id=doc.licence.id).verdict is Outcome.VALID  # by id alone the holder is n/a


def test_commitment_pending_confirmed_overdue_and_failed(world):
    ledger, dept = world
    docs = [make_doc(ledger, dept, n, deadline="2026-03-31") for n in (11, 12, 13)]
    issue(ledger, dept, *docs)
    pending = verify(ledger, licence_id=docs[0].licence.id)
    assert pending.verdict is Outcome.VALID and pending.check("commitment").detail == "inspection pending, due by 2026-03-31"
    assert verify(ledger, licence_id=docs[0].licence.id, at=cst_ms("2026-04-01") - 1).verdict is Outcome.VALID
    overdue = verify(ledger, licence_id=docs[0].licence.id, at=cst_ms("2026-04-01"))
    assert failed(overdue) == ["commitment"] and "overdue" in overdue.check("commitment").detail
    act(ledger, dept, "licence.confirm", docs[1].licence.id)
    act(ledger, dept, "licence.annul", docs[2].licence.id)
    confirmed = verify(ledger, licence_id=docs[1].licence.id, at=cst_ms("2026-06-01"))
    assert confirmed.verdict is Outcome.VALID and confirmed.check("commitment").detail.startswith("inspection confirmed")
    assert failed(verify(ledger, licence_id=docs[2].licence.id)) == ["status", "commitment"]


def test_a_document_not_on_the_ledger_is_invalid(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 99)
    verdict = verify(ledger, document=doc)
    assert (verdict.verdict, failed(verdict)) == (Outcome.INVALID, ["on_ledger"])
    assert verdict.record is None and verdict.seal_checks == ()
    assert set(outcomes(verdict).values()) == {"failed", "undecided"}
    assert verify(ledger, licence_id=doc.licence.id).not_applicable == {"document_matches", "holder_matches"}


# -- presented as a QR code (qr.md) -----------------------------------------------------------------


def scanned(ledger: Ledger, doc: LicenceDocument) -> QrClaim:
    """The claim a clerk's scanner gives for `doc`'s QR code."""
    return decode_qr(encode_qr(doc, ledger.net.genesis.chain_id))


def test_a_qr_code_gives_the_verdict_of_its_document(world):
    ledger, dept = world
    enterprise, person = make_doc(ledger, dept, 31), make_doc(ledger, dept, 32, holder=PERSON)
    issue(ledger, dept, enterprise, person)
    for doc in (enterprise, person):
        by_qr, by_doc = verify(ledger, claim=scanned(ledger, doc)), verify(ledger, document=doc)
        assert by_qr.verdict is Outcome.VALID and by_qr.presented is Presented.QR and by_doc.presented is Presented.DOCUMENT
        assert [(c.name, c.ok) for c in by_qr.checks] == [(c.name, c.ok) for c in by_doc.checks]
        assert by_qr.check("document_matches").detail == "the QR code's document hash is the recorded document hash"
        assert by_qr.to_json()["presented"] == "qr" and verify(ledger, licence_id=doc.licence.id).to_json()["presented"] == "id"
    assert verify(ledger, claim=scanned(ledger, enterprise)).check("holder_matches").detail == f"the QR code names holder {HOLDER.uscc}; the record names {HOLDER.uscc}"
    shown = verify(ledger, claim=scanned(ledger, person))
    assert shown.check("holder_matches").detail.startswith("the QR code's holder commitment is the recorded one")
    text = encode(shown.to_json()).decode()
    assert PERSON.name not in text and PERSON.id_number not in text
    assert verify(ledger, claim=scanned(ledger, enterprise), licence_id=enterprise.licence.id).checks == verify(ledger, claim=scanned(ledger, enterprise)).checks


def test_a_qr_code_of_an_altered_or_old_document_or_another_holder_fails(world):
    ledger, dept = world
    v1 = make_doc(ledger, dept, 33, holder=PERSON)
    issue(ledger, dept, v1)
    claim = scanned(ledger, v1)
    forged = dataclasses.replace(claim, document_hash=bytes(32))
    verdict = verify(ledger, claim=forged)
    assert (verdict.verdict, failed(verdict)) == (Outcome.INVALID, ["document_matches"])
    assert verdict.check("document_matches").detail.endswith("the QR code is not that of the issued document (altered, or of another version)")
    other = dataclasses.replace(claim, holder_commitment=bytes(32))
    assert failed(verify(ledger, claim=other)) == ["holder_matches"]
    assert verify(ledger, claim=other).check("holder_matches").detail == "the QR code's holder commitment differs from the recorded one"
    as_enterprise = QrClaim(claim.chain_id, claim.licence_id, claim.document_hash, holder_uscc=HOLDER.uscc)
    assert verify(ledger, claim=as_enterprise).check("holder_matches").detail == "the QR code names an enterprise; the record's holder is a person"
    v2 = make_doc(ledger, dept, 33, version="002", holder=PERSON, valid_until="2029-12-31")
    ledger.accept(ledger.signed(dept.key, "licence.renew", version_body(v2, v1.licence.id, "expiry")))
    assert failed(verify(ledger, claim=claim)) == ["latest_version"]
    assert verify(ledger, claim=scanned(ledger, v2)).verdict is Outcome.VALID


def test_a_qr_code_of_a_licence_not_on_the_ledger_is_invalid_with_its_checks_undecided(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 98)
    verdict = verify(ledger, claim=scanned(ledger, doc))
    assert (verdict.verdict, failed(verdict), verdict.presented) == (Outcome.INVALID, ["on_ledger"], Presented.QR)
    assert outcomes(verdict)["document_matches"] == outcomes(verdict)["holder_matches"] == "undecided"


def test_a_qr_code_with_a_document_of_another_licence_or_chain_is_misuse(world):
    ledger, dept = world
    doc, other = make_doc(ledger, dept, 34), make_doc(ledger, dept, 35)
    issue(ledger, dept, doc, other)
    cases = [
        ({"claim": scanned(ledger, doc), "document": doc}, "verify.two_presentations"),
        ({"claim": scanned(ledger, doc), "licence_id": other.licence.id}, "verify.id_mismatch"),
        ({"claim": decode_qr(encode_qr(doc, "another-chain"))}, "verify.chain_mismatch"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationError) as err:
            verify(ledger, **kwargs)
        assert err.value.code == code, kwargs


# -- recognition -----------------------------------------------------------------------------------


def test_tianjin_recognises_a_beijing_licence_only_under_its_rule(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 5)
    issue(ledger, dept, doc)
    before = verify(ledger, document=doc, region="tianjin")
    assert (before.verdict, failed(before), before.recognition) == (Outcome.INVALID, ["recognised"], None)
    assert before.check("recognised").detail == f"tianjin has declared no rule recognising licence type {T} issued in beijing"
    declared_at = ledger.next_time
    ledger.accept(ledger.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": T, "as_type": T_TJ, "conditions": "原件备查"}))
    after = verify(ledger, document=doc, region="tianjin")
    assert after.verdict is Outcome.VALID
    assert after.recognition == {"region": "tianjin", "from_region": "beijing", "type": T, "as_type": T_TJ, "conditions": "原件备查", "declared_at": declared_at}
    assert after.check("recognised").detail == f"tianjin recognises type {T} issued in beijing as its type {T_TJ} on the conditions: 原件备查"
    assert failed(verify(ledger, document=doc, region="hebei")) == ["recognised"]
    assert verify(ledger, document=doc, region="beijing").check("recognised").detail == "issued in beijing, the asking region"


# -- heights and states ----------------------------------------------------------------------------


def test_an_earlier_height_sees_the_licence_as_it_was(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 6)
    chain = ledger.local.chain
    before_issue = chain.height
    issue(ledger, dept, doc)
    issued, issued_time = chain.height, ledger.time
    act(ledger, dept, "licence.revoke", doc.licence.id)
    then = StateAt(chain, issued)
    assert (then.height, then.time, then.state_root) == (issued, issued_time, chain.block(issued).header.state_root)
    assert verify(ledger, document=doc, reader=then).verdict is Outcome.VALID
    assert failed(verify(ledger, document=doc)) == ["status"]
    assert failed(verify(ledger, document=doc, reader=StateAt(chain, before_issue))) == ["on_ledger"]
    for height in (0, chain.height + 1, -1, True, "1"):
        with pytest.raises(ValidationError) as err:
            StateAt(chain, height)
        assert err.value.code == "verify.unknown_height"


def test_a_state_below_the_retention_window_is_refused_up_front(net):
    """blocks.md §6.1: StateAt of a pruned height raises state.pruned when made, not on a read."""
    local = LocalNetwork(Chain(MemoryKV(), net.genesis, retain_heights=2), net.validator_keys)
    for height in range(1, 6):
        local.produce([], GENESIS_TIME + 1000 * height)
    chain = local.chain
    assert chain.oldest_state_height == 3
    for height in (1, 2):
        with pytest.raises(StoreError) as err:
            StateAt(chain, height)
        assert (err.value.code, err.value.fields["height"], err.value.fields["oldest"]) == ("state.pruned", height, 3)
    kept = StateAt(chain, 3)
    assert kept.height == 3 and kept.get(b"region/beijing") is not None


class ForgedState:
    """The latest flat state of a ledger with some records replaced: what a verifier must not trust."""

    def __init__(self, ledger: Ledger, **replaced: dict[str, object] | None) -> None:
        self.flat = ledger.state
        self.replaced = {key.encode(): value for key, value in replaced.items()}

    def get(self, key: bytes) -> bytes | None:
        if key in self.replaced:
            value = self.replaced[key]
            return None if value is None else encode(value)
        return self.flat.get(key)


def test_checks_catch_records_the_ledger_would_never_hold(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 8)
    issue(ledger, dept, doc)
    record = decode(ledger.state.get(licence_key(doc.licence.id)))
    org = decode(ledger.state.get(b"org/" + dept.uscc.encode()))
    lic, org_key = licence_key(doc.licence.id).decode(), f"org/{dept.uscc}"
    bad_sig = {**record, "seal_signature": {**record["seal_signature"], "signing_time": record["seal_signature"]["signing_time"] - 1}}
    late_sig = {**record, "issued_at": record["seal_signature"]["signing_time"] - 1}
    other_document = {**record, "document_hash": b64encode(bytes(32))}  # the seal signature is over the record's hash (§5)
    # A first version's seal signature states "licence.issue" (§5): a record naming a previous
    # version would have it state no kind, which its signature does not cover.
    later_version = {**record, "supersedes": doc.licence.id}
    cases = [
        (ForgedState(ledger, **{lic: bad_sig}), ["signature_valid"]),
        (ForgedState(ledger, **{lic: other_document}), ["signature_valid"]),
        (ForgedState(ledger, **{lic: later_version}), ["signature_valid"]),
        (ForgedState(ledger, **{lic: late_sig}), ["seal_valid"]),
        (ForgedState(ledger, **{org_key: {**org, "licence_types": []}}), ["issuer_authorised"]),
        (ForgedState(ledger, **{org_key: None}), ["issuer_authorised"]),
    ]
    verdicts = [verify(ledger, licence_id=doc.licence.id, reader=reader) for reader, _ in cases]
    assert [failed(v) for v in verdicts] == [want for _, want in cases]
    assert verdicts[2].check("signature_valid").detail.startswith("the signature does not verify")
    assert verdicts[3].check("seal_valid").detail.startswith("seal.valid_at_signing failed: signing time")
    assert verdicts[5].check("recognised").ok is True  # the record names its issuer's region (§5)
    assert all(v.verdict is Outcome.INVALID for v in verdicts)


class Recording:
    """A reader that remembers every key asked of it."""

    def __init__(self, inner) -> None:
        self.inner, self.keys = inner, set()
        self.height = inner.height

    def get(self, key: bytes) -> bytes | None:
        self.keys.add(key)
        return self.inner.get(key)


def test_a_verified_bundle_gives_the_same_verdict_or_an_indeterminate_one(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 9)
    issue(ledger, dept, doc)
    ledger.accept(ledger.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": T, "as_type": T_TJ, "conditions": ""}))
    chain, genesis = ledger.local.chain, ledger.net.genesis
    recording = Recording(StateAt(chain))
    direct = verify(ledger, document=doc, region="tianjin", reader=recording)
    assert direct.verdict is Outcome.VALID
    lic, org, rule = licence_key(doc.licence.id), f"org/{dept.uscc}".encode(), f"recog/tianjin/beijing/{T}".encode()
    assert recording.keys == {  # §9.3: the keys a verification reads
        lic, org, f"seal/{dept.seal_id}".encode(), b"id/key/" + dept.key.public_key.key_id, b"region/tianjin", rule,
    }
    full = verify_bundle(build_bundle(chain, sorted(recording.keys)).to_bytes(), genesis)
    offline = verify(ledger, document=doc, region="tianjin", reader=full)
    assert offline.to_json() == direct.to_json()
    partial = verify_bundle(build_bundle(chain, [lic]).to_bytes(), genesis)
    unsure = verify(ledger, document=doc, region="tianjin", reader=partial)
    assert unsure.verdict is Outcome.INDETERMINATE and failed(unsure) == []
    assert [c.name for c in unsure.checks if c.ok is None] == ["commitment", "recognised"] and unsure.not_applicable == {"commitment"}
    assert unsure.check("recognised").detail == f"cannot be decided: the state at hand does not prove recog/tianjin/beijing/{T}"
    certified = f"checked by the validators when the record was made at {unsure.record['issued_at']} (the commit of height {chain.height} certifies the record)"
    assert unsure.check("issuer_authorised").detail == f"{dept.uscc} active and holding type {T}: {certified}"
    assert unsure.check("signature_valid").detail == certified and all(c.ok for c in unsure.seal_checks)
    no_rule = verify(ledger, document=doc, region="tianjin", reader=verify_bundle(build_bundle(chain, [lic, org]).to_bytes(), genesis))
    assert no_rule.verdict is Outcome.INDETERMINATE and no_rule.check("recognised").detail == f"cannot be decided: the state at hand does not prove {rule.decode()}"
    enough = verify(ledger, document=doc, region="tianjin", reader=verify_bundle(build_bundle(chain, [lic, org, rule]).to_bytes(), genesis))
    assert enough.verdict is Outcome.VALID and enough.check("issuer_authorised") == direct.check("issuer_authorised")
    assert enough.check("signature_valid").detail == certified and enough.recognition == direct.recognition
    nothing = verify(ledger, licence_id=doc.licence.id, reader=verify_bundle(build_bundle(chain, [b"region/beijing"]).to_bytes(), genesis))
    assert (nothing.verdict, nothing.check("on_ledger").ok) == (Outcome.INDETERMINATE, None)


class PartialState:
    """A state that tells only some keys and says so for the others, as a verified bundle does."""

    height = 42

    def __init__(self, known: dict[bytes, bytes | None]) -> None:
        self.known = known

    def get(self, key: bytes) -> bytes | None:
        if key not in self.known:
            raise ValidationError("not proven", code="bundle.key_not_proven", key=key)
        return self.known[key]


def test_the_record_certifies_only_the_checks_execution_ran_before_writing_it(world):
    """Over a partial state, issuer, seal and signer checks pass as certified by the record;
    status, validity, version, holder and document are still judged from the record itself
    (here one the ledger would never hold). The record's seal signature is over its own
    document hash (§5: it is stored once), so seal.document_hash passes by construction."""
    ledger, dept = world
    doc = make_doc(ledger, dept, 12)
    issue(ledger, dept, doc)
    ledger.accept(ledger.signed(dept.key, "licence.suspend", {"id": doc.licence.id, "reason": "inspection"}))
    record = decode(ledger.state.get(licence_key(doc.licence.id)))
    forged = {**record, "document_hash": b64encode(bytes(32)), "valid_from": "2026-01-02"}
    reader = PartialState({licence_key(doc.licence.id): encode(forged), f"org/{dept.uscc}".encode(): ledger.state.get(f"org/{dept.uscc}".encode())})
    verdict = verify(ledger, document=doc, reader=reader)
    assert failed(verdict) == ["document_matches", "status", "within_validity"]
    assert verdict.check("seal_valid").ok and verdict.check("signature_valid").detail.endswith("(the commit of height 42 certifies the record)")
    assert [(c.name, c.detail) for c in verdict.seal_checks if not c.detail.startswith("checked by the validators")] == [
        ("seal.document_hash", "the signature is over the presented document"),
    ]
    assert [c.name for c in verdict.seal_checks if c.detail.startswith("checked by the validators")] == [
        "seal.registered", "seal.owner", "seal.valid_at_signing", "seal.signer_allowed", "seal.signer_key", "seal.signature",
    ]
    assert verdict.check("issuer_authorised").detail.startswith(f"{dept.uscc} (北京市某区市场监督管理局) of region beijing is admitted")
    assert verdict.check("holder_matches").ok
    without_org = verify(ledger, document=doc, reader=PartialState({licence_key(doc.licence.id): encode(record)}))
    assert failed(without_org) == ["status"] and without_org.check("recognised").detail == "issued in beijing, the asking region"
    assert without_org.check("issuer_authorised").detail.startswith(f"{dept.uscc} active and holding type {T}: checked by the validators")


# -- misuse ----------------------------------------------------------------------------------------


def test_misuse_raises_precise_errors(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 10)
    issue(ledger, dept, doc)
    cases = [
        ({}, "verify.nothing_presented"),
        ({"licence_id": doc.licence.id[:-1] + ("A" if doc.licence.id[-1] != "A" else "B")}, "ids.bad_check_character"),
        ({"licence_id": "1.2.156"}, "ids.bad_licence_id"),
        ({"licence_id": doc.licence.id, "region": "Tianjin"}, "verify.bad_region"),
        ({"licence_id": doc.licence.id, "region": "shanghai"}, "verify.unknown_region"),
        ({"licence_id": doc.licence.id, "at": 1.5}, "validation.type"),
        ({"licence_id": doc.licence.id, "at": -1}, "validation.range"),
        ({"licence_id": doc.licence.id, "at": LAST_DATED_MS + 1}, "validation.range"),  # falls on no date: 10000-01-01 (UTC+8)
        ({"licence_id": doc.licence.id, "at": 2**53 - 1}, "validation.range"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationError) as err:
            verify(ledger, **kwargs)
        assert err.value.code == code, kwargs
