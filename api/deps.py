"""Dependencies of the routes as `Annotated` aliases, and the API's one `Settings` class.

`ServiceDep` is the NodeService the app was made with; `TxBody` reads a request body within the
size limit *before* parsing it (docs/spec/api.md §5), parses it as JSON and hands the object to
`Tx.from_json`, which names the field at fault. Numbers in paths and queries are read strictly
(api.md §1.1): `IntPath` / `IntQuery` / `DecimalQuery` make the parameter types (`HeightPath`,
`HeightQuery`, `CountQuery(…)`, `TimeoutQuery`); identifiers in paths are read as strictly by
`TextPath` (`TxIdPath`, `SealIdPath`, `UsccPath`). This module must never trust Content-Length
alone (a chunked body is counted as it arrives), parse a body it has not size-checked, nor
accept a number in a spelling other than the one api.md §1.1 allows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.errors import ApiError
from api.limits import ClientLimits
from api.spelling import USCC_FORMAT, USCC_PATTERN, b64_pattern, decimal_pattern
from api.service import NodeService
from ledger.errors import LedgerError
from ledger.ids import validate_uscc
from ledger.tx import MAX_TX_BYTES, Tx

MAX_WAIT_S = 60
DEFAULT_WAIT_S = 10.0
MAX_HEIGHT = 2**53 - 1
DEFAULT_MAX_BLOCK_AGE_S = 60.0


@dataclass(frozen=True)
class Settings:
    """Limits of the API (api.md §5). A transaction's canonical form is at most MAX_TX_BYTES;
    the body may be larger (whitespace, escapes) up to `max_tx_body_bytes`. /readyz (api.md §7)
    answers 503 once the last block is older than `max_block_age_s`: by default six times the
    default empty-block interval (consensus.md §3.3), so a network that commits nothing for a
    minute, or a node cut off from it, is not sent requests."""

    max_tx_body_bytes: int = 1 << 20
    client_limits: ClientLimits = field(default_factory=ClientLimits)
    max_block_age_s: float = DEFAULT_MAX_BLOCK_AGE_S

    def __post_init__(self) -> None:
        if self.max_tx_body_bytes < MAX_TX_BYTES:
            raise ValueError(f"max_tx_body_bytes must be at least {MAX_TX_BYTES}, not {self.max_tx_body_bytes}")
        if not self.max_block_age_s > 0:
            raise ValueError(f"max_block_age_s must be positive, not {self.max_block_age_s}")


class Wait(str, Enum):
    NONE = "none"  # answer once the mempool accepted the transaction (202)
    COMMIT = "commit"  # answer once it is committed (200), or when `timeout` expires (504)


def get_service(request: Request) -> NodeService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ServiceDep = Annotated[NodeService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ApiError "api.too_large" (413) as soon as it exceeds `limit` bytes:
    by its declared Content-Length, or while it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(f"request body of {int(declared)} bytes exceeds the limit of {limit}", code="api.too_large", field="body")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(f"request body exceeds the limit of {limit} bytes", code="api.too_large", field="body")
    return bytes(body)


def parse_json(data: bytes) -> object:
    """Any JSON text (RFC 8259) as Python values. Raises ApiError "api.bad_json" (400) for
    invalid UTF-8 or syntax, NaN / Infinity, an integer of thousands of digits, nesting beyond
    the parser's depth, or an object with a repeated member name (which parsers disagree about)."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ApiError(f"body is not UTF-8: invalid byte at {exc.start}", code="api.bad_json", field="body") from None
    except json.JSONDecodeError as exc:
        raise ApiError(f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", code="api.bad_json", field="body") from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise ApiError(f"body holds a number that cannot be read: {exc}", code="api.bad_json", field="body") from None
    except RecursionError:
        raise ApiError("body nests arrays or objects too deeply", code="api.bad_json", field="body") from None


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for name, value in pairs:
        if name in obj:
            raise ApiError(f"body repeats the member {name!r} in one object", code="api.bad_json", field="body")
        obj[name] = value
    return obj


def _no_constant(name: str) -> object:
    raise ApiError(f"body holds {name}, which is not JSON", code="api.bad_json", field="body")


async def read_tx(request: Request, settings: SettingsDep) -> Tx:
    """The transaction in the request body. Raises ApiError (413 / 400) as above, then what
    `Tx.from_json` raises (ValidationError naming the field, EncodingError for values the
    canonical encoding does not allow, such as fractions)."""
    body = await read_body(request, settings.max_tx_body_bytes)
    return Tx.from_json(parse_json(body))


TxBody = Annotated[Tx, Depends(read_tx)]


# -- numbers in paths and queries (api.md §1.1) ----------------------------------------------------

INT_TEXT = re.compile(r"0|[1-9][0-9]*")
DECIMAL_TEXT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,9})?")
MAX_SHOWN_CHARS = 32


