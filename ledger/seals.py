"""Electronic seals and seal signatures (docs/spec/domain.md §4, a GB/T 38540 subset).

An organisation registers its seals (who may sign with each, for which period), revokes them,
and seals documents: a seal signature binds a document hash to a seal, a signer key and a
signing time. One judgement (`_judge`) decides the five checks of GB/T 38540 against a state:
`seal_checks` reports each of them and the signature itself, so the verifier can show every
reason, while execution (`require_seal_signature`) raises on the first failure and leaves the
signature to its TxView, which a validator checking a whole block may defer.

Handlers read and write state only through their TxView; nothing here reads the clock: the
time of a check is the signing time carried by the signature and, during execution, the block
time passed in as `at_time`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.checks import Check
from ledger.crypto import PrivateKey, Signature, Suite
from ledger.encoding import MAX_SAFE_INTEGER, b64decode, b64encode, decode, encode
from ledger.errors import EncodingError, LedgerError, ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list, get_str
from ledger.governance import get_reason, org_of_signer, read_org, require_active_org
from ledger.identity import Identity, Role, key_state_key
from ledger.ids import validate_uscc
from ledger.kv import KVReader
from ledger.sigcache import SignatureCache
from ledger.tx import Tx

SEAL_PREFIX = b"seal/"
SEAL_SIGNATURE_PREFIX = b"sealsig/"
SEAL_OWNER_INDEX = b"seal/"  # below idx/: seal/<owner>/<seal id>
SIGN_PURPOSE = "seal"
SEAL_ID_RE = re.compile(r"[0-9A-Z]{8,32}")
#: The transaction kind a seal signature may state (§4): it is then that transaction's own
#: signature as well (transactions.md §5, sealed transactions).
ISSUE_KIND = "licence.issue"
SEALED_KINDS = frozenset({ISSUE_KIND})
SEAL_TYPES = frozenset({"official", "contract", "finance", "licence", "personal"})
MAX_SIGNERS = 16
ACTIVE = "active"
REVOKED = "revoked"

_WHERE = "tx.body"
#: The body field of a seal signature each check is about (errors name it).
_CHECK_FIELDS = {
    "seal.registered": "seal_id",
    "seal.owner": "seal_id",
    "seal.valid_at_signing": "signing_time",
    "seal.signer_allowed": "signer",
    "seal.document_hash": "document_hash",
    "seal.signer_key": "signer",
    "seal.signature": "signature",
}


def seal_key(seal_id: str) -> bytes:
    return SEAL_PREFIX + seal_id.encode("ascii")


def seal_owner_index_key(owner: str, seal_id: str) -> bytes:
    """Secondary-index entry (domain.md §8.1, below `idx/`) listing seal `seal_id` under its owner."""
    return SEAL_OWNER_INDEX + f"{owner}/{seal_id}".encode("ascii")


def seal_signature_key(document_hash: bytes, seal_id: str) -> bytes:
    """`sealsig/` ‖ document hash (32 raw bytes) ‖ `/` ‖ seal id (§4)."""
    return SEAL_SIGNATURE_PREFIX + document_hash + b"/" + seal_id.encode("ascii")


def read_seal(reader: KVReader, seal_id: str) -> dict[str, object] | None:
    """The seal record `seal/<seal_id>` (§4), or None."""
    raw = reader.get(seal_key(seal_id))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def read_seal_signature(reader: KVReader, document_hash: bytes, seal_id: str) -> dict[str, object] | None:
    """The recorded seal signature of `seal_id` over `document_hash` (§4), or None."""
    raw = reader.get(seal_signature_key(document_hash, seal_id))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


@dataclass(frozen=True)
class SealSignature:
    """A seal signature (§4): `signer` (key id) signed `message()` under purpose "seal".

    `kind`, when not None, is the transaction kind the statement also authenticates (one of
    SEALED_KINDS): the seal signature of a first licence version is its licence.issue
    transaction's signature too."""

    seal_id: str
    document_hash: bytes
    signer: bytes
    signing_time: int
    signature: Signature
    kind: str | None = None

    def message(self) -> bytes:
        """canonical({"document_hash", "kind"?, "seal_id", "signing_time"}): what the signature covers."""
        return _message(self.seal_id, self.document_hash, self.signing_time, self.kind)

    def to_json(self) -> dict[str, object]:
        obj: dict[str, object] = {
            "seal_id": self.seal_id,
            "document_hash": self.document_hash,
            "signer": self.signer,
            "signing_time": self.signing_time,
            "signature": self.signature.to_json(),
        }
        if self.kind is not None:
            obj["kind"] = self.kind
        return obj

    @classmethod
    def from_json(cls, obj: object, field: str) -> SealSignature:
        """Parse the decoded form (binary as base64url text); raises ValidationError naming the
        field (the field readers' codes, "seal.bad_signature_form" for the signature object)."""
        obj = expect_object(obj, field)
        expect_keys(obj, field, ("seal_id", "document_hash", "signer", "signing_time", "signature"), ("kind",))
        kind = obj.get("kind")
        if "kind" in obj and (type(kind) is not str or kind not in SEALED_KINDS):  # absent means none; null is not a form
            raise ValidationError(f"{field}.kind must be one of {', '.join(sorted(SEALED_KINDS))}", code="seal.bad_kind", field=f"{field}.kind")
        seal_id = get_str(obj, "seal_id", field, pattern=SEAL_ID_RE, max_len=32)
        document_hash = get_bytes(obj, "document_hash", field, size=32)
        text = obj["signer"]
        signer = _known_key_id(text) if type(text) is str and len(text) == _KEY_ID_TEXT_LENGTH else None
        if signer is None:
            signer = get_bytes(obj, "signer", field, size=32)  # raises the precise error
        signing_time = get_int(obj, "signing_time", field)
        try:
            signature = _read_signature(obj["signature"])
        except LedgerError as exc:
            raise ValidationError(f"{field}.signature: {exc}", code="seal.bad_signature_form", field=f"{field}.signature") from exc
        return cls(seal_id, document_hash, signer, signing_time, signature, kind)  # type: ignore[arg-type]

    @classmethod
    def create(cls, key: PrivateKey, chain_id: str, seal_id: str, document_hash: bytes, signing_time: int, *, kind: str | None = None) -> SealSignature:
        """Seal `document_hash` with `key` at `signing_time` (ms), stating transaction `kind` if
        given. Raises ValidationError "validation.format" for a bad seal id, "validation.length"
        for a hash not of 32 bytes, "seal.bad_kind" for a kind not in SEALED_KINDS."""
        if kind is not None and kind not in SEALED_KINDS:
            raise ValidationError(f"kind must be one of {', '.join(sorted(SEALED_KINDS))}", code="seal.bad_kind", field="kind")
        if not SEAL_ID_RE.fullmatch(seal_id):
            raise ValidationError(f"seal id must match {SEAL_ID_RE.pattern}, got {seal_id!r}", code="validation.format", field="seal_id")
        if len(document_hash) != 32:
            raise ValidationError(f"document hash must be 32 bytes, got {len(document_hash)}", code="validation.length", field="document_hash")
        signature = key.sign(SIGN_PURPOSE, chain_id, _message(seal_id, document_hash, signing_time, kind))
        return cls(seal_id, bytes(document_hash), key.public_key.key_id, signing_time, signature, kind)


