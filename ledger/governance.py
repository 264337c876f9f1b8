"""Governance by region administrators (docs/spec/domain.md §3): organisations (issuing
departments) and their keys, licence types, mutual-recognition rules, and the revocation of the
region's certificates.

Every kind here is signed by a `region-admin` key of region R and acts only inside R: an
organisation admitted by R can be changed only by R's admins (`gov.other_region`), and a
recognition rule of R lives under `recog/<R>/...`, so no region can act for another. Also the
read helpers the licence and seal kinds use (`read_org`, `require_active_org`, `org_of_signer`,
`read_ltype`, `read_recognition`, `read_cert_revocation`). Handlers read and write state only through their TxView and
never touch anything but the keys named in §3.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from ledger.chain import REGION_PREFIX
from ledger.crypto import PublicKey
from ledger.encoding import b64encode, decode
from ledger.errors import LedgerError, ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list, get_str
from ledger.identity import Identity, Role, key_state_key
from ledger.ids import validate_type_code, validate_uscc
from ledger.kv import KVReader
from ledger.tx import Tx
from ledger.validators import NAME_RE

ORG_PREFIX = b"org/"
LTYPE_PREFIX = b"ltype/"
RECOGNITION_PREFIX = b"recog/"
CERT_REVOCATION_PREFIX = b"certrev/"

REASON_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")  # §1 reason code
SERIAL_RE = re.compile(r"[1-9a-f][0-9a-f]{0,39}")  # §3 certificate serial: lower-case hex, no leading zeros
MAX_NOTE = 256
MAX_NAME = 128
MAX_ADMIT_KEYS = 16
MAX_ORG_KEYS = 64
MAX_GRANT_TYPES = 64
MAX_ORG_TYPES = 256
MAX_CONDITIONS = 256

ACTIVE = "active"
SUSPENDED = "suspended"

_WHERE = "tx.body"


# -- state keys and reads (used by other kinds) -----------------------------------------------


def org_key(uscc: str) -> bytes:
    return ORG_PREFIX + uscc.encode("ascii")


def ltype_key(code: str) -> bytes:
    return LTYPE_PREFIX + code.encode("ascii")


def recognition_key(region: str, from_region: str, type: str) -> bytes:
    return RECOGNITION_PREFIX + f"{region}/{from_region}/{type}".encode("ascii")


def cert_revocation_key(region: str, serial: str) -> bytes:
    return CERT_REVOCATION_PREFIX + f"{region}/{serial}".encode("ascii")


def read_org(view: KVReader, uscc: str) -> dict[str, object] | None:
    """The organisation record `org/<uscc>` (§3), or None. Key ids in `keys` are base64url text."""
    raw = view.get(org_key(uscc))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def require_active_org(view: KVReader, uscc: str, field: str) -> dict[str, object]:
    """The organisation `uscc`, which must exist ("org.unknown") and be active ("org.status");
    errors name `field`. The record returned is shared (parsed once per stored value): read it,
    never modify it."""
    raw = view.get(org_key(uscc))
    org = None if raw is None else _parse_org(raw)
    if org is None:
        raise ValidationError(f"no organisation {uscc} is admitted", code="org.unknown", field=field, uscc=uscc)
    if org["status"] != ACTIVE:
        raise ValidationError(f"organisation {uscc} is {org['status']}; a suspended organisation can do nothing", code="org.status", field=field, uscc=uscc, status=org["status"])
    return org


def org_of_signer(view: KVReader, identity: Identity) -> dict[str, object]:
    """The active organisation an issuer key belongs to (its identity name is the USCC); a
    shared record, as `require_active_org` returns it.

    Raises ValidationError "org.unknown" (field "tx.signer") if `identity` is not an issuer key
    of an admitted organisation, "org.status" if that organisation is suspended.
    """
    if identity.role is not Role.ISSUER:
        raise ValidationError(f"signer {identity.name} is a {identity.role.value} key, not a key of an organisation", code="org.unknown", field="tx.signer")
    return require_active_org(view, identity.name, "tx.signer")


@functools.lru_cache(maxsize=1024)
def _parse_org(raw: bytes) -> dict[str, object]:
    # Execution reads the same few organisations for every transaction; a value is immutable,
    # so its parse can be shared as long as nobody modifies it.
    return decode(raw)  # type: ignore[return-value]


def read_ltype(view: KVReader, code: str) -> dict[str, object] | None:
    """The licence type record `ltype/<code>` (§3), or None."""
    raw = view.get(ltype_key(code))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def read_recognition(reader: KVReader, region: str, from_region: str, type: str) -> dict[str, object] | None:
    """Region `region`'s rule for type `type` issued in `from_region` (§3), or None."""
    raw = reader.get(recognition_key(region, from_region, type))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def read_cert_revocation(reader: KVReader, region: str, serial: str) -> dict[str, object] | None:
    """The revocation of certificate `serial` (lower-case hex, as `format(serial_number, "x")`)
    issued by the CA of `region` (§3): {"reason": {"code", "note"}, "revoked_at": time}, or
    None when it is not revoked."""
    raw = reader.get(cert_revocation_key(region, serial))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def get_reason(body: Mapping[str, object], where: str) -> dict[str, object]:
    """The reason of a status operation: {"code": reason code, "note": text | None} (§1)."""
    code = get_str(body, "reason", where, pattern=REASON_RE, max_len=40)
    note = get_str(body, "note", where, max_len=MAX_NOTE, min_len=0) if "note" in body else None
    return {"code": code, "note": note}


