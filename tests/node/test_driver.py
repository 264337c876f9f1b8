"""node.driver: consensus inputs through the WAL into the engine, actions out through the host;
restarts replay the WAL; relay for liveness (consensus.md §3, §10).

The driver runs validator `ME` of the 4-validator test net (never the proposer of round 0 at
height 1) with a real Signer on a MemorySignerStore and a MemoryWAL; the others' proposals and
votes are signed with their keys.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from ledger.block import Block
from ledger.commit import Commit, VoteType
from node.app import ChainApp
from node.consensus import Proposal, Step, Vote
from node.consensus.events import ProposalReceived, VoteReceived, wal_record
from node.driver import ConsensusDriver
from node.signer import MemorySignerStore, Signer
from node.wal import MemoryWAL
from tests.node.consensus.harness import NET, T0, not_proposer, proposer_index
from tests.node.consensus.support import TxPool, build_block, sign_proposal, sign_vote

ME = not_proposer(1, [0])
OTHERS = [i for i in range(4) if i != ME]
PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT


class Host:
    """A recording host; every own message must be durable in `wal` when it is broadcast."""

    def __init__(self, wal: MemoryWAL) -> None:
        self.wal = wal
        self.time = T0
        self.broadcasts: list[object] = []
        self.sent: list[tuple[object, object]] = []
        self.timers: list[tuple[int, object]] = []
        self.commits: list[Block] = []
        self.counted: Counter[str] = Counter()
        self.failures: list[BaseException] = []

    def now(self) -> int:
        return self.time

    def peers(self) -> list[str]:
        return ["a", "b", "c"]

    def broadcast(self, message) -> None:
        survivor = copy.deepcopy(self.wal)
        survivor.crash()
        event = ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)
        assert wal_record(event) in survivor.records(message.height), "broadcast before the WAL made it durable"
        self.broadcasts.append(message)

    def send(self, peer, message) -> None:
        self.sent.append((peer, message))

    def call_later(self, delay_ms: int, callback) -> None:
        self.timers.append((delay_ms, callback))

    def committed(self, block: Block, commit: Commit, now: int) -> None:
        self.commits.append(block)

    def keep_evidence(self, evidence) -> None:
        raise AssertionError("no evidence expected")

    def count(self, peer, code: str, exc=None) -> None:
        self.counted[code] += 1

    def fail(self, exc: BaseException) -> None:
        self.failures.append(exc)


class Node:
    """What survives a crash (chain, WAL, signer state) and a driver over it."""

    def __init__(self) -> None:
        self.chain = NET.chain()
        self.store = MemorySignerStore()
        self.wal = MemoryWAL(1)
        self.boot()

    def boot(self) -> None:
        pool = TxPool()
        pool.add(NET.anchor(b"\x05" * 32, b"\x05" * 16))
        self.host = Host(self.wal)
        signer = Signer(NET.keys[ME], NET.chain_id, self.store)
        self.driver = ConsensusDriver(self.chain, ChainApp(self.chain, pool), signer, self.wal, self.host)

    def crash(self) -> None:
        self.driver.stop()
        self.wal.crash()
        self.boot()


def proposal(round_: int = 0) -> Proposal:
    by = proposer_index(1, round_)
    return sign_proposal(NET.keys[by], 1, round_, build_block(NET.chain(), NET.keys[by], T0 - 10), -1)


def votes(vote_type: VoteType, block_hash: bytes | None, by: list[int], round_: int = 0, height: int = 1) -> list[Vote]:
    return [sign_vote(NET.keys[i], vote_type, height, round_, block_hash) for i in by]


def locked_node() -> tuple[Node, Proposal]:
    """ME prevoted and precommitted round 0's block after two others' prevotes."""
    node, p = Node(), proposal()
    node.driver.start()
    node.driver.receive("a", p)
    for vote in votes(PREVOTE, p.block.hash, OTHERS[:2]):
        node.driver.receive("b", vote)
    return node, p


def test_own_votes_are_durable_in_the_wal_before_they_are_broadcast():
    node, p = locked_node()
    assert node.host.failures == []  # Host.broadcast asserts durability; the driver reports what raised
    assert [(m.type, m.block_hash) for m in node.host.broadcasts] == [(PREVOTE, p.block.hash), (PRECOMMIT, p.block.hash)]
    engine = node.driver.engine
    assert engine is not None and engine.step is Step.PRECOMMIT and engine.locked_round == 0


def test_a_restart_replays_the_wal_keeps_the_lock_and_sends_the_same_precommit_again():
    node, p = locked_node()
    precommit = node.host.broadcasts[-1]
    node.crash()
    node.driver.start()
    engine = node.driver.engine
    assert engine is not None and (engine.round, engine.step, engine.locked_round) == (0, Step.PRECOMMIT, 0)
    assert node.host.broadcasts == [precommit]  # re-signed idempotently; the prevote is a regression now
    assert not node.host.counted and not node.host.failures


def test_a_quorum_of_precommits_commits_rotates_the_wal_and_is_relayed_to_a_peer_left_behind():
    node, p = locked_node()
    for vote in votes(PRECOMMIT, p.block.hash, OTHERS[:2]):
        node.driver.receive("c", vote)
    assert node.host.commits == [p.block] and node.chain.height == 1 and node.wal.height == 2
    node.driver.on_status("a", 0)
    node.driver.on_status("a", 0)
    relayed = [m for peer, m in node.host.sent if peer == "a"]
    assert relayed[0] == p and len(relayed) == 4 and all(isinstance(v, Vote) and v.type is PRECOMMIT for v in relayed[1:])


def test_a_stuck_engine_relays_its_round_once_per_interval_to_every_peer():
    node, p = Node(), proposal()
    node.driver.start()
    node.driver.receive("a", p)
    node.driver.on_interval()
    assert node.host.sent == []  # first look at its position
    node.driver.on_interval()
    prevote = node.host.broadcasts[0]
    assert node.host.sent == [(peer, m) for peer in ("a", "b", "c") for m in (p, prevote)]
    node.driver.receive("b", votes(PREVOTE, None, [OTHERS[0]])[0])  # no move: same step
    node.driver.on_interval()
    assert len(node.host.sent) == 3 * 2 + 3 * 3  # the proposal and both prevotes, to each peer


def test_messages_received_while_not_running_are_fed_to_the_next_start():
    node, p = Node(), proposal()
    node.driver.receive("a", p)
    node.driver.receive("b", votes(PREVOTE, p.block.hash, [OTHERS[0]])[0])
    assert node.driver.engine is None and node.host.broadcasts == []
    node.driver.start()
    assert [m.type for m in node.host.broadcasts] == [PREVOTE]
    assert len(node.driver.engine.votes_of(0)) == 2  # type: ignore[union-attr]


def test_a_message_beyond_the_next_height_is_counted_and_kept():
    node = Node()
    node.driver.start()
    node.driver.receive("a", votes(PREVOTE, None, [OTHERS[0]], height=3)[0])
    assert node.host.counted["consensus.future_height"] == 1


def test_a_wal_failure_stops_the_driver_and_is_reported_to_the_host():
    node = Node()
    node.driver.start()
    node.wal.close()
    node.driver.receive("a", proposal())
    assert [e.code for e in node.host.failures] == ["wal.closed"]  # type: ignore[attr-defined]
    assert node.driver.stopped and node.driver.engine is None and node.host.broadcasts == []


def test_a_stopped_driver_neither_handles_inputs_nor_fires_timers():
    node = Node()
    node.driver.start()
    records = len(node.wal.records(1))
    assert node.host.timers
    node.driver.stop()
    for _, fire in node.host.timers:
        fire()
    node.driver.receive("a", proposal())
    node.driver.on_interval()
    node.driver.on_interval()
    assert len(node.wal.records(1)) == records and node.host.broadcasts == [] and node.host.sent == []


@pytest.mark.parametrize("pause", [True, False])
def test_timers_of_a_paused_or_restarted_engine_do_not_fire(pause):
    node = Node()
    node.driver.start()
    stale = list(node.host.timers)
    node.driver.pause() if pause else node.driver.start()
    records = len(node.wal.records(1))
    for _, fire in stale:
        fire()
    assert len(node.wal.records(1)) == records

