"""Licence transactions and licence state (docs/spec/domain.md §5, §8).

Kinds: licence.issue, licence.change, licence.renew (a new version that supersedes the last) and
the status operations licence.suspend / resume / revoke / annul / cancel / confirm, whose
allowed moves are the data table `TRANSITIONS`. State: `lic/<id>` = the licence record (naming the
issuing organisation's region); beside the state, the secondary indexes of §8 (holder, issuer,
type, pending commitment deadline) point at the latest version of each licence, and every licence
transaction adds an entry to the licence's history (ledger/licence_history.py). A record keeps
nothing it can derive: its type, issuer, serial and version are parts of its `id` (`record_id`),
and its seal signature's document hash is its own `document_hash` (`stored_seal_signature`).
Read helpers answer what a record means at a time (`status_at`, `is_lapsed`, `is_overdue`) and
walk a version chain. The bodies a client builds for these kinds are in ledger/licence_bodies.py.

Handlers only read state through the view and never see personal data: a person holder is a
commitment (§6). Lapse is derived from the validity window and never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from enum import Enum
from functools import lru_cache, partial

from ledger.calendar import format_date, parse_date, window_covers
from ledger.document import split_document_hash
from ledger.encoding import b64encode, decode, encode_decoded
from ledger.errors import ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_str
from ledger.governance import MAX_NOTE, get_reason, org_of_signer, read_ltype, read_org
from ledger.identity import Identity, Role
from ledger.ids import LicenceId, next_version, parse_licence_id, validate_uscc
from ledger.kv import KVReader, KVStore
from ledger.licence_history import record_history
from ledger.seals import ISSUE_KIND, SEAL_ID_RE, SealSignature, require_seal_signature
from ledger.state import INDEX_PREFIX
from ledger.tx import NONCE_SIZE, Tx

PREFIX = b"lic/"
FIRST_VERSION = "001"

_WHERE = "tx.body"


class Status(str, Enum):
    """Licence status (§5). LAPSED is derived from the validity window and never stored."""

    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    ANNULLED = "annulled"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


class CommitmentState(str, Enum):
    """State of a notification-commitment (告知承诺) inspection (§5)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"  # annulled while pending: the inspection failed
    VOID = "void"  # revoked or cancelled while pending: no inspection is due any more


@dataclass(frozen=True)
class Transition:
    """One status operation: the statuses it applies to, the status it leaves (None: unchanged),
    and how it moves a commitment (`needs_commitment`: it must move one, licence.confirm)."""

    sources: frozenset[Status]
    target: Status | None
    commitment: Mapping[CommitmentState, CommitmentState] = field(default_factory=dict)
    needs_commitment: bool = False


_LIVE = frozenset({Status.VALID, Status.SUSPENDED})

# §5 status operations. Revoked, annulled and cancelled appear in no `sources`: they are final.
TRANSITIONS: dict[str, Transition] = {
    "licence.suspend": Transition(frozenset({Status.VALID}), Status.SUSPENDED),
    "licence.resume": Transition(frozenset({Status.SUSPENDED}), Status.VALID),
    "licence.revoke": Transition(_LIVE, Status.REVOKED, {CommitmentState.PENDING: CommitmentState.VOID}),
    "licence.annul": Transition(_LIVE, Status.ANNULLED, {CommitmentState.PENDING: CommitmentState.FAILED}),
    "licence.cancel": Transition(_LIVE, Status.CANCELLED, {CommitmentState.PENDING: CommitmentState.VOID}),
    "licence.confirm": Transition(_LIVE, None, {CommitmentState.PENDING: CommitmentState.CONFIRMED}, needs_commitment=True),
}

ISSUE_FIELDS = ("id", "holder", "private", "issue_date", "valid_from", "valid_until", "commitment_deadline", "seal")
ISSUE_SEAL_FIELDS = ("seal_id", "signing_time")
NEW_VERSION_FIELDS = ("private", "issue_date", "valid_from", "valid_until", "commitment_deadline", "seal_signature")
#: Where a licence.issue names each seal check (§5): its seal signature is spread over the
#: envelope (signer, signature) and body.seal (seal id, signing time).
_ISSUE_CHECK_FIELDS = {
    "seal.registered": "tx.body.seal.seal_id", "seal.owner": "tx.body.seal.seal_id",
    "seal.valid_at_signing": "tx.body.seal.signing_time", "seal.signer_allowed": "tx.signer",
    "seal.document_hash": "tx.body.private", "seal.signer_key": "tx.signer", "seal.signature": "tx.signature",
}