def _message(seal_id: str, document_hash: bytes, signing_time: int, kind: str | None) -> bytes:
    """canonical({"document_hash", "kind"?, "seal_id", "signing_time"}) (§4)."""
    if (
        type(document_hash) is bytes and type(signing_time) is int and 0 <= signing_time <= MAX_SAFE_INTEGER
        and type(seal_id) is str and SEAL_ID_RE.fullmatch(seal_id) and (kind is None or kind in SEALED_KINDS)
    ):
        # Members in canonical order and no value needing an escape (base64url text, an id of
        # [0-9A-Z], a kind of [a-z.], a safe integer): these are the bytes `encode` makes, written directly.
        stated = "" if kind is None else f'"kind":"{kind}",'
        return f'{{"document_hash":"{b64encode(document_hash)}",{stated}"seal_id":"{seal_id}","signing_time":{signing_time}}}'.encode("ascii")
    statement: dict[str, object] = {"document_hash": document_hash, "seal_id": seal_id, "signing_time": signing_time}
    if kind is not None:
        statement["kind"] = kind
    return encode(statement)


_KEY_ID_TEXT_LENGTH = 43  # base64url of 32 bytes; only such texts are cached, so the cache stays small


@functools.lru_cache(maxsize=4096)
def _known_key_id(text: str) -> bytes | None:
    """The 32-byte key id whose text is `text`, or None if it is not one (the caller then reads
    it again for the precise error). Cached: a few signer keys sign most seal signatures."""
    try:
        key_id = b64decode(text)
    except EncodingError:
        return None
    return key_id if len(key_id) == 32 else None


