"""The node as the HTTP API sees it: `NodeApi`, the api.service.NodeService of a running Node,
the waiters it answers after commits, and the uvicorn server that serves it on the node's own
event loop (`start_api_server` / `stop_api_server`).

`submit` admits through the node (mempool, gossip, consensus wake-up) and, when asked, waits
for the commit without blocking the loop; `submit_many` does the same for a batch, admitting
each tx on its own and waiting for all the admitted ones at once; `status` reports the node's tip, peers, mempool,
evidence and sync state. Must never block the loop, never answer COMMITTED for a transaction
that is not in a committed block, and never install signal handlers (the node owns them).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

import uvicorn

from api.main import create_app
from api.service import SubmitResult, SubmitStatus
from ledger.block import Block
from ledger.commit import Commit
from ledger.errors import LedgerError
from ledger.tx import Tx
from node.errors import NodeError

if TYPE_CHECKING:
    from node.runtime import Node


class CommitWaiters:
    """Futures of the clients waiting for their transactions, by tx id."""

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

    def settle_commits(self, blocks: Iterable[Block], dropped: Iterable[Tx]) -> None:
        """Answer the waiters of every transaction of the committed `blocks` (COMMITTED, with
        height and index) and of every transaction the mempool `dropped` ("mempool.dropped")."""
        for block in blocks:
            for index, tx in enumerate(block.txs):
                self.settle(tx.id, SubmitResult(tx.id, SubmitStatus.COMMITTED, block.header.height, index))
        for tx in dropped:
            message = "the transaction no longer executes against the committed state and was dropped from the mempool"
            self.settle(tx.id, NodeError(message, code="mempool.dropped", tx_id=tx.id.hex()))


class NodeApi:
    """The API's NodeService (api.service) over a running `Node`."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def submit(self, tx: Tx, *, wait: bool, timeout_s: float) -> SubmitResult:
        """api.service.NodeService.submit: the waiter is registered before admission, since a
        lone validator may commit the transaction before `admit` returns."""
        node = self.node
        future = node.waiters.wait(tx.id) if wait else None
        try:
            node.admit(tx, None)
        except BaseException:
            if future is not None:
                node.waiters.forget(tx.id, future)
            raise
        if future is None:
            return SubmitResult(tx.id, SubmitStatus.ACCEPTED)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            node.waiters.forget(tx.id, future)
            return SubmitResult(tx.id, SubmitStatus.TIMEOUT)

    async def submit_many(self, txs: list[Tx], *, wait: bool, timeout_s: float) -> list[SubmitResult | LedgerError]:
        """api.service.NodeService.submit_many through `Node.admit_many` (one consensus wake-up
        for the batch). Waiters are registered before admission, as in `submit`; those of
        refused txs are forgotten at once, those still unsettled after `timeout_s` on expiry."""
        node = self.node
        futures = [node.waiters.wait(tx.id) for tx in txs] if wait else []
        try:
            refusals = node.admit_many(txs)
        except BaseException:
            for tx, future in zip(txs, futures):
                node.waiters.forget(tx.id, future)
            raise
        if not wait:
            return [error if error is not None else SubmitResult(tx.id, SubmitStatus.ACCEPTED) for tx, error in zip(txs, refusals)]
        for tx, future, error in zip(txs, futures, refusals):
            if error is not None:
                node.waiters.forget(tx.id, future)
        waited = {future for future, error in zip(futures, refusals) if error is None}
        if waited:
            await asyncio.wait(waited, timeout=timeout_s)
        outcomes: list[SubmitResult | LedgerError] = []
        for tx, future, error in zip(txs, futures, refusals):
            if error is not None:
                outcomes.append(error)
            elif not future.done():
                node.waiters.forget(tx.id, future)
                outcomes.append(SubmitResult(tx.id, SubmitStatus.TIMEOUT))
            else:
                failure = future.exception()
                outcomes.append(failure if isinstance(failure, LedgerError) else future.result())
        return outcomes

    def status(self) -> dict[str, object]:
        node = self.node
        tip = node.chain.tip
        connected = node.transport.connected
        return {
            "chain_id": node.chain_id,
            "node": node.config.name,
            "region": node.config.region,
            "height": tip.height,
            "tip_hash": tip.hash,
            "time": tip.time,
            "state_root": tip.state_root,
            "log_size": tip.log_size,
            "validators": [{"name": v.name, "region": v.region, "key_id": v.key_id, "power": v.power} for v in node.chain.validators()],
            "peers": [{"name": p.name, "region": p.region, "connected": p.name in connected} for p in node.config.peers],
            "mempool": {"size": len(node.mempool), "bytes": node.mempool.size_bytes},
            "evidence": len(node.evidence),
            "syncing": node.syncing,
        }

    def block(self, height: int) -> Block | None:
        return self.node.chain.block(height)

    def commit(self, height: int) -> Commit | None:
        return self.node.chain.commit(height)


class ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the node handles SIGTERM / SIGINT."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def start_api_server(node: Node, sock: socket.socket) -> tuple[ApiServer, asyncio.Task[None]]:
    """Serve the API of `node` on the listening `sock` as a task of the running loop."""
    config = uvicorn.Config(create_app(NodeApi(node)), log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=3)
    server = ApiServer(config)
    return server, asyncio.create_task(server.serve(sockets=[sock]))


async def stop_api_server(server: ApiServer, task: asyncio.Task[None]) -> None:
    """Ask `server` to exit and wait for it (at most 10 s; its errors are not raised)."""
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """A listening, non-blocking socket on (host, port) for the server of `what`. Raises
    NodeError "node.port_busy" (field "<what>_port") if the address cannot be bound."""
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise NodeError(f"cannot listen for the {what} on {host}:{port}: {exc.strerror}", code="node.port_busy", field=f"{what}_port") from exc
    sock.setblocking(False)
    return sock
