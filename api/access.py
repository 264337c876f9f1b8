"""What an authenticated caller may ask of the verification service beyond its route's roles
(docs/spec/api.md §6.3–§6.5): for which region, with which purpose of use, which use records.

api.auth says which roles may use a route (ROUTES); this module says, for a caller already let
through, whether it may ask for this region (`asking_region`), whether its verification must
state a purpose and be recorded (`purpose_for`), what its use record holds (`use_record`), and
whose use records it may read (`check_uses_reader`, `check_record_reader`). The caller's role,
region, name and USCC come from its certificate (api.auth), never from a request.

Pure: reads the ledger only through the reader it is given; never reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.auth import Caller
from certs.roles import Role
from ledger.encoding import b64encode
from ledger.errors import LedgerError, ValidationError
from ledger.genesis import Genesis
from ledger.governance import read_org
from ledger.ids import parse_licence_id
from ledger.kv import KVReader
from ledger.licences import read_licence

#: §6.3: roles that may ask only about their own region.
REGION_BOUND = frozenset({Role.PARTNER, Role.STAFF, Role.REGION_ADMIN})


class AccessError(LedgerError):
    """A caller the route lets in asks for something its certificate does not allow (403)."""

    code = "auth.forbidden"


def asking_region(caller: Caller, asked: str | None, genesis: Genesis, field: str) -> str:
    """The region a verdict is asked for: `asked`, or the caller's own region. Raises
    AccessError "auth.wrong_region" (naming `field`) when a partner, staff or region-admin
    caller names another region, ValidationError "verify.unknown_region" when the genesis has
    no such region."""
    region = caller.region if asked is None else asked
    if caller.role in REGION_BOUND and region != caller.region:
        raise AccessError(
            f"a {caller.role} certificate of {caller.region} may ask only for {caller.region}, not for {region}",
            code="auth.wrong_region", field=field, region=region,
        )
    if region is None or genesis.region(region) is None:
        raise ValidationError(f"{region} is not a region of this chain", code="verify.unknown_region", field=field)
    return region


def purpose_for(caller: Caller, purpose: Mapping[str, str] | None, field: str) -> dict[str, str] | None:
    """The purpose of use to record, or None when the verification is not recorded: a partner
    or staff caller must state one (else ValidationError "auth.purpose_required", naming
    `field`); any other caller is recorded exactly when it states one."""
    if purpose is None:
        if caller.recorded:
            raise ValidationError(
                f"a {caller.role} caller must state the purpose of use ({field}: item_code 事项编码, item_name 事项名称, serial 业务流水号); the verification is recorded (用证留痕)",
                code="auth.purpose_required", field=field,
            )
        return None
    return {"item_code": purpose["item_code"], "item_name": purpose["item_name"], "serial": purpose["serial"]}


def use_record(
    caller: Caller, purpose: Mapping[str, str], *, licence_id: str, asking_region: str, presented: str, verdict: str, height: int, time: int,
) -> dict[str, object]:
    """The use record of one answered verification (domain.md §10.1), without `node` and `seq`
    (the node gives them). Holds nothing of the holder; the caller's certificate hash is text."""
    return {
        "asking_region": asking_region,
        "caller": {"certificate": b64encode(caller.certificate or b""), "name": caller.name, "region": caller.region, "role": caller.role},
        "height": height,
        "licence_id": licence_id,
        "presented": presented,
        "purpose": dict(purpose),
        "time": time,
        "verdict": verdict,
    }


def licence_region(reader: KVReader, licence_id: str) -> str | None:
    """The region of licence `licence_id`: its record's, else its issuer organisation's; None
    when the state knows neither."""
    record = read_licence(reader, licence_id)
    if record is not None:
        return record["region"]  # type: ignore[return-value]
    org = read_org(reader, parse_licence_id(licence_id, "licence_id").issuer)
    return None if org is None else org["region"]  # type: ignore[return-value]


def check_uses_reader(caller: Caller, licence_id: str, reader: KVReader, field: str) -> None:
    """§6.5: an auditor reads the uses of any licence; an issuing department those of its own
    licences (the id's issuer is the USCC of its certificate), else AccessError
    "auth.not_concerned"; a region administrator those of its region's licences, else
    "auth.wrong_region" (also when the state knows neither the licence nor its issuer)."""
    if caller.role == Role.AUDITOR:
        return
    if caller.role == Role.ISSUER:
        issuer = parse_licence_id(licence_id, field).issuer
        if issuer != caller.uscc:
            raise AccessError(f"licence {licence_id} was issued by {issuer}; this department certificate is of {caller.uscc}", code="auth.not_concerned", field=field)
        return
    region = licence_region(reader, licence_id)
    if region != caller.region:
        where = "a region the ledger does not know" if region is None else region
        raise AccessError(f"licence {licence_id} is of {where}; this certificate is of {caller.region}", code="auth.wrong_region", field=field)


def owns_record(caller: Caller, record: Mapping[str, object]) -> bool:
    """Whether the use record was made for this caller: the same role, region and name (a
    renewed certificate of the same principal included)."""
    made_for: Mapping[str, object] = record["caller"]  # type: ignore[assignment]
    return (made_for["role"], made_for["region"], made_for["name"]) == (caller.role, caller.region, caller.name)


def check_record_reader(caller: Caller, record: Mapping[str, object], reader: KVReader, field: str) -> None:
    """§6.5: a use record is read by the caller it was made for, an auditor, the issuing
    department of its licence, or an administrator of the licence's region or of the region of
    the caller it was made for. Raises AccessError "auth.not_concerned" (or "auth.wrong_region" for
    an administrator of another region) otherwise."""
    if owns_record(caller, record) or caller.role == Role.AUDITOR:
        return
    licence_id: str = record["licence_id"]  # type: ignore[assignment]
    if caller.role == Role.REGION_ADMIN:
        if record["caller"]["region"] == caller.region:  # type: ignore[index]
            return
        check_uses_reader(caller, licence_id, reader, field)
        return
    if caller.role == Role.ISSUER and parse_licence_id(licence_id, field).issuer == caller.uscc:
        return
    raise AccessError(f"use record {record['node']}:{record['seq']} was made for another caller", code="auth.not_concerned", field=field)