def _shown(text: object) -> str:
    """`text` for a message: JSON-quoted (control characters visible), cut at MAX_SHOWN_CHARS."""
    if not isinstance(text, str):
        return type(text).__name__
    cut = text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "…"
    return json.dumps(cut, ensure_ascii=False)


def read_int_text(text: object, *, minimum: int, maximum: int) -> int:
    """The integer that `text` writes in the one spelling api.md §1.1 allows: ASCII digits, no
    sign, no leading zero (except "0" itself), nothing else; within [minimum, maximum].

    Raises PydanticCustomError "int_text" (for FastAPI: 422 "api.invalid_parameter" naming the
    parameter); never converts a text longer than `maximum`'s digits."""
    if isinstance(text, str) and len(text) <= len(str(maximum)) and INT_TEXT.fullmatch(text) and minimum <= int(text) <= maximum:
        return int(text)
    wanted = f"an integer from {minimum} to {maximum} in plain decimal digits (no sign, leading zero, separator, point or space)"
    raise PydanticCustomError("int_text", "must be {wanted}; got {shown}", {"wanted": wanted, "shown": _shown(text)})


def read_decimal_text(text: object, *, minimum: int, maximum: int) -> float:
    """The number that `text` writes as a plain decimal (api.md §1.1): the integer spelling of
    `read_int_text`, optionally followed by "." and 1 to 9 digits; no sign, exponent, `inf` or
    `nan`; within [minimum, maximum]. Raises PydanticCustomError "decimal_text"."""
    if isinstance(text, str) and len(text) <= len(str(maximum)) + 10 and DECIMAL_TEXT.fullmatch(text) and minimum <= Decimal(text) <= maximum:
        return float(text)
    wanted = f"a number from {minimum} to {maximum} in plain decimal digits, optionally with a point and 1 to 9 more digits (no sign, exponent, leading zero or space)"
    raise PydanticCustomError("decimal_text", "must be {wanted}; got {shown}", {"wanted": wanted, "shown": _shown(text)})


def _read_with(base: type, reader: Any, minimum: int, maximum: int) -> Any:
    """`base` bounded to [minimum, maximum] in the schema, and read from text by `reader`."""
    return Annotated[Annotated[base, Field(ge=minimum, le=maximum)], BeforeValidator(partial(reader, minimum=minimum, maximum=maximum))]


def IntPath(minimum: int, maximum: int, description: str, **path: Any) -> Any:  # noqa: N802 (makes a type)
    """The type of an integer path parameter read by `read_int_text`; its OpenAPI schema is
    `integer` with `minimum` and `maximum`. `path` goes to fastapi.Path (examples, ...)."""
    return Annotated[_read_with(int, read_int_text, minimum, maximum), Path(description=description, **path)]


def IntQuery(minimum: int, maximum: int, description: str, **query: Any) -> Any:  # noqa: N802
    """The type of an integer query parameter read by `read_int_text`. Without a default it is
    required; an optional one is written `name: T = None` (`T | None` would put `null` in its
    schema). `query` goes to fastapi.Query (`alias="from"` for a parameter named like a keyword)."""
    return Annotated[_read_with(int, read_int_text, minimum, maximum), Query(description=description, **query)]


def decimal_text_pattern(maximum: int) -> str:
    """The JSON Schema pattern of the texts `read_decimal_text` accepts from 0 to `maximum`."""
    below = f"(?:{decimal_pattern(maximum - 1)})(?:\\.[0-9]{{1,9}})?" if maximum > 0 else None
    top = f"{maximum}(?:\\.0{{1,9}})?"
    return f"^(?:{below}|{top})$" if below else f"^{top}$"


