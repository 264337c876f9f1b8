"""The NodeService (api.service) of a node's API process, over the gateway to its node.

Reads: `view()` is a ChainView of the last tip the node announced, read through a
`RemoteSnapshot` of that height. Submissions: the signatures of the submitted transactions are
verified here, in the API process, with the signers' keys read from that view; the node is sent
the transactions with the cache entries of the checks that verified (consensus.md §7), so it
admits them without verifying again. A transaction whose signature does not verify is refused
here and never reaches the node. Waiting for commits: the node's tip events name each committed
block's transactions and those its mempool dropped; the waiting requests are answered from them.

Readiness and metrics (`report`) come from the status event the node sends every status
interval (node.metrics), never from a request to the node.

Never blocks the event loop: reads and signature checks run in worker threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping

from anyio import to_thread

from api.service import Distribution, NodeReport, SubmitResult, SubmitStatus
from ledger.chain import Tip
from ledger.crypto import PublicKey
from ledger.errors import CryptoError, LedgerError, ValidationError
from ledger.genesis import Genesis
from ledger.identity import Identity, key_state_key
from ledger.seals import SEALED_KINDS
from ledger.sigcache import check_entry
from ledger.state import FLAT_PREFIX
from ledger.tx import SIGN_PURPOSE, Tx
from ledger.view import ChainView
from node.errors import NodeError
from node.gateway.client import GatewayClient, ImmutableCache, RemoteSnapshot
from node.gateway.protocol import MAX_ADMIT, GatewayError, error_from


class CommitWaiters:
    """Futures of the requests waiting for their transactions, by tx id, on one event loop."""

    def __init__(self) -> None:
        self._futures: dict[bytes, list[asyncio.Future[SubmitResult]]] = {}

    def wait(self, tx_id: bytes) -> asyncio.Future[SubmitResult]:
        """A future settled when `settle` is called for `tx_id` (precondition: a running loop)."""
        future: asyncio.Future[SubmitResult] = asyncio.get_running_loop().create_future()
        self._futures.setdefault(tx_id, []).append(future)
        return future

    def forget(self, tx_id: bytes, future: asyncio.Future[SubmitResult]) -> None:
        futures = self._futures.get(tx_id)
        if futures and future in futures:
            futures.remove(future)
            if not futures:
                del self._futures[tx_id]

    def settle(self, tx_id: bytes, outcome: SubmitResult | LedgerError) -> None:
        """Answer every waiter of `tx_id` with `outcome` (a result, or the error to raise)."""
        for future in self._futures.pop(tx_id, ()):
            if future.done():
                continue
            if isinstance(outcome, SubmitResult):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    def fail_all(self, error: LedgerError) -> None:
        for tx_id in list(self._futures):
            self.settle(tx_id, error)

    def __len__(self) -> int:
        return len(self._futures)


def _tip_of(event: Mapping[str, object]) -> Tip:
    return Tip(
        int(event["height"]), bytes(event["hash"]), int(event["time"]), bytes(event["state_root"]),  # type: ignore[arg-type]
        int(event["log_size"]), bytes(event["log_root"]),  # type: ignore[arg-type]
    )


class GatewayService:
    """api.service.NodeService over `client`. `loop` is the API's event loop (waiters live on
    it). Events from the node must be passed to `on_event` (the client's callback)."""

    def __init__(self, client: GatewayClient, genesis: Genesis, node: str, region: str, *, cache: ImmutableCache | None = None) -> None:
        self.client = client
        self.genesis = genesis
        self.node = node
        self.region = region
        self.cache = cache if cache is not None else ImmutableCache()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiters = CommitWaiters()
        self.node_status: dict[str, object] = {}
        self._tip: Tip | None = None
        self._tip_known = threading.Event()

    # -- events (on the gateway client's reader thread) ------------------------------------------

    def on_event(self, event: dict[str, object]) -> None:
        kind = event.get("event")
        if kind == "tip":
            tip = _tip_of(event)
            if self._tip is None or tip.height >= self._tip.height:
                self._tip = tip
            self._tip_known.set()
            blocks = event.get("blocks") or []
            dropped = event.get("dropped") or []
            if (blocks or dropped) and self.loop is not None:
                self.loop.call_soon_threadsafe(self._settle, blocks, dropped)
        elif kind == "status":
            self.node_status = event

    def on_closed(self) -> None:
        if self.loop is not None:
            error = NodeError("the node is not reachable; the transaction may still be committed", code="node.stopping")
            self.loop.call_soon_threadsafe(self.waiters.fail_all, error)

    def _settle(self, blocks: Iterable[list[object]], dropped: Iterable[list[object]]) -> None:
        """Answer the waiters of the transactions of the committed `blocks` ([height, [tx id,
        ...]] in block order) and of those the mempool `dropped` ([tx id, refusal])."""
        for height, committed in blocks:
            for index, tx_id in enumerate(committed):  # type: ignore[arg-type]
                self.waiters.settle(tx_id, SubmitResult(tx_id, SubmitStatus.COMMITTED, height, index))  # type: ignore[arg-type]
        for item in dropped:
            tx_id, error = item[0], error_from(item[1])
            self.waiters.settle(tx_id, error)  # type: ignore[arg-type]

    def wait_for_tip(self, timeout: float) -> bool:
        """Block until the node has announced its tip (at start); False after `timeout`."""
        return self._tip_known.wait(timeout)

    # -- NodeService ------------------------------------------------------------------------------

    def view(self) -> ChainView:
        tip = self._tip
        if tip is None:
            raise NodeError("the node has not announced its chain yet; retry in a moment", code="node.starting")
        return ChainView(RemoteSnapshot(self.client, tip.height, self.cache), self.genesis, tip)

    async def status(self) -> dict[str, object]:
        status = await self.client.acall("status", {})
        if not isinstance(status, dict):
            raise GatewayError("the node answered its status in the wrong form", code="gateway.frame")
        return status

    async def submit(self, tx: Tx, *, wait: bool, timeout_s: float) -> SubmitResult:
        [outcome] = await self.submit_many([tx], wait=wait, timeout_s=timeout_s)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    async def submit_many(self, txs: list[Tx], *, wait: bool, timeout_s: float) -> list[SubmitResult | LedgerError]:
        view = self.view()
        checked = await to_thread.run_sync(check_signatures, view, txs)
        outcomes: list[SubmitResult | LedgerError | None] = [refusal for refusal, _ in checked]
        sending = [(i, tx) for i, (tx, (refusal, _)) in enumerate(zip(txs, checked)) if refusal is None]
        futures: dict[int, asyncio.Future[SubmitResult]] = {}
        if wait:
            futures = {i: self.waiters.wait(tx.id) for i, tx in sending}
        try:
            answers: list[object] = []
            for start in range(0, len(sending), MAX_ADMIT):
                part = sending[start:start + MAX_ADMIT]
                entries = [entry for i, _ in part for entry in checked[i][1]]
                answer = await self.client.acall("admit", {"txs": [tx.raw for _, tx in part], "verified": entries})
                if not isinstance(answer, list) or len(answer) != len(part):
                    raise GatewayError("the node answered an admission in the wrong form", code="gateway.frame")
                answers.extend(answer)
        except BaseException:
            for i, tx in sending:
                if i in futures:
                    self.waiters.forget(tx.id, futures[i])
            raise
        for (i, tx), answer in zip(sending, answers):
            if answer is not None:
                outcomes[i] = error_from(answer)
                if i in futures:
                    self.waiters.forget(tx.id, futures.pop(i))
            elif not wait:
                outcomes[i] = SubmitResult(tx.id, SubmitStatus.ACCEPTED)
        if futures:
            await asyncio.wait(futures.values(), timeout=timeout_s)
            for i, future in futures.items():
                tx = txs[i]
                if not future.done():
                    self.waiters.forget(tx.id, future)
                    outcomes[i] = SubmitResult(tx.id, SubmitStatus.TIMEOUT)
                else:
                    failure = future.exception()
                    outcomes[i] = failure if isinstance(failure, LedgerError) else future.result()
        return outcomes  # type: ignore[return-value]

    async def pending(self, tx_id: bytes) -> bool:
        held = await self.client.acall("pending", {"tx_id": tx_id})
        if not isinstance(held, bool):
            raise GatewayError("the node answered a mempool lookup in the wrong form", code="gateway.frame")
        return held

    def report(self) -> NodeReport:
        """From the last status event the node sent (every status interval) and its last tip;
        nothing is asked of the node."""
        return report_of(self.node_status, self._tip, reachable=self.client is not None and not self.client.closed.is_set())

    async def record_uses(self, records: list[dict[str, object]]) -> list[dict[str, object]]:
        receipts = await self.client.acall("uses", {"records": records})
        if not isinstance(receipts, list) or len(receipts) != len(records):
            raise GatewayError("the node answered use records in the wrong form", code="gateway.frame")
        return receipts


def report_of(event: Mapping[str, object], tip: Tip | None, *, reachable: bool) -> NodeReport:
    """The NodeReport of the node's last status event (`{}` before the first) and last tip.
    A member missing or of the wrong form reads as zero or none (a report is never refused)."""

    def count(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    def pair(name: str) -> tuple[int, int]:
        value = event.get(name)
        return (count(value[0]), count(value[1])) if isinstance(value, list) and len(value) == 2 else (0, 0)

    admitted = event.get("admitted")
    refused = event.get("refused")
    mempool, peers = pair("mempool"), pair("peers")
    return NodeReport(
        reachable=reachable, started=tip is not None, syncing=event.get("syncing") is True,
        height=tip.height if tip is not None else 0, round=count(event.get("round")),
        block_time=tip.time if tip is not None else None,
        mempool_txs=mempool[0], mempool_bytes=mempool[1], peers_connected=peers[0], peers=peers[1],
        admitted=tuple(sorted((str(k), count(v)) for k, v in admitted.items())) if isinstance(admitted, Mapping) else (),
        refused=tuple(
            (item[0], item[1], count(item[2])) for item in refused
            if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str)
        ) if isinstance(refused, list) else (),
        block_interval=_distribution(event.get("block_interval")),
        commit_latency=_distribution(event.get("commit_latency")),
    )


def _distribution(obj: object) -> Distribution | None:
    """A node's bucket counts (ms, node.metrics.Buckets.to_event) in seconds, or None."""
    if not isinstance(obj, Mapping):
        return None
    bounds, counts, total = obj.get("bounds"), obj.get("counts"), obj.get("sum")
    numbers = (bounds, counts)
    if not all(isinstance(n, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in n) for n in numbers) or not isinstance(total, int):
        return None
    try:
        return Distribution(tuple(b / 1000 for b in bounds), tuple(counts), total / 1000)  # type: ignore[union-attr]
    except ValueError:
        return None


def check_signatures(view: ChainView, txs: list[Tx]) -> list[tuple[LedgerError | None, list[bytes]]]:
    """For each of `txs`: the refusal of a signature that does not verify under the signer's key
    at `view` (None otherwise) and the cache entries of the checks that verified. A signer the
    state does not know, and a sealed kind (whose signature needs the state to judge), are left
    to the node's execution, which refuses them with the precise code (transactions.md §3, §5)."""
    reader = view.kv
    keys = [FLAT_PREFIX + key_state_key(tx.signer) for tx in txs]
    get_many = getattr(reader, "get_many", None)
    raw_identities = get_many(keys) if get_many is not None else [reader.get(key) for key in keys]
    out: list[tuple[LedgerError | None, list[bytes]]] = []
    for tx, raw in zip(txs, raw_identities):
        if raw is None or tx.kind in SEALED_KINDS:
            out.append((None, []))
            continue
        key: PublicKey = Identity.from_bytes(raw).public_key
        try:
            tx.verify_signature(key)
        except CryptoError as exc:
            out.append((ValidationError(f"signature does not verify: {exc}", code="tx.bad_signature", field="tx.signature"), []))
            continue
        out.append((None, [check_entry(key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature)]))
    return out
