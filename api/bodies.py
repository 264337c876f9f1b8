"""JSON request bodies checked against a request model (docs/spec/api.md §1.3).

`read_model(request, model, limit)` reads a body within its size limit before parsing it
(api.deps.read_body), parses it as strict JSON (api.deps.parse_json: no repeated member, no
NaN) and checks it against a pydantic model of api.licence_schemas strictly: no coercion (a
number is not a string, a boolean not a number), no unknown member, and no `null` for a member
that may only be left out. A body that fails is one ValidationError with a `validation.*` code
naming the member at fault (`purpose.serial`), as the ledger's field readers name theirs.

Must never accept a body it has not size-checked, nor pass on a value the model did not accept.
"""

from __future__ import annotations

from typing import TypeVar

import pydantic
from fastapi import Request

from api.deps import parse_json, read_body
from api.schemas import Schema
from ledger.errors import ValidationError

M = TypeVar("M", bound=Schema)

#: pydantic's error types, by the code of ledger.fields that says the same.
_CODES = {
    "missing": "validation.missing_field",
    "extra_forbidden": "validation.unknown_field",
    "string_pattern_mismatch": "validation.format",
    "literal_error": "validation.format",
    "string_too_short": "validation.length",
    "string_too_long": "validation.length",
    "too_short": "validation.length",
    "too_long": "validation.length",
    "greater_than": "validation.range",
    "greater_than_equal": "validation.range",
    "less_than": "validation.range",
    "less_than_equal": "validation.range",
}
MAX_SHOWN_FIELD = 120


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("purpose", "serial")` -> "purpose.serial"; list positions as `[i]`; "body" for the root."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return (text or "body")[:MAX_SHOWN_FIELD]


def check_model(model: type[M], obj: object) -> M:
    """`obj` (parsed JSON) as `model`, checked strictly. Raises ValidationError naming the first
    member at fault: "validation.type" (also `null` for a member that may only be omitted,
    and a string that is not Unicode text), "validation.missing_field",
    "validation.unknown_field", "validation.format", "validation.length", "validation.range"."""
    if isinstance(obj, dict):
        for name, value in obj.items():
            if value is None and name in model.model_fields:
                raise ValidationError(f"{name} is null; leave the member out instead", code="validation.type", field=name)
    try:
        return model.model_validate(obj, strict=True)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = field_path(tuple(first.get("loc", ())))
        kind = first.get("type", "")
        code = _CODES.get(kind, "validation.type" if kind.endswith(("_type", "_unicode")) or kind == "union_tag_invalid" else "validation.invalid")
        raise ValidationError(f"{field}: {first.get('msg', 'invalid value')}", code=code, field=field) from None


async def read_model(request: Request, model: type[M], limit: int) -> M:
    """The request body as `model`: 413 "api.too_large" over `limit` bytes, 400 "api.bad_json",
    then what `check_model` raises (422)."""
    return check_model(model, parse_json(await read_body(request, limit)))
