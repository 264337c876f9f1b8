"""Registry listings: what the ledger says about who may issue what (docs/spec/domain.md §3, §8.2).

Licence types, departments (organisations; one with its granted types and its seals), seals of
an organisation, recognition rules (all, or those a region declared, or those about licences
issued in a region), regions (from the genesis, with their administrators' key ids) and the
validators. Everything here is public: organisations, seals and rules are governance records,
never personal data. Each listing of state walks one key prefix in key order, a page at a time
with an opaque cursor (ledger.pages); regions and validators are bounded by the genesis and the
validator set (at most 64 and 256) and come whole.

Reads through a ChainView only (its flat state at the tip and its indexes); never a Chain,
never the clock.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ledger.encoding import decode
from ledger.errors import ValidationError
from ledger.governance import LTYPE_PREFIX, ORG_PREFIX, RECOGNITION_PREFIX, read_ltype, read_org
from ledger.ids import validate_uscc
from ledger.pages import DEFAULT_LIMIT, check_limit, collect, start_after
from ledger.seals import SEAL_OWNER_INDEX, read_seal
from ledger.validators import NAME_RE

if TYPE_CHECKING:
    from ledger.view import ChainView

#: A page of a listing: its items and the cursor of the next page (None: no more).
Page = tuple[list[dict[str, object]], str | None]


def list_licence_types(view: ChainView, *, after: str | None = None, limit: int = DEFAULT_LIMIT) -> Page:
    """Registered licence types `{"code", "name", "region", "validity_required"}` by code (§3).
    Raises ValidationError "query.limit", "query.bad_cursor"."""
    return _state_page(view, LTYPE_PREFIX, after, limit)


def list_departments(view: ChainView, *, region: str | None = None, after: str | None = None, limit: int = DEFAULT_LIMIT) -> Page:
    """Admitted organisations (their `org/` records: uscc, name, region, status, licence types,
    key ids) by USCC, those of `region` only when given. Raises ValidationError
    "query.bad_region", "query.limit", "query.bad_cursor"."""
    if region is not None:
        _check_region(region, "region")
    limit = check_limit(limit)
    start = start_after(ORG_PREFIX, after)
    return collect(view.iterate_state(ORG_PREFIX, start), lambda _, raw: _in_region(decode(raw), region), limit)


def department(view: ChainView, uscc: str) -> dict[str, object] | None:
    """One organisation (its `org/` record) with its licence types named
    (`"licence_types": [{"code", "name"}]`, at most 256) and the first page of its seals
    (`"seals"`, `"seals_next"`: the cursor for `list_seals`); None when none is admitted.
    Raises the "ids.bad_uscc" ValidationError of a malformed USCC (field `uscc`)."""
    validate_uscc(uscc, "uscc")
    org = read_org(view.state(), uscc)
    if org is None:
        return None
    state = view.state()
    types = []
    for code in org["licence_types"]:  # type: ignore[attr-defined]
        ltype = read_ltype(state, code)
        types.append({"code": code, "name": None if ltype is None else ltype["name"]})
    seals, seals_next = list_seals(view, uscc)
    return {**org, "licence_types": types, "seals": seals, "seals_next": seals_next}


def list_seals(view: ChainView, owner: str, *, after: str | None = None, limit: int = DEFAULT_LIMIT) -> Page:
    """The seals organisation `owner` registered (their `seal/` records, revoked ones included,
    §4), by seal id. Raises ValidationError "ids.bad_uscc" (field `owner`), "query.limit",
    "query.bad_cursor"."""
    validate_uscc(owner, "owner")
    limit = check_limit(limit)
    prefix = SEAL_OWNER_INDEX + owner.encode("ascii") + b"/"
    state = view.state()

    def seal(key: bytes, _: bytes) -> dict[str, object] | None:
        return read_seal(state, key[len(prefix):].decode("ascii"))

    return collect(view.iterate_index(prefix, start_after(prefix, after)), seal, limit)


def list_recognition_rules(
    view: ChainView, *, region: str | None = None, from_region: str | None = None, after: str | None = None, limit: int = DEFAULT_LIMIT,
) -> Page:
    """Recognition rules `{"region", "from_region", "type", "as_type", "conditions",
    "declared_at"}` (§3: `region` accepts `type` issued in `from_region` as its `as_type`), by
    region, issuing region and type; only those `region` declared and / or about licences issued
    in `from_region` when given. Raises ValidationError "query.bad_region", "query.limit",
    "query.bad_cursor"."""
    prefix = RECOGNITION_PREFIX
    if region is not None:
        prefix += _check_region(region, "region").encode("ascii") + b"/"
        if from_region is not None:
            prefix += _check_region(from_region, "from_region").encode("ascii") + b"/"
    elif from_region is not None:
        _check_region(from_region, "from_region")
    limit = check_limit(limit)

    def rule(key: bytes, raw: bytes) -> dict[str, object] | None:
        asking, issuing, type_code = key[len(RECOGNITION_PREFIX):].decode("ascii").split("/")
        if from_region is not None and issuing != from_region:
            return None
        return {"region": asking, "from_region": issuing, "type": type_code, **decode(raw)}  # type: ignore[dict-item]

    return collect(view.iterate_state(prefix, start_after(prefix, after)), rule, limit)


def list_regions(view: ChainView) -> list[dict[str, object]]:
    """The genesis regions in genesis order: `{"name", "admins": [key id], "ca_cert_sha256",
    "validators": [name]}` (the validators of the current set in that region)."""
    by_region: dict[str, list[str]] = {}
    for validator in view.validators():
        by_region.setdefault(validator.region, []).append(validator.name)
    return [
        {
            "name": region.name, "admins": [key.key_id for key in region.admins],
            "ca_cert_sha256": hashlib.sha256(region.ca_cert).digest(), "validators": by_region.get(region.name, []),
        }
        for region in view.genesis.regions
    ]


def list_validators(view: ChainView) -> list[dict[str, object]]:
    """The validator set for the block after the tip, in its order: `{"name", "region",
    "key_id", "public_key", "power"}`."""
    return [
        {"name": v.name, "region": v.region, "key_id": v.key_id, "public_key": v.public_key.to_json(), "power": v.power}
        for v in view.validators()
    ]


def _state_page(view: ChainView, prefix: bytes, after: str | None, limit: int) -> Page:
    limit = check_limit(limit)
    return collect(view.iterate_state(prefix, start_after(prefix, after)), lambda _, raw: decode(raw), limit)  # type: ignore[arg-type, return-value]


def _in_region(org: dict[str, object], region: str | None) -> dict[str, object] | None:
    return org if region is None or org["region"] == region else None


def _check_region(name: object, field: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValidationError(f"{field} is not a region name", code="query.bad_region", field=field)
    return name
