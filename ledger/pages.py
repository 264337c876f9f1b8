"""Pages of a key-ordered listing with an opaque cursor (docs/spec/domain.md §8.2).

Every listing of the ledger's read side (licences by holder, issuer, type or deadline, a
licence's history, the registry) walks one key prefix of the state or of the secondary indexes
in key order. A page holds at most `limit` items and examines at most `budget` entries, so no
query reads without bound however sparse its filter; `next_cursor` then names the last entry
examined, and the next page starts after it. A null cursor means the listing is complete. A
cursor is the base64url text of that key: opaque to callers, and refused
(`query.bad_cursor`) unless it lies under the listing's own prefix.

Pure: it walks the iterator it is given and never reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ledger.encoding import b64decode, b64encode
from ledger.errors import LedgerError, ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: Entries a page may examine per item it may return (a sparse filter ends a page early).
BUDGET_PER_ITEM = 20
MAX_CURSOR_CHARS = 1024

_T = TypeVar("_T")


def check_limit(limit: object) -> int:
    """`limit` if it is an integer 1..MAX_LIMIT; raises ValidationError "query.limit"."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer 1..{MAX_LIMIT}", code="query.limit", field="limit")
    return limit


def encode_cursor(key: bytes) -> str:
    """The cursor naming `key`, the last entry a page examined."""
    return b64encode(key)


def decode_cursor(cursor: object, prefix: bytes) -> bytes:
    """The key a cursor names, which must lie under `prefix` (the listing it came from).

    Raises ValidationError "query.bad_cursor" (field `after`) otherwise."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
        raise ValidationError("after must be a cursor this listing returned", code="query.bad_cursor", field="after")
    try:
        key = b64decode(cursor, field="after")
    except LedgerError:
        raise ValidationError("after is not a cursor: not base64url text", code="query.bad_cursor", field="after") from None
    if not key.startswith(prefix) or key == prefix:
        raise ValidationError("after is a cursor of another listing", code="query.bad_cursor", field="after")
    return key


def start_after(prefix: bytes, after: str | None) -> bytes | None:
    """The iteration start of the page after cursor `after` under `prefix` (None: the first)."""
    return None if after is None else decode_cursor(after, prefix) + b"\x00"


def collect(
    entries: Iterable[tuple[bytes, bytes]], accept: Callable[[bytes, bytes], _T | None], limit: int,
    budget: int | None = None,
) -> tuple[list[_T], str | None]:
    """One page: `accept(key, value)` of each entry in order, keeping those that are not None,
    until `limit` items are kept or `budget` entries (default limit · BUDGET_PER_ITEM) are
    examined. Returns the items and the cursor of the next page (None when `entries` ended)."""
    budget = limit * BUDGET_PER_ITEM if budget is None else budget
    items: list[_T] = []
    iterator: Iterator[tuple[bytes, bytes]] = iter(entries)
    last: bytes | None = None
    examined = 0
    for key, value in iterator:
        if len(items) == limit or examined == budget:
            return items, encode_cursor(last)  # type: ignore[arg-type]
        examined += 1
        last = key
        item = accept(key, value)
        if item is not None:
            items.append(item)
    return items, None
