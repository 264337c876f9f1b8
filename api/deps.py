"""Dependencies of the routes as `Annotated` aliases, and the API's one `Settings` class.

`ServiceDep` is the NodeService the app was made with; `TxBody` reads a request body within the
size limit *before* parsing it (docs/spec/api.md §5), parses it as JSON and hands the object to
`Tx.from_json`, which names the field at fault. This module must never trust Content-Length
alone (a chunked body is counted as it arrives) nor parse a body it has not size-checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.errors import ApiError
from api.service import NodeService
from ledger.tx import MAX_TX_BYTES, Tx

MAX_WAIT_S = 60.0
DEFAULT_WAIT_S = 10.0
MAX_HEIGHT = 2**53 - 1


@dataclass(frozen=True)
class Settings:
    """Limits of the API (api.md §5). A transaction's canonical form is at most MAX_TX_BYTES;
    the body may be larger (whitespace, escapes) up to `max_tx_body_bytes`."""

    max_tx_body_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_tx_body_bytes < MAX_TX_BYTES:
            raise ValueError(f"max_tx_body_bytes must be at least {MAX_TX_BYTES}, not {self.max_tx_body_bytes}")


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
WaitQuery = Annotated[Wait, Query(description="commit: answer when the transaction is committed")]
TimeoutQuery = Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="seconds to wait for the commit (wait=commit only)")]
HeightPath = Annotated[int, Path(ge=1, le=MAX_HEIGHT, description="block height, 1 is the first block")]
