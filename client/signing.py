"""The department and region-administrator client: build and sign every domain transaction
(docs/spec/domain.md §3–§5, §11) with the caller's own keys, which never leave this process.

`AdminClient` signs governance (organisations, keys, licence types, recognition rules, use
scenarios); `DepartmentClient` registers seals, seals licence documents and issues, changes,
renews and records them; both can act on seals and on licence status. A licence.issue is a sealed
transaction (transactions.md §5): the seal key's signature over the document is its only
signature. Inputs are checked before signing with the ledger's own readers, so a mistake gets
the code and field the ledger would give (`tx.body.<field>`) without a round trip. This is the
edge: it draws nonces and salts from the OS (`entropy`) and reads the wall clock (`clock`) for
seal signing times, both injectable; it never writes files and never shows key material.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from ledger.calendar import parse_date
from ledger.crypto import PrivateKey, PublicKey
from ledger.document import SALT_SIZE, Holder, LicenceDocument, LicencePart, PersonHolder, build_licence, seal_document
from ledger.errors import ValidationError
from ledger.fields import get_int, get_str
from ledger.governance import MAX_ADMIT_KEYS, MAX_CONDITIONS, MAX_GRANT_TYPES, MAX_NAME, get_key_grant, get_reason
from ledger.ids import LicenceId, format_licence_id, next_version, parse_licence_id, validate_type_code, validate_uscc
from ledger.licences import FIRST_VERSION
from ledger.licence_bodies import issue_tx, version_body
from ledger.scenarios import MAX_CODE as SCENARIO_MAX_CODE
from ledger.scenarios import MAX_NAME as SCENARIO_MAX_NAME
from ledger.seals import MAX_SIGNERS, SEAL_ID_RE, SEAL_TYPES, SealSignature
from ledger.tx import CHAIN_ID_RE, NONCE_SIZE, Tx
from ledger.uses import ITEM_CODE_RE, ITEM_NAME_RE
from ledger.validators import NAME_RE

_WHERE = "tx.body"
_DAYS = ("issue_date", "valid_from", "valid_until", "commitment_deadline")
_DRAFT_CHANGES = frozenset({"type_name", "issuer_name", "holder", "fields", "issue_date", "valid_from", "valid_until", "commitment_deadline"})


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch from the system clock (the default `clock`)."""
    return time.time_ns() // 1_000_000


@dataclasses.dataclass(frozen=True)
class KeyGrant:
    """A key grant (domain.md §1): `public_key` may sign from `not_before` to `not_after` (ms).

    Raises ValidationError "validation.range" unless not_before < not_after."""

    public_key: PublicKey
    not_before: int
    not_after: int

    def __post_init__(self) -> None:
        get_key_grant(self.to_json(), "key")

    def to_json(self) -> dict[str, object]:
        return {"public_key": self.public_key.to_json(), "not_before": self.not_before, "not_after": self.not_after}


