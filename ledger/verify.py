"""Licence verification: one verdict with every named check (docs/spec/domain.md §9).

`verify_licence` answers a window clerk or a partner region: is this licence (given by its id,
as the document the holder presents, or as the claim of its QR code, ledger/qr.py) valid here,
at this time? It runs every check of §9 in
a fixed order over one state (`StateAt`: the state committed at a height; or any reader, e.g. a
verified proof bundle) and reports each as passed, failed, undecided or not applicable, with the
recognition rule that applied. The issuer's region is the record's own `region`; its issuer,
type and version are parts of its id, and its seal signature's document hash is its own, its
kind "licence.issue" for a first version (§5, `stored_seal_signature`). Over a
reader that proves the record but not the issuer, seal or signer key records, the checks
execution ran before writing the record pass as certified by its presence (§9.3). A licence that fails a check is a verdict, not an error: only misuse (nothing
presented, a malformed id, an unknown region) raises.

Pure: it reads state only through the reader and never reads the clock (the time asked about is
a parameter). It never puts a person's name or ID number into a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import TypeVar

from ledger.calendar import LAST_DATED_MS, day_of, format_date
from ledger.chain import REGION_PREFIX, Chain
from ledger.checks import Check
from ledger.document import EnterpriseHolder, LicenceDocument, PersonHolder
from ledger.encoding import b64encode
from ledger.errors import LedgerError, StoreError, ValidationError
from ledger.governance import read_org, read_recognition
from ledger.identity import KEY_PREFIX
from ledger.ids import parse_licence_id
from ledger.kv import KVReader, Prefixed
from ledger.licences import CommitmentState, Status, is_lapsed, read_licence, record_id, stored_seal_signature
from ledger.qr import QrClaim
from ledger.seals import seal_checks
from ledger.sigcache import SignatureCache
from ledger.smt import NodeCache, SparseMerkleTree
from ledger.state import SMT_PREFIX
from ledger.validators import NAME_RE
from ledger.view import ChainView

#: §9: the checks of a verdict, in this order.
CHECK_NAMES = (
    "on_ledger", "document_matches", "holder_matches", "issuer_authorised", "seal_valid",
    "signature_valid", "status", "within_validity", "latest_version", "commitment", "recognised",
)
#: Codes by which a reader says its state does not tell the value of a key (§9.3): a verified
#: proof bundle (ledger.bundle.VerifiedBundle) raises this for a key it carries no proof for.
UNPROVEN_CODES = frozenset({"bundle.key_not_proven"})

#: §4 seal checks that read `seal/<seal id>` or `id/key/<signer>`, in seal_checks' order.
_SEAL_STATE_CHECKS = ("seal.registered", "seal.owner", "seal.valid_at_signing", "seal.signer_allowed", "seal.signer_key", "seal.signature")

#: §5: each status's Chinese name, as a clerk knows it.
STATUS_NAMES = {
    Status.VALID: "有效", Status.SUSPENDED: "暂扣", Status.REVOKED: "吊销",
    Status.ANNULLED: "撤销", Status.CANCELLED: "注销", Status.LAPSED: "失效",
}
_T = TypeVar("_T")


class Presented(str, Enum):
    """How the licence was presented (§9.4 `presented`)."""

    ID = "id"
    DOCUMENT = "document"
    QR = "qr"


class Outcome(str, Enum):
    """The one verdict (§9.2)."""

    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True)
class _Unproven:
    """The reader cannot tell the value of `key` (see UNPROVEN_CODES)."""

    key: bytes

    def __str__(self) -> str:
        key = self.key
        shown = "id/key/" + b64encode(key[len(KEY_PREFIX):]) if key.startswith(KEY_PREFIX) else key.decode("ascii", "backslashreplace")
        return f"cannot be decided: the state at hand does not prove {shown}"


class StateAt:
    """The state of `chain` (a Chain, or a ChainView of a snapshot) as committed at `height`
    (default: its tip), read through the sparse Merkle tree at that height's state root, so it
    never changes as the chain grows.

    `height`, `time` (the block time, ms) and `state_root` say which state it is. Raises
    ValidationError "verify.unknown_height" when `height` is not the tip nor a committed block
    1..tip, StoreError "state.pruned" (with `height`, `oldest`) when it is below
    `chain.oldest_state_height` (blocks.md §6.1), "store.missing_block" when the store lacks
    that block. Pass one `cache`
    to many StateAt objects to share the tree's upper levels between them.
    """

    __slots__ = ("chain_id", "height", "time", "state_root", "_tree")

    def __init__(self, chain: Chain | ChainView, height: int | None = None, *, cache: NodeCache | None = None) -> None:
        tip = chain.tip
        h = tip.height if height is None else height
        if isinstance(h, bool) or not isinstance(h, int) or not (h == tip.height or 1 <= h < tip.height):
            raise ValidationError(f"height {h!r} is not committed (the tip is {tip.height})", code="verify.unknown_height", field="height", tip=tip.height)
        oldest = chain.oldest_state_height
        if h < oldest:
            raise StoreError(f"the state of height {h} is pruned (the oldest retained is {oldest})", code="state.pruned", height=h, oldest=oldest)
        if h == tip.height:
            self.time, self.state_root = tip.time, tip.state_root
        else:
            header = chain.header(h)
            if header is None:
                raise StoreError(f"the store lacks block {h}", code="store.missing_block", height=h)
            self.time, self.state_root = header.time, header.state_root
        self.chain_id = chain.genesis.chain_id
        self.height = h
        self._tree = SparseMerkleTree(Prefixed(chain.kv, SMT_PREFIX), cache=cache)

    def get(self, key: bytes) -> bytes | None:
        """The value of state key `key` at this height, or None."""
        return self._tree.get(self.state_root, key)


def _outcome_name(check: Check, not_applicable: frozenset[str]) -> str:
    if check.ok is None:
        return "not_applicable" if check.name in not_applicable else "undecided"
    return "passed" if check.ok else "failed"


@dataclass(frozen=True)
class Verdict:
    """The answer to one verification (§9).

    `checks` holds one Check per name of CHECK_NAMES, in that order; `not_applicable` names the
    checks whose `ok` is None because they do not apply (they never make a verdict
    indeterminate). `seal_checks` are the seal signature's own checks (§4) behind `seal_valid`
    and `signature_valid`. `recognition` is the rule that made the licence count in
    `asking_region` (None when issued there, or when no rule applied); `record` the licence
    record judged (None when absent or unproven). `height` is the reader's height, if it has one.
    `presented` says how the licence was named: by its id alone, a document or a QR code.
    """

    verdict: Outcome
    licence_id: str
    presented: Presented
    asking_region: str
    at_time: int
    height: int | None
    checks: tuple[Check, ...]
    not_applicable: frozenset[str]
    seal_checks: tuple[Check, ...]
    recognition: Mapping[str, object] | None
    record: Mapping[str, object] | None

    def check(self, name: str) -> Check:
        """The check called `name` (KeyError if no such check)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_json(self) -> dict[str, object]:
        """The verdict as canonical-encodable JSON (§9.4); each check carries its outcome."""
        def shown(checks: tuple[Check, ...]) -> list[dict[str, object]]:
            return [{"name": c.name, "ok": c.ok, "outcome": _outcome_name(c, self.not_applicable), "detail": c.detail} for c in checks]

        return {
            "verdict": self.verdict.value, "licence_id": self.licence_id, "presented": self.presented.value, "asking_region": self.asking_region,
            "at_time": self.at_time, "height": self.height, "checks": shown(self.checks),
            "seal_checks": shown(self.seal_checks),
            "recognition": None if self.recognition is None else dict(self.recognition),
            "record": None if self.record is None else dict(self.record),
        }