# -- reading -------------------------------------------------------------------------------------


def licence_key(licence_id: str) -> bytes:
    """State key of a licence record: b"lic/" + id."""
    return PREFIX + licence_id.encode("ascii")


def read_licence(reader: KVReader, licence_id: str) -> dict[str, object] | None:
    """The stored record of `licence_id` (any version), or None. `reader` reads state keys."""
    raw = reader.get(licence_key(licence_id))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def _stored_id(text: str) -> LicenceId:
    # A stored id was checked when its record was written; ids are immutable texts.
    return parse_licence_id(text, "record.id")


def record_id(record: Mapping[str, object]) -> LicenceId:
    """The parsed `id` of a licence record, whose parts are the record's type, issuer, serial and
    version (§5 stores them only in the id). Parsed once per id text (cached).

    Precondition: `record` is a stored licence record (its id was checked when it was written);
    a malformed id raises the `ids.*` ValidationError of `parse_licence_id`."""
    return _stored_id(record["id"])  # type: ignore[arg-type]


def stored_seal_signature(record: Mapping[str, object]) -> SealSignature:
    """The seal signature a licence record carries, whole again: the stored one lacks its
    `document_hash`, which is the record's own `document_hash`, and, for a first version (no
    `supersedes`), the kind "licence.issue" its statement names (§5).

    Precondition: `record` is a stored licence record. Raises the ValidationError of
    `SealSignature.from_json` (naming `record.seal_signature`) for a malformed one."""
    stored: Mapping[str, object] = record["seal_signature"]  # type: ignore[assignment]
    whole = {**stored, "document_hash": record["document_hash"]}
    if record["supersedes"] is None:
        whole["kind"] = ISSUE_KIND
    return SealSignature.from_json(whole, "record.seal_signature")


def version_chain(reader: KVReader, licence_id: str) -> list[dict[str, object]]:
    """Every version of the licence `licence_id` belongs to, oldest first ([] if unknown)."""
    record = read_licence(reader, licence_id)
    if record is None:
        return []
    older: list[dict[str, object]] = []
    current = record
    while current["supersedes"] is not None:
        current = read_licence(reader, current["supersedes"])  # type: ignore[arg-type, assignment]
        older.append(current)
    chain = older[::-1] + [record]
    current = record
    while current["superseded_by"] is not None:
        current = read_licence(reader, current["superseded_by"])  # type: ignore[arg-type, assignment]
        chain.append(current)
    return chain


def is_lapsed(record: Mapping[str, object], time_ms: int) -> bool:
    """Whether the record's validity window does not cover `time_ms` (失效, §1, §5)."""
    valid_until = record["valid_until"]
    return not window_covers(
        parse_date(record["valid_from"], "licence.valid_from"),
        None if valid_until is None else parse_date(valid_until, "licence.valid_until"),
        time_ms,
    )


def status_at(record: Mapping[str, object], time_ms: int) -> Status:
    """The status a verifier reports at `time_ms`: the stored one, or LAPSED for a valid licence
    whose window does not cover that time."""
    status = Status(record["status"])
    if status is Status.VALID and is_lapsed(record, time_ms):
        return Status.LAPSED
    return status


def is_overdue(record: Mapping[str, object], day: date | str) -> bool:
    """Whether a current commitment licence's inspection is pending and its deadline before `day`."""
    commitment = record["commitment"]
    if commitment is None or record["superseded_by"] is not None:
        return False
    return commitment["state"] == CommitmentState.PENDING.value and commitment["deadline"] < _day_text(day)  # type: ignore[index]


def index_key(index: str, part: str, licence_id: str) -> bytes:
    """Secondary-index entry (§8) below the store's `idx/` prefix: `<index>/<part>/<id>`."""
    return f"{index}/{part}/{licence_id}".encode("ascii")


def list_index(store: KVStore, index: str, part: str) -> list[str]:
    """Ids (latest versions) in secondary index `index` ("holder", "issuer", "type", "deadline")
    under `part`, in id order, from a committed store."""
    prefix = INDEX_PREFIX + f"{index}/{part}/".encode("ascii")
    return [key[len(prefix):].decode("ascii") for key, _ in store.iterate(prefix)]


