"""The consensus side of a node: the state machine, its inputs and its actions
(docs/spec/consensus.md §3, §10; docs/node.md).

`ConsensusDriver` owns the engine of the current height and feeds it one input at a time. Each
input is appended to the WAL before `handle` sees it, and the node's own proposals and votes
are appended and fsync'd before they are sent (§10); the actions of one input are performed in
order before the next input (§3): Broadcast through the host, ScheduleTimeout as a host timer,
Decide by committing (ChainApp.commit) and rotating the WAL, Evidence handed to the host.
`start` (re)starts the engine at tip + 1 with the WAL of that height replayed (node.replay) and
then the messages kept for it while it was elsewhere; `on_interval` and `on_status` relay for
liveness (node.relay, §3).

Everything outside consensus (sending, timers, the clock, what a commit means for the mempool
and the clients) comes through `Host`, so the node runtime (node.runtime) and the deterministic
simulator (tests/node/sim) run this same code. It must never handle two inputs at once, send
its own signed message before the WAL holds it, or perform an action once stopped.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from ledger.block import Block
from ledger.chain import Chain
from ledger.commit import Commit
from ledger.errors import LedgerError
from node.app import ChainApp
from node.blocksync import is_local_fault
from node.consensus import (
    Action, Broadcast, Consensus, Decide, Event, Evidence, Message, Proposal, ProposalReceived, ScheduleTimeout, Signer,
    TimeoutFired, Timeouts, Vote, VoteReceived, wal_record,
)
from node.consensus.events import Start
from node.relay import Relay, round_messages
from node.replay import read_replay
from node.wal import WAL, MemoryWAL, WalError

log = logging.getLogger("eledger.node")

#: Messages for heights above the engine's (or received while it is paused) are kept this many
#: at most (votes; proposals, which carry whole blocks, far fewer) to be fed to a restarted engine.
MAX_AHEAD_VOTES = 1024
MAX_AHEAD_PROPOSALS = 8


class Host(Protocol):
    """What the driver needs from the process around it (node.runtime.Node, the simulator)."""

    def now(self) -> int:
        """The time in integer ms (the wall clock, or the simulator's)."""

    def peers(self) -> Iterable[Hashable]:
        """The peers a relay burst may go to now (the connected ones)."""

    def broadcast(self, message: Message) -> None:
        """Send this node's own `message` to every peer."""

    def send(self, peer: Hashable, message: Message) -> None: ...

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> None:
        """Run `callback` after `delay_ms` (the host cancels what is left when it stops)."""

    def committed(self, block: Block, commit: Commit, now: int) -> None:
        """`block` was committed with `commit` by consensus (update the mempool, clients)."""

    def keep_evidence(self, evidence: Evidence) -> None: ...

    def count(self, peer: Hashable, code: str, exc: LedgerError | None = None) -> None:
        """An input from `peer` ("self" for this node's own) was refused with `code`."""

    def fail(self, exc: BaseException) -> None:
        """A local failure (disk, or a bug): the node must stop (the driver is stopped first)."""


@dataclass(frozen=True)
class _Input:
    """A queued consensus input: `origin` is the peer it came from (None: this node); `log`
    appends it to the WAL first (False for what is read back from the WAL)."""

    event: Event
    origin: Hashable | None
    log: bool


def is_local(exc: LedgerError) -> bool:
    """A failure of this node's own disk (store, WAL, signer state), not of a peer's input."""
    return is_local_fault(exc) or isinstance(exc, WalError) or exc.code.startswith("signer.state")


def received(message: Proposal | Vote) -> Event:
    return ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)


