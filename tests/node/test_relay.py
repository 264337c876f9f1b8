"""node.relay: what a stuck node sends again, and to a peer one height behind (consensus.md §3),
at most one burst per peer per status interval."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.commit import CommitSig, VoteType, make_commit
from node.consensus.messages import Proposal, Vote
from node.relay import Relay, decided_messages, round_messages
from tests.node.consensus.harness import NET, T0, proposer_index
from tests.node.consensus.support import build_block, sign_proposal, sign_vote

PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT


def decision(height: int = 1, round_: int = 0) -> tuple[Proposal, list[Vote]]:
    block = build_block(NET.chain(), NET.keys[proposer_index(height, round_)], T0)
    proposal = sign_proposal(NET.keys[proposer_index(height, round_)], height, round_, block)
    precommits = [sign_vote(NET.keys[i], PRECOMMIT, height, round_, block.hash) for i in (0, 2, 3)]
    return proposal, precommits


def decided_relay() -> tuple[Relay, Proposal, list[Vote]]:
    proposal, precommits = decision()
    relay = Relay()
    relay.on_decided(proposal, make_commit(1, 0, proposal.block.hash, [CommitSig(v.validator, v.signature) for v in precommits]))
    return relay, proposal, precommits


@dataclass
class HeldEngine:
    round: int
    valid_round: int
    proposals: dict[int, list[Proposal]] = field(default_factory=dict)
    votes: dict[int, list[Vote]] = field(default_factory=dict)

    def proposals_of(self, round_: int) -> list[Proposal]:
        return self.proposals.get(round_, [])

    def votes_of(self, round_: int) -> list[Vote]:
        return self.votes.get(round_, [])


def test_a_state_machine_is_stuck_when_it_did_not_move_for_a_whole_interval():
    relay = Relay()
    assert relay.on_interval(None) is False and relay.on_interval(None) is False  # not running
    assert relay.on_interval((1, 0, 1)) is False  # first seen there
    assert relay.on_interval((1, 0, 1)) is True
    assert relay.on_interval((1, 0, 2)) is False  # it moved
    assert relay.on_interval((1, 0, 2)) is True


def test_a_peer_gets_at_most_one_burst_per_interval():
    relay = Relay()
    assert relay.claim("a") is True and relay.claim("a") is False and relay.claim("b") is True
    relay.on_interval((1, 0, 1))
    assert relay.claim("a") is True and relay.claim("a") is False


def test_round_messages_are_the_round_and_the_prevotes_of_the_valid_round():
    proposal, _ = decision(1, 2)
    pre0 = [sign_vote(NET.keys[i], PREVOTE, 1, 0, proposal.block.hash) for i in (0, 1, 2)]
    com0 = [sign_vote(NET.keys[i], PRECOMMIT, 1, 0, proposal.block.hash) for i in (0, 1)]
    pre2 = [sign_vote(NET.keys[3], PREVOTE, 1, 2, None)]
    engine = HeldEngine(2, 0, {2: [proposal]}, {0: pre0 + com0, 2: pre2})
    assert round_messages(engine) == [proposal, *pre2, *pre0]
    assert round_messages(HeldEngine(0, 0, {}, {0: pre0 + com0})) == pre0 + com0  # valid round = round: once
    assert round_messages(HeldEngine(2, -1, {}, {0: pre0, 2: pre2})) == pre2


def test_decided_messages_are_the_proposal_and_precommits_that_verify():
    relay, proposal, precommits = decided_relay()
    messages = relay.on_status("a", 0) + relay.on_status("a", 0)
    assert messages[0] == proposal and sorted(m.validator for m in messages[1:]) == sorted(v.validator for v in precommits)
    for vote in messages[1:]:
        assert vote.type is PRECOMMIT and vote.block_hash == proposal.block.hash
        vote.verify(NET.chain_id, NET.validators)
    assert decided_messages(proposal, make_commit(1, 0, proposal.block.hash, [])) == [proposal]


def test_a_peer_one_height_behind_gets_the_decision_on_its_second_status_once_per_interval():
    relay, _, _ = decided_relay()
    assert relay.on_status("a", 0) == []  # may only be a status that crossed the decision
    assert len(relay.on_status("a", 0)) == 4
    assert relay.on_status("a", 0) == []  # this interval's burst is spent
    relay.on_interval((2, 0, 1))
    assert len(relay.on_status("a", 0)) == 4


def test_no_decision_is_sent_to_peers_level_or_further_behind_or_once_forgotten():
    relay, _, _ = decided_relay()
    for height in (1, 1, 2, 2):
        assert relay.on_status("a", height) == []
    relay.on_status("b", 0)
    relay.on_peer_gone("b")
    assert relay.on_status("b", 0) == []  # a reconnected peer starts afresh
    relay.forget_decision()
    assert relay.decided_height is None and relay.on_status("b", 0) == []
    relay.on_decided(None, make_commit(1, 0, b"\x01" * 32, []))
    assert relay.decided_height is None