def list_overdue(store: KVStore, day: date | str) -> list[str]:
    """Ids of current licences whose commitment is pending with a deadline before `day`,
    by deadline then id, from the `deadline` index of a committed store."""
    limit = _day_text(day)
    prefix = INDEX_PREFIX + b"deadline/"
    out: list[str] = []
    for key, _ in store.iterate(prefix):
        deadline, licence_id = key[len(prefix):].decode("ascii").split("/", 1)
        if deadline >= limit:
            break
        out.append(licence_id)
    return out


def _day_text(day: date | str) -> str:
    return day if isinstance(day, str) else format_date(day)


# -- handlers ------------------------------------------------------------------------------------


def _issue(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    """licence.issue (§5)."""
    body = tx.body
    expect_keys(body, _WHERE, ISSUE_FIELDS)
    org = org_of_signer(view, signer)
    licence_id = parse_licence_id(get_str(body, "id", _WHERE, max_len=128), f"{_WHERE}.id")
    if licence_id.issuer != org["uscc"]:
        raise ValidationError(f"the licence id names issuer {licence_id.issuer}, not the signer's organisation {org['uscc']}", code="licence.issuer_mismatch", field=f"{_WHERE}.id")
    if licence_id.type not in org["licence_types"]:
        raise ValidationError(f"licence type {licence_id.type} is not granted to {org['uscc']}", code="licence.type_not_granted", field=f"{_WHERE}.id")
    if licence_id.version != FIRST_VERSION:
        raise ValidationError(f"a new licence has version {FIRST_VERSION}; change or renew makes later versions", code="licence.bad_id", field=f"{_WHERE}.id")
    key = licence_key(licence_id.text)
    if view.get(key) is not None:
        raise ValidationError(f"licence {licence_id.text} already exists", code="licence.exists", field=f"{_WHERE}.id")
    holder = _parse_holder(body["holder"], f"{_WHERE}.holder")
    dates = _parse_dates(view, body, _WHERE, licence_id.type)
    deadline = None
    if body["commitment_deadline"] is not None:
        deadline = _read_date(body, "commitment_deadline", _WHERE)
        if deadline < dates[0]:
            raise ValidationError("commitment_deadline is before issue_date", code="licence.bad_dates", field=f"{_WHERE}.commitment_deadline")
    document_hash = _document_hash(body, holder, licence_id.text, _WHERE)
    seal_signature = _check_issue_seal(view, tx, signer, ctx, document_hash, org["uscc"])
    # Members in canonical (sorted) order and every value checked above, so the record is encoded
    # without the validating walk (encoding.md §3); nested objects are rebuilt in order too. No
    # member repeats another (§5): the id holds type, issuer, serial and version.
    record = {
        "commitment": None if deadline is None else {"deadline": body["commitment_deadline"], "state": CommitmentState.PENDING.value},
        "document_hash": b64encode(document_hash), "holder": holder, "id": licence_id.text, "issue_date": body["issue_date"],
        "issued_at": ctx.time, "reason": None, "region": org["region"], "seal_signature": seal_signature,
        "status": Status.VALID.value, "superseded_by": None, "supersedes": None,
        "updated_at": ctx.time, "valid_from": body["valid_from"], "valid_until": body["valid_until"],
    }
    view.put_encoded(key, encode_decoded(record))
    _index(view, record, licence_id)
    record_history(view, tx, ctx, record, licence_id)


def _new_version(view: TxView, tx: Tx, signer: Identity, ctx: Context, *, holder_may_change: bool) -> None:
    """licence.change / licence.renew (§5): a new version superseding the latest one."""
    body = tx.body
    expect_keys(body, _WHERE, ("id", "reason", "new"), ("note",))
    reason = get_reason(body, _WHERE)
    old = _read_record(view, body)
    old_id = record_id(old)
    org = _require_authority(view, signer, old_id)
    if old_id.type not in org["licence_types"]:
        raise ValidationError(f"licence type {old_id.type} is not granted to {org['uscc']}", code="licence.type_not_granted", field=f"{_WHERE}.id")
    if old["status"] != Status.VALID.value:
        raise ValidationError(f"only a valid licence can get a new version; this one is {old['status']}", code="licence.status", field=f"{_WHERE}.id", status=old["status"])
    where = f"{_WHERE}.new"
    new = expect_object(body["new"], where)
    expect_keys(new, where, NEW_VERSION_FIELDS, ("holder",) if holder_may_change else ())
    holder = _parse_holder(new["holder"], f"{where}.holder") if "holder" in new else old["holder"]
    _parse_dates(view, new, where, old_id.type)
    if new["commitment_deadline"] is not None:
        _read_date(new, "commitment_deadline", where)
    kept = None if old["commitment"] is None else old["commitment"]["deadline"]  # type: ignore[index]
    if new["commitment_deadline"] != kept:
        raise ValidationError(f"a new version keeps the commitment deadline ({kept or 'none'})", code="licence.commitment", field=f"{where}.commitment_deadline")
    new_id = parse_licence_id(next_version(old_id), f"{_WHERE}.id")
    document_hash = _document_hash(new, holder, new_id.text, where)
    seal_signature = _check_seal(view, ctx, new, where, org["uscc"], document_hash)
    # Built member by member (§5), not copied from `old`: the record holds exactly §5's members,
    # and its type, issuer, serial and version are those of the new id.
    record = {
        "commitment": old["commitment"], "document_hash": b64encode(document_hash), "holder": holder, "id": new_id.text,
        "issue_date": new["issue_date"], "issued_at": ctx.time, "reason": reason, "region": org["region"],
        "seal_signature": seal_signature, "status": old["status"], "superseded_by": None, "supersedes": old_id.text,
        "updated_at": ctx.time, "valid_from": new["valid_from"], "valid_until": new["valid_until"],
    }
    _unindex(view, old, old_id)
    view.put(licence_key(old_id.text), {**old, "superseded_by": new_id.text, "updated_at": ctx.time})
    view.put(licence_key(new_id.text), record)
    _index(view, record, new_id)
    record_history(view, tx, ctx, record, new_id)


def _transition(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    """A status operation of TRANSITIONS (§5)."""
    body = tx.body
    rule = TRANSITIONS[tx.kind]
    reason = None
    if rule.target is None:
        expect_keys(body, _WHERE, ("id",), ("note",))
        if "note" in body:
            get_str(body, "note", _WHERE, max_len=MAX_NOTE, min_len=0)
    else:
        expect_keys(body, _WHERE, ("id", "reason"), ("note",))
        reason = get_reason(body, _WHERE)
    record = _read_record(view, body)
    _require_authority(view, signer, record_id(record))
    if Status(record["status"]) not in rule.sources:
        allowed = ", ".join(sorted(s.value for s in rule.sources))
        raise ValidationError(f"{tx.kind} applies to a licence that is {allowed}; this one is {record['status']}", code="licence.status", field=f"{_WHERE}.id", status=record["status"])
    commitment = record["commitment"]
    state = None if commitment is None else CommitmentState(commitment["state"])  # type: ignore[index]
    moved = rule.commitment.get(state) if state is not None else None
    if rule.needs_commitment and moved is None:
        shown = "no commitment" if state is None else f"a commitment that is {state.value}"
        raise ValidationError(f"{tx.kind} needs a pending commitment; this licence has {shown}", code="licence.commitment", field=f"{_WHERE}.id")
    updated = {**record, "updated_at": ctx.time}
    if rule.target is not None:
        updated["status"] = rule.target.value
        updated["reason"] = reason
    if moved is not None:
        updated["commitment"] = {"deadline": commitment["deadline"], "state": moved.value}  # type: ignore[index]
        view.unindex(index_key("deadline", commitment["deadline"], record["id"]))  # type: ignore[index, arg-type]
    view.put(licence_key(record["id"]), updated)  # type: ignore[arg-type]
    record_history(view, tx, ctx, updated, record_id(record))


# -- checks --------------------------------------------------------------------------------------


def _read_record(view: TxView, body: Mapping[str, object]) -> dict[str, object]:
    """The latest version named by body.id (licence.unknown, licence.superseded)."""
    licence_id = parse_licence_id(get_str(body, "id", _WHERE, max_len=128), f"{_WHERE}.id")
    record = read_licence(view, licence_id.text)
    if record is None:
        raise ValidationError(f"licence {licence_id.text} does not exist", code="licence.unknown", field=f"{_WHERE}.id")
    if record["superseded_by"] is not None:
        raise ValidationError(f"licence {licence_id.text} was superseded by {record['superseded_by']}; act on the latest version", code="licence.superseded", field=f"{_WHERE}.id", latest=record["superseded_by"])
    return record


def _require_authority(view: TxView, signer: Identity, licence_id: LicenceId) -> dict[str, object]:
    """The org that issued `licence_id` (its issuer part), if `signer` is one of its keys (org
    active) or its region's admin (§5)."""
    if signer.role is Role.REGION_ADMIN:
        org = read_org(view, licence_id.issuer)
        if org is None or org["region"] != signer.region:
            raise ValidationError(f"licence {licence_id.text} was issued outside region {signer.region}", code="gov.other_region", field=f"{_WHERE}.id")
        return org
    org = org_of_signer(view, signer)
    if org["uscc"] != licence_id.issuer:
        raise ValidationError(f"licence {licence_id.text} was issued by {licence_id.issuer}, not by {org['uscc']}", code="licence.other_issuer", field=f"{_WHERE}.id")
    return org


def _parse_holder(obj: object, where: str) -> dict[str, object]:
    """The checked holder (§5), as a new object with its members in canonical order."""
    obj = expect_object(obj, where)
    kind = obj.get("kind")
    if kind == "enterprise":
        expect_keys(obj, where, ("kind", "uscc"))
        return {"kind": kind, "uscc": validate_uscc(get_str(obj, "uscc", where, max_len=18, min_len=18), f"{where}.uscc")}
    if kind == "person":
        expect_keys(obj, where, ("kind", "commitment"))
        get_bytes(obj, "commitment", where, size=32)
        return {"commitment": obj["commitment"], "kind": kind}
    raise ValidationError(f"{where}.kind must be \"enterprise\" or \"person\"", code="licence.bad_holder", field=f"{where}.kind")


def _parse_dates(view: TxView, obj: Mapping[str, object], where: str, type_code: str) -> tuple[date, date, date | None]:
    """issue_date, valid_from, valid_until of `obj`; valid_until ≥ valid_from, and present when
    the licence type requires it (licence.bad_dates)."""
    issue_date = _read_date(obj, "issue_date", where)
    valid_from = _read_date(obj, "valid_from", where)
    valid_until = None if obj["valid_until"] is None else _read_date(obj, "valid_until", where)
    if valid_until is None:
        ltype = read_ltype(view, type_code)
        if ltype is None:
            raise ValidationError(f"licence type {type_code} is not registered", code="ltype.unknown", field=f"{where}.valid_until")
        if ltype["validity_required"]:
            raise ValidationError(f"licence type {type_code} requires valid_until", code="licence.bad_dates", field=f"{where}.valid_until")
    elif valid_until < valid_from:
        raise ValidationError("valid_until is before valid_from", code="licence.bad_dates", field=f"{where}.valid_until")
    return issue_date, valid_from, valid_until


def _read_date(obj: Mapping[str, object], name: str, where: str) -> date:
    """obj[name] as a day (`parse_date`, whose error names `where`.`name`)."""
    text = obj[name]
    day = _known_day(text) if type(text) is str and len(text) == 10 else None  # only YYYY-MM-DD texts are cached
    return day if day is not None else parse_date(text, f"{where}.{name}")


@lru_cache(maxsize=4096)
def _known_day(text: str) -> date | None:
    # Licences of a block mostly share their dates, and a day is an immutable value.
    try:
        return parse_date(text, "date")
    except ValidationError:
        return None


def _document_hash(obj: Mapping[str, object], holder: dict[str, object], licence_id: str, where: str) -> bytes:
    """The document hash (§7) of the version `obj` describes, recomputed from its ledger part
    (`licence_id`, the checked `holder`, `obj`'s dates and deadline, all checked already) and
    `obj.private`."""
    private = get_bytes(obj, "private", where, size=32)
    ledger = {
        "commitment_deadline": obj["commitment_deadline"], "holder": holder, "id": licence_id,
        "issue_date": obj["issue_date"], "valid_from": obj["valid_from"], "valid_until": obj["valid_until"],
    }
    return split_document_hash(ledger, private)


def _check_issue_seal(view: TxView, tx: Tx, signer: Identity, ctx: Context, document_hash: bytes, owner: str) -> dict[str, object]:
    """A licence.issue's seal signature, which is its own signature too (transactions.md §5):
    the statement rebuilt from body.seal, the document hash and the envelope's signer and
    signature, checked against §4 at the block time (licence.bad_seal, with the failed check as
    `check` and `field` the member it concerns); the nonce must be the document hash's first 16
    bytes (tx.bad_nonce). Returns the record's stored form."""
    seal = expect_object(tx.body["seal"], f"{_WHERE}.seal")
    expect_keys(seal, f"{_WHERE}.seal", ISSUE_SEAL_FIELDS)
    seal_id = get_str(seal, "seal_id", f"{_WHERE}.seal", pattern=SEAL_ID_RE, max_len=32)
    signing_time = get_int(seal, "signing_time", f"{_WHERE}.seal")
    if tx.nonce != document_hash[:NONCE_SIZE]:
        raise ValidationError("a licence.issue's nonce is the first 16 bytes of its document hash", code="tx.bad_nonce", field="tx.nonce")
    sig = SealSignature(seal_id, document_hash, tx.signer, signing_time, tx.signature, ISSUE_KIND)
    require_seal_signature(view, ctx.chain_id, sig, document_hash, owner, ctx.time, f"{_WHERE}.seal", code="licence.bad_seal", fields=_ISSUE_CHECK_FIELDS, signer=signer)
    return {"seal_id": seal_id, "signature": tx.signature.to_json(), "signer": b64encode(tx.signer), "signing_time": signing_time}


def _check_seal(view: TxView, ctx: Context, obj: Mapping[str, object], where: str, owner: str, document_hash: bytes) -> dict[str, object]:
    """The seal signature of a new version `obj` over `document_hash`, checked against §4 at the
    block time (licence.bad_seal, with the failed check as `check`), in its stored form
    (`_stored_form`). It states no kind: a new version's transaction is signed apart."""
    field_name = f"{where}.seal_signature"
    raw_signature = obj["seal_signature"]
    signature = SealSignature.from_json(raw_signature, field_name)
    if signature.kind is not None:
        raise ValidationError(f"{field_name}.kind: a new version's seal signature states no transaction kind", code="licence.bad_seal", field=f"{field_name}.kind", check="seal.kind")
    require_seal_signature(view, ctx.chain_id, signature, document_hash, owner, ctx.time, field_name, code="licence.bad_seal")
    return _stored_form(raw_signature)


def _stored_form(sig: Any) -> dict[str, object]:
    """A seal signature object whose form SealSignature.from_json accepted and whose document
    hash `_check_seal` found to be the body's, as a record stores it (§5): without
    `document_hash` (the record's own), members (and its signature's) in canonical order."""
    return {
        "seal_id": sig["seal_id"],
        "signature": {"suite": sig["signature"]["suite"], "value": sig["signature"]["value"]},
        "signer": sig["signer"], "signing_time": sig["signing_time"],
    }


def _index(view: TxView, record: Mapping[str, object], parsed: LicenceId) -> None:
    for key in _index_keys(record, parsed):
        view.index(key)


def _unindex(view: TxView, record: Mapping[str, object], parsed: LicenceId) -> None:
    for key in _index_keys(record, parsed):
        view.unindex(key)


def _index_keys(record: Mapping[str, object], parsed: LicenceId) -> list[bytes]:
    """§8 entries of a record, `parsed` being its id (the handler has it parsed already): holder,
    issuer and type (the id's parts), and deadline while its commitment is pending."""
    holder = record["holder"]
    part = holder["uscc"] if holder["kind"] == "enterprise" else holder["commitment"]  # type: ignore[index]
    licence_id = parsed.text
    keys = [index_key("holder", part, licence_id), index_key("issuer", parsed.issuer, licence_id), index_key("type", parsed.type, licence_id)]  # type: ignore[arg-type]
    commitment = record["commitment"]
    if commitment is not None and commitment["state"] == CommitmentState.PENDING.value:  # type: ignore[index]
        keys.append(index_key("deadline", commitment["deadline"], licence_id))  # type: ignore[index, arg-type]
    return keys


_ISSUER = frozenset({Role.ISSUER})
_ISSUER_OR_ADMIN = frozenset({Role.ISSUER, Role.REGION_ADMIN})

register(TxKind("licence.issue", _ISSUER, _issue, sealed=True))
register(TxKind("licence.change", _ISSUER, partial(_new_version, holder_may_change=True)))
register(TxKind("licence.renew", _ISSUER, partial(_new_version, holder_may_change=False)))
for _kind in TRANSITIONS:
    register(TxKind(_kind, _ISSUER_OR_ADMIN, _transition))