def verify_licence(
    reader: KVReader, *, chain_id: str, at_time: int, asking_region: str,
    licence_id: str | None = None, document: LicenceDocument | None = None, claim: QrClaim | None = None,
    cache: SignatureCache | None = None,
) -> Verdict:
    """Judge the licence `licence_id`, or the one `document` is of, or the one the QR `claim`
    names, for `asking_region` at `at_time` (ms) against the state `reader` (§9). Never raises
    for a bad licence: it reports. `cache` (ledger.sigcache): a seal signature check it holds is
    not repeated; the verdict is the same with or without it.

    Preconditions: `document` is a parsed LicenceDocument, `claim` a decoded QrClaim
    (`ledger.qr.decode_qr`); at most one of them. Raises ValidationError
    "verify.nothing_presented" (no id, document or claim), "verify.two_presentations" (a
    document and a claim), "verify.id_mismatch" (an id naming another licence than the document
    or claim), "verify.chain_mismatch" (a claim of another chain), "validation.type" (`at_time`
    not an integer), "validation.range" (`at_time` before 1970 or after LAST_DATED_MS), "verify.bad_region" (not a region name), "verify.unknown_region" (the
    state has no such region), the `ids.*` codes for a malformed id; and what the reader raises
    for a damaged store.
    """
    presented = _presented_id(licence_id, document, claim, chain_id)
    shown: LicenceDocument | QrClaim | None = document if document is not None else claim
    if isinstance(at_time, bool) or not isinstance(at_time, int):
        raise ValidationError("at_time must be an integer time in ms", code="validation.type", field="at_time")
    if not 0 <= at_time <= LAST_DATED_MS:
        raise ValidationError(
            f"at_time must be 0..{LAST_DATED_MS} ms, up to 9999-12-31 (UTC+8), the last day a licence date names; got {at_time}",
            code="validation.range", field="at_time",
        )
    if not isinstance(asking_region, str) or not NAME_RE.fullmatch(asking_region):
        raise ValidationError(f"asking_region {asking_region!r} is not a region name", code="verify.bad_region", field="asking_region")
    if _lookup(reader.get, REGION_PREFIX + asking_region.encode("ascii")) is None:
        raise ValidationError(f"{asking_region} is not a region of this chain", code="verify.unknown_region", field="asking_region")
    height = getattr(reader, "height", None)
    record = _lookup(read_licence, reader, presented)
    kind = _presentation(shown)
    if not isinstance(record, dict):
        return _without_record(presented, kind, record, asking_region, at_time, height)
    report = _Report()
    report.add(Check("on_ledger", True, f"licence {presented} is recorded, issued at {record['issued_at']}"))
    if shown is None:
        report.not_applicable("document_matches", "no document presented")
        report.not_applicable("holder_matches", "no document presented")
    else:
        report.add(_document_matches(record, shown))
        report.add(_holder_matches(record, shown) if isinstance(shown, LicenceDocument) else _claim_holder_matches(record, shown))
    org = _lookup(read_org, reader, record_id(record).issuer)
    report.add(_issuer_authorised(record, org, height))
    seal, certified = _seal_checks(reader, chain_id, record, height, cache)
    report.checks += _seal_summary(record, seal, certified, height)
    report.add(_status(record))
    report.add(_within_validity(record, at_time))
    report.add(_latest_version(record))
    _commitment(report, record, at_time)
    recognised, rule = _recognised(reader, record, asking_region)
    report.add(recognised)
    return report.verdict(presented, kind, asking_region, at_time, height, seal, rule, record)