class Client:
    """Signs transactions with one key for one chain; the operations any issuing authority
    (a department's key or its region's administrator) may submit: seals and licence status.

    Raises ValidationError "validation.format" (field "tx.chain_id") for a malformed chain id."""

    def __init__(self, key: PrivateKey, chain_id: str, *, entropy: Callable[[int], bytes] = os.urandom, clock: Callable[[], int] = wall_clock_ms) -> None:
        if not isinstance(chain_id, str) or not CHAIN_ID_RE.fullmatch(chain_id):
            raise ValidationError(f"chain id {chain_id!r} does not match {CHAIN_ID_RE.pattern}", code="validation.format", field="tx.chain_id")
        self.key = key
        self.chain_id = chain_id
        self._entropy = entropy
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.chain_id}, {self.key!r})"

    def sign(self, kind: str, body: dict[str, object], key: PrivateKey | None = None) -> Tx:
        """A transaction of `kind` with `body`, signed by `key` (default: the client's key) under
        a fresh random nonce. Raises what `Tx.create` raises (form, "tx.too_large")."""
        return Tx.create(self.chain_id, kind, body, key or self.key, self._entropy(NONCE_SIZE))

    # -- seals (§4) ---------------------------------------------------------------------------

    def register_seal(
        self, seal_id: str, *, owner: str, name: str, type: str, image_hash: bytes, signers: Iterable[PublicKey | bytes],
        valid_from: int, valid_until: int,
    ) -> Tx:
        """seal.register for organisation `owner`; `signers` are its keys (or key ids) allowed to
        seal. Raises ValidationError: "validation.format" (seal id), "ids.bad_uscc", "seal.bad_type",
        "validation.length" (image hash not 32 bytes, 0 or more than 16 signers, name),
        "seal.bad_signer" (a signer twice), "validation.range" (valid_from ≥ valid_until)."""
        body: dict[str, object] = {
            "seal_id": seal_id, "owner": owner, "name": name, "type": type, "image_hash": image_hash,
            "signers": [_key_id(s, f"{_WHERE}.signers[{i}]") for i, s in enumerate(signers)],
            "valid_from": valid_from, "valid_until": valid_until,
        }
        _seal_id(seal_id)
        validate_uscc(owner, f"{_WHERE}.owner")
        _name(name)
        if type not in SEAL_TYPES:
            raise ValidationError(f"{_WHERE}.type must be one of {', '.join(sorted(SEAL_TYPES))}", code="seal.bad_type", field=f"{_WHERE}.type")
        if not isinstance(image_hash, bytes) or len(image_hash) != 32:
            raise ValidationError(f"{_WHERE}.image_hash must be 32 bytes", code="validation.length", field=f"{_WHERE}.image_hash")
        _count(body["signers"], "signers", 1, MAX_SIGNERS)  # type: ignore[arg-type]
        for i, key_id in enumerate(body["signers"]):  # type: ignore[arg-type]
            if key_id in body["signers"][:i]:  # type: ignore[index]
                raise ValidationError(f"{_WHERE}.signers[{i}] is listed twice", code="seal.bad_signer", field=f"{_WHERE}.signers[{i}]")
        get_int(body, "valid_from", _WHERE)
        get_int(body, "valid_until", _WHERE)
        if valid_from >= valid_until:
            raise ValidationError("valid_from must be before valid_until", code="validation.range", field=f"{_WHERE}.valid_until")
        return self.sign("seal.register", body)

    def revoke_seal(self, seal_id: str, reason: str, *, note: str | None = None) -> Tx:
        """seal.revoke. Raises ValidationError for a malformed seal id, reason code or note."""
        _seal_id(seal_id)
        return self.sign("seal.revoke", {"seal_id": seal_id, **_reason(reason, note)})

    # -- licence status operations (§5) -----------------------------------------------------------

    def suspend(self, licence_id: str, reason: str, *, note: str | None = None) -> Tx:
        """licence.suspend (暂扣): valid → suspended."""
        return self._status("licence.suspend", licence_id, reason, note)

    def resume(self, licence_id: str, reason: str, *, note: str | None = None) -> Tx:
        """licence.resume: suspended → valid."""
        return self._status("licence.resume", licence_id, reason, note)

    def revoke(self, licence_id: str, reason: str, *, note: str | None = None) -> Tx:
        """licence.revoke (吊销): final."""
        return self._status("licence.revoke", licence_id, reason, note)

    def annul(self, licence_id: str, reason: str, *, note: str | None = None) -> Tx:
        """licence.annul (撤销): final; also a failed commitment inspection."""
        return self._status("licence.annul", licence_id, reason, note)

    def cancel(self, licence_id: str, reason: str, *, note: str | None = None) -> Tx:
        """licence.cancel (注销): final."""
        return self._status("licence.cancel", licence_id, reason, note)

    def confirm(self, licence_id: str, *, note: str | None = None) -> Tx:
        """licence.confirm: a pending notification-commitment inspection passed."""
        parse_licence_id(licence_id, f"{_WHERE}.id")
        body: dict[str, object] = {"id": licence_id}
        if note is not None:
            body["note"] = note
            get_str(body, "note", _WHERE, max_len=256, min_len=0)
        return self.sign("licence.confirm", body)

    def _status(self, kind: str, licence_id: str, reason: str, note: str | None) -> Tx:
        """Raises ValidationError "ids.bad_licence_id" / "ids.bad_check_character" (tx.body.id)
        or a reason / note error."""
        parse_licence_id(licence_id, f"{_WHERE}.id")
        return self.sign(kind, {"id": licence_id, **_reason(reason, note)})


