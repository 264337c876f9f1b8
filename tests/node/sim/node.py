"""One simulated validator: the node runtime's consensus driver (node.driver) over a Chain on
MemoryKV, a TxPool, a MemoryWAL and a guarded Signer on a MemorySignerStore, glued to the
simulated network the way node.runtime glues it to sockets.

Every message goes through the real codec (encode_message / decode_message), every consensus
input through the WAL and every own message through the signer guard, exactly as in a node
process: the driver is the same code. Around it the node does what its runtime does (§3, §7,
§8): gossips transactions once; sends `status` every gossip interval and lets the driver relay
when it is stuck; answers `get_block` and asks for blocks when a peer is two heights ahead, or
one height ahead for too long. A crash loses everything but the chain, the WAL records a sync
made durable and the signer state; the restarted node replays its WAL through a fresh engine.
`ByzantineNode` equivocates on every proposal and vote it sends.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from ledger.block import Block
from ledger.commit import Commit
from ledger.crypto import PrivateKey
from ledger.errors import LedgerError
from ledger.tx import Tx
from node.app import ChainApp
from node.blocksync import apply_synced_block
from node.consensus.events import Evidence, TxsAvailable
from node.consensus.messages import BlockResponse, GetBlock, Message, Proposal, Status, TxMessage, Vote, encode_message
from node.driver import ConsensusDriver
from node.signer import MemorySignerStore, Signer, SignerError
from node.wal import MemoryWAL
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
    """A correct validator (its runtime and its state machine) in `world`; the driver's Host."""

    def __init__(self, world: World, index: int, key: PrivateKey) -> None:
        self.world = world
        self.index = index
        self.key = key
        self.chain = world.net.chain()
        self.signer_store = MemorySignerStore()  # survives crashes (§5)
        self.wal = MemoryWAL(1)  # survives crashes as far as it was synced (§10)
        self.refused: Counter[str] = Counter()  # requests the signer guard refused
        self.dropped: Counter[str] = Counter()
        self.up = True
        self.incarnation = 0
        self._boot()

    # -- lifecycle -----------------------------------------------------------------------------

    def _boot(self) -> None:
        """A process start over what survives: fresh mempool, app, signer and driver."""
        self.incarnation += 1
        self.pool = TxPool()
        self.peer_heights: dict[int, int] = {}
        self.behind_since: int | None = None
        self.requested: tuple[int, int] | None = None  # (height, time asked)
        self.app = ChainApp(self.chain, self.pool)
        self.driver = ConsensusDriver(self.chain, self.app, self.make_signer(), self.wal, self, self.world.timeouts)

    def make_signer(self) -> Signer | TestSigner:
        return _CountingSigner(self.key, self.world.net.chain_id, self.signer_store, self.refused)

    def start(self) -> None:
        self.driver.start()

    def crash(self, *, lose_wal: bool = False) -> None:
        """Stop at once; the WAL keeps only its synced records (none with `lose_wal`: a new disk)."""
        self.up = False
        self.driver.stop()
        self.wal.crash()
        if lose_wal:
            self.wal = MemoryWAL(self.chain.height + 1)

    def restart(self) -> None:
        """Start again: a fresh engine at tip + 1 replays the WAL of that height (§10)."""
        self.up = True
        self._boot()
        self.start()

    # -- the driver's host (node.driver.Host) ------------------------------------------------------

    def now(self) -> int:
        return self.world.loop.now

    def peers(self) -> list[int]:
        return [n.index for n in self.world.nodes if n is not self]

    def broadcast(self, message: Message) -> None:
        """An own proposal or vote, already in the WAL: the world may crash the node right here."""
        if not self.world.on_signed(self, message):
            self.send_all(message)

    def send(self, peer: int, message: Message, data: bytes | None = None) -> None:
        if not self.up:
            return
        self.world.network.send(self.index, peer, kind_of(message), data if data is not None else encode_message(message), self.world.nodes[peer].receive)

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> None:
        self.world.loop.after(delay_ms, callback)

    def committed(self, block: Block, commit: Commit, now: int) -> None:
        self.pool.remove([tx.id for tx in block.txs])
        self.world.record_commit(self.index, block)

    def keep_evidence(self, evidence: Evidence) -> None:
        self.world.record_evidence(self.index, evidence)

    def count(self, peer: object, code: str, exc: LedgerError | None = None) -> None:
        self.dropped[code] += 1

    def fail(self, exc: BaseException) -> None:
        raise exc

    # -- network -----------------------------------------------------------------------------------

    def send_all(self, msg: Message) -> None:
        data = encode_message(msg)
        for peer in self.peers():
            self.send(peer, msg, data)

    def receive(self, sender: int, data: bytes) -> None:
        if not self.up:
            return
        try:
            msg = self.world.decode(data)
        except LedgerError as exc:
            self.dropped[exc.code] += 1
            return
        if isinstance(msg, (Proposal, Vote)):
            self.driver.receive(sender, msg)
        elif isinstance(msg, TxMessage):
            self.add_tx(msg.tx, gossip=False)
        elif isinstance(msg, Status):
            self.peer_heights[sender] = msg.height
            self.driver.on_status(sender, msg.height)
            self.request_blocks()
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
            self.send_all(TxMessage(tx))
        if was_empty:
            self.driver.post_event(TxsAvailable())

    def gossip(self) -> None:
        """Every GOSSIP_MS, as the runtime's status tick: status, relay if stuck, block sync."""
        if self.up:
            engine = self.driver.engine
            self.send_all(Status(self.chain.height, engine.round if engine is not None else 0))
            self.driver.on_interval()
            self.request_blocks()
        self.world.loop.after(GOSSIP_MS, self.gossip)

    # -- catching up (§8) ---------------------------------------------------------------------------

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
        try:
            apply_synced_block(self.chain, response.block, response.commit)
        except LedgerError as exc:
            self.dropped[exc.code] += 1
            return
        self.pool.remove([tx.id for tx in response.block.txs])
        self.requested = None
        self.world.record_commit(self.index, response.block, synced=True)
        self.driver.start()
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

    def broadcast(self, message: Message) -> None:
        twin = self.twin(message)
        if twin is None:
            self.send_all(message)
            return
        data, twin_data = encode_message(message), encode_message(twin)
        peers = self.peers()
        if self.rng.random() < 0.5:
            for peer in peers:
                pair = [(message, data), (twin, twin_data)]
                self.rng.shuffle(pair)
                for msg, encoded in pair:
                    self.send(peer, msg, encoded)
            return
        self.rng.shuffle(peers)
        cut = self.rng.randint(1, len(peers) - 1)
        for i, peer in enumerate(peers):
            self.send(peer, *((message, data) if i < cut else (twin, twin_data)))

    def twin(self, msg: Message) -> Message | None:
        if msg.height != self.chain.height + 1:  # type: ignore[union-attr]
            return None  # a height it has committed: nothing to build an alternative on
        if isinstance(msg, Proposal):
            alt = self.chain.build_block([], msg.block.header.time + 1, self.key.public_key.key_id, self.last_commit()).block
            twin = sign_proposal(self.key, msg.height, msg.round, alt, chain_id=self.world.net.chain_id)
            self.alternatives[(twin.height, twin.round)] = alt.hash  # its votes' twins back it
            return twin
        if isinstance(msg, Vote):
            engine = self.driver.engine
            blocks = [p.block.hash for p in engine.proposals_of(msg.round)] if engine is not None and msg.height == engine.height else []
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


class _CountingSigner(Signer):
    """node.signer.Signer that also counts the requests its guard refuses (§5)."""

    def __init__(self, key: PrivateKey, chain_id: str, store: MemorySignerStore, refused: Counter[str]) -> None:
        super().__init__(key, chain_id, store)
        self._refused = refused

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes):  # type: ignore[no-untyped-def]
        try:
            return super().sign(height, round, step, purpose, message)
        except SignerError as exc:
            self._refused[exc.code] += 1
            raise


class _UnguardedSigner(TestSigner):
    """A signer without a guard: what a Byzantine validator has."""

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes):  # type: ignore[override]
        return self._key.sign(purpose, self._chain_id, message)