class _Report:
    """Checks in the making, with the names of those that do not apply."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.skipped: set[str] = set()

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def not_applicable(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, None, detail))
        self.skipped.add(name)

    def verdict(
        self, licence_id: str, presented: Presented, region: str, at_time: int, height: int | None, seal: list[Check],
        rule: dict[str, object] | None, record: dict[str, object] | None,
    ) -> Verdict:
        """§9.2: invalid if a check failed; else indeterminate if an applicable one is undecided."""
        assert tuple(c.name for c in self.checks) == CHECK_NAMES
        if any(c.ok is False for c in self.checks):
            outcome = Outcome.INVALID
        elif any(c.ok is None and c.name not in self.skipped for c in self.checks):
            outcome = Outcome.INDETERMINATE
        else:
            outcome = Outcome.VALID
        return Verdict(
            outcome, licence_id, presented, region, at_time, height, tuple(self.checks), frozenset(self.skipped), tuple(seal),
            None if rule is None else MappingProxyType(rule), None if record is None else MappingProxyType(record),
        )


def _presented_id(licence_id: str | None, document: LicenceDocument | None, claim: QrClaim | None, chain_id: str) -> str:
    """The id of the licence presented (§9): by id, by a document or by a QR claim (at most one
    of the two), an id given beside either naming the same licence."""
    if document is not None and claim is not None:
        raise ValidationError("present a licence document or a QR code, not both", code="verify.two_presentations", field="claim")
    if licence_id is None and document is None and claim is None:
        raise ValidationError("present a licence id, a licence document or a QR code", code="verify.nothing_presented", field="licence_id")
    text = parse_licence_id(licence_id, "licence_id").text if licence_id is not None else None
    if claim is not None and claim.chain_id != chain_id:
        raise ValidationError(f"the QR code is of chain {claim.chain_id}, not of {chain_id}", code="verify.chain_mismatch", field="claim.chain_id")
    named = document.licence.id if document is not None else claim.licence_id.text if claim is not None else None
    if named is None:
        return text  # type: ignore[return-value]
    if text is not None and text != named:
        what = "document" if document is not None else "QR code"
        raise ValidationError(f"licence_id {text} is not the id of the presented {what}", code="verify.id_mismatch", field="licence_id")
    return named


def _presentation(shown: LicenceDocument | QrClaim | None) -> Presented:
    if shown is None:
        return Presented.ID
    return Presented.DOCUMENT if isinstance(shown, LicenceDocument) else Presented.QR


def _lookup(read: Callable[..., _T], *args: object) -> _T | _Unproven:
    """`read(*args)`, or _Unproven when the reader cannot tell (UNPROVEN_CODES)."""
    try:
        return read(*args)
    except LedgerError as exc:
        if exc.code in UNPROVEN_CODES:
            key = exc.fields.get("key")
            return _Unproven(key if isinstance(key, bytes) else b"a key it needs")
        raise


def _without_record(licence_id: str, presented: Presented, missing: None | _Unproven, region: str, at_time: int, height: int | None) -> Verdict:
    """The verdict when the record is absent (invalid) or the state does not tell (indeterminate)."""
    report = _Report()
    if missing is None:
        why = f"no licence {licence_id} is recorded at this height"
        report.add(Check("on_ledger", False, why))
    else:
        why = str(missing)
        report.add(Check("on_ledger", None, why))
    for name in CHECK_NAMES[1:]:
        if presented is Presented.ID and name in ("document_matches", "holder_matches"):
            report.not_applicable(name, "no document presented")
        else:
            report.add(Check(name, None, f"cannot be decided: {why}" if missing is None else why))
    return report.verdict(licence_id, presented, region, at_time, height, [], None, None)


def _document_matches(record: Mapping[str, object], shown: LicenceDocument | QrClaim) -> Check:
    if isinstance(shown, LicenceDocument):
        same = b64encode(shown.hash) == record["document_hash"]
        return Check("document_matches", same, "the presented document's hash " + (
            "is the recorded document hash" if same else "differs from the recorded one: it is not the issued document (altered, or of another version)"))
    same = b64encode(shown.document_hash) == record["document_hash"]
    return Check("document_matches", same, "the QR code's document hash " + (
        "is the recorded document hash" if same else "differs from the recorded one: the QR code is not that of the issued document (altered, or of another version)"))


def _holder_matches(record: Mapping[str, object], document: LicenceDocument) -> Check:
    """§6: a person's name, ID number and salt must reproduce the commitment; an enterprise's
    USCC must be the recorded one. Details never repeat personal data."""
    name = "holder_matches"
    holder, shown = record["holder"], document.licence.holder
    if holder["kind"] == "enterprise":  # type: ignore[index]
        if not isinstance(shown, EnterpriseHolder):
            return Check(name, False, "the document names a person; the record's holder is an enterprise")
        same = shown.uscc == holder["uscc"]  # type: ignore[index]
        return Check(name, same, f"the document names holder {shown.uscc}; the record names {holder['uscc']}")  # type: ignore[index]
    if not isinstance(shown, PersonHolder):
        return Check(name, False, "the document names an enterprise; the record's holder is a person")
    if b64encode(shown.commitment) == holder["commitment"]:  # type: ignore[index]
        return Check(name, True, "the document's name, ID number and salt reproduce the recorded holder commitment")
    return Check(name, False, "the document's name, ID number and salt do not reproduce the recorded holder commitment")


def _claim_holder_matches(record: Mapping[str, object], claim: QrClaim) -> Check:
    """§9.1 with a QR claim: its holder binding in ledger form is the record's (an enterprise's
    USCC, a person's commitment). Details never repeat personal data (a QR code holds none)."""
    name, holder = "holder_matches", record["holder"]
    if holder["kind"] == "enterprise":  # type: ignore[index]
        if claim.holder_uscc is None:
            return Check(name, False, "the QR code binds a person; the record's holder is an enterprise")
        same = claim.holder_uscc == holder["uscc"]  # type: ignore[index]
        return Check(name, same, f"the QR code names holder {claim.holder_uscc}; the record names {holder['uscc']}")  # type: ignore[index]
    if claim.holder_commitment is None:
        return Check(name, False, "the QR code names an enterprise; the record's holder is a person")
    if b64encode(claim.holder_commitment) == holder["commitment"]:  # type: ignore[index]
        return Check(name, True, "the QR code's holder commitment is the recorded one (it names the holder, it does not identify the person presenting it)")
    return Check(name, False, "the QR code's holder commitment differs from the recorded one")