def get_key_grant(obj: object, where: str) -> tuple[PublicKey, int, int]:
    """A key grant (§1): public key, not_before, not_after with not_before < not_after.

    Raises ValidationError "identity.bad_key" for a malformed public key, "validation.range"
    for an empty window, and the field readers' codes for wrong shapes.
    """
    grant = expect_object(obj, where)
    expect_keys(grant, where, ("public_key", "not_before", "not_after"))
    try:
        public_key = PublicKey.from_json(grant["public_key"])
    except LedgerError as exc:
        raise ValidationError(f"{where}.public_key: {exc}", code="identity.bad_key", field=f"{where}.public_key") from exc
    not_before = get_int(grant, "not_before", where)
    not_after = get_int(grant, "not_after", where)
    if not_before >= not_after:
        raise ValidationError(f"{where}: not_before must be before not_after", code="validation.range", field=f"{where}.not_after")
    return public_key, not_before, not_after


# -- organisations ----------------------------------------------------------------------------


def _org_of_region(view: TxView, signer: Identity, uscc: object) -> dict[str, object]:
    """The organisation named by body.uscc, which must have been admitted by the signer's region."""
    uscc = validate_uscc(uscc, f"{_WHERE}.uscc")
    org = read_org(view, uscc)
    if org is None:
        raise ValidationError(f"no organisation {uscc} is admitted", code="org.unknown", field=f"{_WHERE}.uscc", uscc=uscc)
    if org["region"] != signer.region:
        raise ValidationError(
            f"organisation {uscc} belongs to region {org['region']}; an administrator of {signer.region} cannot act on it",
            code="gov.other_region", field=f"{_WHERE}.uscc", region=org["region"],
        )
    return org


def get_type_codes(body: Mapping[str, object], key: str, view: TxView, *, min_items: int, max_items: int) -> list[str]:
    """Registered licence type codes listed in body[key] (`min_items`..`max_items`), without
    repeats, sorted. Raises ValidationError naming `tx.body.<key>[i]`: "validation.length",
    "validation.duplicate", "ltype.unknown", the ids.* codes of a malformed code."""
    field = f"{_WHERE}.{key}"
    items = get_list(body, key, _WHERE, max_items=max_items)
    if len(items) < min_items:
        raise ValidationError(f"{field} needs at least {min_items} type code", code="validation.length", field=field)
    seen: set[str] = set()
    for i, item in enumerate(items):
        code = validate_type_code(item, f"{field}[{i}]")
        if code in seen:
            raise ValidationError(f"{field}[{i}]: {code} is listed twice", code="validation.duplicate", field=f"{field}[{i}]")
        if read_ltype(view, code) is None:
            raise ValidationError(f"{field}[{i}]: licence type {code} is not registered", code="ltype.unknown", field=f"{field}[{i}]")
        seen.add(code)
    return sorted(seen)


