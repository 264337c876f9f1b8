"""The mempool: transactions a node accepted and holds until a block commits them
(docs/spec/consensus.md §7).

`add` admits a transaction only if it is small enough, not held yet, and executes, alone, against
the committed tip with every signature checked inline; the checks that verified go into the
`SignatureCache` shared with block execution, so that the same signatures are not verified again
when the transaction comes back in a block. `reap` hands the proposer transactions in arrival
order; `update`, after each commit, removes the committed ones and re-checks those the next block
would take (the first `max_block_txs` in arrival order) against the new tip, dropping those that
no longer execute. The rest are re-checked as they move up: re-checking every held transaction
after every commit costs time in proportion to the backlog, exactly when the node is loaded.

Never writes to the chain's store (execution runs in a throw-away overlay), never reads the clock
(`now` is passed in), never gossips (the node does that with what `add` accepted), no threads.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ledger.chain import Chain
from ledger.errors import LedgerError, StoreError
from ledger.execute import Context, execute_tx
from ledger.kv import Overlay
from ledger.sigcache import SignatureCache
from ledger.state import State
from ledger.tx import Tx

DEFAULT_MAX_TXS = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MempoolError(LedgerError):
    """A transaction the mempool will not hold: "mempool.too_large", "mempool.duplicate",
    "mempool.full" (with the counts that explain it)."""

    code = "mempool.error"


class Mempool:
    """Pending transactions of one node over its `chain`, in arrival order.

    `max_txs` and `max_bytes` bound what is held (§7, sizes are canonical tx bytes); `cache`
    is the signature cache shared with block execution (Chain.build_block / execute_block); a
    private one is made if none is given, so that re-checks after a commit stay cheap. `recheck`
    is how many held transactions `update` re-checks (default: the genesis `max_block_txs`).
    Raises ValueError for limits that are not positive integers."""

    def __init__(
        self, chain: Chain, *, max_txs: int = DEFAULT_MAX_TXS, max_bytes: int = DEFAULT_MAX_BYTES, cache: SignatureCache | None = None,
        recheck: int | None = None,
    ) -> None:
        recheck = chain.genesis.params.max_block_txs if recheck is None else recheck
        for name, value in (("max_txs", max_txs), ("max_bytes", max_bytes), ("recheck", recheck)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self.chain = chain
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.cache = cache if cache is not None else SignatureCache()
        self.recheck = recheck
        self._txs: dict[bytes, Tx] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def size_bytes(self) -> int:
        """The canonical bytes of every transaction held."""
        return self._bytes

    def has_txs(self) -> bool:
        return bool(self._txs)

    def contains(self, tx_id: bytes) -> bool:
        return tx_id in self._txs

    def add(self, tx: Tx, *, now: int | None = None) -> None:
        """Admit `tx` (§7), checks in this order:

        - at most the genesis `max_tx_bytes`, else MempoolError "mempool.too_large";
        - not held already, else MempoolError "mempool.duplicate";
        - room for it within `max_txs` and `max_bytes`, else MempoolError "mempool.full" (before
          any execution: a full mempool refuses at the cost of a comparison);
        - executes alone against the committed tip as the next block would, at time
          `max(now, tip time + 1)` (`now`: the node's clock in ms; None: tip time + 1), else the
          execution's ValidationError unchanged: "tx.replay" for a committed transaction,
          "tx.unknown_signer", "tx.forbidden", "tx.bad_signature", a kind's own code, ...
        """
        size = len(tx.raw)
        limit = self.chain.genesis.params.max_tx_bytes
        if size > limit:
            raise MempoolError(f"transaction is {size} bytes; at most {limit} allowed", code="mempool.too_large", field="tx", size=size, limit=limit)
        if tx.id in self._txs:
            raise MempoolError(f"transaction {tx.id.hex()} is already in the mempool", code="mempool.duplicate", field="tx", tx_id=tx.id.hex())
        if len(self._txs) >= self.max_txs or self._bytes + size > self.max_bytes:
            raise MempoolError(
                f"mempool is full ({len(self._txs)} of {self.max_txs} transactions, {self._bytes} + {size} of {self.max_bytes} bytes); retry later",
                code="mempool.full", txs=len(self._txs), max_txs=self.max_txs, bytes=self._bytes, size=size, max_bytes=self.max_bytes,
            )
        self._execute(tx, now)
        self._txs[tx.id] = tx
        self._bytes += size

    def reap(self, max_txs: int, max_bytes: int) -> list[Tx]:
        """Up to `max_txs` transactions of at most `max_bytes` in all, in arrival order (§7); a
        transaction that would not fit is passed over for later, smaller ones. They stay held
        until `update` removes them."""
        out: list[Tx] = []
        total = 0
        for tx in self._txs.values():
            if len(out) >= max_txs:
                break
            size = len(tx.raw)
            if total + size <= max_bytes:
                out.append(tx)
                total += size
        return out

    def update(self, committed: Sequence[Tx], *, now: int | None = None) -> list[Tx]:
        """After a commit (the chain's tip is the new block): remove `committed`, then re-check
        the first `recheck` held transactions (by default what the next block would take, §7) against the new tip (as `add` does, at `now`) and drop those that fail.
        Returns the dropped ones, in arrival order. Raises StoreError from the store; any other
        error of a re-check drops that transaction."""
        for tx in committed:
            self._remove(tx)
        dropped: list[Tx] = []
        head = list(itertools.islice(self._txs.values(), self.recheck))
        for tx in head:
            try:
                self._execute(tx, now)
            except StoreError:
                raise
            except LedgerError:
                self._remove(tx)
                dropped.append(tx)
        return dropped

    def _remove(self, tx: Tx) -> None:
        if self._txs.pop(tx.id, None) is not None:
            self._bytes -= len(tx.raw)

    def _execute(self, tx: Tx, now: int | None) -> None:
        """Execute `tx` alone on the tip's state in an overlay that is then dropped."""
        chain = self.chain
        tip = chain.tip
        time = tip.time + 1 if now is None else max(now, tip.time + 1)
        state = State(Overlay(chain.kv), tip.state_root, version=tip.height + 1)
        execute_tx(state, tx, Context(chain.genesis.chain_id, tip.height + 1, time), chain.committed, set(), cache=self.cache)
