"""The rules of consensus.md §3 (the paper's lines in brackets), one hand-built scenario each,
on validator `me` of a 4-validator net (quorum: 3 of 4, skip set: 2 of 4)."""

from __future__ import annotations

import dataclasses

from ledger.commit import VoteType
from node.consensus.events import Decide, ProposalReceived, ScheduleTimeout
from node.consensus.messages import Proposal, Step

from .harness import PRECOMMIT, PREVOTE, Harness, not_proposer, proposer_index, sent, sent_votes, timers


def test_rule1_proposer_with_txs_proposes_at_once_and_prevotes_its_block():
    h = Harness(proposer_index(1, 0))
    actions = h.start()
    proposal, prevote = sent(actions)
    assert isinstance(proposal, Proposal) and proposal.round == 0 and proposal.pol_round == -1
    assert [t.id for t in proposal.block.txs] == [h.tx(0).id] and proposal.block.header.proposer == h.signer.key_id
    assert proposal.block.header.time == h.now
    assert prevote.type is PREVOTE and prevote.block_hash == proposal.block.hash
    assert h.engine.step is Step.PREVOTE


def test_rule1_non_proposer_schedules_timeout_propose():
    h = Harness(not_proposer(1, range(1)))
    actions = h.start()
    assert sent(actions) == [] and timers(actions) == [("propose", 0, 1000)]
    assert (h.engine.round, h.engine.step) == (0, Step.PROPOSE)


def test_rule1_block_time_follows_the_previous_block_when_the_clock_is_behind():
    h = Harness(proposer_index(1, 0))
    h.now = h.chain.tip.time - 5000
    proposal = sent(h.start())[0]
    assert proposal.block.header.time == h.chain.tip.time + 1


def test_rule1_proposer_re_proposes_its_valid_value_with_its_round():
    me = proposer_index(1, 1)
    h = Harness(me)
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    actions = h.votes(PREVOTE, 0, block.hash, [i for i in h.others()][:2])
    assert sent_votes(actions, PRECOMMIT)[0].block_hash == block.hash
    h.votes(PRECOMMIT, 0, None, h.others())
    actions = h.timeout("precommit", 0)
    proposal = sent(actions)[0]
    assert (proposal.round, proposal.pol_round, proposal.block) == (1, 0, block)
    assert sent_votes(actions, PREVOTE)[0].block_hash == block.hash  # locked on it, and it has its POL


def test_rule2_valid_proposal_gets_a_prevote_for_its_block():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0), txs=[h.tx(7)])
    actions = h.propose(0, block)
    assert [v.block_hash for v in sent_votes(actions)] == [block.hash]
    assert h.engine.step is Step.PREVOTE


def test_rule2_invalid_block_gets_a_prevote_for_nil():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    good = h.block(proposer_index(1, 0))
    bad = dataclasses.replace(good, header=dataclasses.replace(good.header, state_root=bytes(32)))
    actions = h.propose(0, bad)
    assert [v.block_hash for v in sent_votes(actions)] == [None]


def test_rule2_block_too_far_in_the_future_gets_nil():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0), time=h.now + 10_001)
    assert [v.block_hash for v in sent_votes(h.propose(0, block))] == [None]


def test_rule2_block_at_the_drift_bound_is_valid():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0), time=h.now + 10_000)
    assert [v.block_hash for v in sent_votes(h.propose(0, block))] == [block.hash]


def test_rule2_locked_node_prevotes_nil_for_another_fresh_block():
    me = not_proposer(1, range(2))
    h = Harness(me)
    h.start()
    a = h.block(proposer_index(1, 0))
    h.propose(0, a)
    h.votes(PREVOTE, 0, a.hash, h.others()[:2])  # lock on a in round 0
    assert h.engine.locked_round == 0
    h.votes(PRECOMMIT, 0, None, h.others())
    h.timeout("precommit", 0)
    b = h.block(proposer_index(1, 1), txs=[h.tx(9)])
    actions = h.propose(1, b)
    assert [v.block_hash for v in sent_votes(actions)] == [None]


def test_rule3_proposal_with_a_proof_of_lock_gets_a_prevote():
    me = not_proposer(1, range(2))
    h = Harness(me)
    h.start()
    h.timeout("propose", 0)  # prevote nil in round 0, so not locked
    block = h.block(proposer_index(1, 0))
    h.votes(PREVOTE, 0, block.hash, h.others())  # a POL for block in round 0 (proposal unseen)
    h.votes(PRECOMMIT, 0, None, h.others())
    h.timeout("precommit", 0)
    assert h.engine.round == 1
    actions = h.feed(ProposalReceived(h.proposal(1, block, 0)))
    assert [v.block_hash for v in sent_votes(actions)] == [block.hash]