_SUITES = {suite.value: suite for suite in Suite}


def _read_signature(obj: object) -> Signature:
    """`Signature.from_json(obj)`, with a short way for the usual well-formed object."""
    if type(obj) is dict and len(obj) == 2:
        name, value = obj.get("suite"), obj.get("value")
        suite = _SUITES.get(name) if type(name) is str else None
        if suite is not None and type(value) is str:
            return Signature(suite, b64decode(value, field="signature.value"))
    return Signature.from_json(obj)


# -- the checks (§4) --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seal:
    owner: str
    signers: frozenset[bytes]
    valid_from: int
    valid_until: int
    revoked_at: int | None


@functools.lru_cache(maxsize=4096)
def _parse_seal(raw: bytes) -> _Seal:
    """A stored seal record, parsed once per distinct value (records are immutable values)."""
    record = decode(raw)
    signers = frozenset(b64decode(text) for text in record["signers"])  # type: ignore[attr-defined]
    return _Seal(record["owner"], signers, record["valid_from"], record["valid_until"], record["revoked_at"])  # type: ignore[index, call-overload]


def _revoked_against(revoked_at: int | None, signing_time: int, at_time: int | None) -> str | None:
    """Why a revocation at `revoked_at` counts against a signature, or None if it does not."""
    if revoked_at is None:
        return None
    if revoked_at <= signing_time:
        return f"revoked at {revoked_at}, not after the signing time {signing_time}"
    if at_time is not None and revoked_at <= at_time:
        return f"revoked at {revoked_at}, before the signature was presented at {at_time}"
    return None


def seal_checks(
    reader: KVReader, chain_id: str, sig: SealSignature, document_hash: bytes, *, owner: str | None = None, at_time: int | None = None,
    cache: SignatureCache | None = None,
) -> list[Check]:
    """Judge `sig` over the presented `document_hash` against the state `reader` (§4).

    Returns, in order: seal.registered, seal.owner (only when `owner` is given: the seal belongs
    to that organisation), seal.valid_at_signing, seal.signer_allowed, seal.document_hash,
    seal.signer_key, seal.signature. A revocation counts against the signature when it is at or
    before the signing time or, when `at_time` is given (the time the signature is presented:
    the block time during execution), at or before `at_time`; with `at_time` the signing time
    must also not be after it. Never raises for a bad signature: it reports. With `cache`, a
    signature check it holds is not repeated (ledger.sigcache), and one that verifies is kept.
    """
    seal, identity = _read_parties(reader, sig)
    checks = [failed or _passed(name, seal, identity, sig, owner) for name, failed in _judge(seal, identity, sig, document_hash, owner, at_time)]
    checks.append(_check_signature(identity, chain_id, sig, cache))
    return checks


def _read_parties(reader: KVReader, sig: SealSignature, signer: Identity | None = None) -> tuple[_Seal | None, Identity | None]:
    """The seal and the signer identity `sig` names, from `reader` (None where absent); the
    identity is `signer` when given (read from the same state by the caller)."""
    raw_seal = reader.get(seal_key(sig.seal_id))
    if signer is None:
        raw_identity = reader.get(key_state_key(sig.signer))
        signer = None if raw_identity is None else Identity.from_bytes(raw_identity)
    return None if raw_seal is None else _parse_seal(raw_seal), signer


