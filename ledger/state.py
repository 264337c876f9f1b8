"""The authenticated state: a sparse Merkle map plus a flat index of its latest values.

Every state entry lives in the sparse Merkle tree (ledger.smt, docs/spec/state.md), which gives
the state root and membership / non-membership proofs at any committed root. Reading the latest
value through the tree costs a walk of ~log2(n) nodes, so the latest values are also kept in a
flat index (one KV entry per state key) updated in the same write batch; historical reads go
through the tree. Writes are buffered and applied to the tree once per block (`commit`).
Never read the flat index for a root other than the latest. A `NodeCache` shared across blocks
(one per chain) keeps the tree's upper levels in memory; nodes are content-addressed, so a cached
node is right for its hash whatever block produced it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.kv import Overlay, Prefixed
from ledger.smt import NodeCache, SparseMerkleTree

SMT_PREFIX = b"smt/"
FLAT_PREFIX = b"st/"
INDEX_PREFIX = b"idx/"


class State:
    """Latest state over an `Overlay` (whose changes the caller commits in one batch)."""

    def __init__(self, kv: Overlay, root: bytes, cache: NodeCache | None = None) -> None:
        self._kv = kv
        self._flat = Prefixed(kv, FLAT_PREFIX)
        self.tree = SparseMerkleTree(Prefixed(kv, SMT_PREFIX), cache=cache)
        self.root = root
        self._pending: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        """The latest value of `key`, including writes not yet committed."""
        if key in self._pending:
            return self._pending[key]
        return self._flat.get(key)

    def apply(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Buffer `changes` (None deletes) for the next `commit`."""
        self._pending.update(changes)

    def apply_indexes(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Write secondary-index entries (outside the tree) with this block's batch."""
        for key, value in changes.items():
            if value is None:
                self._kv.delete(INDEX_PREFIX + key)
            else:
                self._kv.put(INDEX_PREFIX + key, value)

    def commit(self) -> bytes:
        """Apply buffered changes to the tree and the flat index; returns the new state root."""
        if self._pending:
            self.root = self.tree.update(self.root, self._pending)
            for key, value in self._pending.items():
                if value is None:
                    self._flat.delete(key)
                else:
                    self._flat.put(key, value)
            self._pending = {}
        return self.root