def _add_key(view: TxView, signer: Identity, uscc: str, grant: object, where: str) -> bytes:
    """Register one key grant as an issuer identity of `uscc` in the signer's region."""
    public_key, not_before, not_after = get_key_grant(grant, where)
    state_key = key_state_key(public_key.key_id)
    if view.get(state_key) is not None:
        raise ValidationError(f"{where}: this key is already registered", code="identity.exists", field=f"{where}.public_key", key_id=public_key.key_id)
    view.put(state_key, Identity(public_key, Role.ISSUER, signer.region, uscc, not_before, not_after).to_json())
    return public_key.key_id


def _admit(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("uscc", "name", "keys", "licence_types"))
    uscc = validate_uscc(body["uscc"], f"{_WHERE}.uscc")
    existing = read_org(view, uscc)
    if existing is not None:
        if existing["region"] != signer.region:
            raise ValidationError(
                f"organisation {uscc} was admitted by region {existing['region']}; {signer.region} cannot admit it",
                code="gov.other_region", field=f"{_WHERE}.uscc", region=existing["region"],
            )
        raise ValidationError(f"organisation {uscc} is already admitted", code="org.exists", field=f"{_WHERE}.uscc")
    name = get_str(body, "name", _WHERE, max_len=MAX_NAME)
    grants = get_list(body, "keys", _WHERE, max_items=MAX_ADMIT_KEYS)
    if not grants:
        raise ValidationError(f"{_WHERE}.keys needs at least one key grant", code="validation.length", field=f"{_WHERE}.keys")
    types = get_type_codes(body, "licence_types", view, min_items=0, max_items=MAX_GRANT_TYPES)
    key_ids = [_add_key(view, signer, uscc, grant, f"{_WHERE}.keys[{i}]") for i, grant in enumerate(grants)]
    view.put(org_key(uscc), {"uscc": uscc, "name": name, "region": signer.region, "status": ACTIVE, "licence_types": types, "keys": key_ids})


def _grant(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("uscc", "licence_types"))
    org = _org_of_region(view, signer, body["uscc"])
    added = get_type_codes(body, "licence_types", view, min_items=1, max_items=MAX_GRANT_TYPES)
    types = sorted(set(org["licence_types"]) | set(added))  # type: ignore[arg-type]
    if len(types) > MAX_ORG_TYPES:
        raise ValidationError(f"an organisation may hold at most {MAX_ORG_TYPES} licence types", code="org.too_many_types", field=f"{_WHERE}.licence_types")
    view.put(org_key(org["uscc"]), {**org, "licence_types": types})  # type: ignore[arg-type]


def _key_add(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("uscc", "key"))
    org = _org_of_region(view, signer, body["uscc"])
    keys = list(org["keys"])  # type: ignore[call-overload]
    if len(keys) >= MAX_ORG_KEYS:
        raise ValidationError(f"an organisation may have at most {MAX_ORG_KEYS} keys (revoked ones included)", code="org.too_many_keys", field=f"{_WHERE}.key")
    key_id = _add_key(view, signer, org["uscc"], body["key"], f"{_WHERE}.key")  # type: ignore[arg-type]
    view.put(org_key(org["uscc"]), {**org, "keys": [*keys, b64encode(key_id)]})  # type: ignore[arg-type]


def _key_revoke(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("uscc", "key_id", "reason"), ("note",))
    org = _org_of_region(view, signer, body["uscc"])
    key_id = get_bytes(body, "key_id", _WHERE, size=32)
    get_reason(body, _WHERE)
    raw = view.get(key_state_key(key_id))
    if raw is None:
        raise ValidationError("no identity is registered for this key id", code="identity.unknown", field=f"{_WHERE}.key_id")
    if b64encode(key_id) not in org["keys"]:  # type: ignore[operator]
        raise ValidationError(f"this key is not a key of organisation {org['uscc']}", code="identity.not_of_org", field=f"{_WHERE}.key_id")
    try:
        revoked = Identity.from_bytes(raw).revoke(ctx.time)
    except ValidationError as exc:
        raise ValidationError(str(exc), code=exc.code, field=f"{_WHERE}.key_id") from exc
    view.put(key_state_key(key_id), revoked.to_json())