def _judge(
    seal: _Seal | None, identity: Identity | None, sig: SealSignature, document_hash: bytes, owner: str | None, at_time: int | None,
) -> list[tuple[str, Check | None]]:
    """Every check of §4 but the signature itself, in order: (name, None) for a check that
    passed, (name, the failed or undecided Check) otherwise. A pass costs no text: `_passed`
    describes it when a report needs it."""
    t = sig.signing_time
    if seal is None:
        unknown = f"seal {sig.seal_id} is not registered"
        names = (["seal.owner"] if owner is not None else []) + ["seal.valid_at_signing", "seal.signer_allowed"]
        judged = [("seal.registered", Check("seal.registered", False, unknown))]
        judged += [(name, Check(name, None, f"cannot be decided: {unknown}")) for name in names]
    else:
        judged = [("seal.registered", None)]
        if owner is not None:
            judged.append(("seal.owner", None if seal.owner == owner else Check("seal.owner", False, _owner_detail(seal, owner))))
        judged.append(("seal.valid_at_signing", _check_seal_time(seal, t, at_time)))
        allowed = sig.signer in seal.signers
        judged.append(("seal.signer_allowed", None if allowed else Check("seal.signer_allowed", False, "the signer key is not one of the seal's signers")))
    same = sig.document_hash == document_hash
    judged.append(("seal.document_hash", None if same else Check("seal.document_hash", False, "the signature is over another document hash")))
    judged.append(("seal.signer_key", _check_signer_key(identity, seal, t, at_time)))
    return judged


def _passed(name: str, seal: _Seal | None, identity: Identity | None, sig: SealSignature, owner: str | None) -> Check:
    """The Check of a check `_judge` found passed, with its detail for people."""
    if name == "seal.registered":
        detail = f"seal {sig.seal_id} of {seal.owner} is registered"  # type: ignore[union-attr]
    elif name == "seal.owner":
        detail = _owner_detail(seal, owner)  # type: ignore[arg-type]
    elif name == "seal.valid_at_signing":
        detail = f"seal valid at signing time {sig.signing_time}"
    elif name == "seal.signer_allowed":
        detail = "the signer key is one of the seal's signers"
    elif name == "seal.document_hash":
        detail = "the signature is over the presented document"
    else:
        detail = f"signer key of {identity.name} valid at signing time {sig.signing_time}"  # type: ignore[union-attr]
    return Check(name, True, detail)


def _owner_detail(seal: _Seal, owner: str) -> str:
    return f"the seal belongs to {seal.owner}; the record needs a seal of {owner}"


def _check_seal_time(seal: _Seal, t: int, at_time: int | None) -> Check | None:
    name = "seal.valid_at_signing"
    if not seal.valid_from <= t <= seal.valid_until:
        return Check(name, False, f"signing time {t} is outside the seal's validity {seal.valid_from}..{seal.valid_until}")
    if at_time is not None and t > at_time:
        return Check(name, False, f"signing time {t} is after the time {at_time} the signature was presented")
    why = _revoked_against(seal.revoked_at, t, at_time)
    if why is not None:
        return Check(name, False, f"seal {why}")
    return None


def _check_signer_key(identity: Identity | None, seal: _Seal | None, t: int, at_time: int | None) -> Check | None:
    name = "seal.signer_key"
    if identity is None:
        return Check(name, False, "the signer key is not registered")
    if identity.role is not Role.ISSUER:
        return Check(name, False, f"the signer key is a {identity.role.value} key, not a key of an organisation")
    if seal is None:
        return Check(name, None, "the seal is not registered, so its owner is unknown")
    if identity.name != seal.owner:
        return Check(name, False, f"the signer key belongs to {identity.name}, not to the seal's owner {seal.owner}")
    if not identity.not_before <= t <= identity.not_after:
        return Check(name, False, f"signing time {t} is outside the key's validity {identity.not_before}..{identity.not_after}")
    why = _revoked_against(identity.revoked_at, t, at_time)
    if why is not None:
        return Check(name, False, f"signer key {why}")
    return None


def _check_signature(identity: Identity | None, chain_id: str, sig: SealSignature, cache: SignatureCache | None = None) -> Check:
    name = "seal.signature"
    if identity is None:
        return Check(name, None, "the signer key is not registered, so the signature cannot be checked")
    try:
        if cache is None:
            identity.public_key.verify(SIGN_PURPOSE, chain_id, sig.message(), sig.signature)
        else:
            cache.check(identity.public_key, SIGN_PURPOSE, chain_id, sig.message(), sig.signature)
    except LedgerError as exc:
        return Check(name, False, f"the signature does not verify: {exc}")
    return Check(name, True, "the signature verifies with the signer key")