def test_rule3_waits_for_the_proof_of_lock():
    me = not_proposer(1, range(2))
    h = Harness(me)
    h.start()
    h.timeout("propose", 0)
    h.votes(PRECOMMIT, 0, None, h.others())
    h.timeout("precommit", 0)
    block = h.block(proposer_index(1, 0))
    assert sent_votes(h.propose(1, block, 0)) == []  # no POL seen: nothing yet
    others = h.others()
    assert sent_votes(h.votes(PREVOTE, 0, block.hash, others[:1])) == []
    actions = h.votes(PREVOTE, 0, block.hash, others[1:])
    assert [v.block_hash for v in sent_votes(actions)] == [block.hash]


def test_rule3_node_locked_in_a_later_round_prevotes_nil():
    me = not_proposer(1, range(3))
    h = Harness(me)
    h.start()
    a = h.block(proposer_index(1, 0))
    b = h.block(proposer_index(1, 1), txs=[h.tx(5)])
    h.timeout("propose", 0)
    h.votes(PRECOMMIT, 0, None, h.others())
    h.timeout("precommit", 0)
    h.propose(1, b)
    h.votes(PREVOTE, 1, b.hash, h.others()[:2])
    assert h.engine.locked_round == 1
    h.votes(PRECOMMIT, 1, None, h.others())
    h.timeout("precommit", 1)
    h.votes(PREVOTE, 0, a.hash, h.others())  # an older POL for a
    actions = h.propose(2, a, 0)
    assert [v.block_hash for v in sent_votes(actions)] == [None]


def test_rule4_quorum_of_mixed_prevotes_arms_timeout_prevote_once():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    others = h.others()
    actions = h.votes(PREVOTE, 0, None, others[:1]) + h.votes(PREVOTE, 0, bytes(32), others[1:2])
    assert timers(actions) == [("prevote", 0, 500)]
    assert timers(h.votes(PREVOTE, 0, None, others[2:])) == []
    assert sent_votes(h.timeout("prevote", 0), PRECOMMIT)[0].block_hash is None


def test_rule5_quorum_of_prevotes_locks_and_precommits():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    actions = h.votes(PREVOTE, 0, block.hash, h.others()[:2])
    assert [v.block_hash for v in sent_votes(actions, PRECOMMIT)] == [block.hash]
    assert (h.engine.locked_round, h.engine.valid_round, h.engine.step) == (0, 0, Step.PRECOMMIT)


def test_rule5_in_precommit_step_updates_valid_value_without_locking():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    h.timeout("propose", 0)  # prevote nil
    block = h.block(proposer_index(1, 0))
    assert sent(h.propose(0, block)) == []  # no longer in propose
    others = h.others()
    assert timers(h.votes(PREVOTE, 0, block.hash, others[:2])) == [("prevote", 0, 500)]
    h.timeout("prevote", 0)
    assert h.engine.step is Step.PRECOMMIT
    actions = h.votes(PREVOTE, 0, block.hash, others[2:])
    assert sent(actions) == []
    assert (h.engine.locked_round, h.engine.valid_round) == (-1, 0)


def test_rule6_quorum_of_nil_prevotes_precommits_nil():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    h.timeout("propose", 0)
    actions = h.votes(PREVOTE, 0, None, h.others()[:2])
    assert [v.block_hash for v in sent_votes(actions, PRECOMMIT)] == [None]


def test_rule7_quorum_of_mixed_precommits_arms_timeout_precommit_once():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    others = h.others()
    actions = h.votes(PRECOMMIT, 0, None, others[:2]) + h.votes(PRECOMMIT, 0, bytes(32), others[2:])
    assert timers(actions) == [("precommit", 0, 500)]
    assert h.engine.round == 0
    assert h.timeout("precommit", 0) and h.engine.round == 1


def test_rule8_decides_on_a_quorum_of_precommits_and_the_proposal():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    block = h.block(proposer_index(1, 0))
    h.propose(0, block)
    actions = h.votes(PRECOMMIT, 0, block.hash, h.others())
    decide = [a for a in actions if isinstance(a, Decide)]
    assert len(decide) == 1 and decide[0].block == block
    commit = decide[0].commit
    commit.verify(h.net.chain_id, h.net.validators, 1, block.hash)
    assert [s.validator for s in commit.signatures] == sorted(s.validator for s in commit.signatures)
    assert ScheduleTimeout(1, 0, "commit", 200) in actions


