"""A licence's history (追溯): every version and status change, with height and time
(docs/spec/domain.md §8.3).

Each licence transaction (issue, change, renew and the status operations) adds one secondary-index
entry (beside the state, never in the tree or a proof) under the licence's version-independent
base `1.2.156.3005.2.<type>.<issuer>.<serial>`: `history/<base>/` ‖ height (8 bytes, big-endian)
‖ the transaction's position in its block (4 bytes, big-endian), so the entries of one licence
come in the order they were committed. The value is a small canonical summary of what the
transaction made: its kind, the version's id, the status and commitment state after it, the
reason code, the block time and the transaction id. It holds nothing of a person (a holder is
not in it at all) and no note (the transaction keeps it).

Writing is execution's (`record_history`, called by the licence handlers); reading is a walk of
the index (`history_page`, `licence_history`) through a ChainView. Never reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ledger.encoding import decode, encode
from ledger.execute import Context, TxView
from ledger.ids import LICENCE_ID_PREFIX, LicenceId, parse_licence_id
from ledger.pages import DEFAULT_LIMIT, MAX_LIMIT, check_limit, collect, start_after
from ledger.tx import Tx

if TYPE_CHECKING:
    from ledger.view import ChainView

HISTORY_INDEX = b"history/"


def licence_base(licence_id: LicenceId) -> str:
    """The version-independent base of a licence id: `1.2.156.3005.2.<type>.<issuer>.<serial>`."""
    return f"{LICENCE_ID_PREFIX}{licence_id.type}.{licence_id.issuer}.{licence_id.serial}"


def history_prefix(licence_id: LicenceId) -> bytes:
    """The index prefix (below `idx/`) of every history entry of the licence, any version."""
    return HISTORY_INDEX + licence_base(licence_id).encode("ascii") + b"/"


def _position(view: TxView) -> int:
    # The transaction's position in its block: TxView exposes it as `position` where it has it,
    # as its `_index` otherwise (the same value, ledger/execute.py).
    position = getattr(view, "position", None)
    return view._index if position is None else position  # noqa: SLF001


def record_history(view: TxView, tx: Tx, ctx: Context, record: Mapping[str, object], licence_id: LicenceId) -> None:
    """Add the §8.3 entry of `tx`, which left licence version `licence_id` as `record`."""
    reason = record["reason"] if tx.kind not in ("licence.issue", "licence.confirm") else None
    commitment = record["commitment"]
    summary = {
        "commitment": None if commitment is None else commitment["state"],  # type: ignore[index]
        "id": licence_id.text, "kind": tx.kind,
        "reason": None if reason is None else reason["code"],  # type: ignore[index]
        "status": record["status"], "time": ctx.time, "tx": tx.id,
    }
    key = history_prefix(licence_id) + ctx.height.to_bytes(8, "big") + _position(view).to_bytes(4, "big")
    view.index(key, encode(summary))


def history_page(view: ChainView, licence_id: str, *, after: str | None = None, limit: int = DEFAULT_LIMIT) -> tuple[list[dict[str, object]], str | None]:
    """One page of the history of the licence `licence_id` (any of its versions), oldest first:
    items `{"height", "index", "kind", "id", "status", "commitment", "reason", "time", "tx"}`
    (§8.3; `index` is the transaction's position in its block, `tx` its id as base64url), and the
    cursor of the next page (None: no more).

    Raises the `ids.*` ValidationError of a malformed id, "query.limit", "query.bad_cursor"."""
    parsed = parse_licence_id(licence_id, "licence_id")
    limit = check_limit(limit)
    prefix = history_prefix(parsed)
    return collect(view.iterate_index(prefix, start_after(prefix, after)), _item(len(prefix)), limit)


def licence_history(view: ChainView, licence_id: str) -> list[dict[str, object]]:
    """The whole history of the licence `licence_id` (§8.3), oldest first; [] when none is
    recorded. Its length is that of the licence's transactions (at most 999 versions and the
    status operations between them); a server answers in pages (`history_page`). Raises as
    `history_page`."""
    items: list[dict[str, object]] = []
    after = None
    while True:
        page, after = history_page(view, licence_id, after=after, limit=MAX_LIMIT)
        items += page
        if after is None:
            return items


def _item(cut: int) -> Callable[[bytes, bytes], dict[str, object]]:
    def item(key: bytes, value: bytes) -> dict[str, object]:
        place = key[cut:]
        summary = decode(value)
        return {"height": int.from_bytes(place[:8], "big"), "index": int.from_bytes(place[8:12], "big"), **summary}  # type: ignore[dict-item]
    return item