def require_seal_signature(
    view: TxView, chain_id: str, sig: SealSignature, document_hash: bytes, owner_uscc: str, at_time: int, field: str, *,
    code: str | None = None, fields: Mapping[str, str] | None = None, signer: Identity | None = None,
) -> None:
    """Accept `sig` over `document_hash` for a record made at `at_time` by organisation
    `owner_uscc`, or raise ValidationError naming `field`.<the part> (or `fields[<check>]` where
    given: a sealed transaction names its envelope's members) with `check` = the failed check's
    name ("seal.registered", "seal.owner", "seal.valid_at_signing", "seal.signer_allowed",
    "seal.document_hash", "seal.signer_key", "seal.signature") and code `code`, by default that
    name. The signature itself, checked last, goes through `view.verify_signature`: a validator
    replaying a block may defer it, and the block then fails with the same code. `signer`, if
    given, is the identity of `sig.signer` as `view` holds it (a sealed transaction's signer, read
    already by execution), so it is not read again.

    Precondition: `signer` is None or the identity stored for `sig.signer` in `view`."""

    def named(check: str) -> str:
        if fields is not None and check in fields:
            return fields[check]
        return f"{field}.{_CHECK_FIELDS[check]}"

    seal, identity = _read_parties(view, sig, signer)
    for name, failed in _judge(seal, identity, sig, document_hash, owner_uscc, at_time):
        if failed is not None:
            raise ValidationError(f"{field}: {name} failed: {failed.detail}", code=code or name, field=named(name), check=name)
    assert identity is not None  # seal.signer_key passed
    view.verify_signature(
        identity.public_key, SIGN_PURPOSE, chain_id, sig.message(), sig.signature,
        field=named("seal.signature"), code=code or "seal.signature", check="seal.signature",
    )


# -- kinds ------------------------------------------------------------------------------------


def _require_authority(view: TxView, signer: Identity, owner: str, field: str, *, admin_needs_active: bool) -> None:
    """The signer is an issuer key of `owner` (org active) or an admin of `owner`'s region
    (org active too when `admin_needs_active`); errors name `field`."""
    if signer.role is Role.REGION_ADMIN:
        org = read_org(view, owner)
        if org is None:
            raise ValidationError(f"no organisation {owner} is admitted", code="org.unknown", field=field)
        if org["region"] != signer.region:
            raise ValidationError(f"organisation {owner} belongs to region {org['region']}, not {signer.region}", code="gov.other_region", field=field)
        if admin_needs_active:
            require_active_org(view, owner, field)
        return
    if signer.name != owner:
        raise ValidationError(f"a key of {signer.name} cannot act on seals of {owner}", code="seal.forbidden", field=field)
    require_active_org(view, owner, field)


def _register(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("seal_id", "owner", "name", "type", "image_hash", "signers", "valid_from", "valid_until"))
    owner = validate_uscc(body["owner"], f"{_WHERE}.owner")
    _require_authority(view, signer, owner, f"{_WHERE}.owner", admin_needs_active=True)
    seal_id = get_str(body, "seal_id", _WHERE, pattern=SEAL_ID_RE, max_len=32)
    if view.get(seal_key(seal_id)) is not None:
        raise ValidationError(f"seal {seal_id} is already registered", code="seal.exists", field=f"{_WHERE}.seal_id")
    name = get_str(body, "name", _WHERE, max_len=128)
    seal_type = get_str(body, "type", _WHERE, max_len=16)
    if seal_type not in SEAL_TYPES:
        raise ValidationError(f"{_WHERE}.type must be one of {', '.join(sorted(SEAL_TYPES))}", code="seal.bad_type", field=f"{_WHERE}.type")
    image_hash = get_bytes(body, "image_hash", _WHERE, size=32)
    valid_from = get_int(body, "valid_from", _WHERE)
    valid_until = get_int(body, "valid_until", _WHERE)
    if valid_from >= valid_until:
        raise ValidationError("valid_from must be before valid_until", code="validation.range", field=f"{_WHERE}.valid_until")
    signers = _get_signers(view, body, owner)
    view.put(seal_key(seal_id), {
        "seal_id": seal_id, "owner": owner, "name": name, "type": seal_type, "image_hash": image_hash,
        "signers": signers, "valid_from": valid_from, "valid_until": valid_until,
        "status": ACTIVE, "registered_at": ctx.time, "revoked_at": None,
    })
    view.index(seal_owner_index_key(owner, seal_id))