def test_rule8_decides_for_an_earlier_round_once_the_proposal_arrives():
    h = Harness(not_proposer(1, range(3)))
    h.start()
    h.timeout("propose", 0)
    h.votes(PREVOTE, 0, None, h.others()[:2])  # -> precommit nil (rule 6)
    h.timeout("precommit", 0)
    h.timeout("propose", 1)
    h.timeout("prevote", 1)
    h.timeout("precommit", 1)
    assert h.engine.round == 2
    block = h.block(proposer_index(1, 0))
    precommits = h.votes(PRECOMMIT, 0, block.hash, h.others())
    assert not [a for a in precommits if isinstance(a, Decide)] and h.engine.decision is None
    actions = h.propose(0, block)
    decide = [a for a in actions if isinstance(a, Decide)]
    assert len(decide) == 1 and decide[0].commit.round == 0 and decide[0].block == block
    assert len(decide[0].commit.signatures) == 3


def test_rule8_does_not_decide_an_invalid_block():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    good = h.block(proposer_index(1, 0))
    bad = dataclasses.replace(good, header=dataclasses.replace(good.header, log_size=5))
    h.propose(0, bad)
    actions = h.votes(PRECOMMIT, 0, bad.hash, h.others())
    assert not [a for a in actions if isinstance(a, Decide)] and h.engine.decision is None


def test_rule9_skip_set_of_a_higher_round_starts_it():
    h = Harness(not_proposer(1, (0, 3)))
    h.start()
    others = h.others()
    assert h.votes(PREVOTE, 3, None, others[:1]) == [] and h.engine.round == 0
    actions = h.votes(PRECOMMIT, 3, None, others[1:2])
    assert (h.engine.round, h.engine.step) == (3, Step.PROPOSE)
    assert timers(actions) == [("propose", 3, 2500)]


def test_rule9_a_proposal_counts_toward_the_skip_set():
    me = not_proposer(1, (0, 2))
    h = Harness(me)
    h.start()
    voter = next(i for i in h.others() if i != proposer_index(1, 2))
    h.votes(PREVOTE, 2, None, [voter])
    block = h.block(proposer_index(1, 2))
    actions = h.propose(2, block)
    assert h.engine.round == 2
    assert [v.block_hash for v in sent_votes(actions)] == [block.hash]


def test_rule10_timeouts_act_only_at_their_own_height_round_and_step():
    h = Harness(not_proposer(1, range(2)))
    h.start()
    assert h.timeout("prevote", 0) == [] and h.timeout("propose", 1) == []
    actions = h.timeout("propose", 0)
    assert [(v.type, v.block_hash) for v in sent_votes(actions)] == [(PREVOTE, None)]
    assert h.timeout("propose", 0) == []  # already in prevote
    actions = h.timeout("prevote", 0)
    assert [(v.type, v.block_hash) for v in sent_votes(actions)] == [(PRECOMMIT, None)]
    actions = h.timeout("precommit", 0)
    assert (h.engine.round, h.engine.step) == (1, Step.PROPOSE)
    assert timers(actions) == [("propose", 1, 1500)]
    assert h.timeout("precommit", 0) == [] and h.engine.round == 1


def test_rule10_timeouts_grow_with_the_round_and_are_capped():
    me = not_proposer(1, range(1))
    h = Harness(me)
    h.start()
    seen = {}
    for r in range(20):
        h.timeout("propose", r)
        h.timeout("prevote", r)
        actions = h.timeout("precommit", r)
        seen.update({rr: d for step, rr, d in timers(actions) if step == "propose"})
    assert len(seen) == 15  # every round but those `me` proposes in
    assert all(d == min(1000 + 500 * r, 10_000) for r, d in seen.items())
    assert max(seen.values()) == 10_000 and min(seen) == 1


def test_vote_type_and_round_are_what_the_engine_signs():
    h = Harness(not_proposer(1, range(1)))
    h.start()
    vote = sent_votes(h.timeout("propose", 0))[0]
    vote.verify(h.net.chain_id, h.net.validators)
    assert (vote.height, vote.round, vote.type, vote.validator) == (1, 0, VoteType.PREVOTE, h.signer.key_id)
