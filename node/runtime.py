"""The node process: one asyncio loop running transport, consensus, WAL, signer, mempool, block
sync and the HTTP API (docs/spec/consensus.md; DESIGN §9).

`Node` is the only place where the pure parts meet the clock, the disk and the network. Inputs
of the consensus state machine are queued and handled one at a time; each is appended to the
WAL before `handle` sees it, and this node's own proposals and votes are fsync'd to the WAL
before they are broadcast (§10). The actions of one input are performed in order before the
next input: Broadcast through the transport, ScheduleTimeout through `loop.call_later`, Decide
by committing (ChainApp.commit), updating the mempool, answering the clients that wait for
their transactions and rotating the WAL, Evidence by keeping it and submitting it on the
ledger (§6). A node whose peers are two or more heights ahead, or that starts with an empty
store while they have blocks, pauses consensus and syncs blocks (§8); one that stays one height
behind for a while fetches that block the same way. The WAL of `tip + 1` is replayed through a
fresh state machine whenever consensus (re)starts.

The API's `NodeService` (node.service.NodeApi) reads the node and submits through `admit`
and `wait_for`; the API server (uvicorn) runs as a task on the same loop. Must never log a
key, handle two inputs at once, broadcast its own signed message before the WAL holds it, or
leave the store open at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

import uvicorn

from api.main import create_app
from api.service import SubmitResult, SubmitStatus
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
from ledger.store import LevelKV
from ledger.tx import NONCE_SIZE, Tx
from node.app import ChainApp
from node.blocksync import BlockSync, Received, is_local_fault
from node.catchup import CatchUp, Change
from node.config import NodeConfig
from node.consensus import (
    Action, BlockResponse, Broadcast, Consensus, Decide, Event, Evidence, GetBlock, Proposal, ProposalReceived,
    ScheduleTimeout, Start, Status, TimeoutFired, TxMessage, TxsAvailable, Vote, VoteReceived, decode_message,
    encode_message, wal_event, wal_record,
)
from node.errors import NodeError
from node.logs import configure_logging
from node.mempool import Mempool
from node.service import ApiServer, CommitWaiters, NodeApi, bind_socket
from node.signer import FileSignerStore, Signer
from node.transport import PeerInfo, PeerPolicy, Transport
from node.wal import WAL, WalError

log = logging.getLogger("eledger.node")

MAX_EVIDENCE = 100
#: Messages for heights above the engine's (or received while it is paused) are kept this many
#: at most (votes; proposals, which carry whole blocks, far fewer) to be fed to a restarted engine.
MAX_AHEAD_VOTES = 1024
MAX_AHEAD_PROPOSALS = 8
#: Peer codes that are part of normal operation (late votes, gossip echoes): counted, not logged.
QUIET_CODES = frozenset({"consensus.old_height", "consensus.future_height", "mempool.duplicate", "tx.replay"})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class _Input:
    """A queued consensus input: `origin` is the peer it came from (None: this node);
    `log` appends it to the WAL first; `replay` marks it as read back from the WAL."""

    event: Event
    origin: str | None
    log: bool
    replay: bool = False


class Node:
    """One node over the home described by `config`. `run()` until `request_stop()` (or a fatal
    error, then in `failure`)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.failure: BaseException | None = None
        self._stop = asyncio.Event()
        self._stopping = False
        self._engine: Consensus | None = None
        self._generation = 0
        self._queue: deque[_Input] = deque()
        self._pumping = False
        self._timers: set[asyncio.TimerHandle] = set()
        self.waiters = CommitWaiters()
        self._ahead_votes: deque[Vote] = deque(maxlen=MAX_AHEAD_VOTES)
        self._ahead_proposals: deque[Proposal] = deque(maxlen=MAX_AHEAD_PROPOSALS)
        self.evidence: deque[Evidence] = deque(maxlen=MAX_EVIDENCE)
        self._api: ApiServer | None = None
        self._api_task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._transport_started = False
        self.dropped: dict[str, Counter[str]] = {}

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
        self._stop.set()

    def _open(self) -> None:
        """Open the store, signer state and WAL of the home (closed again if one fails)."""
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
        self.mempool = Mempool(self.chain, cache=SignatureCache())
        self.app = ChainApp(self.chain, self.mempool)
        self.blocksync = BlockSync(self.chain.height)
        interval = c.status_interval_ms
        self.catchup = CatchUp(self.blocksync, [p.name for p in c.peers], self._now(), start_grace_ms=2 * interval, lag_ms=3 * interval)
        self.validator = self.chain.validators().get(self._key.public_key.key_id) is not None

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
        api_socket = bind_socket(c.api_host, c.api_port, "api")
        try:
            await self.transport.start()
        except OSError as exc:
            api_socket.close()
            raise NodeError(f"cannot listen for peers on {c.p2p_host}:{c.p2p_port}: {exc.strerror}", code="node.port_busy", field="p2p_port") from exc
        self._transport_started = True
        server = ApiServer(uvicorn.Config(create_app(NodeApi(self)), log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=3))
        self._api = server
        self._api_task = asyncio.create_task(server.serve(sockets=[api_socket]))
        self._tick_task = asyncio.create_task(self._tick())
        log.info("started", extra={"fields": {
            "tip": self.chain.height, "p2p": f"{c.p2p_host}:{self.transport.port}", "api": f"{c.api_host}:{c.api_port}",
            "validator": self.validator, "peers": [p.name for p in c.peers],
        }})
        self._sync_step(self._now())

    async def _close(self) -> None:
        self._stopping = True
        self._generation += 1
        self.waiters.fail_all(NodeError("the node is shutting down; the transaction may still be committed by the network", code="node.stopping"))
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._api_task, 10)
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        if self._transport_started:
            await self.transport.stop()
        self._resources.close()
        log.info("stopped", extra={"fields": {"tip": self.chain.height}})

    def _fail(self, exc: BaseException) -> None:
        log.error("fatal error; stopping", exc_info=exc)
        if self.failure is None:
            self.failure = exc
        self.request_stop()

    # -- reading -----------------------------------------------------------------------------

    def _now(self) -> int:
        return wall_clock_ms()

    def position(self) -> tuple[int, int, str]:
        """(height, round, step) for the logs: the engine's, or tip + 1 while not running it."""
        engine = self._engine
        if engine is not None:
            return engine.height, engine.round, engine.step.name.lower()
        chain, catchup = getattr(self, "chain", None), getattr(self, "catchup", None)
        step = "start" if catchup is None or catchup.starting else "sync"
        return (chain.height + 1 if chain is not None else 0), 0, step

    @property
    def syncing(self) -> bool:
        return not self._stopping and self._engine is None and not self.catchup.starting

    # -- consensus inputs and actions ----------------------------------------------------------

    def _post(self, item: _Input) -> None:
        """Queue `item`; handle the queue now unless an input is being handled already (then
        it is handled after it: the actions of one input come before the next input)."""
        self._queue.append(item)
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._queue and not self._stopping:
                self._handle(self._queue.popleft())
        finally:
            self._pumping = False
            if self._stopping:
                self._queue.clear()

    def _handle(self, item: _Input) -> None:
        """WAL first (§10), then the state machine, then its actions. A refused input is
        counted for its origin; a failure of this node's disk or store stops the node."""
        engine = self._engine
        if engine is None:
            return
        now = self._now()
        try:
            if item.log:
                self.wal.append(wal_record(item.event), sync=False)
            try:
                actions = engine.handle(item.event, now)
            except LedgerError as exc:
                if _is_local(exc):
                    raise
                self._count(item.origin or "self", exc.code, exc)
                return
            self._perform(actions, item.replay, now)
        except Exception as exc:  # this node's disk, or a bug: stop rather than go on inconsistent
            self._fail(exc)

    def _perform(self, actions: list[Action], replay: bool, now: int) -> None:
        """The actions of one input, in order (§3). Own messages reach the WAL, fsync'd, first."""
        own = [a.message for a in actions if isinstance(a, Broadcast) and self._is_own(a.message)]
        if own and not replay:
            for i, message in enumerate(own):
                event = ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)
                self.wal.append(wal_record(event), sync=i == len(own) - 1)
        for action in actions:
            if isinstance(action, Broadcast):
                self.transport.broadcast(encode_message(action.message))
            elif isinstance(action, ScheduleTimeout):
                self._schedule(action)
            elif isinstance(action, Decide):
                self._decide(action.block, action.commit, now)
            elif isinstance(action, Evidence):
                self._keep_evidence(action)

    def _is_own(self, message: object) -> bool:
        key_id = self.signer.key_id
        return (isinstance(message, Proposal) and message.proposer == key_id) or (isinstance(message, Vote) and message.validator == key_id)

    def _schedule(self, action: ScheduleTimeout) -> None:
        generation = self._generation
        event = TimeoutFired(action.height, action.round, action.step)

        def fire() -> None:
            self._timers.discard(handle)
            if generation == self._generation and not self._stopping:
                self._post(_Input(event, None, True))

        handle = asyncio.get_running_loop().call_later(action.delay_ms / 1000, fire)
        self._timers.add(handle)

    def _decide(self, block: Block, commit: Commit, now: int) -> None:
        """Decide (§3 rule 8): commit, update the mempool, answer waiters, rotate the WAL."""
        started = time.perf_counter()
        self.app.commit(block, commit)
        height = block.header.height
        self._after_commit([block], now)
        self.wal.open_height(height + 1)
        self.wal.drop_below(height + 1)
        log.info("committed", extra={"fields": {
            "block": height, "commit_round": commit.round, "txs": len(block.txs), "hash": block.hash,
            "commit_ms": round((time.perf_counter() - started) * 1000, 1), "mempool": len(self.mempool),
        }})

    def _after_commit(self, blocks: Iterable[Block], now: int) -> None:
        blocks = list(blocks)
        dropped = self.mempool.update([tx for b in blocks for tx in b.txs], now=now)
        for block in blocks:
            for index, tx in enumerate(block.txs):
                self.waiters.settle(tx.id, SubmitResult(tx.id, SubmitStatus.COMMITTED, block.header.height, index))
        for tx in dropped:
            self.waiters.settle(tx.id, NodeError("the transaction no longer executes against the committed state and was dropped from the mempool", code="mempool.dropped", tx_id=tx.id.hex()))

    def _keep_evidence(self, evidence: Evidence) -> None:
        """§6: keep it (bounded) and submit it in an evidence.duplicate_vote transaction."""
        self.evidence.append(evidence)
        vote = evidence.vote_a
        log.warning("duplicate vote", extra={"fields": {"validator": vote.validator, "vote_height": vote.height, "vote_round": vote.round, "type": vote.type.value}})
        if not self.validator:
            return
        body = {"vote_a": evidence.vote_a.to_json(), "vote_b": evidence.vote_b.to_json()}
        tx = Tx.create(self.chain_id, EVIDENCE_KIND, body, self._key, os.urandom(NONCE_SIZE))
        try:
            self.admit(tx, None)
        except LedgerError as exc:
            log.info("evidence not submitted", extra={"fields": {"code": exc.code}})

    # -- engine (re)start and block sync (§8, §10) -----------------------------------------------

    def _start_engine(self) -> None:
        """Consensus at tip + 1 from a fresh state machine: Start, the WAL of that height
        replayed, then the messages already received for it."""
        height = self.chain.height + 1
        self._generation += 1
        self.catchup.on_consensus_started()
        last_commit = self.chain.commit(height - 1) if height > 1 else None
        self._engine = Consensus(self.chain_id, self.app, self.signer, height, last_commit, self.config.timeouts)
        self.wal.open_height(height)
        self.wal.drop_below(height)
        records = self.wal.records(height)
        log.info("consensus starts", extra={"fields": {"replay": len(records)}})
        self._post(_Input(Start(), None, log=not records))
        for payload in records:
            try:
                event = wal_event(payload)
            except LedgerError as exc:
                log.error("skipping an unreadable WAL record", extra={"fields": {"code": exc.code}})
                continue
            if not isinstance(event, Start):
                self._post(_Input(event, None, log=False, replay=True))
        for kept in (self._ahead_proposals, self._ahead_votes):
            messages = list(kept)
            kept.clear()
            kept.extend(m for m in messages if m.height > height + 1)
            for message in messages:
                if height <= message.height <= height + 1:
                    self._post(_Input(_received(message), None, log=True))

    def _sync_step(self, now: int) -> None:
        """Follow CatchUp: start or pause consensus, send the block requests due (§8)."""
        if self._stopping:
            return
        engine = self._engine
        change, requests = self.catchup.step(self.chain.height, running=engine is not None, undecided=engine is not None and engine.decision is None, now=now)
        if change is Change.PAUSE:
            log.info("peers are ahead; pausing consensus for block sync", extra={"fields": {"peers": dict(self.blocksync.peers)}})
            self._engine = None
            self._generation += 1
        elif change is Change.START:
            self._start_engine()
        for peer, height in requests:
            self.transport.send(peer, encode_message(GetBlock(height)))

    def _on_block_response(self, peer: str, message: BlockResponse, now: int) -> None:
        if self.blocksync.on_block(peer, message.height, message.block, message.commit, now) is not Received.BUFFERED:
            return
        before = self.chain.height
        heights = self.blocksync.apply(self.chain)
        ban = self.blocksync.bans.get(peer)
        if ban is not None:
            log.warning("peer sent an invalid block; banned", extra={"fields": {"peer": peer, "code": ban.error.code, "until": ban.until}})
        if not heights:
            return
        self._after_commit([self.chain.block(h) for h in heights], now)  # type: ignore[misc]
        log.info("synced", extra={"fields": {"from": before + 1, "to": heights[-1], "peer": peer}})
        if self._engine is not None and self._engine.height <= self.chain.height:
            self._start_engine()
        self._sync_step(now)

    async def _tick(self) -> None:
        """Every status_interval: announce the tip (§2) and move block sync along."""
        while True:
            await asyncio.sleep(self.config.status_interval_ms / 1000)
            try:
                engine = self._engine
                self.transport.broadcast(encode_message(Status(self.chain.height, engine.round if engine else 0)))
                self._sync_step(self._now())
            except Exception as exc:  # the store, the WAL, or a bug: stop rather than limp on
                self._fail(exc)

    # -- the network ---------------------------------------------------------------------------

    def _on_peer(self, peer: str, connected: bool) -> None:
        if connected:
            engine = self._engine
            self.transport.send(peer, encode_message(Status(self.chain.height, engine.round if engine else 0)))
        else:
            self.catchup.on_peer_gone(peer)

    def _on_message(self, peer: str, data: bytes) -> None:
        """One frame from `peer`. Raises the LedgerError of a malformed message (the transport
        counts it for the peer); a local failure stops the node."""
        if self._stopping:
            return
        message = decode_message(data)
        now = self._now()
        try:
            if isinstance(message, (Proposal, Vote)):
                self._on_consensus_message(peer, message)
            elif isinstance(message, Status):
                self.catchup.on_status(peer, message.height, now)
                self._sync_step(now)
            elif isinstance(message, TxMessage):
                self._on_peer_tx(peer, message.tx)
            elif isinstance(message, GetBlock):
                self._serve_block(peer, message.height)
            elif isinstance(message, BlockResponse):
                self._on_block_response(peer, message, now)
        except LedgerError as exc:
            if _is_local(exc):
                self._fail(exc)
                return
            raise

    def _on_consensus_message(self, peer: str, message: Proposal | Vote) -> None:
        engine = self._engine
        if engine is None or message.height > engine.height:
            if isinstance(message, Proposal):
                self._ahead_proposals.append(message)
            else:
                self._ahead_votes.append(message)
        if engine is None:
            return
        if message.height < engine.height or message.height > engine.height + 1:
            self._count(peer, "consensus.old_height" if message.height < engine.height else "consensus.future_height")
            return
        self._post(_Input(_received(message), peer, log=True))

    def _on_peer_tx(self, peer: str, tx: Tx) -> None:
        try:
            self.admit(tx, peer)
        except LedgerError as exc:
            if _is_local(exc):
                raise
            self._count(peer, exc.code, exc)

    def _serve_block(self, peer: str, height: int) -> None:
        if not 1 <= height <= self.chain.height:
            return
        block, commit = self.chain.block(height), self.chain.commit(height)
        if block is not None and commit is not None:
            self.transport.send(peer, encode_message(BlockResponse(height, block, commit)))

    def _count(self, peer: str, code: str, exc: LedgerError | None = None) -> None:
        self.dropped.setdefault(peer, Counter())[code] += 1
        if code not in QUIET_CODES:
            log.info("input dropped", extra={"fields": {"peer": peer, "code": code, "reason": str(exc) if exc else code}})

    # -- transactions --------------------------------------------------------------------------

    def admit(self, tx: Tx, origin: str | None) -> None:
        """Admit `tx` to the mempool (§7), gossip it once to every peer but `origin`, and tell
        consensus when the mempool stops being empty. Raises what Mempool.add raises, and
        NodeError "node.stopping" once shutting down."""
        if self._stopping:
            raise NodeError("the node is shutting down; submit to another node", code="node.stopping")
        was_empty = not self.mempool.has_txs()
        self.mempool.add(tx, now=self._now())
        data = encode_message(TxMessage(tx))
        for peer in self.transport.stats():
            if peer != origin:
                self.transport.send(peer, data)
        if was_empty:
            self._post(_Input(TxsAvailable(), None, log=True))


def _received(message: Proposal | Vote) -> Event:
    return ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)


def _is_local(exc: LedgerError) -> bool:
    """A failure of this node's own disk (store, WAL, signer state), not of a peer's input."""
    return is_local_fault(exc) or isinstance(exc, WalError) or exc.code.startswith("signer.state")


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