def _set_status(want: str, new: str) -> Callable[[TxView, Tx, Identity, Context], None]:
    def handler(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
        body = tx.body
        expect_keys(body, _WHERE, ("uscc", "reason"), ("note",))
        org = _org_of_region(view, signer, body["uscc"])
        get_reason(body, _WHERE)
        if org["status"] != want:
            raise ValidationError(f"organisation {org['uscc']} is {org['status']}, not {want}", code="org.status", field=f"{_WHERE}.uscc", status=org["status"])
        view.put(org_key(org["uscc"]), {**org, "status": new})  # type: ignore[arg-type]

    return handler


# -- licence types and recognition ------------------------------------------------------------


def _ltype_register(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("code", "name", "validity_required"))
    code = validate_type_code(body["code"], f"{_WHERE}.code")
    name = get_str(body, "name", _WHERE, max_len=MAX_NAME)
    required = body["validity_required"]
    if not isinstance(required, bool):
        raise ValidationError(f"{_WHERE}.validity_required must be true or false", code="validation.type", field=f"{_WHERE}.validity_required")
    if read_ltype(view, code) is not None:
        raise ValidationError(f"licence type {code} is already registered", code="ltype.exists", field=f"{_WHERE}.code")
    view.put(ltype_key(code), {"code": code, "name": name, "region": signer.region, "validity_required": required})


def _rule_parts(view: TxView, body: Mapping[str, object], signer: Identity) -> tuple[str, str]:
    """body.from_region (another genesis region) and body.type (a registered type)."""
    from_region = get_str(body, "from_region", _WHERE, pattern=NAME_RE, max_len=32)
    if from_region == signer.region:
        raise ValidationError(f"a region does not recognise its own licences; from_region must differ from {signer.region}", code="recognition.same_region", field=f"{_WHERE}.from_region")
    if view.get(REGION_PREFIX + from_region.encode("ascii")) is None:
        raise ValidationError(f"{from_region} is not a region of this chain", code="recognition.unknown_region", field=f"{_WHERE}.from_region")
    type_code = validate_type_code(body["type"], f"{_WHERE}.type")
    return from_region, type_code


def _declare(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("from_region", "type", "as_type", "conditions"))
    from_region, type_code = _rule_parts(view, body, signer)
    as_type = validate_type_code(body["as_type"], f"{_WHERE}.as_type")
    conditions = get_str(body, "conditions", _WHERE, max_len=MAX_CONDITIONS, min_len=0)
    for field, code in (("type", type_code), ("as_type", as_type)):
        if read_ltype(view, code) is None:
            raise ValidationError(f"licence type {code} is not registered", code="ltype.unknown", field=f"{_WHERE}.{field}")
    key = recognition_key(signer.region, from_region, type_code)
    if view.get(key) is not None:
        raise ValidationError(f"{signer.region} already has a rule for {type_code} from {from_region}; withdraw it first", code="recognition.exists", field=f"{_WHERE}.type")
    view.put(key, {"as_type": as_type, "conditions": conditions, "declared_at": ctx.time})


def _withdraw(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("from_region", "type"))
    from_region, type_code = _rule_parts(view, body, signer)
    key = recognition_key(signer.region, from_region, type_code)
    if view.get(key) is None:
        raise ValidationError(f"{signer.region} has no rule for {type_code} from {from_region}", code="recognition.unknown", field=f"{_WHERE}.type")
    view.delete(key)


# -- certificates ------------------------------------------------------------------------------


def _cert_revoke(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("serial", "reason"), ("note",))
    serial = get_str(body, "serial", _WHERE, pattern=SERIAL_RE, max_len=40)
    reason = get_reason(body, _WHERE)
    key = cert_revocation_key(signer.region, serial)
    existing = view.get(key)
    if existing is not None:
        raise ValidationError(
            f"certificate {serial} of {signer.region} was already revoked at {decode(existing)['revoked_at']}; revocation is final",  # type: ignore[index]
            code="certrev.exists", field=f"{_WHERE}.serial",
        )
    view.put(key, {"reason": reason, "revoked_at": ctx.time})


_ADMIN = frozenset({Role.REGION_ADMIN})

for _name, _handler in (
    ("org.admit", _admit),
    ("org.grant", _grant),
    ("org.key_add", _key_add),
    ("org.key_revoke", _key_revoke),
    ("org.suspend", _set_status(ACTIVE, SUSPENDED)),
    ("org.resume", _set_status(SUSPENDED, ACTIVE)),
    ("ltype.register", _ltype_register),
    ("recognition.declare", _declare),
    ("recognition.withdraw", _withdraw),
    ("cert.revoke", _cert_revoke),
):
    register(TxKind(_name, _ADMIN, _handler))
