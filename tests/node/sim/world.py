"""A seeded world of four validators on a faulty network, and the invariants every run must keep.

`Scenario.from_seed(seed)` draws the faults: random delay, drop (up to 30 %) and duplication on
every link; maybe a partition, an isolated node and a rule aimed at some consensus messages
between two nodes, all healing at `heal`; and either one Byzantine validator that equivocates
or one or two crashes with restarts, one node down at a time (f = 1), some at a given time and
some right after the node made durable its next own proposal, prevote or precommit (before it
left). A restarted validator replays its WAL and keeps its signer state, so it keeps its lock
and is a correct node that was merely slow: crashes combine with every message fault. The
Byzantine runs stay apart (two faulty validators would be more than f). Clients submit real
signed anchor transactions to random nodes throughout.

`World.run()` runs to `heal`, then until every correct node has committed `PROGRESS` more
heights (and at least `MIN_HEIGHTS`) within `LIVENESS_MS` of virtual time, and checks: no two
different blocks committed at one height; the same block and state root at every height on
every correct node; every acknowledged transaction in each chain exactly once, at the height
it was acknowledged at; no correct validator ever signs two different proposals or votes for
one (height, round, step), across its crashes; evidence only against the Byzantine validator.
Violations raise AssertionError naming the seed and the scenario.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from ledger.block import Block
from node.consensus.events import Evidence
from node.consensus.messages import Message, Proposal, Vote, decode_message
from node.consensus.timeouts import Timeouts
from tests.node.consensus.support import TestNet
from tests.node.sim.network import Loop, Network, Rule, isolate, partition
from tests.node.sim.node import GOSSIP_MS, ByzantineNode, SimNode, kind_of

N = 4
PROGRESS = 2
MIN_HEIGHTS = 4
LIVENESS_MS = 60_000
TX_INTERVAL_MS = (1500, 3000)
CONSENSUS_TYPES = ("proposal", "prevote", "precommit")


@dataclass(frozen=True)
class Crash:
    """`node` crashes at `at` ms, or with `after` set, right after it made durable its first own
    message of that type ("proposal", "prevote", "precommit") at or after `at` (the message
    never leaves); it restarts `down` ms later. `lose_wal`: its WAL is lost too (the signer
    state alone must keep it from signing twice)."""

    node: int
    at: int
    after: str | None
    down: int
    lose_wal: bool = False

    def describe(self) -> str:
        when = f"at {self.at}" if self.after is None else f"after its first {self.after} from {self.at}"
        return f"crash {self.node} {when}, down {self.down}" + (", WAL lost" if self.lose_wal else "")


@dataclass(frozen=True)
class Scenario:
    seed: int
    base_delay: tuple[int, int]
    rules: tuple[Rule, ...]
    heal: int
    byzantine: int | None
    crashes: tuple[Crash, ...]  # one after the other: the next is armed once the last restarted
    isolate_decider: tuple[int, int] | None  # (height, duration): cut off the first node to commit it
    notes: tuple[str, ...]

    @classmethod
    def from_seed(cls, seed: int) -> Scenario:
        rng = random.Random(seed)
        heal = rng.randint(1500, 5000)
        low = rng.randint(1, 30)
        base_delay = (low, low + rng.choice((20, 100, 400)))
        drop, duplicate = rng.choice((0.0, 0.05, 0.1, 0.2, 0.3)), rng.choice((0.0, 0.05, 0.2))
        rules = [Rule(drop=drop, duplicate=duplicate)]
        notes = [f"delay {base_delay} drop {drop} duplicate {duplicate} heal {heal}"]
        nodes = list(range(N))
        if rng.random() < 0.5:
            shuffled = rng.sample(nodes, N)
            cut = rng.choice((1, 2))
            start = rng.randint(0, heal // 2)
            rules += partition([shuffled[:cut], shuffled[cut:]], start, heal)
            notes.append(f"partition {sorted(shuffled[:cut])}|{sorted(shuffled[cut:])} from {start}")
        if rng.random() < 0.3:
            node, start = rng.randrange(N), rng.randint(0, heal - 1)
            rules += isolate(node, nodes, start, heal)
            notes.append(f"isolate {node} from {start}")
        if rng.random() < 0.3:
            sender, receiver = rng.sample(nodes, 2)
            types = frozenset(rng.sample(CONSENSUS_TYPES, rng.randint(1, 3)))
            rules.append(Rule(senders=frozenset({sender}), receivers=frozenset({receiver}), types=types, drop=0.5, delay=(100, 1500), end=heal))
            notes.append(f"lossy slow {sorted(types)} {sender}->{receiver}")
        isolate_decider = None
        if rng.random() < 0.5:
            isolate_decider = (rng.randint(1, 3), rng.randint(500, 4000))
            notes.append(f"isolate the first node to commit height {isolate_decider[0]} for {isolate_decider[1]} ms")
        byzantine, crashes = None, []
        if rng.random() < 0.4:
            byzantine = rng.randrange(N)
            notes.append(f"byzantine {byzantine}")
        elif rng.random() < 0.6:
            for _ in range(rng.choice((1, 1, 2))):
                after = rng.choice((None, "proposal", "prevote", "precommit", "precommit"))
                crashes.append(Crash(rng.randrange(N), rng.randint(0, heal - 500), after, rng.randint(100, 3000)))
            crashes.sort(key=lambda c: c.at)
            notes += [c.describe() for c in crashes]
        return cls(seed, base_delay, tuple(rules), heal, byzantine, tuple(crashes), isolate_decider, tuple(notes))

    def describe(self) -> str:
        return f"seed {self.seed}: " + "; ".join(self.notes)


class World:
    def __init__(self, scenario: Scenario, net: TestNet, timeouts: Timeouts = Timeouts()) -> None:
        self.scenario = scenario
        self.net = net
        self.timeouts = timeouts
        self.loop = Loop(net.genesis.genesis_time + 1000)
        self.t0 = self.loop.now
        self.rng = random.Random(scenario.seed * 7919 + 1)
        self.network = Network(self.loop, random.Random(scenario.seed * 7919 + 2), scenario.base_delay, list(scenario.rules), self.t0)
        self.nodes: list[SimNode] = []
        for i, key in enumerate(net.keys):
            if i == scenario.byzantine:
                self.nodes.append(ByzantineNode(self, i, key, random.Random(scenario.seed * 7919 + 3)))
            else:
                self.nodes.append(SimNode(self, i, key))
        self.correct = [n for n in self.nodes if n.index != scenario.byzantine]
        self.committed: dict[int, bytes] = {}
        self.first_commit_at: dict[int, int] = {}  # height -> virtual ms (from t0) of its first commit
        self.acked: dict[bytes, int] = {}
        self.evidence: list[tuple[int, Evidence]] = []
        self.signed: dict[tuple[int, int, int, str], tuple[object, ...]] = {}  # (node, height, round, step) -> what
        self.sent_own: Counter[tuple[int, int, int, str]] = Counter()
        self.crashed: list[tuple[Crash, int, Message | None]] = []  # plan, virtual time, the message it cut off
        self._armed: int | None = None  # index of the crash plan waiting for its moment
        self.violations: list[str] = []
        self._decoded: dict[bytes, Message] = {}
        self._tx_counter = 0

    # -- what nodes report -------------------------------------------------------------------------

    def decode(self, data: bytes) -> Message:
        """decode_message, remembered per distinct bytes (a message is an immutable value)."""
        msg = self._decoded.get(data)
        if msg is None:
            msg = decode_message(data)
            if len(self._decoded) > 4096:
                self._decoded.clear()
            self._decoded[data] = msg
        return msg

    def record_commit(self, index: int, block: Block, synced: bool = False) -> None:
        if index == self.scenario.byzantine:
            return
        height = block.header.height
        if height not in self.committed and self.scenario.isolate_decider is not None and self.scenario.isolate_decider[0] == height:
            start = self.loop.now - self.t0
            self.network.rules += isolate(index, range(N), start, start + self.scenario.isolate_decider[1])
        self.first_commit_at.setdefault(height, self.loop.now - self.t0)
        first = self.committed.setdefault(height, block.hash)
        if first != block.hash:
            self.violations.append(f"node {index} committed another block at height {height}")
        for tx in block.txs:
            self.acked.setdefault(tx.id, height)

    def record_evidence(self, index: int, evidence: Evidence) -> None:
        self.evidence.append((index, evidence))

    def on_signed(self, node: SimNode, message: Message) -> bool:
        """`node` is about to send its own `message` (signed, in its WAL). Records it, reports a
        second different message at one (height, round, step), and crashes the node first
        when its armed crash plan waits for this message type: True when it crashed."""
        if node.index == self.scenario.byzantine:
            return False
        assert isinstance(message, (Proposal, Vote))
        key = (node.index, message.height, message.round, kind_of(message))
        what = (message.block.hash, message.pol_round) if isinstance(message, Proposal) else (message.block_hash,)
        if self.signed.setdefault(key, what) != what:
            self.violations.append(f"node {node.index} signed two different {key[3]}s at height {key[1]} round {key[2]}")
        self.sent_own[key] += 1
        plan = self._plan()
        if plan is not None and plan.node == node.index and plan.after == key[3] and self.loop.now >= self.t0 + plan.at:
            self._crash(message)
            return True
        return False

    # -- clients and faults ------------------------------------------------------------------------

    def submit(self) -> None:
        """A client signs a new anchor and hands it to one node (sometimes two)."""
        self._tx_counter += 1
        document = self.rng.getrandbits(256).to_bytes(32, "big")
        tx = self.net.anchor(document, self.rng.getrandbits(128).to_bytes(16, "big"), self.rng.choice(("beijing", "tianjin", "hebei", "xiongan")))
        for node in self.rng.sample(self.nodes, 2 if self.rng.random() < 0.2 else 1):
            if node.up:
                node.add_tx(tx)
        self.loop.after(self.rng.randint(*TX_INTERVAL_MS), self.submit)

    def _plan(self) -> Crash | None:
        return None if self._armed is None else self.scenario.crashes[self._armed]

    def _arm(self, index: int) -> None:
        """Wait for the moment of crash plan `index` (if there is one)."""
        if index >= len(self.scenario.crashes):
            self._armed = None
            return
        self._armed = index
        plan = self.scenario.crashes[index]
        if plan.after is None:
            self.loop.at(self.t0 + plan.at, self._crash, None)

    def _crash(self, message: Message | None) -> None:
        index, plan = self._armed, self._plan()
        assert index is not None and plan is not None
        self._armed = None
        self.nodes[plan.node].crash(lose_wal=plan.lose_wal)
        self.crashed.append((plan, self.loop.now - self.t0, message))
        self.loop.after(plan.down, self._restart, index)

    def _restart(self, index: int) -> None:
        self.nodes[self.scenario.crashes[index].node].restart()
        self._arm(index + 1)

    def heights(self) -> list[int]:
        return [n.chain.height for n in self.correct]

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> None:
        """Run the scenario and check every invariant; AssertionError names the seed."""
        try:
            self._run()
        except AssertionError:
            raise
        except Exception as exc:  # a crash of a node is a failure of the run, with its seed
            raise AssertionError(f"{self.scenario.describe()}: {exc!r}") from exc

    def _run(self) -> None:
        s = self.scenario
        t0 = self.t0
        for node in self.nodes:
            self.loop.at(t0, node.start)
            self.loop.at(t0 + self.rng.randint(1, GOSSIP_MS), node.gossip)
        self.loop.at(t0 + self.rng.randint(0, TX_INTERVAL_MS[0]), self.submit)
        self._arm(0)
        self.loop.run(lambda: bool(self.violations), t0 + s.heal)
        self.check(not self.violations, "; ".join(self.violations))
        self.healed_at = min(self.heights())
        target = max(self.healed_at + PROGRESS, MIN_HEIGHTS)
        reached = self.loop.run(lambda: bool(self.violations) or min(self.heights()) >= target, t0 + s.heal + LIVENESS_MS)
        self.check(not self.violations, "; ".join(self.violations))
        self.check(reached, f"no progress after healing: heights {self.heights()} at {self.loop.now - t0} ms, target {target}")
        self.check_chains()
        self.check_evidence()

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise AssertionError(f"{self.scenario.describe()}: {what}")

    def check_chains(self) -> None:
        top = min(self.heights())
        for height in range(1, top + 1):
            headers = {(n.chain.header(height).hash(), n.chain.header(height).state_root) for n in self.correct}
            self.check(len(headers) == 1, f"correct nodes differ at height {height}")
        for node in self.correct:
            counts = Counter(tx.id for h in range(1, node.chain.height + 1) for tx in node.chain.block(h).txs)
            self.check(all(c == 1 for c in counts.values()), f"node {node.index} holds a transaction twice")
            for tx_id, height in self.acked.items():
                if height <= node.chain.height:
                    location = node.chain.tx_location(tx_id)
                    self.check(location is not None and location[0] == height, f"node {node.index}: acknowledged tx not at height {height}")

    def check_evidence(self) -> None:
        byzantine = None if self.scenario.byzantine is None else self.net.keys[self.scenario.byzantine].public_key.key_id
        for index, ev in self.evidence:
            a, b = ev.vote_a, ev.vote_b
            self.check(a.validator == b.validator == byzantine, f"node {index} reports evidence against a correct validator")
            self.check((a.type, a.height, a.round) == (b.type, b.height, b.round) and a.block_hash != b.block_hash, "evidence of no equivocation")
            for vote in (a, b):
                vote.verify(self.net.chain_id, self.net.validators)