def _by_execution(record: Mapping[str, object], height: int | None) -> str:
    """The detail of a check passed because the record is proven (§9.3): execution ran it
    against the state of the block that wrote the record and writes no record that fails it."""
    certified = "the state at hand holds the record" if height is None else f"the commit of height {height} certifies the record"
    return f"checked by the validators when the record was made at {record['issued_at']} ({certified})"


def _issuer_authorised(record: Mapping[str, object], org: dict[str, object] | None | _Unproven, height: int | None) -> Check:
    """§9.1: the issuing organisation is admitted and holds the type in this state (grants are
    never withdrawn, §3); its active status and the grant at issue were checked by execution.
    Passes as certified by the record when the reader cannot tell `org/<issuer>` (§9.3)."""
    parsed = record_id(record)
    name, uscc, type_code = "issuer_authorised", parsed.issuer, parsed.type
    if isinstance(org, _Unproven):
        return Check(name, True, f"{uscc} active and holding type {type_code}: {_by_execution(record, height)}")
    if org is None:
        return Check(name, False, f"no organisation {uscc} is admitted in this state")
    if type_code not in org["licence_types"]:  # type: ignore[operator]
        return Check(name, False, f"organisation {uscc} of region {org['region']} does not hold licence type {type_code}")
    now = "" if org["status"] == "active" else f"; it is {org['status']} now, which stops new acts, not its licences"
    return Check(name, True, (
        f"{uscc} ({org['name']}) of region {org['region']} is admitted and holds type {type_code}; execution checked"
        f" that it was active and held the type when the record was made at {record['issued_at']}{now}"
    ))