class AdminClient(Client):
    """A region administrator: governance inside its own region (domain.md §3)."""

    def admit_org(self, uscc: str, name: str, keys: Sequence[KeyGrant], licence_types: Sequence[str] = ()) -> Tx:
        """org.admit. Raises ValidationError "ids.bad_uscc", "validation.length" (name, 0 or
        more than 16 keys, more than 64 types), "identity.exists" (a key twice),
        "ids.bad_type_code", "validation.duplicate" (a type twice)."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        _name(name)
        _count(keys, "keys", 1, MAX_ADMIT_KEYS)
        for i, grant in enumerate(keys):
            if any(grant.public_key == k.public_key for k in keys[:i]):
                raise ValidationError(f"{_WHERE}.keys[{i}]: this key is listed twice", code="identity.exists", field=f"{_WHERE}.keys[{i}].public_key")
        types = _types(licence_types, "licence_types", 0)
        return self.sign("org.admit", {"uscc": uscc, "name": name, "keys": [g.to_json() for g in keys], "licence_types": types})

    def grant_types(self, uscc: str, licence_types: Sequence[str]) -> Tx:
        """org.grant: 1..64 more licence types for the organisation."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        return self.sign("org.grant", {"uscc": uscc, "licence_types": _types(licence_types, "licence_types", 1)})

    def add_key(self, uscc: str, key: KeyGrant) -> Tx:
        """org.key_add: one more key for the organisation (rotation)."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        return self.sign("org.key_add", {"uscc": uscc, "key": key.to_json()})

    def revoke_key(self, uscc: str, key: PublicKey | bytes, reason: str, *, note: str | None = None) -> Tx:
        """org.key_revoke of `key` (a public key or its 32-byte key id)."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        return self.sign("org.key_revoke", {"uscc": uscc, "key_id": _key_id(key, f"{_WHERE}.key_id"), **_reason(reason, note)})

    def suspend_org(self, uscc: str, reason: str, *, note: str | None = None) -> Tx:
        """org.suspend: the organisation can do nothing until resumed."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        return self.sign("org.suspend", {"uscc": uscc, **_reason(reason, note)})

    def resume_org(self, uscc: str, reason: str, *, note: str | None = None) -> Tx:
        """org.resume."""
        validate_uscc(uscc, f"{_WHERE}.uscc")
        return self.sign("org.resume", {"uscc": uscc, **_reason(reason, note)})

    def register_type(self, code: str, name: str, *, validity_required: bool) -> Tx:
        """ltype.register. Raises ValidationError "ids.bad_type_code", "validation.length",
        "validation.type" (validity_required not a bool)."""
        validate_type_code(code, f"{_WHERE}.code")
        _name(name)
        if not isinstance(validity_required, bool):
            raise ValidationError(f"{_WHERE}.validity_required must be true or false", code="validation.type", field=f"{_WHERE}.validity_required")
        return self.sign("ltype.register", {"code": code, "name": name, "validity_required": validity_required})

    def declare_recognition(self, from_region: str, type: str, as_type: str, conditions: str = "") -> Tx:
        """recognition.declare: this region accepts `type` issued in `from_region` as `as_type`."""
        body: dict[str, object] = {"from_region": from_region, "type": type, "as_type": as_type, "conditions": conditions}
        _rule(body)
        validate_type_code(as_type, f"{_WHERE}.as_type")
        get_str(body, "conditions", _WHERE, max_len=MAX_CONDITIONS, min_len=0)
        return self.sign("recognition.declare", body)

    def withdraw_recognition(self, from_region: str, type: str) -> Tx:
        """recognition.withdraw of this region's rule for `type` from `from_region`."""
        body: dict[str, object] = {"from_region": from_region, "type": type}
        _rule(body)
        return self.sign("recognition.withdraw", body)

    def declare_scenario(
        self, region: str, code: str, name: str, licence_types: Sequence[str], *, name_en: str | None = None, withdrawn: bool = False,
    ) -> Tx:
        """scenario.declare (domain.md §11): declare, replace or (`withdrawn`) withdraw the use
        scenario `code` of `region`, which must be this administrator's region. Raises
        ValidationError "validation.format" / "validation.length" (region, code, names),
        "ids.bad_type_code", "validation.duplicate", "validation.type" (withdrawn)."""
        body: dict[str, object] = {"code": code, "name": name, "region": region}
        get_str(body, "region", _WHERE, pattern=NAME_RE, max_len=32)
        get_str(body, "code", _WHERE, pattern=ITEM_CODE_RE, max_len=SCENARIO_MAX_CODE)
        get_str(body, "name", _WHERE, pattern=ITEM_NAME_RE, max_len=SCENARIO_MAX_NAME)
        if name_en is not None:
            body["name_en"] = name_en
            get_str(body, "name_en", _WHERE, pattern=ITEM_NAME_RE, max_len=SCENARIO_MAX_NAME)
        if not isinstance(withdrawn, bool):
            raise ValidationError(f"{_WHERE}.withdrawn must be true or false", code="validation.type", field=f"{_WHERE}.withdrawn")
        if withdrawn:
            body["withdrawn"] = True
        body["licence_types"] = _types(licence_types, "licence_types", 1)
        return self.sign("scenario.declare", body)


