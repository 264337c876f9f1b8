"""One simulated validator: a Chain over MemoryKV, a TxPool, ChainApp, the consensus engine and a
test signer, glued to the simulated network the way a node runtime glues them to sockets.

Every message goes through the real codec (encode_message / decode_message). Besides running
the engine the node does what its runtime must (consensus.md §3, §7, §8): gossips transactions
once; sends `status` every gossip interval and, when its engine has not moved for one, relays
the proposals and votes of its round and the prevotes of its valid round (lost messages are
what the simulator is about); pushes a peer one height behind the proposal and precommits that
decided that height (the peer decides by rule 8); answers `get_block` and asks for blocks when a
peer is two heights ahead, or one height ahead for too long; restarts its engine at tip + 1
after a synced block or a crash. `ByzantineNode` equivocates on every proposal and vote it sends.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ledger.block import Block
from ledger.commit import Commit, VoteType
from ledger.crypto import PrivateKey
from ledger.errors import LedgerError
from ledger.tx import Tx
from node.app import ChainApp
from node.consensus.engine import Consensus
from node.consensus.events import (
    Action, Broadcast, Decide, Event, Evidence, ProposalReceived, ScheduleTimeout, Start, TimeoutFired, TxsAvailable, VoteReceived,
)
from node.consensus.messages import BlockResponse, GetBlock, Message, Proposal, Status, TxMessage, Vote, encode_message
from node.consensus.proposer import proposer_at
from tests.node.consensus.support import TestSigner, TxPool, sign_proposal, sign_vote

if TYPE_CHECKING:
    from tests.node.sim.world import World

GOSSIP_MS = 1000
SYNC_PATIENCE_MS = 3000
SYNC_RETRY_MS = 1000


def kind_of(msg: Message) -> str:
    """The wire `type` of a message (what network rules match on)."""
    if isinstance(msg, Vote):
        return msg.type.value
    return {Proposal: "proposal", Status: "status", TxMessage: "tx", GetBlock: "get_block", BlockResponse: "block"}[type(msg)]


class SimNode:
    """A correct validator (its runtime and its state machine) in `world`."""

    def __init__(self, world: World, index: int, key: PrivateKey) -> None:
        self.world = world
        self.index = index
        self.key = key
        self.chain = world.net.chain()
        self.signer = self.make_signer()  # its state survives crashes (§5)
        self.pool = TxPool()
        self.last_decided: tuple[Proposal, Commit] | None = None
        self.up = True
        self.incarnation = 0
        self.peer_heights: dict[int, int] = {}
        self.behind_since: int | None = None
        self.requested: tuple[int, int] | None = None  # (height, time asked)
        self.dropped: dict[str, int] = {}
        self._boot()

    # -- lifecycle -----------------------------------------------------------------------------

    def _boot(self) -> None:
        """A fresh engine at tip + 1 over the committed chain (boot, crash restart, block sync)."""
        self.incarnation += 1
        self.app = ChainApp(self.chain, self.pool)
        last_commit = self.chain.commit(self.chain.height) if self.chain.height else None
        self.engine = Consensus(self.world.net.chain_id, self.app, self.signer, self.chain.height + 1, last_commit, self.world.timeouts)
        self.last_position = (0, -1, 0)

    def make_signer(self) -> TestSigner:
        return TestSigner(self.key, self.world.net.chain_id)

    def start(self) -> None:
        self.step(Start())

    def crash(self) -> None:
        """Lose everything but the committed chain and the signer's state."""
        self.up = False
        self.incarnation += 1

    def restart(self) -> None:
        self.up = True
        self.pool = TxPool()
        self.last_decided = None
        self._boot()
        self.start()

    # -- the engine ------------------------------------------------------------------------------

    def step(self, event: Event) -> None:
        try:
            actions = self.engine.handle(event, self.world.loop.now)
        except LedgerError as exc:
            self.dropped[exc.code] = self.dropped.get(exc.code, 0) + 1
            return
        for action in actions:
            self.perform(action)

    def perform(self, action: Action) -> None:
        if isinstance(action, Broadcast):
            self.send_own(action.message)
        elif isinstance(action, ScheduleTimeout):
            event = TimeoutFired(action.height, action.round, action.step)
            self.world.loop.after(action.delay_ms, self.on_timer, self.incarnation, event)
        elif isinstance(action, Decide):
            self.on_decide(action.block, action.commit)
        elif isinstance(action, Evidence):
            self.world.record_evidence(self.index, action)

    def send_own(self, msg: Message) -> None:
        self.broadcast(msg)

    def on_decide(self, block: Block, commit: Commit) -> None:
        self.app.commit(block, commit)
        self.pool.remove([tx.id for tx in block.txs])
        proposal = next((p for p in self.engine.proposals_of(commit.round) if p.block.hash == block.hash), None)
        self.last_decided = (proposal, commit) if proposal is not None else None
        self.world.record_commit(self.index, block)

    def on_timer(self, incarnation: int, event: TimeoutFired) -> None:
        if self.up and incarnation == self.incarnation:
            self.step(event)

    # -- network -----------------------------------------------------------------------------------

    def broadcast(self, msg: Message) -> None:
        data = encode_message(msg)
        for peer in self.world.nodes:
            if peer is not self:
                self.send(peer.index, msg, data)

    def send(self, peer: int, msg: Message, data: bytes | None = None) -> None:
        if not self.up:
            return
        self.world.network.send(self.index, peer, kind_of(msg), data if data is not None else encode_message(msg), self.world.nodes[peer].receive)

    def receive(self, sender: int, data: bytes) -> None:
        if not self.up:
            return
        try:
            msg = self.world.decode(data)
        except LedgerError as exc:
            self.dropped[exc.code] = self.dropped.get(exc.code, 0) + 1
            return
        if isinstance(msg, Proposal):
            self.step(ProposalReceived(msg))
        elif isinstance(msg, Vote):
            self.step(VoteReceived(msg))
        elif isinstance(msg, TxMessage):
            self.add_tx(msg.tx, gossip=False)
        elif isinstance(msg, Status):
            self.on_status(sender, msg)
        elif isinstance(msg, GetBlock):
            self.on_get_block(sender, msg.height)
        elif isinstance(msg, BlockResponse):
            self.on_block(msg)

    def add_tx(self, tx: Tx, *, gossip: bool = True) -> None:
        """A client's transaction (gossiped once to every peer, §7) or a peer's."""
        if self.chain.committed(tx.id):
            return
        was_empty = not self.pool.has_txs()
        if not self.pool.add(tx):
            return
        if gossip:
            self.broadcast(TxMessage(tx))
        if was_empty:
            self.step(TxsAvailable())

    def gossip(self) -> None:
        """Every GOSSIP_MS: status; and if the engine has not moved since the last time, the
        proposals and votes of its round and the prevotes of its valid round again, its own
        and others' (relaying gives every correct node what one has, as the paper assumes)."""
        if self.up:
            self.broadcast(Status(self.chain.height, self.engine.round))
            position = (self.engine.height, self.engine.round, int(self.engine.step))
            if position == self.last_position:
                self.relay(*position[:2])
            self.last_position = position
            self.request_blocks()
        self.world.loop.after(GOSSIP_MS, self.gossip)

    def relay(self, height: int, round_: int) -> None:
        msgs: list[Message] = [*self.engine.proposals_of(round_), *self.engine.votes_of(round_)]
        valid_round = self.engine.valid_round
        if 0 <= valid_round != round_:
            msgs += [v for v in self.engine.votes_of(valid_round) if v.type is VoteType.PREVOTE]
        me = self.key.public_key.key_id
        for msg in msgs:
            mine = msg.validator == me if isinstance(msg, Vote) else msg.round == round_ and self.is_proposer_of(msg)
            if mine:
                self.send_own(msg)
            else:
                self.broadcast(msg)

    def is_proposer_of(self, proposal: Proposal) -> bool:
        return proposer_at(self.chain.validators(), proposal.height, proposal.round).key_id == self.key.public_key.key_id

    # -- catching up (§8) ---------------------------------------------------------------------------

    def on_status(self, sender: int, status: Status) -> None:
        self.peer_heights[sender] = status.height
        if status.height == self.chain.height - 1 and self.last_decided is not None:
            proposal, commit = self.last_decided
            self.send(sender, proposal)
            for sig in commit.signatures:
                self.send(sender, Vote(VoteType.PRECOMMIT, commit.height, commit.round, commit.block_hash, sig.validator, sig.signature))
        self.request_blocks()

    def request_blocks(self) -> None:
        now = self.world.loop.now
        ahead = max(self.peer_heights.values(), default=0)
        tip = self.chain.height
        if ahead <= tip:
            self.behind_since = None
            return
        if self.behind_since is None:
            self.behind_since = now
        if ahead < tip + 2 and now - self.behind_since < SYNC_PATIENCE_MS:
            return
        if self.requested is not None and self.requested[0] == tip + 1 and now - self.requested[1] < SYNC_RETRY_MS:
            return
        peers = [p for p, h in self.peer_heights.items() if h > tip]
        self.requested = (tip + 1, now)
        self.send(self.world.rng.choice(sorted(peers)), GetBlock(tip + 1))

    def on_get_block(self, sender: int, height: int) -> None:
        block, commit = self.chain.block(height), self.chain.commit(height)
        if block is not None and commit is not None:
            self.send(sender, BlockResponse(height, block, commit))

    def on_block(self, response: BlockResponse) -> None:
        if response.height != self.chain.height + 1:
            return
        block, commit = response.block, response.commit
        try:
            commit.verify(self.world.net.chain_id, self.chain.validators(), response.height, block.hash)
            self.chain.commit_block(self.chain.execute_block(block), commit)
        except LedgerError as exc:
            self.dropped[exc.code] = self.dropped.get(exc.code, 0) + 1
            return
        self.pool.remove([tx.id for tx in block.txs])
        self.last_decided = None
        self.requested = None
        self.world.record_commit(self.index, block, synced=True)
        self._boot()
        self.start()
        self.request_blocks()