def _seal_checks(
    reader: KVReader, chain_id: str, record: Mapping[str, object], height: int | None, cache: SignatureCache | None = None,
) -> tuple[list[Check], bool]:
    """The §4 checks of the record's seal signature over the recorded document hash, judged for a
    record made at `issued_at` (a later seal or key revocation does not count against it), and
    whether those reading state were taken as certified by the record instead of judged.

    The seal signature is the stored one with the record's `document_hash` (§5), so
    `seal.document_hash` passes by construction; it is reported like the others. When the reader
    cannot tell `seal/<seal id>` or `id/key/<signer>`, every check that reads them passes as
    certified by the record (§9.3)."""
    sig = stored_seal_signature(record)
    owner = record_id(record).issuer
    judged = _lookup(lambda: seal_checks(reader, chain_id, sig, sig.document_hash, owner=owner, at_time=record["issued_at"], cache=cache))  # type: ignore[arg-type]
    if not isinstance(judged, _Unproven):
        return judged, False
    certified = _by_execution(record, height)
    checks = [Check(name, True, certified) for name in _SEAL_STATE_CHECKS]
    checks.insert(_SEAL_STATE_CHECKS.index("seal.signer_key"), Check("seal.document_hash", True, "the signature is over the presented document"))
    return checks, True


def _seal_summary(record: Mapping[str, object], seal: list[Check], certified: bool, height: int | None) -> list[Check]:
    """seal_valid (every seal check but the signature) and signature_valid (seal.signature)."""
    policy = [c for c in seal if c.name != "seal.signature"]
    signature = next(c for c in seal if c.name == "seal.signature")
    failed = next((c for c in policy if c.ok is False), None) or next((c for c in policy if c.ok is None), None)
    sig, issuer = record["seal_signature"], record_id(record).issuer
    if failed is not None:
        state = "failed" if failed.ok is False else "undecided"
        summary = Check("seal_valid", failed.ok, f"{failed.name} {state}: {failed.detail}")
    elif certified:
        summary = Check("seal_valid", True, f"seal {sig['seal_id']} of {issuer} at signing time {sig['signing_time']}: {_by_execution(record, height)}")  # type: ignore[index]
    else:
        summary = Check("seal_valid", True, (
            f"seal {sig['seal_id']} of {issuer} sealed the recorded document at {sig['signing_time']}: registered,"  # type: ignore[index]
            f" valid and the signer allowed and its key valid then, and not revoked before the record was made at {record['issued_at']}"
        ))
    return [summary, Check("signature_valid", signature.ok, signature.detail)]