class ConsensusDriver:
    """Consensus over `chain` through `app`, signing with `signer` (None: follow only), logging
    to `wal`, in the world of `host`."""

    def __init__(self, chain: Chain, app: ChainApp, signer: Signer | None, wal: WAL | MemoryWAL, host: Host, timeouts: Timeouts = Timeouts()) -> None:
        self.chain = chain
        self.app = app
        self.signer = signer
        self.wal = wal
        self.host = host
        self.timeouts = timeouts
        self.relay = Relay()
        self._engine: Consensus | None = None
        self._generation = 0
        self._queue: deque[_Input] = deque()
        self._pumping = False
        self._stopped = False
        self._ahead_votes: deque[Vote] = deque(maxlen=MAX_AHEAD_VOTES)
        self._ahead_proposals: deque[Proposal] = deque(maxlen=MAX_AHEAD_PROPOSALS)

    @property
    def engine(self) -> Consensus | None:
        """The running state machine; None while paused or stopped."""
        return self._engine

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Consensus at tip + 1 from a fresh state machine: Start, the WAL of that height
        replayed (§10), then the messages already received for it. Raises WalError of the WAL
        (a local failure)."""
        if self._stopped:
            return
        height = self.chain.height + 1
        self._generation += 1
        last_commit = self.chain.commit(height - 1) if height > 1 else None
        self._engine = Consensus(self.chain.genesis.chain_id, self.app, self.signer, height, last_commit, self.timeouts)
        if self.relay.decided_height != height - 1:
            self.relay.forget_decision()
        self.wal.open_height(height)
        self.wal.drop_below(height)
        replay = read_replay(self.wal.records(height))
        log.info("consensus starts", extra={"fields": {"replay": len(replay.events), "skipped": len(replay.skipped)}})
        for exc in replay.skipped:
            log.error("skipping an unreadable WAL record", extra={"fields": {"code": exc.code, "cause": exc.fields.get("cause")}})
        self.post(_Input(Start(), None, log=replay.log_start))
        for event in replay.events:
            self.post(_Input(event, None, log=False))
        for kept in (self._ahead_proposals, self._ahead_votes):
            messages = list(kept)
            kept.clear()
            kept.extend(m for m in messages if m.height > height + 1)
            for message in messages:
                if height <= message.height <= height + 1:
                    self.post(_Input(received(message), None, log=True))

    def pause(self) -> None:
        """Stop running the state machine (block sync runs); its timers no longer fire."""
        self._engine = None
        self._generation += 1

    def stop(self) -> None:
        """Stop for good: nothing queued is handled, no timer fires, no action is performed."""
        self._stopped = True
        self._engine = None
        self._generation += 1
        self._queue.clear()

    # -- inputs ----------------------------------------------------------------------------------

    def post(self, item: _Input) -> None:
        """Queue `item`; handle the queue now unless an input is being handled already (then it
        is handled after it: the actions of one input come before the next input)."""
        if self._stopped:
            return
        self._queue.append(item)
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._queue and not self._stopped:
                self._handle(self._queue.popleft())
        finally:
            self._pumping = False
            if self._stopped:
                self._queue.clear()

    def post_event(self, event: Event) -> None:
        """An input of this node itself (TxsAvailable), logged like any other."""
        self.post(_Input(event, None, log=True))

    def receive(self, peer: Hashable, message: Proposal | Vote) -> None:
        """A proposal or vote from `peer`: handled if it is for the engine's height or the next,
        kept (bounded) if it is for a later height or the engine is paused, else counted."""
        engine = self._engine
        if engine is None or message.height > engine.height:
            (self._ahead_proposals if isinstance(message, Proposal) else self._ahead_votes).append(message)  # type: ignore[arg-type]
        if engine is None:
            return
        if message.height < engine.height or message.height > engine.height + 1:
            self.host.count(peer, "consensus.old_height" if message.height < engine.height else "consensus.future_height")
            return
        self.post(_Input(received(message), peer, log=True))

    def _handle(self, item: _Input) -> None:
        """WAL first (§10), then the state machine, then its actions. A refused input is
        counted for its origin; a failure of this node's disk or store stops the node."""
        engine = self._engine
        if engine is None:
            return
        now = self.host.now()
        try:
            if item.log:
                self.wal.append(wal_record(item.event), sync=False)
            try:
                actions = engine.handle(item.event, now)
            except LedgerError as exc:
                if is_local(exc):
                    raise
                self.host.count(item.origin if item.origin is not None else "self", exc.code, exc)
                return
            self._perform(engine, actions, now)
        except Exception as exc:  # this node's disk, or a bug: stop rather than go on inconsistent
            self.stop()
            self.host.fail(exc)

    # -- actions ---------------------------------------------------------------------------------

    def _perform(self, engine: Consensus, actions: list[Action], now: int) -> None:
        """The actions of one input, in order (§3). Own messages reach the WAL, fsync'd, first;
        that includes those re-signed while replaying, so that none is ever out of the WAL."""
        own = [a.message for a in actions if isinstance(a, Broadcast) and self._is_own(a.message)]
        for i, message in enumerate(own):
            self.wal.append(wal_record(received(message)), sync=i == len(own) - 1)  # type: ignore[arg-type]
        for action in actions:
            if self._stopped:
                return
            if isinstance(action, Broadcast):
                self.host.broadcast(action.message)
            elif isinstance(action, ScheduleTimeout):
                self._schedule(action)
            elif isinstance(action, Decide):
                self._decide(engine, action.block, action.commit, now)
            elif isinstance(action, Evidence):
                self.host.keep_evidence(action)

    def _is_own(self, message: object) -> bool:
        if self.signer is None:
            return False
        key_id = self.signer.key_id
        return (isinstance(message, Proposal) and message.proposer == key_id) or (isinstance(message, Vote) and message.validator == key_id)

    def _schedule(self, action: ScheduleTimeout) -> None:
        generation = self._generation
        event = TimeoutFired(action.height, action.round, action.step)

        def fire() -> None:
            if generation == self._generation and not self._stopped:
                self.post(_Input(event, None, log=True))

        self.host.call_later(action.delay_ms, fire)

    def _decide(self, engine: Consensus, block: Block, commit: Commit, now: int) -> None:
        """Decide (§3 rule 8): commit, keep the deciding proposal to relay, rotate the WAL, then
        let the host update its mempool and clients."""
        started = time.perf_counter()
        self.app.commit(block, commit)
        proposal = next((p for p in engine.proposals_of(commit.round) if p.block.hash == block.hash), None)
        self.relay.on_decided(proposal, commit)
        height = block.header.height
        self.wal.open_height(height + 1)
        self.wal.drop_below(height + 1)
        self.host.committed(block, commit, now)
        log.info("committed", extra={"fields": {
            "block": height, "commit_round": commit.round, "txs": len(block.txs), "hash": block.hash,
            "commit_ms": round((time.perf_counter() - started) * 1000, 1),
        }})

    # -- relay for liveness (§3) -------------------------------------------------------------------

    def on_interval(self) -> None:
        """A status interval ended: if the engine has not moved since the previous one, send
        each peer (one burst per interval) the messages of its round and valid round."""
        engine = self._engine
        position = None if engine is None else (engine.height, engine.round, int(engine.step))
        if self._stopped or not self.relay.on_interval(position) or engine is None:
            return
        messages = round_messages(engine)
        if not messages:
            return
        for peer in self.host.peers():
            if self.relay.claim(peer):
                for message in messages:
                    self.host.send(peer, message)

    def on_status(self, peer: Hashable, height: int) -> None:
        """`peer` reported its last committed `height`: relay the last decision if it stays one
        height behind it (node.relay)."""
        if self._stopped:
            return
        for message in self.relay.on_status(peer, height):
            self.host.send(peer, message)
