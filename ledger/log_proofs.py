"""Proofs of the global transaction log for clients that trust signed headers only (docs/spec/
api.md §2.5, §2.6; hashing.md §2): where a committed transaction is, with its RFC 9162 inclusion
proofs at its block's header and at the tip; a consistency proof between two log sizes; and the
first block whose header shows a given log size.

A client checks each proof with ledger.merkle against the `log_root` of a header it trusts (one
that a quorum of validators signed, GET /v1/headers/{h}); the roots carried here only say which
root to look for. Reads through a ChainView (one committed height); never the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from ledger.block import Header
from ledger.encoding import encode
from ledger.errors import StoreError
from ledger.merkle import MerkleLog, leaf_hash

if TYPE_CHECKING:
    from ledger.view import ChainView


@dataclass(frozen=True)
class Inclusion:
    """An inclusion proof of one leaf in the log of `log_size` leaves whose root is `log_root`,
    the log after block `height`."""

    height: int
    log_size: int
    log_root: bytes
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {"height": self.height, "log_size": self.log_size, "log_root": self.log_root, "proof": list(self.proof)}


@dataclass(frozen=True)
class CommittedTx:
    """Transaction `index` of block `height` (block time `time`), leaf `log_index` of the log;
    `tx` its canonical bytes (the leaf's data); proven at its block and at the view's tip."""

    tx_id: bytes
    height: int
    index: int
    time: int
    log_index: int
    tx: bytes
    at_block: Inclusion
    at_tip: Inclusion


def find_transaction(view: ChainView, tx_id: bytes) -> CommittedTx | None:
    """The committed transaction `tx_id` as of `view`, with its proofs; None if not committed.

    Raises StoreError "store.missing_block" / "store.corrupt_block" (the stored block does not
    hold the logged transaction) and the log's "store.missing_node" for a damaged store."""
    located = view.tx_location(tx_id)
    if located is None:
        return None
    height, index = located
    header = _header(view, height)
    log_index = view.log_index(height, index)
    log = view.log()
    raw = _tx_bytes(view, height, index)
    if leaf_hash(raw) != log.leaf_hash(log_index):
        raise StoreError(f"transaction {index} of stored block {height} is not leaf {log_index} of the log", code="store.corrupt_block", height=height)
    tip = view.tip
    return CommittedTx(
        tx_id, height, index, header.time, log_index, raw,
        Inclusion(height, header.log_size, header.log_root, tuple(log.prove_inclusion(log_index, header.log_size))),
        Inclusion(tip.height, tip.log_size, tip.log_root, tuple(log.prove_inclusion(log_index, tip.log_size))),
    )


def _tx_bytes(view: ChainView, height: int, index: int) -> bytes:
    """The canonical bytes of transaction `index` of stored block `height`, cut out of the stored
    block without checking the whole block (the caller compares them with the log's leaf)."""
    raw = view.block_bytes(height)
    if raw is None:
        raise StoreError(f"the store lacks block {height}", code="store.missing_block", height=height)
    try:
        txs = orjson.loads(raw)["txs"]
        return encode(txs[index])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise StoreError(f"stored block {height} has no transaction {index}: {exc}", code="store.corrupt_block", height=height) from None


def _header(view: ChainView, height: int) -> Header:
    header = view.header(height)
    if header is None:
        raise StoreError(f"the store lacks block {height}", code="store.missing_block", height=height)
    return header


def height_of_log_size(view: ChainView, size: int) -> int | None:
    """The lowest height 1..tip whose header's `log_size` is `size`, or None when no header
    shows it (the size falls inside a block, or lies beyond the tip). Reads O(log tip) headers
    (log sizes never decrease with height)."""
    tip = view.tip
    if tip.height == 0 or not 0 <= size <= tip.log_size:
        return None
    low, high = 1, tip.height
    while low < high:
        middle = (low + high) // 2
        if _header(view, middle).log_size < size:
            low = middle + 1
        else:
            high = middle
    return low if _header(view, low).log_size == size else None


@dataclass(frozen=True)
class LogPoint:
    """The log at `size` leaves: its root, and the first block whose header shows that size."""

    size: int
    root: bytes
    height: int | None

    def to_json(self) -> dict[str, object]:
        point: dict[str, object] = {"size": self.size, "root": self.root}
        if self.height is not None:
            point["height"] = self.height
        return point


@dataclass(frozen=True)
class Consistency:
    """A consistency proof (hashing.md §2.3) that the log at `second` extends the log at `first`."""

    first: LogPoint
    second: LogPoint
    proof: tuple[bytes, ...]


def prove_log_consistency(view: ChainView, first: int, second: int) -> Consistency:
    """The consistency proof between log sizes `first` <= `second` <= the tip's log size.

    Raises ProofError "proof.size_out_of_range" (a size beyond the tip's log) and
    "proof.sizes_out_of_order" (first > second), and the log's StoreErrors."""
    log: MerkleLog = view.log()
    proof = tuple(log.prove_consistency(first, second))
    return Consistency(
        LogPoint(first, log.root_at(first), height_of_log_size(view, first)),
        LogPoint(second, log.root_at(second), height_of_log_size(view, second)),
        proof,
    )
