"""One validator's engine on a 4-validator test net, fed crafted signed messages.

`Harness(me)` runs `Consensus` for validator `me` over a real ChainApp (a Chain over MemoryKV
and a TxPool); other validators' blocks are built on a replica chain, and their proposals and
votes are signed with their keys, so every message the engine sees is a real one.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.block import Block
from ledger.commit import VoteType
from ledger.tx import Tx
from node.app import ChainApp
from node.consensus.engine import Consensus
from node.consensus.events import Action, Broadcast, ProposalReceived, ScheduleTimeout, Start, TimeoutFired, VoteReceived
from node.consensus.messages import Proposal, Vote
from node.consensus.proposer import proposer_at
from node.consensus.timeouts import Timeouts

from .support import GENESIS_TIME, TestNet, TestSigner, TxPool, build_block, make_test_net, sign_proposal, sign_vote

NET = make_test_net()
PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT
T0 = GENESIS_TIME + 60_000


def proposer_index(height: int, round_: int, net: TestNet = NET) -> int:
    key_id = proposer_at(net.validators, height, round_).key_id
    return next(i for i, k in enumerate(net.keys) if k.public_key.key_id == key_id)


def not_proposer(height: int, rounds: Iterable[int]) -> int:
    """A validator that proposes in none of `rounds` at `height` (at most 3 rounds)."""
    busy = {proposer_index(height, r) for r in rounds}
    return min(i for i in range(len(NET.keys)) if i not in busy)


class Harness:
    def __init__(self, me: int | None, *, timeouts: Timeouts = Timeouts(), signer: object = None, txs: int = 1) -> None:
        self.net = NET
        self.me = me
        self.chain = NET.chain()
        self.pool = TxPool()
        for i in range(txs):
            self.pool.add(self.tx(i))
        self.app = ChainApp(self.chain, self.pool)
        self.replica = NET.chain()
        if signer is None and me is not None:
            signer = TestSigner(NET.keys[me])
        self.signer = signer
        self.timeouts = timeouts
        self.engine = Consensus(NET.chain_id, self.app, signer, 1, None, timeouts)  # type: ignore[arg-type]
        self.now = T0

    def tx(self, i: int) -> Tx:
        return self.net.anchor(bytes([i % 256]) * 32, bytes([i % 256]) * 16)

    def others(self) -> list[int]:
        return [i for i in range(len(self.net.keys)) if i != self.me]

    # -- inputs --------------------------------------------------------------------------------

    def start(self) -> list[Action]:
        return self.engine.handle(Start(), self.now)

    def feed(self, event: object) -> list[Action]:
        return self.engine.handle(event, self.now)  # type: ignore[arg-type]

    def block(self, by: int, *, time: int | None = None, txs: list[Tx] | None = None) -> Block:
        return build_block(self.replica, self.net.keys[by], time if time is not None else self.now - 10, txs)

    def proposal(self, round_: int, block: Block, pol_round: int = -1, *, height: int = 1, by: int | None = None) -> Proposal:
        signer = proposer_index(height, round_) if by is None else by
        return sign_proposal(self.net.keys[signer], height, round_, block, pol_round)

    def propose(self, round_: int, block: Block, pol_round: int = -1, *, height: int = 1) -> list[Action]:
        return self.feed(ProposalReceived(self.proposal(round_, block, pol_round, height=height)))

    def vote(self, by: int, vote_type: VoteType, round_: int, block_hash: bytes | None, *, height: int = 1) -> Vote:
        return sign_vote(self.net.keys[by], vote_type, height, round_, block_hash)

    def votes(self, vote_type: VoteType, round_: int, block_hash: bytes | None, by: list[int], *, height: int = 1) -> list[Action]:
        actions: list[Action] = []
        for i in by:
            actions += self.feed(VoteReceived(self.vote(i, vote_type, round_, block_hash, height=height)))
        return actions

    def timeout(self, step: str, round_: int | None = None, height: int = 1) -> list[Action]:
        return self.feed(TimeoutFired(height, self.engine.round if round_ is None else round_, step))


def sent(actions: list[Action]) -> list[object]:
    """The messages broadcast by `actions`, in order."""
    return [a.message for a in actions if isinstance(a, Broadcast)]


def sent_votes(actions: list[Action], vote_type: VoteType | None = None) -> list[Vote]:
    return [m for m in sent(actions) if isinstance(m, Vote) and (vote_type is None or m.type is vote_type)]


def timers(actions: list[Action]) -> list[tuple[str, int, int]]:
    """(step, round, delay) of every ScheduleTimeout in `actions`."""
    return [(a.step, a.round, a.delay_ms) for a in actions if isinstance(a, ScheduleTimeout)]