class DepartmentClient(Client):
    """An issuing department `uscc`: its transactions are signed with `key`; licence documents
    are sealed with seal `seal_id` by `seal_key` (default: `key`), one of the seal's signers.
    A licence.issue is signed by `seal_key` alone: the document's seal signature, stating the
    kind "licence.issue", is the transaction's signature (transactions.md §5), so `seal_key`
    must be a registered key of this department listed by the seal, whatever `key` is.

    Raises ValidationError "ids.bad_uscc" (field "uscc") or "validation.format" (field "seal_id")."""

    def __init__(
        self, key: PrivateKey, chain_id: str, uscc: str, seal_id: str | None = None, seal_key: PrivateKey | None = None, *,
        issuer_name: str | None = None, entropy: Callable[[int], bytes] = os.urandom, clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(key, chain_id, entropy=entropy, clock=clock)
        self.uscc = validate_uscc(uscc, "uscc")
        if seal_id is not None and (not isinstance(seal_id, str) or not SEAL_ID_RE.fullmatch(seal_id)):
            raise ValidationError(f"seal id must match {SEAL_ID_RE.pattern}", code="validation.format", field="seal_id")
        self.seal_id = seal_id
        self.seal_key = seal_key or key
        self.issuer_name = issuer_name

    def register_seal(  # type: ignore[override]
        self, seal_id: str, *, owner: str | None = None, name: str, type: str, image_hash: bytes,
        signers: Iterable[PublicKey | bytes] | None = None, valid_from: int, valid_until: int,
    ) -> Tx:
        """seal.register of a seal of this department (default owner), by default signable by
        `seal_key` only. Raises as `Client.register_seal`."""
        return super().register_seal(
            seal_id, owner=owner or self.uscc, name=name, type=type, image_hash=image_hash,
            signers=(self.seal_key.public_key,) if signers is None else signers, valid_from=valid_from, valid_until=valid_until,
        )

    # -- documents and seal signatures ---------------------------------------------------------

    def person(self, name: str, id_number: str) -> PersonHolder:
        """A natural-person holder with a fresh random 16-byte salt (§6)."""
        return PersonHolder(name, id_number, self._entropy(SALT_SIZE))

    def draft_licence(
        self, *, type: str, serial: str, holder: Holder, type_name: str, issue_date: date | str, valid_from: date | str,
        valid_until: date | str | None = None, commitment_deadline: date | str | None = None,
        fields: Mapping[str, str] | None = None, issuer_name: str | None = None, version: str = FIRST_VERSION,
    ) -> LicencePart:
        """The licence part of a document issued by this department (dates as `date` or text).

        Raises ValidationError "ids.bad_type_code" (field "licence.type"), "ids.bad_licence_id"
        (serial, version), "validation.date", "licence.bad_dates" (valid_until before valid_from,
        commitment_deadline before issue_date; field "licence.<name>"), or `document.*` from
        `build_licence` (names, fields)."""
        validate_type_code(type, "licence.type")
        licence_id = format_licence_id(type, self.uscc, serial, version)
        days = {name: _day(value, name) for name, value in (
            ("issue_date", issue_date), ("valid_from", valid_from), ("valid_until", valid_until), ("commitment_deadline", commitment_deadline),
        )}
        _check_dates(**days, first=version == FIRST_VERSION)  # type: ignore[arg-type]
        name = issuer_name if issuer_name is not None else self.issuer_name
        if name is None:
            raise ValidationError("the issuer's name is needed for the document; give issuer_name", code="validation.missing_field", field="licence.issuer.name")
        return build_licence(id=licence_id, type_name=type_name, issuer_name=name, holder=holder, fields=fields, **days)  # type: ignore[arg-type]

    def next_licence(self, previous: LicencePart, **changes: object) -> LicencePart:
        """The next version of `previous` with `changes` (holder, dates, fields, names) applied.
        Its commitment deadline is the previous one's: a new version keeps it (domain.md §5).

        Raises TypeError for an unknown change, ValidationError as `draft_licence`,
        "licence.commitment" (field "tx.body.new.commitment_deadline") for another commitment
        deadline, and "ids.version_exhausted" after version 999."""
        unknown = set(changes) - _DRAFT_CHANGES
        if unknown:
            raise TypeError(f"cannot change {', '.join(sorted(unknown))} of a licence; allowed: {', '.join(sorted(_DRAFT_CHANGES))}")
        if "commitment_deadline" in changes and _day(changes["commitment_deadline"], "commitment_deadline") != previous.commitment_deadline:
            kept = "none" if previous.commitment_deadline is None else previous.commitment_deadline.isoformat()
            raise ValidationError(f"a new version keeps the commitment deadline ({kept})", code="licence.commitment", field=f"{_WHERE}.new.commitment_deadline")
        merged: dict[str, object] = {
            "type_name": previous.type_name, "issuer_name": previous.issuer_name, "holder": previous.holder, "fields": dict(previous.fields),
            "issue_date": previous.issue_date, "valid_from": previous.valid_from, "valid_until": previous.valid_until,
            "commitment_deadline": previous.commitment_deadline, **changes,
        }
        merged = {k: (_day(v, k) if k in _DAYS else v) for k, v in merged.items()}
        _check_dates(**{k: merged[k] for k in _DAYS}, first=False)  # type: ignore[arg-type]
        return build_licence(id=next_version(previous.id), **merged)  # type: ignore[arg-type]

    def seal(self, licence: LicencePart, *, signing_time: int | None = None) -> LicenceDocument:
        """`licence` sealed with this department's seal at `signing_time` (default: now)."""
        return seal_document(licence, self.seal_key, self.chain_id, self._require_seal(), self._time(signing_time))

    def seal_hash(self, document_hash: bytes, *, signing_time: int | None = None) -> SealSignature:
        """A seal signature over any 32-byte document hash at `signing_time` (default: now)."""
        return SealSignature.create(self.seal_key, self.chain_id, self._require_seal(), document_hash, self._time(signing_time))

    def record_seal_signature(self, signature: SealSignature | bytes, *, signing_time: int | None = None) -> Tx:
        """seal.sign, signed by `seal_key` (the ledger requires the seal signer itself).
        `signature` is a seal signature, or a document hash to seal now. Raises ValidationError
        "seal.not_signer" when the signature is by another key."""
        sig = signature if isinstance(signature, SealSignature) else self.seal_hash(signature, signing_time=signing_time)
        if sig.signer != self.seal_key.public_key.key_id:
            raise ValidationError("a seal signature is recorded by its own signer key", code="seal.not_signer", field=f"{_WHERE}.seal_signature.signer")
        return self.sign("seal.sign", {"seal_signature": sig.to_json()}, self.seal_key)

    # -- licences (§5) -----------------------------------------------------------------------------

    def issue_licence(self, licence: LicencePart | None = None, /, *, signing_time: int | None = None, **draft: object) -> tuple[Tx, LicenceDocument]:
        """licence.issue of `licence`, or of `draft_licence(**draft)`; returns the transaction and
        the sealed document the holder keeps. The transaction is sealed (transactions.md §5):
        its signer is `seal_key`, its signature the document's seal signature (stating the kind
        "licence.issue"), its nonce the first 16 bytes of the document hash, its body the ledger
        part, the private hash and `{seal_id, signing_time}`; `key` signs nothing here.

        Raises ValidationError "licence.issuer_mismatch" (another issuer's id), "licence.bad_id"
        (version not 001), "licence.bad_dates", and what `draft_licence` raises; TypeError when
        given both a licence and draft fields; ValueError when the client has no seal_id."""
        if licence is not None and draft:
            raise TypeError("give either a licence part or the fields of a draft, not both")
        part = licence if licence is not None else self.draft_licence(**draft)  # type: ignore[arg-type]
        self._check_own(part, first=True)
        document = self.seal(part, signing_time=signing_time)
        return issue_tx(document, self.chain_id), document

    def change_licence(
        self, licence: LicencePart, reason: str, *, note: str | None = None, new_holder: bool = False, signing_time: int | None = None,
    ) -> tuple[Tx, LicenceDocument]:
        """licence.change making `licence` (see `next_licence`) the next version of the previous
        one; `new_holder` sends its holder as the new holder. The transaction is signed by `key`;
        its `body.new` carries the new document's `private` hash, dates and
        `commitment_deadline` (kept from the previous version; the ledger checks it) and its seal
        signature by `seal_key`, which states no kind (domain.md §5). Raises ValidationError
        "licence.bad_id" (version 001), "licence.other_issuer", a reason error."""
        return self._new_version("licence.change", licence, reason, note, new_holder, signing_time)

    def renew_licence(self, licence: LicencePart, reason: str, *, note: str | None = None, signing_time: int | None = None) -> tuple[Tx, LicenceDocument]:
        """licence.renew: as `change_licence` (signed by `key`, `body.new` with `private` and
        `commitment_deadline`), the holder unchanged."""
        return self._new_version("licence.renew", licence, reason, note, False, signing_time)

    def _new_version(self, kind: str, part: LicencePart, reason: str, note: str | None, with_holder: bool, signing_time: int | None) -> tuple[Tx, LicenceDocument]:
        _reason(reason, note)
        parsed = self._check_own(part, first=False)
        previous = format_licence_id(parsed.type, parsed.issuer, parsed.serial, f"{int(parsed.version) - 1:03d}")
        document = self.seal(part, signing_time=signing_time)
        return self.sign(kind, version_body(document, previous, reason, note=note, with_holder=with_holder)), document

    def _check_own(self, part: LicencePart, *, first: bool) -> LicenceId:
        licence_id = parse_licence_id(part.id, f"{_WHERE}.id")
        if licence_id.issuer != self.uscc:
            code = "licence.issuer_mismatch" if first else "licence.other_issuer"
            raise ValidationError(f"the licence id names issuer {licence_id.issuer}, not this department {self.uscc}", code=code, field=f"{_WHERE}.id")
        if (licence_id.version == FIRST_VERSION) != first:
            want = f"version {FIRST_VERSION}" if first else "a version after 001 (see next_licence)"
            raise ValidationError(f"{'a new licence' if first else 'a new version'} has {want}, got {licence_id.version}", code="licence.bad_id", field=f"{_WHERE}.id")
        _check_dates(part.issue_date, part.valid_from, part.valid_until, part.commitment_deadline, first=first)
        return licence_id

    def _require_seal(self) -> str:
        if self.seal_id is None:
            raise ValueError("this DepartmentClient has no seal_id: give one to seal documents")
        return self.seal_id

    def _time(self, signing_time: int | None) -> int:
        return self._clock() if signing_time is None else signing_time


# -- input checks with the ledger's codes ------------------------------------------------------------


def _reason(reason: str, note: str | None) -> dict[str, object]:
    body: dict[str, object] = {"reason": reason} if note is None else {"reason": reason, "note": note}
    get_reason(body, _WHERE)
    return body


def _name(name: str) -> None:
    get_str({"name": name}, "name", _WHERE, max_len=MAX_NAME)


def _seal_id(seal_id: str) -> None:
    get_str({"seal_id": seal_id}, "seal_id", _WHERE, pattern=SEAL_ID_RE, max_len=32)


def _count(items: Sequence[object], key: str, low: int, high: int) -> None:
    if not low <= len(items) <= high:
        raise ValidationError(f"{_WHERE}.{key} needs {low}..{high} items, got {len(items)}", code="validation.length", field=f"{_WHERE}.{key}")


def _types(codes: Sequence[str], key: str, low: int) -> list[str]:
    _count(codes, key, low, MAX_GRANT_TYPES)
    for i, code in enumerate(codes):
        validate_type_code(code, f"{_WHERE}.{key}[{i}]")
        if code in codes[:i]:
            raise ValidationError(f"{_WHERE}.{key}[{i}]: {code} is listed twice", code="validation.duplicate", field=f"{_WHERE}.{key}[{i}]")
    return list(codes)


def _rule(body: dict[str, object]) -> None:
    get_str(body, "from_region", _WHERE, pattern=NAME_RE, max_len=32)
    validate_type_code(body["type"], f"{_WHERE}.type")


def _key_id(key: PublicKey | bytes, field: str) -> bytes:
    key_id = key.key_id if isinstance(key, PublicKey) else key
    if not isinstance(key_id, bytes) or len(key_id) != 32:
        raise ValidationError(f"{field} must be a public key or a 32-byte key id", code="validation.length", field=field)
    return key_id


def _day(value: object, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return parse_date(value, f"licence.{name}")


def _check_dates(issue_date: date, valid_from: date, valid_until: date | None, commitment_deadline: date | None, *, first: bool) -> None:
    """§5's date rules with the ledger's code "licence.bad_dates". The deadline rule is a first
    version's: a later version keeps the first's deadline, which may precede its issue date."""
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError("valid_until is before valid_from", code="licence.bad_dates", field="licence.valid_until")
    if first and commitment_deadline is not None and commitment_deadline < issue_date:
        raise ValidationError("commitment_deadline is before issue_date", code="licence.bad_dates", field="licence.commitment_deadline")