def _status(record: Mapping[str, object]) -> Check:
    status = Status(record["status"])
    if status is Status.VALID:
        return Check("status", True, f"valid ({STATUS_NAMES[status]})")
    reason = record["reason"]
    why = f", reason {reason['code']}" if isinstance(reason, dict) else ""
    return Check("status", False, f"{status.value} ({STATUS_NAMES[status]}){why}; record last updated at {record['updated_at']}")


def _within_validity(record: Mapping[str, object], at_time: int) -> Check:
    day = format_date(day_of(at_time))
    window = f"{record['valid_from']}..{record['valid_until'] or 'permanent'}"
    if not is_lapsed(record, at_time):
        return Check("within_validity", True, f"its validity {window} covers {day}")
    if day < record["valid_from"]:  # type: ignore[operator]
        return Check("within_validity", False, f"not yet in force on {day}: its validity is {window}")
    return Check("within_validity", False, f"lapsed ({STATUS_NAMES[Status.LAPSED]}) on {day}: its validity was {window}")


def _latest_version(record: Mapping[str, object]) -> Check:
    successor, version = record["superseded_by"], record_id(record).version
    if successor is None:
        return Check("latest_version", True, f"version {version} is the latest")
    return Check("latest_version", False, f"version {version} was superseded by {successor}")


def _commitment(report: _Report, record: Mapping[str, object], at_time: int) -> None:
    """§5 notification-commitment (告知承诺): overdue at day d when the latest version's is pending
    with a deadline before d; a superseded version's copy is not judged."""
    name, commitment = "commitment", record["commitment"]
    if commitment is None:
        report.not_applicable(name, "not a notification-commitment (告知承诺) licence")
        return
    if record["superseded_by"] is not None:
        report.not_applicable(name, f"the inspection is tracked on the latest version, not on this superseded one (superseded by {record['superseded_by']})")
        return
    state, deadline = CommitmentState(commitment["state"]), commitment["deadline"]  # type: ignore[index]
    day = format_date(day_of(at_time))
    if state is CommitmentState.PENDING:
        if deadline < day:
            report.add(Check(name, False, f"inspection overdue: pending past its deadline {deadline} (on {day})"))
        else:
            report.add(Check(name, True, f"inspection pending, due by {deadline}"))
    elif state is CommitmentState.CONFIRMED:
        report.add(Check(name, True, f"inspection confirmed (deadline was {deadline})"))
    elif state is CommitmentState.FAILED:
        report.add(Check(name, False, "the inspection failed: the licence was annulled while it was pending"))
    else:
        report.not_applicable(name, "no inspection is due any more: the licence was revoked or cancelled while it was pending")


def _recognised(reader: KVReader, record: Mapping[str, object], region: str) -> tuple[Check, dict[str, object] | None]:
    """§9.1: issued in the asking region (the record's `region`, §5), or a rule
    `recog/<asking>/<issuer region>/<type>` exists."""
    name, type_code, issued_in = "recognised", record_id(record).type, record["region"]
    if issued_in == region:
        return Check(name, True, f"issued in {region}, the asking region"), None
    rule = _lookup(read_recognition, reader, region, issued_in, type_code)  # type: ignore[arg-type]
    if isinstance(rule, _Unproven):
        return Check(name, None, str(rule)), None
    if rule is None:
        return Check(name, False, f"{region} has declared no rule recognising licence type {type_code} issued in {issued_in}"), None
    conditions = f" on the conditions: {rule['conditions']}" if rule["conditions"] else ""
    shown = {"region": region, "from_region": issued_in, "type": type_code, **rule}
    return Check(name, True, f"{region} recognises type {type_code} issued in {issued_in} as its type {rule['as_type']}{conditions}"), shown
