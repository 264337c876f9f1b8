"""VoteSet (consensus.md §1, §3, §6): integer thresholds, de-duplication, equivocation."""

from __future__ import annotations

import pytest

from ledger.commit import VoteType
from ledger.validators import Validator, ValidatorSet
from node.consensus.events import Evidence
from node.consensus.votes import VoteSet, is_quorum, is_skip_set
from node.errors import ConsensusError

from .support import CHAIN_ID, fixed_key, sign_vote

KEYS = [fixed_key(f"votes/{i}") for i in range(4)]
EQUAL = ValidatorSet.of(Validator(f"v{i}", "beijing", k.public_key, 1) for i, k in enumerate(KEYS))
HEAVY = ValidatorSet.of(Validator(f"v{i}", "beijing", k.public_key, p) for i, (k, p) in enumerate(zip(KEYS, (1, 1, 1, 3))))
PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
A, B = b"\xaa" * 32, b"\xbb" * 32


def test_thresholds_are_strict_integer_inequalities():
    assert [p for p in range(7) if is_quorum(p, 6)] == [5, 6]
    assert [p for p in range(7) if is_skip_set(p, 6)] == [3, 4, 5, 6]
    assert [p for p in range(5) if is_quorum(p, 4)] == [3, 4]
    assert [p for p in range(4) if is_skip_set(p, 3)] == [2, 3]


def test_quorum_by_power_not_by_count():
    votes = VoteSet(1, HEAVY)
    votes.add(sign_vote(KEYS[3], PV, 1, 0, A))
    assert not votes.has_quorum_for(0, PV, A) and votes.has_skip_set_for(0, PV, A)
    votes.add(sign_vote(KEYS[0], PV, 1, 0, A))
    assert not votes.has_quorum_for(0, PV, A)
    votes.add(sign_vote(KEYS[1], PV, 1, 0, A))
    assert votes.has_quorum_for(0, PV, A) and votes.power_for(0, PV, A) == 5


def test_duplicates_are_known_and_count_once():
    votes = VoteSet(1, EQUAL)
    vote = sign_vote(KEYS[0], PV, 1, 0, A)
    assert not votes.is_known(vote)
    assert votes.add(vote) is None
    again = sign_vote(KEYS[0], PV, 1, 0, A)  # another signature over the same vote
    assert votes.is_known(again) and votes.add(again) is None
    assert votes.power_for(0, PV, A) == 1 and votes.power_any(0, PV) == 1
    assert not votes.is_known(sign_vote(KEYS[0], PC, 1, 0, A))  # other type
    assert not votes.is_known(sign_vote(KEYS[0], PV, 1, 1, A))  # other round


def test_equivocation_gives_evidence_once_and_counts_each_value_once():
    votes = VoteSet(1, EQUAL)
    a = sign_vote(KEYS[0], PC, 1, 2, A)
    b = sign_vote(KEYS[0], PC, 1, 2, None)
    assert votes.add(a) is None
    assert votes.add(b) == Evidence(a, b)
    assert votes.power_for(2, PC, A) == 1 and votes.power_for(2, PC, None) == 1
    assert votes.power_any(2, PC) == 1 and votes.sender_power(2) == 1
    third = sign_vote(KEYS[0], PC, 1, 2, B)
    assert votes.is_known(third) and votes.add(third) is None and votes.power_for(2, PC, B) == 0
    assert votes.votes(2, PC) == [a, b]


def test_precommit_quorums_in_the_order_reached_and_the_commit_they_make():
    votes = VoteSet(5, EQUAL)
    for k in KEYS[:3]:
        votes.add(sign_vote(k, PC, 5, 1, B))
    for k in KEYS[1:]:
        votes.add(sign_vote(k, PC, 5, 0, A))
    assert votes.precommit_quorums() == [(1, B), (0, A)]
    commit = votes.commit_for(0, A)
    assert (commit.height, commit.round, commit.block_hash) == (5, 0, A)
    assert [s.validator for s in commit.signatures] == sorted(k.public_key.key_id for k in KEYS[1:])
    commit.verify(CHAIN_ID, EQUAL, 5, A)
    with pytest.raises(ConsensusError) as err:
        votes.commit_for(0, B)
    assert err.value.code == "consensus.no_quorum"


def test_nil_precommits_are_no_commit():
    votes = VoteSet(1, EQUAL)
    for k in KEYS:
        votes.add(sign_vote(k, PC, 1, 0, None))
    assert votes.precommit_quorums() == [] and votes.has_quorum_any(0, PC)


def test_senders_count_distinct_validators_across_types_and_proposals():
    votes = VoteSet(1, EQUAL)
    votes.add(sign_vote(KEYS[0], PV, 1, 4, None))
    votes.add(sign_vote(KEYS[0], PC, 1, 4, None))
    votes.note_sender(4, KEYS[0].public_key.key_id)
    assert votes.sender_power(4) == 1
    votes.note_sender(4, KEYS[1].public_key.key_id)
    assert votes.sender_power(4) == 2 and sorted(votes.rounds_with_senders()) == [4]


def test_wrong_height_and_strangers_are_refused():
    votes = VoteSet(1, EQUAL)
    with pytest.raises(ConsensusError) as err:
        votes.add(sign_vote(KEYS[0], PV, 2, 0, None))
    assert err.value.code == "consensus.wrong_height"
    with pytest.raises(ConsensusError) as err:
        votes.add(sign_vote(fixed_key("stranger"), PV, 1, 0, None))
    assert err.value.code == "consensus.not_validator"
