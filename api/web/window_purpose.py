"""The purpose of use on the window page (用证事项): the service items (事项) the caller's region
keeps on the ledger (ledger.scenarios, domain.md §11), the form's fields, and the session cookie
that remembers the choice.

With the region's scenarios the clerk picks one (`scenario`, its code) and types the business
serial number (`serial`); the purpose is the scenario's code and Chinese name with that serial.
A region that declared none falls back to three typed fields (`item_code`, `item_name`,
`serial`). Either way the purpose is checked against the API's patterns (api.licence_schemas.
PurposeJson) before api.access.purpose_for decides whether it is required.

The cookie holds the purpose only (a service item and a business serial number: no personal
data), for the browser session. Must never read the chain on the event loop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson
import pydantic
from fastapi import Request

from api.auth import Caller
from api.licence_schemas import PurposeJson
from api.workers import in_worker
from ledger.errors import LedgerError, ValidationError
from ledger.scenarios import list_scenarios

#: The session cookie remembering the service item and serial number (no personal data).
PURPOSE_COOKIE = "window_purpose"
PURPOSE_FIELDS = ("item_code", "item_name", "serial")


class PurposeError(LedgerError):
    """A purpose the window form states that the page cannot use (422)."""

    code = "web.bad_purpose"


async def scenarios_for(request: Request, caller: Caller) -> list[dict[str, object]]:
    """The scenarios in force of the caller's region at the tip (empty for an anonymous caller
    or a region that declared none)."""
    if caller.region is None:
        return []
    service = request.app.state.service
    return await in_worker(lambda: list_scenarios(service.view(), caller.region))  # type: ignore[arg-type]


def purpose_from_form(form: Mapping[str, object], scenarios: list[dict[str, object]]) -> dict[str, str]:
    """The purpose fields the form gives (empty strings when not given): with `scenarios`, the
    chosen scenario's code and name; without, the typed code and name. Raises PurposeError
    "web.unknown_scenario" for a code that is not one of `scenarios`."""
    serial = str(form.get("serial") or "").strip()
    if not scenarios:
        return {"item_code": str(form.get("item_code") or "").strip(), "item_name": str(form.get("item_name") or "").strip(), "serial": serial}
    code = str(form.get("scenario") or "").strip()
    if not code:
        return {"item_code": "", "item_name": "", "serial": serial}
    for item in scenarios:
        if item["code"] == code:
            return {"item_code": code, "item_name": str(item["name"]), "serial": serial}
    raise PurposeError(f"scenario: {code[:64]!r} is not a service item of this region; pick one from the list", code="web.unknown_scenario", field="scenario")


def checked_purpose(fields: Mapping[str, str]) -> dict[str, str] | None:
    """The purpose `fields` state (None when all are empty), checked against the API's patterns.
    Raises ValidationError "validation.format" naming the field."""
    if not any(fields.values()):
        return None
    try:
        return PurposeJson.model_validate(dict(fields)).model_dump()
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"purpose.{name}: {first['msg']}", code="validation.format", field=f"purpose.{name}") from None


def encode_purpose(purpose: Mapping[str, str]) -> str:
    """The cookie's value: unpadded base64url of the purpose's JSON (no character a cookie quotes)."""
    return base64.urlsafe_b64encode(orjson.dumps({k: purpose[k] for k in PURPOSE_FIELDS})).decode("ascii").rstrip("=")


def remembered_purpose(request: Request) -> dict[str, str]:
    """The purpose the session cookie remembers ({} when none or unreadable)."""
    raw = request.cookies.get(PURPOSE_COOKIE)
    if not raw:
        return {}
    try:
        value = orjson.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in PURPOSE_FIELDS and isinstance(v, str)}