def _get_signers(view: TxView, body: dict[str, object], owner: str) -> list[bytes]:
    """body.signers: 1..16 distinct key ids, each an active issuer key of `owner` (seal.bad_signer)."""
    field = f"{_WHERE}.signers"
    items = get_list(body, "signers", _WHERE, max_items=MAX_SIGNERS)
    if not items:
        raise ValidationError(f"{field} needs at least one key id", code="validation.length", field=field)
    signers: list[bytes] = []
    for i, item in enumerate(items):
        key_id = _key_id(item, f"{field}[{i}]")
        raw = view.get(key_state_key(key_id))
        identity = None if raw is None else Identity.from_bytes(raw)
        if identity is None or identity.role is not Role.ISSUER or identity.name != owner or identity.revoked_at is not None:
            raise ValidationError(f"{field}[{i}] is not an active key of {owner}", code="seal.bad_signer", field=f"{field}[{i}]")
        if key_id in signers:
            raise ValidationError(f"{field}[{i}] is listed twice", code="seal.bad_signer", field=f"{field}[{i}]")
        signers.append(key_id)
    return signers


def _key_id(item: object, field: str) -> bytes:
    if not isinstance(item, str):
        raise ValidationError(f"{field} must be a base64url key id", code="validation.type", field=field)
    try:
        key_id = b64decode(item, field=field)
    except EncodingError as exc:
        raise ValidationError(f"{field}: {exc}", code="validation.binary", field=field) from exc
    if len(key_id) != 32:
        raise ValidationError(f"{field} must be 32 bytes, got {len(key_id)}", code="validation.length", field=field)
    return key_id


def _revoke(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("seal_id", "reason"), ("note",))
    seal_id = get_str(body, "seal_id", _WHERE, pattern=SEAL_ID_RE, max_len=32)
    get_reason(body, _WHERE)
    record = read_seal(view, seal_id)
    if record is None:
        raise ValidationError(f"seal {seal_id} is not registered", code="seal.unknown", field=f"{_WHERE}.seal_id")
    _require_authority(view, signer, record["owner"], f"{_WHERE}.seal_id", admin_needs_active=False)  # type: ignore[arg-type]
    if record["status"] != ACTIVE:
        raise ValidationError(f"seal {seal_id} is already {record['status']}", code="seal.status", field=f"{_WHERE}.seal_id")
    view.put(seal_key(seal_id), {**record, "status": REVOKED, "revoked_at": ctx.time})


def _sign(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    expect_keys(tx.body, _WHERE, ("seal_signature",))
    field = f"{_WHERE}.seal_signature"
    sig = SealSignature.from_json(tx.body["seal_signature"], field)
    if sig.signer != tx.signer:
        raise ValidationError("a seal signature is recorded by its own signer key", code="seal.not_signer", field=f"{field}.signer")
    org = org_of_signer(view, signer)
    require_seal_signature(view, ctx.chain_id, sig, sig.document_hash, org["uscc"], ctx.time, field)  # type: ignore[arg-type]
    key = seal_signature_key(sig.document_hash, sig.seal_id)
    if view.get(key) is not None:
        raise ValidationError(f"seal {sig.seal_id} already sealed this document", code="seal.signature_exists", field=f"{field}.document_hash")
    view.put(key, {**sig.to_json(), "recorded_at": ctx.time})


_OWNER_OR_ADMIN = frozenset({Role.REGION_ADMIN, Role.ISSUER})
register(TxKind("seal.register", _OWNER_OR_ADMIN, _register))
register(TxKind("seal.revoke", _OWNER_OR_ADMIN, _revoke))
register(TxKind("seal.sign", frozenset({Role.ISSUER}), _sign))
