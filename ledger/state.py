"""The authenticated state: a sparse Merkle map whose latest values are also readable flat.

Every state entry lives in the sparse Merkle tree (ledger.smt, docs/spec/state.md), which gives
the state root and membership / non-membership proofs at any retained root. The tree keeps each
live key's value once, in its latest-value table (`st/` + key, state.md §6.3), which is also the
flat index that execution reads in one lookup; a leaf holds its value inline only once the value
is superseded, for the historical roots still retained. Writes are buffered and applied to the
tree once per block (`commit`), as the block's version, and that batch's stale list is kept in
`stale` for the chain to prune later (§6.4).

Never write the flat index except through the tree, and never read it for a root other than the
latest. A `NodeCache` shared across blocks (one per chain) keeps the tree's upper levels in
memory.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.kv import Overlay, Prefixed
from ledger.smt import NodeCache, SparseMerkleTree
from ledger.smt.nodes import LATEST_SPACE

# The tree's store (state.md §6.1): nodes under `smt/`, roots under `smr/`, the pruned mark
# `smp`, latest values under `st/`. SMT_PREFIX is the name readers of the tree use for it.
STATE_PREFIX = b"s"
SMT_PREFIX = STATE_PREFIX
FLAT_PREFIX = STATE_PREFIX + LATEST_SPACE
INDEX_PREFIX = b"idx/"


class State:
    """Latest state over an `Overlay` (whose changes the caller commits in one batch).

    `version` is the version the next `commit` writes the tree as (a chain passes the block's
    height; None: one more than the root's). Commit once per version."""

    def __init__(self, kv: Overlay, root: bytes, cache: NodeCache | None = None, *, version: int | None = None) -> None:
        self._kv = kv
        self._flat = Prefixed(kv, FLAT_PREFIX)
        self.tree = SparseMerkleTree(Prefixed(kv, STATE_PREFIX), cache=cache, latest_values=True)
        self.root = root
        self.version = version
        self.stale = b""
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
        """Apply buffered changes to the tree (which updates the flat index); returns the new
        state root and keeps the batch's stale list (SparseMerkleTree.prune) in `stale`.

        Raises as SparseMerkleTree.write_version (e.g. ValidationError "smt.version_invalid"
        when committed twice as one version)."""
        if self._pending:
            update = self.tree.write_version(self.root, self._pending, version=self.version)
            self.root = update.root
            self.stale = update.stale_list()
            self._pending = {}
        return self.root
