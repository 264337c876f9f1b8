"""The engine around the rules: empty blocks (§3.3), heights, what it keeps and what it refuses
(§2, §3), equivocation, the signer guard, and a following (non-voting) node."""

from __future__ import annotations

import pytest

from ledger.commit import VoteType
from ledger.errors import LedgerError, ValidationError
from node.consensus.engine import Consensus
from node.consensus.events import Decide, Evidence, ProposalReceived, TimeoutFired, TxsAvailable, VoteReceived
from node.consensus.messages import Proposal, Step
from node.errors import ConsensusError

from .harness import NET, PRECOMMIT, PREVOTE, Harness, not_proposer, proposer_index, sent, sent_votes, timers
from .support import TestSigner, fixed_key, sign_proposal, sign_vote


def decide_height_1(h: Harness):
    """Drive `h` (not the round-0 proposer) to a decision at height 1, round 0."""
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    actions = h.votes(PRECOMMIT, 0, block.hash, h.others())
    decide = next(a for a in actions if isinstance(a, Decide))
    h.app.commit(decide.block, decide.commit)
    h.replica.commit_block(h.replica.execute_block(decide.block), decide.commit)
    return decide


# -- empty blocks (§3.3) ---------------------------------------------------------------------


def test_proposer_without_txs_waits_for_txs_available():
    h = Harness(proposer_index(1, 0), txs=0)
    actions = h.start()
    assert sent(actions) == [] and timers(actions) == [("propose", 0, 10_000)]
    h.pool.add(h.tx(3))
    actions = h.feed(TxsAvailable())
    proposal = sent(actions)[0]
    assert isinstance(proposal, Proposal) and [t.id for t in proposal.block.txs] == [h.tx(3).id]
    assert h.feed(TxsAvailable()) == []


def test_proposer_without_txs_proposes_an_empty_block_after_the_interval():
    h = Harness(proposer_index(1, 0), txs=0)
    h.start()
    h.now += 10_000
    proposal = sent(h.timeout("propose", 0))[0]
    assert proposal.block.txs == () and proposal.block.header.time == h.now


def test_non_proposer_without_txs_waits_the_interval_and_timeout_propose():
    h = Harness(not_proposer(1, range(1)), txs=0)
    assert timers(h.start()) == [("propose", 0, 11_000)]
    assert timers(h.feed(TxsAvailable())) == [("propose", 0, 1000)]


def test_non_proposer_waiting_for_txs_still_prevotes_a_proposal():
    h = Harness(not_proposer(1, range(1)), txs=0)
    h.start()
    block = h.block(proposer_index(1, 0), txs=[h.tx(1)])
    assert [v.block_hash for v in sent_votes(h.propose(0, block))] == [block.hash]


def test_later_rounds_do_not_wait_for_txs():
    h = Harness(not_proposer(1, range(2)), txs=0)
    h.start()
    h.timeout("propose", 0)
    h.timeout("prevote", 0)
    assert timers(h.timeout("precommit", 0)) == [("propose", 1, 1500)]


# -- heights ---------------------------------------------------------------------------------


def test_commit_timeout_starts_the_next_height_with_the_last_commit():
    me = not_proposer(1, range(1))
    h = Harness(me)
    decide = decide_height_1(h)
    assert h.timeout("precommit", 0) == [] and h.engine.height == 1  # decided: rounds are over
    actions = h.feed(TimeoutFired(1, 0, "commit"))
    assert (h.engine.height, h.engine.round, h.engine.step, h.engine.decision) == (2, 0, Step.PROPOSE, None)
    if proposer_index(2, 0) == me:
        proposal = sent(actions)[0]
        assert proposal.block.last_commit == decide.commit and proposal.height == 2
    else:
        assert timers(actions) == [("propose", 0, 1000)]


