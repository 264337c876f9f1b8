"""The application behind consensus: a Chain and a source of pending transactions.

`ChainApp` answers what the state machine (node.consensus.engine.App) asks: the validator set,
the last block's time, a fresh block for the proposer (§3.1), and whether a proposed block is
valid (§3.2, executed once per block hash); `commit` then writes a decided block with its
certificate, reusing the execution that validated or built it. Signature checks go through the
`SignatureCache` shared with the mempool (§7), so a signature verified at admission is not
verified again when its transaction comes back in a block. It must never commit anything
but a block consensus decided, never read the clock (times come from the engine), and never
change the transaction source (the runtime updates its mempool after a commit).
"""

from __future__ import annotations

from typing import Protocol

from ledger.block import Block
from ledger.chain import Chain, Pending
from ledger.commit import Commit
from ledger.errors import LedgerError, ValidationError
from ledger.sigcache import SignatureCache
from ledger.tx import Tx
from ledger.validators import ValidatorSet
from node.errors import AppError

HEADER_RESERVE_BYTES = 2048
COMMIT_SIG_RESERVE_BYTES = 256


class TxSource(Protocol):
    """Pending transactions in arrival order (node.mempool.Mempool)."""

    def reap(self, max_txs: int, max_bytes: int) -> list[Tx]: ...

    def has_txs(self) -> bool: ...


class ChainApp:
    """consensus.md §3.1–§3.2 over `chain`, proposing transactions from `txs`; `cache` holds
    the signature checks already verified (the mempool's, §7; None: verify every signature)."""

    def __init__(self, chain: Chain, txs: TxSource, *, cache: SignatureCache | None = None) -> None:
        self.chain = chain
        self._txs = txs
        self._cache = cache
        self._tip_hash = chain.tip.hash
        self._pending: dict[bytes, Pending] = {}
        self._invalid: dict[bytes, LedgerError] = {}

    def validators(self, height: int) -> ValidatorSet:
        """The validator set of `height`, for the next two heights after the tip (a change of
        the set takes effect two heights after the block that makes it; today every header
        must carry next_validators_hash = validators_hash, so the set of both is the tip's).
        Raises AppError "app.height" for any other height."""
        tip = self.chain.height
        if not tip + 1 <= height <= tip + 2:
            raise AppError(f"no validator set for height {height}: the tip is {tip}", code="app.height", height=height, tip=tip)
        return self.chain.validators()

    def last_block_time(self) -> int:
        return self.chain.tip.time

    def has_txs(self) -> bool:
        return self._txs.has_txs()

    def propose(self, height: int, round: int, time: int, proposer: bytes, last_commit: Commit | None) -> Block:
        """Build the next block from the source's transactions (§3.1): at most the genesis
        `max_block_txs` and, with the header and last commit, `max_block_bytes`. Raises AppError
        "app.height" unless `height` is the tip's next, and the ValidationError of
        Chain.build_block (e.g. "block.time_not_increasing")."""
        self._expect_next(height)
        params = self.chain.genesis.params
        reserve = HEADER_RESERVE_BYTES + COMMIT_SIG_RESERVE_BYTES * len(self.chain.validators())
        txs = self._txs.reap(params.max_block_txs, max(params.max_block_bytes - reserve, 0))
        pending = self.chain.build_block(txs, time, proposer, last_commit, cache=self._cache)
        self._pending[pending.block.hash] = pending
        return pending.block

    def validate(self, block: Block) -> None:
        """Raise unless `block` is a valid next block (§3.2): Chain.execute_block accepts it
        (link, proposer in the set, last commit, every transaction, the roots, time after the
        previous block) and it is at most `max_block_bytes`. Executed once per block hash; the
        verdict is remembered until the tip moves. The time-drift bound and the proposer of
        the round are the engine's and the proposal's checks (they need `now` and the round)."""
        self._expect_next(block.header.height)
        if block.hash in self._pending:
            return
        known = self._invalid.get(block.hash)
        if known is not None:
            raise known
        try:
            size = len(block.to_bytes())
            limit = self.chain.genesis.params.max_block_bytes
            if size > limit:
                raise ValidationError(f"block is {size} bytes; at most {limit}", code="block.too_large", field="block")
            self._pending[block.hash] = self.chain.execute_block(block, cache=self._cache)
        except LedgerError as exc:
            self._invalid[block.hash] = exc
            raise

    def commit(self, block: Block, commit: Commit) -> None:
        """Write the decided `block` with `commit` (Chain.commit_block: verifies the commit,
        one synced batch). Raises what `validate` raises for a block it never saw as valid,
        and the errors of Chain.commit_block."""
        self.validate(block)
        self.chain.commit_block(self._pending[block.hash], commit)
        self._forget()

    def _expect_next(self, height: int) -> None:
        if self.chain.tip.hash != self._tip_hash:  # committed elsewhere (block sync): start afresh
            self._forget()
        if height != self.chain.height + 1:
            raise AppError(f"height {height} is not the next one ({self.chain.height + 1})", code="app.height", height=height, tip=self.chain.height)

    def _forget(self) -> None:
        self._tip_hash = self.chain.tip.hash
        self._pending.clear()
        self._invalid.clear()
