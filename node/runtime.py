"""The node process: one asyncio loop running transport, consensus, WAL, signer, mempool, block
sync and the HTTP API (docs/spec/consensus.md; DESIGN §9; docs/node.md).

`Node` is where the pure parts meet the clock, the disk and the network. Consensus itself (the
state machine, its WAL-first inputs, its actions, restarts with WAL replay and relay for
liveness) is node.driver.ConsensusDriver, for which the node is the `Host`: it sends through the
transport, runs timers with `loop.call_later`, and after a decision updates the mempool and
answers the clients that wait for their transactions. A node whose peers are two or more
heights ahead, or that starts with an empty store while they have blocks, pauses consensus and
syncs blocks (§8, node.catchup); one that stays one height behind for a while fetches that
block the same way. Every status interval it announces its tip and lets the driver relay.

The HTTP API runs in a child process (node.apiproc), never on this loop: the node binds its
listening socket, starts it, and serves it through a gateway (node.gateway): reads of committed
heights from store snapshots on the gateway's thread, admissions of the transactions it checked
as short callbacks here, use records through a journal. After each commit the node publishes a
snapshot of the new tip and tells the API process which transactions were committed or dropped.
Must never log a key, run consensus while syncing, or leave the store open at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable

from certs.keys import read_certificate
from certs.tls import create_client_context, create_server_context
from ledger.block import Block
from ledger.chain import Chain
from ledger.commit import Commit
from ledger.crypto import read_private_key
from ledger.errors import LedgerError
from ledger.evidence import KIND as EVIDENCE_KIND
from ledger.genesis import Genesis
from ledger.sigcache import SignatureCache
from ledger.kv import Prefixed
from ledger.state import FLAT_PREFIX
from ledger.store import LevelKV
from ledger.tx import NONCE_SIZE, Tx
from ledger.uses import recorded_ranges
from node.app import ChainApp
from node.blocksync import BlockSync, Received
from node.catchup import CatchUp, Change
from node.config import NodeConfig
from node.consensus import (
    BlockResponse, Evidence, GetBlock, Message, Proposal, Status, TxMessage, TxsAvailable, Vote, decode_message, encode_message,
)
from node.driver import ConsensusDriver, is_local
from node.errors import NodeError
from node.logs import configure_logging
from node.mempool import Mempool
from node.metrics import NodeMetrics
from node.apiproc.supervisor import BIND_RETRY_S, ApiProcess, bind_socket
from node.gateway.protocol import error_of
from node.gateway.server import GatewayServer
from node.gateway.snapshots import Snapshots
from node.signer import FileSignerStore, Signer
from node.usejournal import UseJournal
from node.transport import PeerInfo, PeerPolicy, Transport
from node.wal import WAL

log = logging.getLogger("eledger.node")

MAX_EVIDENCE = 100
#: The GIL switch interval of a node process. Its gateway thread reads LevelDB snapshots beside the
#: consensus loop; at Python's default 5 ms, each read that releases the GIL waits up to 5 ms to
#: get it back while the loop computes (723 reads/s measured beside a busy thread); at 0.2 ms
#: 18,000/s, the busy thread keeping 94 % of its speed (docs/node.md).
SWITCH_INTERVAL_S = 0.0002
#: How soon journaled use records are put into transactions when no commit comes first.
USE_PUMP_MS = 100
#: use.record transactions admitted per pump: each is executed by the mempool on the loop, so a
#: pump stays a short callback (8 × 35 records ≈ 2,800 records/s at most).
USE_TXS_PER_PUMP = 8
#: Peer codes that are part of normal operation (late votes, gossip echoes): counted, not logged.
QUIET_CODES = frozenset({"consensus.old_height", "consensus.future_height", "mempool.duplicate", "tx.replay"})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Node:
    """One node over the home described by `config`. `run()` until `request_stop()` (or a fatal
    error, then in `failure`)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.failure: BaseException | None = None
        self._stop = asyncio.Event()
        self._stopping = False
        self.driver: ConsensusDriver | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self.evidence: deque[Evidence] = deque(maxlen=MAX_EVIDENCE)
        self._api: ApiProcess | None = None
        self.gateway: GatewayServer | None = None
        self.snapshots = Snapshots()
        self.uses: UseJournal | None = None
        self._use_pump_due = False
        self._tick_task: asyncio.Task[None] | None = None
        self._transport_started = False
        self.dropped: dict[str, Counter[str]] = {}
        self.metrics = NodeMetrics()
        self._last_block_time = 0

    # -- life cycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Open the home, serve until stopped, then close everything. Raises what opening
        raises (LedgerError with a code, OSError); a failure while running is in `failure`."""
        self._open()
        try:
            await self._start()
            await self._stop.wait()
        finally:
            await self._close()

    def request_stop(self) -> None:
        """Stop accepting work and shut down (signal handlers call this)."""
        if not self._stopping:
            log.info("stopping")
        self._stopping = True
        if self.driver is not None:
            self.driver.stop()
        self._stop.set()

    def _open(self) -> None:
        """Open the store, signer state and WAL of the home (closed again if one fails). One
        SignatureCache is shared by the mempool (admission) and the app (block execution, §7)."""
        c = self.config
        with contextlib.ExitStack() as stack:
            self.genesis = Genesis.read(c.resolve(c.genesis))
            self.chain_id = self.genesis.chain_id
            kv = LevelKV(c.store_path)
            stack.callback(kv.close)
            self.chain = Chain(kv, self.genesis, retain_heights=c.retain_heights)
            self._key = read_private_key(c.resolve(c.validator_key))
            store = FileSignerStore(c.signer_state_path)
            stack.callback(store.close)
            self.signer = Signer(self._key, self.chain_id, store)
            self.wal = WAL.open(c.wal_path, self.chain.height + 1)
            stack.callback(self.wal.close)
            self._resources = stack.pop_all()
        cache = SignatureCache()
        self.mempool = Mempool(self.chain, cache=cache)
        self.app = ChainApp(self.chain, self.mempool, cache=cache)
        self.driver = ConsensusDriver(self.chain, self.app, self.signer, self.wal, self, c.timeouts)
        self.blocksync = BlockSync(self.chain.height)
        interval = c.status_interval_ms
        self.catchup = CatchUp(self.blocksync, [p.name for p in c.peers], self.now(), start_grace_ms=2 * interval, lag_ms=3 * interval)
        self.validator = self.chain.validators().get(self._key.public_key.key_id) is not None
        self._last_block_time = self.chain.tip.time
        self.snapshots.publish(self.chain.height, self.chain.kv.snapshot())
        if self.validator:
            self.uses = UseJournal(c.home, c.name, self._key, self.chain_id, self._recorded_uses())
            self._resources.callback(self.uses.close)

    async def _start(self) -> None:
        c = self.config
        roots = [read_certificate(c.resolve(p)) for p in c.tls_ca]
        policy = PeerPolicy.from_genesis(self.genesis)
        self.transport = Transport(
            c.name,
            server_context=create_server_context(c.resolve(c.tls_cert), c.resolve(c.tls_key), roots),
            client_context=create_client_context(c.resolve(c.tls_cert), c.resolve(c.tls_key), roots),
            host=c.p2p_host, port=c.p2p_port, peers=[PeerInfo(p.name, p.region, p.host, p.port) for p in c.peers],
            admit=policy.admit, on_message=self._on_message, on_peer=self._on_peer,
        )
        api_socket = bind_socket(c.api_host, c.api_port, "api", retry_s=BIND_RETRY_S)
        try:
            await self.transport.start()
        except OSError as exc:
            api_socket.close()
            raise NodeError(f"cannot listen for peers on {c.p2p_host}:{c.p2p_port}: {exc.strerror}", code="node.port_busy", field="p2p_port") from exc
        self._transport_started = True
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._loop = asyncio.get_running_loop()
        self._api = ApiProcess(c.home, api_socket)
        self._start_gateway()
        if self.uses is not None and len(self.uses):
            self._schedule_use_pump()
        self._tick_task = asyncio.create_task(self._tick())
        log.info("started", extra={"fields": {
            "tip": self.chain.height, "p2p": f"{c.p2p_host}:{self.transport.port}", "api": f"{c.api_host}:{c.api_port}",
            "validator": self.validator, "peers": [p.name for p in c.peers],
        }})
        self._sync_step(self.now())

    async def _close(self) -> None:
        self._stopping = True
        if self.driver is not None:
            self.driver.stop()
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._api is not None:
            await asyncio.to_thread(self._api.stop)
            self._api.listen.close()
        if self.gateway is not None:
            self.gateway.close()
            self.gateway.join()
        self.snapshots.close()
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        if self._transport_started:
            await self.transport.stop()
        self._resources.close()
        log.info("stopped", extra={"fields": {"tip": self.chain.height}})

    # -- reading -----------------------------------------------------------------------------

    def position(self) -> tuple[int, int, str]:
        """(height, round, step) for the logs: the engine's, or tip + 1 while not running it."""
        engine = self.driver.engine if self.driver is not None else None
        if engine is not None:
            return engine.height, engine.round, engine.step.name.lower()
        chain, catchup = getattr(self, "chain", None), getattr(self, "catchup", None)
        step = "start" if catchup is None or catchup.starting else "sync"
        return (chain.height + 1 if chain is not None else 0), 0, step

    @property
    def syncing(self) -> bool:
        return not self._stopping and self.driver is not None and self.driver.engine is None and not self.catchup.starting

    # -- what the consensus driver needs (node.driver.Host) --------------------------------------

    def now(self) -> int:
        return wall_clock_ms()

    def peers(self) -> Iterable[Hashable]:
        return sorted(self.transport.connected)

    def broadcast(self, message: Message) -> None:
        self.transport.broadcast(encode_message(message))

    def send(self, peer: Hashable, message: Message) -> None:
        self.transport.send(str(peer), encode_message(message))

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> None:
        def fire() -> None:
            self._timers.discard(handle)
            if not self._stopping:
                callback()

        handle = asyncio.get_running_loop().call_later(delay_ms / 1000, fire)
        self._timers.add(handle)

    def committed(self, block: Block, commit: Commit, now: int) -> None:
        """Decide (§3 rule 8) after the commit: update the mempool and answer the waiters."""
        self.metrics.commit_latency.observe(now - block.header.time)
        self._after_commit([block], now)

    def keep_evidence(self, evidence: Evidence) -> None:
        """§6: keep it (bounded) and submit it in an evidence.duplicate_vote transaction."""
        self.evidence.append(evidence)
        vote = evidence.vote_a
        log.warning("duplicate vote", extra={"fields": {"validator": vote.validator, "vote_height": vote.height, "vote_round": vote.round, "type": vote.type.value}})
        if not self.validator:
            return
        body = {"vote_a": evidence.vote_a.to_json(), "vote_b": evidence.vote_b.to_json()}
        tx = Tx.create(self.chain_id, EVIDENCE_KIND, body, self._key, os.urandom(NONCE_SIZE))
        try:
            self.admit(tx, None, source="node")
        except LedgerError as exc:
            log.info("evidence not submitted", extra={"fields": {"code": exc.code}})

    def count(self, peer: Hashable, code: str, exc: LedgerError | None = None) -> None:
        self.dropped.setdefault(str(peer), Counter())[code] += 1
        if code not in QUIET_CODES:
            log.info("input dropped", extra={"fields": {"peer": peer, "code": code, "reason": str(exc) if exc else code}})

    def fail(self, exc: BaseException) -> None:
        log.error("fatal error; stopping", exc_info=exc)
        if self.failure is None:
            self.failure = exc
        self.request_stop()

    def _after_commit(self, blocks: list[Block], now: int) -> None:
        """Committed `blocks` leave the mempool (the rest is re-checked); the new tip's snapshot
        is published and the API process told what was committed and dropped."""
        for block in blocks:
            self.metrics.block_interval.observe(block.header.time - self._last_block_time)
            self._last_block_time = block.header.time
        dropped = self.mempool.update([tx for b in blocks for tx in b.txs], now=now)
        self.snapshots.publish(self.chain.height, self.chain.kv.snapshot())
        if self.uses is not None and len(self.uses):
            self.uses.settle(self._recorded_uses())
            self._schedule_use_pump()
        if self.gateway is not None:
            message = "the transaction no longer executes against the committed state and was dropped from the mempool"
            refusal = error_of(NodeError(message, code="mempool.dropped"))
            self.gateway.publish({
                **self._tip_event(),
                "blocks": [[b.header.height, [tx.id for tx in b.txs]] for b in blocks],
                "dropped": [[tx.id, refusal] for tx in dropped],
            })

    def _tip_event(self) -> dict[str, object]:
        tip = self.chain.tip
        return {"event": "tip", "height": tip.height, "hash": tip.hash, "time": tip.time, "state_root": tip.state_root, "log_size": tip.log_size, "log_root": tip.log_root}

    # -- the API process and its gateway (node.apiproc, node.gateway) ----------------------------------

    def _start_gateway(self) -> None:
        """Start an API process and serve its gateway; announce the tip to it at once."""
        assert self._api is not None
        sock = self._api.start()
        self.gateway = GatewayServer(sock, self, self.snapshots, asyncio.get_running_loop())
        self.gateway.start()
        self.gateway.publish(self._tip_event())
        self.gateway.publish(self._status_event())

    def gateway_admit(self, txs: list[Tx], verified: list[bytes]) -> list[LedgerError | None]:
        """node.gateway.server.GatewayHost: admit what the API process checked (its signature
        checks are taken as done: consensus.md §7)."""
        self.mempool.cache.remember_entries(verified)
        return self.admit_many(txs)

    def gateway_status(self) -> dict[str, object]:
        tip = self.chain.tip
        connected = self.transport.connected
        return {
            "chain_id": self.chain_id,
            "node": self.config.name,
            "region": self.config.region,
            "height": tip.height,
            "tip_hash": tip.hash,
            "time": tip.time,
            "state_root": tip.state_root,
            "log_size": tip.log_size,
            "validators": [{"name": v.name, "region": v.region, "key_id": v.key_id, "power": v.power} for v in self.chain.validators()],
            "peers": [{"name": p.name, "region": p.region, "connected": p.name in connected} for p in self.config.peers],
            "mempool": {"size": len(self.mempool), "bytes": self.mempool.size_bytes},
            "evidence": len(self.evidence),
            "syncing": self.syncing,
        }

    def gateway_record_uses(self, batches: list[list[dict[str, object]]]) -> list[list[dict[str, object]] | LedgerError]:
        """Journal use records (on the gateway's journal thread); the loop puts them into
        transactions soon after (`_pump_uses`)."""
        if self.uses is None:
            raise NodeError("this node is not a validator and keeps no use records; ask a validator", code="node.uses_unavailable")
        outcomes = self.uses.record(batches)
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._schedule_use_pump)
        return outcomes

    def gateway_idle(self) -> None:
        """Pack the loose use records (on the journal thread, never on the loop); the loop
        admits the transactions soon after."""
        if self.uses is not None and self.uses.loose and self.uses.pack():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._schedule_use_pump)

    def _recorded_uses(self) -> list[tuple[int, int]]:
        return recorded_ranges(Prefixed(self.chain.kv, FLAT_PREFIX), self.config.name)

    def _schedule_use_pump(self) -> None:
        if not self._use_pump_due and not self._stopping:
            self._use_pump_due = True
            self.call_later(USE_PUMP_MS, self._pump_uses)

    def _pump_uses(self) -> None:
        """Admit use.record transactions for the journaled records not yet on the ledger nor in
        flight (domain.md §10); those refused are offered again later."""
        self._use_pump_due = False
        if self.uses is None or self._stopping or not len(self.uses):
            return
        txs = self.uses.take(self.mempool.contains, limit=USE_TXS_PER_PUMP)
        if not txs:
            if len(self.uses):
                self._schedule_use_pump()
            return
        for tx, refusal in zip(txs, self.admit_many(txs, source="node")):
            if refusal is not None:
                self.uses.release(tx)
                log.info("use records not admitted; will retry", extra={"fields": {"code": refusal.code}})
        if len(self.uses):
            self._schedule_use_pump()

    def gateway_closed(self) -> None:
        """The API process ended (or its channel broke): start another after a backoff."""
        if self._stopping or self._api is None:
            return
        code = self._api.stop(grace_s=1.0)
        delay = self._api.next_delay()
        log.warning("the API process ended; restarting it", extra={"fields": {"exit": code, "delay_s": delay}})
        if self.gateway is not None:
            self.gateway.join(timeout=1.0)
            self.gateway = None
        self.call_later(int(delay * 1000), self._restart_gateway)

    def _restart_gateway(self) -> None:
        if not self._stopping and self.gateway is None:
            try:
                self._start_gateway()
            except OSError as exc:
                log.error("cannot start the API process", extra={"fields": {"reason": str(exc)}})
                self.call_later(int(self._api.next_delay() * 1000), self._restart_gateway)  # type: ignore[union-attr]

    def gateway_pending(self, tx_id: bytes) -> bool:
        """node.gateway.server.GatewayHost: whether the mempool holds `tx_id` (on the loop)."""
        return self.mempool.contains(tx_id)

    def _status_event(self) -> dict[str, object]:
        """The periodic report to the API process (api.md §8): position, mempool, peers and the
        counters of `self.metrics`."""
        return {
            "event": "status", "syncing": self.syncing, "height": self.chain.height, "round": self.position()[1],
            "mempool": [len(self.mempool), self.mempool.size_bytes],
            "peers": [len(self.transport.connected), len(self.config.peers)],
            **self.metrics.to_event(),
        }

    # -- block sync (§8) -------------------------------------------------------------------------

    def _start_consensus(self) -> None:
        assert self.driver is not None
        self.catchup.on_consensus_started()
        self.driver.start()

    def _sync_step(self, now: int) -> None:
        """Follow CatchUp: start or pause consensus, send the block requests due (§8)."""
        if self._stopping or self.driver is None:
            return
        engine = self.driver.engine
        change, requests = self.catchup.step(self.chain.height, running=engine is not None, undecided=engine is not None and engine.decision is None, now=now)
        if change is Change.PAUSE:
            log.info("peers are ahead; pausing consensus for block sync", extra={"fields": {"peers": dict(self.blocksync.peers)}})
            self.driver.pause()
        elif change is Change.START:
            self._start_consensus()
        for peer, height in requests:
            self.transport.send(peer, encode_message(GetBlock(height)))

    def _on_block_response(self, peer: str, message: BlockResponse, now: int) -> None:
        if self.blocksync.on_block(peer, message.height, message.block, message.commit, now) is not Received.BUFFERED:
            return
        before = self.chain.height
        heights = self.blocksync.apply(self.chain, cache=self.mempool.cache)
        ban = self.blocksync.bans.get(peer)
        if ban is not None:
            log.warning("peer sent an invalid block; banned", extra={"fields": {"peer": peer, "code": ban.error.code, "until": ban.until}})
        if not heights:
            return
        self._after_commit([self.chain.block(h) for h in heights], now)  # type: ignore[misc]
        log.info("synced", extra={"fields": {"from": before + 1, "to": heights[-1], "peer": peer}})
        engine = self.driver.engine if self.driver is not None else None
        if engine is not None and engine.height <= self.chain.height:
            self._start_consensus()
        self._sync_step(now)

    async def _tick(self) -> None:
        """Every status_interval: announce the tip (§2), relay if consensus is stuck (§3) and
        move block sync along (§8)."""
        while True:
            await asyncio.sleep(self.config.status_interval_ms / 1000)
            try:
                self.transport.broadcast(encode_message(self._status()))
                if self.driver is not None:
                    self.driver.on_interval()
                self._sync_step(self.now())
                self.snapshots.expire()
                if self.gateway is not None:
                    self.gateway.publish(self._status_event())
            except Exception as exc:  # the store, the WAL, or a bug: stop rather than limp on
                self.fail(exc)

    def _status(self) -> Status:
        engine = self.driver.engine if self.driver is not None else None
        return Status(self.chain.height, engine.round if engine else 0)

    # -- the network ---------------------------------------------------------------------------

    def _on_peer(self, peer: str, connected: bool) -> None:
        if connected:
            self.transport.send(peer, encode_message(self._status()))
        else:
            self.catchup.on_peer_gone(peer)
            if self.driver is not None:
                self.driver.relay.on_peer_gone(peer)

    def _on_message(self, peer: str, data: bytes) -> None:
        """One frame from `peer`. Raises the LedgerError of a malformed message (the transport
        counts it for the peer); a local failure stops the node."""
        if self._stopping or self.driver is None:
            return
        message = decode_message(data)
        now = self.now()
        try:
            if isinstance(message, (Proposal, Vote)):
                self.driver.receive(peer, message)
            elif isinstance(message, Status):
                self.catchup.on_status(peer, message.height, now)
                self.driver.on_status(peer, message.height)
                self._sync_step(now)
            elif isinstance(message, TxMessage):
                self._on_peer_tx(peer, message.tx)
            elif isinstance(message, GetBlock):
                self._serve_block(peer, message.height)
            elif isinstance(message, BlockResponse):
                self._on_block_response(peer, message, now)
        except LedgerError as exc:
            if is_local(exc):
                self.fail(exc)
                return
            raise

    def _on_peer_tx(self, peer: str, tx: Tx) -> None:
        try:
            self.admit(tx, peer)
        except LedgerError as exc:
            if is_local(exc):
                raise
            self.count(peer, exc.code, exc)

    def _serve_block(self, peer: str, height: int) -> None:
        if not 1 <= height <= self.chain.height:
            return
        block, commit = self.chain.block(height), self.chain.commit(height)
        if block is not None and commit is not None:
            self.transport.send(peer, encode_message(BlockResponse(height, block, commit)))

    # -- transactions --------------------------------------------------------------------------

    def admit(self, tx: Tx, origin: str | None, *, source: str = "api") -> None:
        """Admit `tx` to the mempool (§7), send it once to every peer if it came from a client
        (`origin` None; a peer's transaction is not sent on), and tell
        consensus when the mempool stops being empty. Raises what Mempool.add raises, and
        NodeError "node.stopping" once shutting down."""
        [refusal] = self.admit_many([tx], origin, source=source)
        if refusal is not None:
            raise refusal

    def admit_many(self, txs: list[Tx], origin: str | None = None, *, source: str = "api") -> list[LedgerError | None]:
        """`admit` for each of `txs` in order, telling consensus at most once. Returns per tx None
        (admitted) or the peer-input LedgerError Mempool.add refused it with; raises a local
        (disk) failure, and NodeError "node.stopping" (nothing admitted) once shutting down.
        The outcomes are counted (api.md §8) by source: "peer" when `origin` names one, else
        `source` ("api" for clients, "node" for the node's own evidence and use records)."""
        if self._stopping:
            raise NodeError("the node is shutting down; submit to another node", code="node.stopping")
        was_empty = not self.mempool.has_txs()
        refusals: list[LedgerError | None] = []
        for tx in txs:
            try:
                self.mempool.add(tx, now=self.now())
                refusals.append(None)
            except LedgerError as exc:
                if is_local(exc):
                    raise
                refusals.append(exc)
        self.metrics.count_admissions(source if origin is None else "peer", refusals)
        # §7: only transactions from clients are sent on; the validators form a full mesh, so a
        # peer's transaction already went to every peer it is connected to.
        peers = list(self.transport.stats()) if origin is None else []
        for tx, refusal in zip(txs, refusals):
            if refusal is None:
                data = encode_message(TxMessage(tx))
                for peer in peers:
                    self.transport.send(peer, data)
        if was_empty and None in refusals and self.driver is not None:
            self.driver.post_event(TxsAvailable())
        return refusals


def run_node(config: NodeConfig) -> int:
    """Run a node in this process until SIGTERM or SIGINT: 0 after a clean shutdown, 1 after a
    failure (logged). Raises what opening the home raises (LedgerError, OSError)."""
    node = Node(config)
    handlers = configure_logging(config.log_path, config.name, node.position)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, node.request_stop)
        await node.run()

    try:
        asyncio.run(main())
    finally:
        for handler in handlers:
            handler.close()
    return 0 if node.failure is None else 1
