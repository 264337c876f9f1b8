"""A real NodeService for the API tests: one chain over MemoryKV, committed by a LocalNetwork.

Submitted transactions are admitted as a node's mempool admits them (docs/spec/consensus.md §7:
size, duplicate, replay, execution against the committed tip with real signature checks, room)
and wait in arrival order until a test calls `produce()`, which commits them in one block signed
by every validator and wakes the requests waiting for them. `produce()` may be called from the
test's thread while a request waits on the app's event loop. Use records go to a real
node.usejournal.UseJournal (in `home`, a temporary directory by default) with this node's
validator key; `produce()` also commits the journal's pending `use.record` transactions and then
settles the journal, as a node's loop does. Never mocks execution: every refusal is the ledger's
own error.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from api.service import NodeReport, SubmitResult, SubmitStatus
from ledger.chain import Pending
from ledger.errors import LedgerError
from ledger.kv import Prefixed
from ledger.state import FLAT_PREFIX
from ledger.tx import MAX_TX_BYTES, Tx
from ledger.uses import recorded_ranges
from ledger.view import ChainView
from node.usejournal import UseJournal
from tests.ledger.conftest import Net

BLOCK_INTERVAL_MS = 1000


@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[SubmitResult]


class LocalNodeService:
    """NodeService over `net.local()`; this node is the first validator of the genesis. Its use
    journal lives in `home` (default: a temporary directory removed with the service)."""

    def __init__(self, net: Net, *, max_txs: int = 100, home: Path | None = None) -> None:
        self.local = net.local()
        self.chain = self.local.chain
        self.max_txs = max_txs
        self._me = next(iter(self.chain.validators()))
        self._key = next(k for k in net.validator_keys if k.public_key.key_id == self._me.key_id)
        self.genesis = self.chain.genesis
        self.node = self._me.name
        self.region = self._me.region
        self._home = home
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._journal: UseJournal | None = None
        self._pending: dict[bytes, Tx] = {}
        self._waiters: dict[bytes, list[_Waiter]] = {}
        self._lock = threading.Lock()
        self._admitted = threading.Condition(self._lock)

    # -- NodeService -----------------------------------------------------------------------

    async def submit(self, tx: Tx, *, wait: bool, timeout_s: float) -> SubmitResult:
        with self._lock:
            self._admit(tx)
            waiter = None
            if wait:
                loop = asyncio.get_running_loop()
                waiter = _Waiter(loop, loop.create_future())
                self._waiters.setdefault(tx.id, []).append(waiter)
            self._admitted.notify_all()
        if waiter is None:
            return SubmitResult(tx.id, SubmitStatus.ACCEPTED)
        try:
            return await asyncio.wait_for(waiter.future, timeout_s)
        except TimeoutError:
            with self._lock:
                waiters = self._waiters.get(tx.id, [])
                if waiter in waiters:
                    waiters.remove(waiter)
            return SubmitResult(tx.id, SubmitStatus.TIMEOUT)

    async def submit_many(self, txs: list[Tx], *, wait: bool, timeout_s: float) -> list[SubmitResult | LedgerError]:
        loop = asyncio.get_running_loop()
        outcomes: list[SubmitResult | LedgerError | _Waiter] = []
        with self._lock:
            for tx in txs:
                try:
                    self._admit(tx)
                except LedgerError as exc:
                    outcomes.append(exc)
                    continue
                if wait:
                    waiter = _Waiter(loop, loop.create_future())
                    self._waiters.setdefault(tx.id, []).append(waiter)
                    outcomes.append(waiter)
                else:
                    outcomes.append(SubmitResult(tx.id, SubmitStatus.ACCEPTED))
            self._admitted.notify_all()
        futures = {outcome.future for outcome in outcomes if isinstance(outcome, _Waiter)}
        if futures:
            await asyncio.wait(futures, timeout=timeout_s)
        results: list[SubmitResult | LedgerError] = []
        with self._lock:
            for tx, outcome in zip(txs, outcomes):
                if not isinstance(outcome, _Waiter):
                    results.append(outcome)
                elif outcome.future.done():
                    results.append(outcome.future.result())
                else:
                    waiters = self._waiters.get(tx.id, [])
                    if outcome in waiters:
                        waiters.remove(outcome)
                    results.append(SubmitResult(tx.id, SubmitStatus.TIMEOUT))
        return results

    async def record_uses(self, records: list[dict[str, object]]) -> list[dict[str, object]]:
        """Journal `records` (synced) and sign their receipts, on a worker thread as a node's
        journal thread does; raises the LedgerError that refused them."""
        (outcome,) = await asyncio.to_thread(self.journal.record, [records])
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def view(self) -> ChainView:
        """The chain at its tip, over a copy of the store (later commits do not show in it)."""
        with self._lock:
            return ChainView(self.chain.kv.snapshot(), self.genesis, self.chain.tip)

    async def status(self) -> dict[str, object]:
        with self._lock:
            tip = self.chain.tip
            validators = list(self.chain.validators())
            return {
                "chain_id": self.chain.genesis.chain_id,
                "node": self._me.name,
                "region": self._me.region,
                "height": tip.height,
                "tip_hash": tip.hash,
                "time": tip.time,
                "state_root": tip.state_root,
                "log_size": tip.log_size,
                "validators": [{"name": v.name, "region": v.region, "key_id": v.key_id, "power": v.power} for v in validators],
                # The other validators run in this process (their keys are here): always connected.
                "peers": [{"name": v.name, "region": v.region, "connected": True} for v in validators if v.key_id != self._me.key_id],
                "mempool": {"size": len(self._pending), "bytes": sum(len(tx.raw) for tx in self._pending.values())},
                "evidence": 0,
                "syncing": False,
            }

    async def pending(self, tx_id: bytes) -> bool:
        with self._lock:
            return tx_id in self._pending

    def report(self) -> NodeReport:
        """Reachable, started, never syncing; the other validators count as connected peers."""
        with self._lock:
            tip = self.chain.tip
            peers = len(self.chain.validators()) - 1
            return NodeReport(
                reachable=True, started=True, height=tip.height, block_time=tip.time, mempool_txs=len(self._pending),
                mempool_bytes=sum(len(tx.raw) for tx in self._pending.values()), peers_connected=peers, peers=peers,
            )

    # -- driving it from a test ------------------------------------------------------------

    @property
    def journal(self) -> UseJournal:
        """The node's use journal (made on first use)."""
        with self._lock:
            if self._journal is None:
                if self._home is None:
                    self._scratch = tempfile.TemporaryDirectory(prefix="uses-")
                    self._home = Path(self._scratch.name)
                self._home.mkdir(parents=True, exist_ok=True)
                state = Prefixed(self.chain.kv, FLAT_PREFIX)
                self._journal = UseJournal(self._home, self.node, self._key, self.genesis.chain_id, recorded_ranges(state, self.node))
            return self._journal

    def close(self) -> None:
        """Close the journal and remove a temporary home."""
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None

    def produce(self) -> Pending:
        """Commit every held transaction, then the journal's pending use.record transactions, in
        the next block (possibly empty); settle the journal and answer the requests waiting for
        them. Callable from any thread."""
        with self._lock:
            journal = self._journal
            if journal is not None:
                journal.pack()  # what the node's journal thread does when idle
            uses = [] if journal is None else journal.take(lambda _: False)
            pending = self.local.produce([*self._pending.values(), *uses], self._next_time())
            self._pending.clear()
            if journal is not None:
                for rejected in pending.rejected:
                    journal.release(rejected.tx)
                journal.settle(recorded_ranges(Prefixed(self.chain.kv, FLAT_PREFIX), self.node))
            height = pending.block.header.height
            for index, tx in enumerate(pending.block.txs):
                result = SubmitResult(tx.id, SubmitStatus.COMMITTED, height, index)
                for waiter in self._waiters.pop(tx.id, []):
                    waiter.loop.call_soon_threadsafe(_settle, waiter.future, result)
            return pending

    def wait_held(self, tx_id: bytes, timeout_s: float = 30.0) -> None:
        """Block until `tx_id` is in the mempool (a safety bound, not a measurement)."""
        with self._admitted:
            if not self._admitted.wait_for(lambda: tx_id in self._pending, timeout_s):
                raise AssertionError(f"transaction {tx_id.hex()[:16]} never reached the mempool")

    def pending_ids(self) -> list[bytes]:
        with self._lock:
            return list(self._pending)

    # -- internals -------------------------------------------------------------------------

    def _admit(self, tx: Tx) -> None:
        """consensus.md §7, in its order; raises the refusing LedgerError. Caller holds the lock."""
        if len(tx.raw) > MAX_TX_BYTES:
            raise LedgerError(f"transaction is {len(tx.raw)} bytes; at most {MAX_TX_BYTES}", code="mempool.too_large", field="tx")
        if tx.id in self._pending:
            raise LedgerError("the mempool already holds this transaction", code="mempool.duplicate", field="tx")
        candidates = [*self._pending.values(), tx]
        last_commit = self.chain.commit(self.chain.height) if self.chain.height else None
        trial = self.chain.build_block(candidates, self._next_time(), self._me.key_id, last_commit)
        for rejected in trial.rejected:
            if rejected.tx.id == tx.id:
                raise rejected.error
        if len(self._pending) >= self.max_txs:
            raise LedgerError(f"the mempool holds {len(self._pending)} transactions, its limit", code="mempool.full")
        self._pending[tx.id] = tx

    def _next_time(self) -> int:
        return self.chain.tip.time + BLOCK_INTERVAL_MS


def _settle(future: asyncio.Future[SubmitResult], result: SubmitResult) -> None:
    if not future.done():
        future.set_result(result)