def test_messages_for_the_next_height_are_kept_and_replayed_when_it_starts():
    me = next(i for i in range(4) if i not in (proposer_index(1, 0), proposer_index(2, 0)))
    h = Harness(me)
    decide = decide_height_1(h)
    block2 = h.replica.build_block([h.tx(2)], h.now + 1, NET.keys[proposer_index(2, 0)].public_key.key_id, decide.commit).block
    assert h.feed(ProposalReceived(h.proposal(0, block2, height=2))) == []
    assert h.votes(PREVOTE, 0, block2.hash, h.others()[:1], height=2) == []
    h.now += 1000
    actions = h.feed(TimeoutFired(1, 0, "commit"))
    assert [v.block_hash for v in sent_votes(actions, PREVOTE)] == [block2.hash]


def test_old_height_future_height_and_far_rounds_are_refused():
    me = not_proposer(1, range(1))
    h = Harness(me)
    h.start()
    other = h.others()[0]
    for vote, code in (
        (h.vote(other, PREVOTE, 10, None), None),
        (h.vote(other, PREVOTE, 11, None), "consensus.future_round"),
        (h.vote(other, PREVOTE, 10, None, height=2), None),
        (h.vote(other, PREVOTE, 11, None, height=2), "consensus.future_round"),
        (h.vote(other, PREVOTE, 0, None, height=3), "consensus.future_height"),
    ):
        if code is None:
            h.feed(VoteReceived(vote))
        else:
            with pytest.raises(ConsensusError) as err:
                h.feed(VoteReceived(vote))
            assert err.value.code == code
    decide_after = Harness(me)
    decide_height_1(decide_after)
    decide_after.feed(TimeoutFired(1, 0, "commit"))
    with pytest.raises(ConsensusError) as err:
        decide_after.feed(VoteReceived(decide_after.vote(other, PRECOMMIT, 0, None)))
    assert err.value.code == "consensus.old_height"


# -- votes: duplicates, equivocation, bad messages -------------------------------------------------


def test_duplicate_votes_count_once():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    voter = h.others()[0]
    vote = h.vote(voter, PREVOTE, 0, block.hash)
    assert h.feed(VoteReceived(vote)) == []
    assert h.feed(VoteReceived(vote)) == []
    assert h.feed(VoteReceived(h.vote(voter, PREVOTE, 0, block.hash))) == []  # re-signed: same content
    assert h.engine.step is Step.PREVOTE and h.engine.locked_round == -1  # 2 of 4, no quorum


def test_equivocating_validator_yields_evidence_once():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    voter = h.others()[0]
    a = h.vote(voter, PREVOTE, 0, None)
    b = h.vote(voter, PREVOTE, 0, bytes(32))
    h.feed(VoteReceived(a))
    actions = h.feed(VoteReceived(b))
    assert actions == [Evidence(a, b)]
    assert h.feed(VoteReceived(h.vote(voter, PREVOTE, 0, b"\x01" * 32))) == []
    assert h.feed(VoteReceived(b)) == []


def test_badly_signed_vote_raises_and_changes_nothing():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    others = h.others()
    good = h.vote(others[0], PREVOTE, 0, None)
    forged = VoteReceived(type(good)(good.type, good.height, good.round, good.block_hash, NET.keys[others[1]].public_key.key_id, good.signature))
    with pytest.raises(ValidationError) as err:
        h.feed(forged)
    assert err.value.code == "message.bad_signature"
    h.feed(VoteReceived(h.vote(others[1], PREVOTE, 0, None)))  # its real vote still counts
    h.feed(VoteReceived(good))
    actions = h.timeout("propose", 0)  # my nil prevote makes a quorum of nil prevotes
    assert [(v.type, v.block_hash) for v in sent_votes(actions)] == [(PREVOTE, None), (PRECOMMIT, None)]


def test_vote_from_a_non_validator_is_refused():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    with pytest.raises(ValidationError) as err:
        h.feed(VoteReceived(sign_vote(fixed_key("stranger"), PREVOTE, 1, 0, None)))
    assert err.value.code == "message.unknown_validator"


