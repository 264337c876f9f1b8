"""A committed chain as of one tip, read-only: what the API and proof builders read (DESIGN §8a).

`ChainView` reads blocks, headers, commits, the transaction index, the global log, the latest
state and the state of any retained height from a `SnapshotReader`, a store that does not change
under it: a LevelDB snapshot taken when the tip was committed, or a store nobody writes meanwhile.
Every answer is therefore about one committed height, even while the node commits the next
blocks. It has the reading members of `ledger.chain.Chain` (`height`, `tip`, `genesis`, `kv`,
`oldest_state_height`, `header`, `commit`), so `StateAt` and the bundle builders take either.

Never writes, never reads the clock; the key layout is blocks.md §6.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger.block import Block, Header
from ledger.chain import (
    BLOCK_PREFIX, COMMIT_PREFIX, HEADER_PREFIX, LOG_PREFIX, PRUNED_KEY, TIP_KEY, TX_INDEX_PREFIX, VALIDATORS_KEY, Tip,
    height_key,
)
from ledger.commit import Commit
from ledger.encoding import decode
from ledger.errors import StoreError
from ledger.genesis import Genesis
from ledger.kv import Prefixed, SnapshotReader
from ledger.merkle import MerkleLog
from ledger.state import FLAT_PREFIX, INDEX_PREFIX
from ledger.tx import Tx
from ledger.validators import ValidatorSet


class ChainView:
    """The chain in `kv` as of `tip` (default: the tip stored in `kv`).

    Raises StoreError "store.no_tip" when `kv` holds no chain, "store.genesis_mismatch" when it
    holds another genesis than `genesis`."""

    __slots__ = ("kv", "genesis", "tip", "_oldest")

    def __init__(self, kv: SnapshotReader, genesis: Genesis, tip: Tip | None = None) -> None:
        self.kv = kv
        self.genesis = genesis
        if tip is None:
            raw = kv.get(TIP_KEY)
            if raw is None:
                raise StoreError("the store holds no chain (no tip record)", code="store.no_tip")
            tip = Tip.from_bytes(raw)
        self.tip = tip
        self._oldest: int | None = None

    @property
    def height(self) -> int:
        return self.tip.height

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    @property
    def oldest_state_height(self) -> int:
        """The lowest height whose state can still be read and proven (blocks.md §6.1)."""
        if self._oldest is None:
            raw = self.kv.get(PRUNED_KEY)
            self._oldest = 0 if raw is None else int.from_bytes(raw, "big")
        return self._oldest

    # -- blocks -------------------------------------------------------------------------------

    def _at(self, prefix: bytes, height: int) -> bytes | None:
        if isinstance(height, bool) or not isinstance(height, int) or not 1 <= height <= self.tip.height:
            return None
        return self.kv.get(height_key(prefix, height))

    def block_bytes(self, height: int) -> bytes | None:
        """The canonical bytes of committed block `height`, as stored; None outside 1..tip."""
        return self._at(BLOCK_PREFIX, height)

    def block(self, height: int) -> Block | None:
        raw = self.block_bytes(height)
        return None if raw is None else Block.from_bytes(raw)

    def header_bytes(self, height: int) -> bytes | None:
        """The canonical bytes of the header of block `height`; None outside 1..tip."""
        return self._at(HEADER_PREFIX, height)

    def header(self, height: int) -> Header | None:
        raw = self.header_bytes(height)
        return None if raw is None else Header.from_json(decode(raw), "header")

    def commit_bytes(self, height: int) -> bytes | None:
        """The canonical bytes of the commit certificate of block `height`; None outside 1..tip."""
        return self._at(COMMIT_PREFIX, height)

    def commit(self, height: int) -> Commit | None:
        raw = self.commit_bytes(height)
        return None if raw is None else Commit.from_json(decode(raw))

    # -- transactions and the log ---------------------------------------------------------------

    def tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        """(height, index in block) of committed transaction `tx_id`, or None."""
        raw = self.kv.get(TX_INDEX_PREFIX + tx_id)
        if raw is None:
            return None
        height = int.from_bytes(raw[:8], "big")
        return (height, int.from_bytes(raw[8:12], "big")) if height <= self.tip.height else None

    def tx(self, height: int, index: int) -> Tx:
        """Transaction `index` of committed block `height`. Raises StoreError
        "store.missing_block" when the store lacks the block or the block has no such index."""
        block = self.block(height)
        if block is None or not 0 <= index < len(block.txs):
            raise StoreError(f"the store lacks transaction {index} of block {height}", code="store.missing_block", height=height)
        return block.txs[index]

    def log_index(self, height: int, index: int) -> int:
        """The position in the global log of transaction `index` of block `height` (the log
        size before the block, plus `index`). Raises StoreError "store.missing_block"."""
        before = 0
        if height > 1:
            previous = self.header(height - 1)
            if previous is None:
                raise StoreError(f"the store lacks block {height - 1}", code="store.missing_block", height=height - 1)
            before = previous.log_size
        return before + index

    def log(self) -> MerkleLog:
        """The global transaction log as of the tip (hashing.md): proofs for any size up to it."""
        return MerkleLog(Prefixed(self.kv, LOG_PREFIX), self.tip.log_size)

    # -- state ----------------------------------------------------------------------------------

    def state(self) -> Prefixed:
        """The state at the tip, read flat (the latest-value table of the snapshot, state.md
        §6.3): one lookup per key. Use `ledger.verify.StateAt(view, h)` for another height."""
        return Prefixed(self.kv, FLAT_PREFIX)

    def validators(self) -> ValidatorSet:
        """The validator set for the block after the tip."""
        raw = self.state().get(VALIDATORS_KEY)
        if raw is None:
            raise StoreError("state has no validator set", code="store.no_validators")
        return ValidatorSet.from_json(decode(raw))

    def iterate_state(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Latest state entries at the tip whose key starts with `prefix` (keys without the
        table's prefix), in key order, from key `start` on."""
        cut = len(FLAT_PREFIX)
        for key, value in self.kv.iterate(FLAT_PREFIX + prefix, None if start is None else FLAT_PREFIX + start):
            yield key[cut:], value

    def iterate_index(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Secondary-index entries (domain.md §8) whose key starts with `prefix` (keys without
        `idx/`), in key order, from key `start` on."""
        cut = len(INDEX_PREFIX)
        for key, value in self.kv.iterate(INDEX_PREFIX + prefix, None if start is None else INDEX_PREFIX + start):
            yield key[cut:], value