def DecimalQuery(minimum: int, maximum: int, description: str, **query: Any) -> Any:  # noqa: N802
    """The type of a decimal query parameter read by `read_decimal_text`, from 0 (`minimum`) to
    `maximum`. Its schema is a `string` whose pattern states the accepted texts, range
    included: a `number` would admit spellings the reader refuses (`1e-05`, a tenth digit)."""
    if minimum != 0:
        raise ValueError("a decimal parameter's range starts at 0")
    schema = {"type": "string", "pattern": decimal_text_pattern(maximum)}
    return Annotated[_read_with(float, read_decimal_text, minimum, maximum), WithJsonSchema(schema), Query(description=description, **query)]


def CountQuery(maximum: int, description: str = "how many items to answer at most", **query: Any) -> Any:  # noqa: N802
    """The type of a count query parameter (`limit`): an integer from 1 to `maximum`."""
    return IntQuery(1, maximum, description, **query)


WaitQuery = Annotated[Wait, Query(description="commit: answer when the transaction is committed")]
TimeoutQuery = DecimalQuery(0, MAX_WAIT_S, "seconds to wait for the commit (wait=commit only): 0 to 60, at most 9 decimals", examples=["10"])
HeightPath = IntPath(1, MAX_HEIGHT, "block height, 1 is the first block", examples=[1])
HeightQuery = IntQuery(1, MAX_HEIGHT, "a committed block height", examples=[1])


# -- identifiers in paths --------------------------------------------------------------------------

#: A 32-byte id (transactions, hashes) in base64url without padding, in its one spelling: 43
#: characters, the last one carrying no bits beyond the 256 (encoding.md §4).
ID32_PATTERN = b64_pattern(32)
SEAL_ID_PATTERN = r"^[0-9A-Z]{8,32}$"


def read_text(text: object, *, pattern: re.Pattern[str], wanted: str, check: Any = None) -> str:
    """`text` if it matches `pattern` in full (and `check(text)` raises no LedgerError); else
    PydanticCustomError "text" (for FastAPI: 422 "api.invalid_parameter") saying what is wanted
    and quoting what came (JSON-quoted, cut after 32 characters)."""
    if isinstance(text, str) and pattern.fullmatch(text):
        if check is None:
            return text
        try:
            check(text)
            return text
        except LedgerError as exc:
            field = exc.fields.get("field")
            why = str(exc).removeprefix(f"{field}: ") if isinstance(field, str) else str(exc)
            raise PydanticCustomError("text", "must be {wanted}; got {shown}: {why}", {"wanted": wanted, "shown": _shown(text), "why": why}) from None
    raise PydanticCustomError("text", "must be {wanted}; got {shown}", {"wanted": wanted, "shown": _shown(text)})


def TextPath(pattern: str, wanted: str, description: str, *, check: Any = None, format: str | None = None, **path: Any) -> Any:  # noqa: N802, A002
    """The type of a text path parameter read by `read_text`; its OpenAPI schema is `string`
    with `pattern`. `check(text)` may refuse what the pattern lets through (a check character);
    the schema then names the `format` that says so (api.md §1.2)."""
    compiled = re.compile(pattern.removeprefix("^").removesuffix("$"))
    reader = partial(read_text, pattern=compiled, wanted=wanted, check=check)
    extra = {"format": format} if format is not None else None
    return Annotated[Annotated[str, Field(pattern=pattern, json_schema_extra=extra)], BeforeValidator(reader), Path(description=description, **path)]


TxIdPath = TextPath(
    ID32_PATTERN, "a transaction id: 32 bytes in base64url without padding (43 characters)", "the transaction id (base64url)",
    examples=["zS-KPh0hKUY4zlDGAoC_qj4vdlNFkYXuboBTAWw0kA4"],
)
SealIdPath = TextPath(SEAL_ID_PATTERN, "a seal id: 8 to 32 characters 0-9 A-Z", "the seal id", examples=["BJSCJ0000001"])
UsccPath = TextPath(
    USCC_PATTERN, "a unified social credit code (18 characters, GB 32100)", "the organisation's unified social credit code",
    check=validate_uscc, format=USCC_FORMAT, examples=["11220000013544541J"],
)