class ByzantineNode(SimNode):
    """Signs two different proposals per round when proposer and two different votes per
    (round, type), and sends each either to a random part of its peers or both to everyone
    (its vote then counts for both values); otherwise follows the protocol."""

    def __init__(self, world: World, index: int, key: PrivateKey, rng: random.Random) -> None:
        self.rng = rng
        self.alternatives: dict[tuple[int, int], bytes] = {}  # (height, round) -> its twin block
        super().__init__(world, index, key)

    def make_signer(self) -> TestSigner:
        return _UnguardedSigner(self.key, self.world.net.chain_id)

    def send_own(self, msg: Message) -> None:
        twin = self.twin(msg)
        if twin is None:
            self.broadcast(msg)
            return
        data, twin_data = encode_message(msg), encode_message(twin)
        peers = [n.index for n in self.world.nodes if n is not self]
        if self.rng.random() < 0.5:
            for peer in peers:
                pair = [(msg, data), (twin, twin_data)]
                self.rng.shuffle(pair)
                for message, encoded in pair:
                    self.send(peer, message, encoded)
            return
        self.rng.shuffle(peers)
        cut = self.rng.randint(1, len(peers) - 1)
        for i, peer in enumerate(peers):
            self.send(peer, *((msg, data) if i < cut else (twin, twin_data)))

    def twin(self, msg: Message) -> Message | None:
        if msg.height != self.chain.height + 1:  # type: ignore[union-attr]
            return None  # a height it has committed: nothing to build an alternative on
        if isinstance(msg, Proposal):
            alt = self.chain.build_block([], msg.block.header.time + 1, self.key.public_key.key_id, self.last_commit()).block
            twin = sign_proposal(self.key, msg.height, msg.round, alt, chain_id=self.world.net.chain_id)
            self.alternatives[(twin.height, twin.round)] = alt.hash  # its votes' twins back it
            return twin
        if isinstance(msg, Vote):
            blocks = [p.block.hash for p in self.engine.proposals_of(msg.round)] if msg.height == self.engine.height else []
            if (msg.height, msg.round) in self.alternatives:
                blocks.append(self.alternatives[(msg.height, msg.round)])
            blocks = [h for h in blocks if h != msg.block_hash]
            if msg.block_hash is None:
                other = blocks[0] if blocks else self.rng.getrandbits(256).to_bytes(32, "big")
            else:
                other = blocks[0] if blocks and self.rng.random() < 0.5 else None
            return sign_vote(self.key, msg.type, msg.height, msg.round, other, chain_id=self.world.net.chain_id)
        return None

    def last_commit(self) -> Commit | None:
        return self.chain.commit(self.chain.height) if self.chain.height else None


class _UnguardedSigner(TestSigner):
    """A signer without a guard: what a Byzantine validator has."""

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes):  # type: ignore[override]
        return self._key.sign(purpose, self._chain_id, message)