def test_proposal_from_the_wrong_proposer_is_refused():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    wrong = next(i for i in range(4) if i != proposer_index(1, 0))
    block = h.block(wrong)
    with pytest.raises(ValidationError) as err:
        h.feed(ProposalReceived(sign_proposal(NET.keys[wrong], 1, 0, block)))
    assert err.value.code == "message.wrong_proposer"
    right = h.block(proposer_index(1, 0))
    with pytest.raises(ValidationError) as err:  # the right block signed by someone else
        h.feed(ProposalReceived(sign_proposal(NET.keys[wrong], 1, 0, right)))
    assert err.value.code == "message.bad_signature"
    assert h.engine.step is Step.PROPOSE


def test_equivocating_proposer_cannot_crowd_out_a_backed_block():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    blocks = [h.block(proposer_index(1, 0), time=h.now - i) for i in range(1, 4)]
    h.propose(0, blocks[0])
    h.propose(0, blocks[1])
    voters = [i for i in h.others()]
    h.votes(PRECOMMIT, 0, blocks[2].hash, voters)
    actions = h.propose(0, blocks[2])  # a third block, beyond the cap, but a quorum backs it
    assert [a.block for a in actions if isinstance(a, Decide)] == [blocks[2]]


# -- signer and followers --------------------------------------------------------------------------


class RefusingSigner(TestSigner):
    def sign(self, height, round, step, purpose, message):
        raise LedgerError("refused", code="signer.regression")


def test_signer_refusal_sends_nothing_but_the_round_goes_on():
    me = proposer_index(1, 0)
    h = Harness(me, signer=RefusingSigner(NET.keys[me]))
    actions = h.start()
    assert sent(actions) == [] and timers(actions) == [("propose", 0, 1000)]
    assert sent(h.timeout("propose", 0)) == [] and h.engine.step is Step.PREVOTE


def test_follower_without_signer_decides_without_voting():
    h = Harness(None)
    h.start()
    block = h.block(proposer_index(1, 0))
    assert h.propose(0, block) == []
    actions = h.votes(PRECOMMIT, 0, block.hash, [0, 1, 2])
    assert sent(actions) == [] and [a.block for a in actions if isinstance(a, Decide)] == [block]


def test_proposals_and_votes_of_a_round_are_there_to_relay():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0))
    proposal = h.proposal(0, block)
    h.feed(ProposalReceived(proposal))
    other = h.vote(h.others()[0], PRECOMMIT, 0, None)
    h.feed(VoteReceived(other))
    assert h.engine.proposals_of(0) == [proposal] and h.engine.proposals_of(1) == []
    votes = h.engine.votes_of(0)
    assert [(v.type, v.validator) for v in votes] == [(PREVOTE, h.signer.key_id), (PRECOMMIT, other.validator)]


def test_messages_before_start_are_kept():
    h = Harness(not_proposer(1, range(1)))
    block = h.block(proposer_index(1, 0))
    assert h.propose(0, block) == []
    assert h.engine.step is Step.PROPOSE
    actions = h.start()
    assert [v.block_hash for v in sent_votes(actions)] == [block.hash]
    assert h.start() == []


def test_consensus_refuses_height_zero_and_unknown_events():
    h = Harness(0)
    with pytest.raises(ConsensusError) as err:
        Consensus(NET.chain_id, h.app, None, 0, None)
    assert err.value.code == "consensus.bad_position"
    with pytest.raises(ConsensusError) as err:
        h.feed(object())
    assert err.value.code == "consensus.unknown_event"


def test_vote_types_map_to_steps():
    h = Harness(0)
    assert h.vote(1, VoteType.PREVOTE, 0, None).step is Step.PREVOTE
    assert h.vote(1, VoteType.PRECOMMIT, 0, None).step is Step.PRECOMMIT
