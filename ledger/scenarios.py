"""Use scenarios (事项, service items) kept on the ledger (docs/spec/domain.md §11): the list a
window clerk picks the purpose of every check from.

Kind `scenario.declare`, signed by a region administrator, declares, replaces or withdraws one
scenario of the signer's own region: its code (the 事项编码 a use record's `purpose.item_code`
carries), its names and the licence types it accepts. State `scenario/<R>/<code>` holds it; a
withdrawn scenario is kept (old use records still name it) but not listed by default. A region
declares at most MAX_SCENARIOS codes in all (`scencount/<R>` counts them), so its list is read
whole.

No region can declare for another: the body names the region and it must be the signer's. The
handler reads and writes only through its TxView and never reads the clock; the reads never
write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.encoding import decode
from ledger.errors import ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, get_str
from ledger.governance import get_type_codes
from ledger.identity import Identity, Role
from ledger.kv import KVReader
from ledger.tx import Tx
from ledger.uses import ITEM_CODE_RE, ITEM_NAME_RE
from ledger.validators import NAME_RE

if TYPE_CHECKING:
    from ledger.view import ChainView

KIND = "scenario.declare"
PREFIX = b"scenario/"
COUNT_PREFIX = b"scencount/"
#: Codes a region may declare in all, withdrawn ones included (they are kept).
MAX_SCENARIOS = 256
MAX_TYPES = 64
MAX_CODE = 64
MAX_NAME = 128

_WHERE = "tx.body"


def scenario_key(region: str, code: str) -> bytes:
    return PREFIX + f"{region}/{code}".encode("ascii")


def count_key(region: str) -> bytes:
    return COUNT_PREFIX + region.encode("ascii")


def read_scenario(reader: KVReader, region: str, code: str) -> dict[str, object] | None:
    """The scenario `scenario/<region>/<code>` (withdrawn or not), or None. The caller checks the
    names (a state reader, e.g. a handler's TxView)."""
    raw = reader.get(scenario_key(region, code))
    return None if raw is None else decode(raw)  # type: ignore[return-value]


def scenario(view: ChainView, region: str, code: str) -> dict[str, object] | None:
    """Region `region`'s scenario `code` at the view's height: `{"code", "name", "name_en",
    "region", "licence_types", "withdrawn", "declared_at"}` (withdrawn ones too), or None.

    Raises ValidationError "query.bad_region" (field `region`) or "query.bad_code" (field `code`)
    for a malformed name or code."""
    _check_region(region)
    if not isinstance(code, str) or not ITEM_CODE_RE.fullmatch(code):
        raise ValidationError(f"code must match {ITEM_CODE_RE.pattern}", code="query.bad_code", field="code")
    return read_scenario(view.state(), region, code)


def list_scenarios(view: ChainView, region: str, *, include_withdrawn: bool = False) -> list[dict[str, object]]:
    """Region `region`'s scenarios at the view's height, by code (as `scenario` gives them), the
    withdrawn ones only when `include_withdrawn`; whole (at most MAX_SCENARIOS); empty for a
    region that declared none, or is not a region of the chain.

    Raises ValidationError "query.bad_region" (field `region`) for a malformed region name."""
    prefix = PREFIX + _check_region(region).encode("ascii") + b"/"
    found = []
    for _, raw in view.iterate_state(prefix):
        item: dict[str, object] = decode(raw)  # type: ignore[assignment]
        if include_withdrawn or not item["withdrawn"]:
            found.append(item)
    return found


def _check_region(region: object) -> str:
    if not isinstance(region, str) or not NAME_RE.fullmatch(region):
        raise ValidationError("region is not a region name", code="query.bad_region", field="region")
    return region


# -- scenario.declare ---------------------------------------------------------------------------


def _declare(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("code", "name", "region", "licence_types"), ("name_en", "withdrawn"))
    region = get_str(body, "region", _WHERE, pattern=NAME_RE, max_len=32)
    if region != signer.region:
        raise ValidationError(
            f"an administrator of {signer.region} declares only {signer.region}'s scenarios, not {region}'s",
            code="gov.other_region", field=f"{_WHERE}.region", region=region,
        )
    code = get_str(body, "code", _WHERE, pattern=ITEM_CODE_RE, max_len=MAX_CODE)
    name = get_str(body, "name", _WHERE, pattern=ITEM_NAME_RE, max_len=MAX_NAME)
    name_en = get_str(body, "name_en", _WHERE, pattern=ITEM_NAME_RE, max_len=MAX_NAME) if "name_en" in body else None
    withdrawn = body.get("withdrawn", False)
    if not isinstance(withdrawn, bool):
        raise ValidationError(f"{_WHERE}.withdrawn must be true or false", code="validation.type", field=f"{_WHERE}.withdrawn")
    types = get_type_codes(body, "licence_types", view, min_items=1, max_items=MAX_TYPES)
    key = scenario_key(region, code)
    if view.get(key) is None:
        if withdrawn:
            raise ValidationError(f"{region} has no scenario {code} to withdraw", code="scenario.unknown", field=f"{_WHERE}.code")
        raw = view.get(count_key(region))
        count: int = 0 if raw is None else decode(raw)["count"]  # type: ignore[index]
        if count >= MAX_SCENARIOS:
            raise ValidationError(
                f"{region} has declared {count} scenarios, the most a region may (withdrawn ones count; declare an existing code again to change it)",
                code="scenario.too_many", field=f"{_WHERE}.code",
            )
        view.put(count_key(region), {"count": count + 1})
    view.put(key, {
        "code": code, "name": name, "name_en": name_en, "region": region, "licence_types": types,
        "withdrawn": withdrawn, "declared_at": ctx.time,
    })


register(TxKind(KIND, frozenset({Role.REGION_ADMIN}), _declare))
