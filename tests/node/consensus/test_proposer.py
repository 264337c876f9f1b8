"""Proposer selection (consensus.md §4) against a literal reference implementation."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.validators import Validator, ValidatorSet
from node.consensus import proposer as proposer_module
from node.consensus.proposer import proposer_at
from node.errors import ConsensusError

from .support import fixed_key

KEYS = [fixed_key(f"proposer/{i}") for i in range(8)]


def make_set(powers: list[int]) -> ValidatorSet:
    return ValidatorSet.of(Validator(f"v{i}", "beijing", KEYS[i].public_key, p) for i, p in enumerate(powers))


def reference_sequence(validators: ValidatorSet, steps: int) -> tuple[list[bytes], list[int]]:
    """§4 read literally: chosen key ids of steps 0..steps-1 and the final priorities."""
    priority = {v.key_id: 0 for v in validators}
    total = sum(v.power for v in validators)
    chosen = []
    for _ in range(steps):
        for v in validators:
            priority[v.key_id] += v.power
        best = max(priority, key=lambda k: (priority[k], [-b for b in k]))
        priority[best] -= total
        chosen.append(best)
    return chosen, [priority[k] for k in sorted(priority)]


powers_strategy = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(powers_strategy)
def test_each_validator_is_chosen_power_times_per_period(powers):
    validators = make_set(powers)
    total = sum(powers)
    chosen = [proposer_at(validators, 1 + k, 0).key_id for k in range(total)]
    counts = Counter(chosen)
    assert {v.key_id: counts[v.key_id] for v in validators} == {v.key_id: v.power for v in validators}
    reference, priorities = reference_sequence(validators, total)
    assert chosen == reference and priorities == [0] * len(powers)


@settings(max_examples=200, deadline=None)
@given(powers_strategy, st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=50))
def test_proposer_depends_on_height_plus_round_with_period_total_power(powers, height, round_):
    validators = make_set(powers)
    total = sum(powers)
    k = (height - 1) + round_
    reference, _ = reference_sequence(validators, k % total + 1)
    expected = reference[-1]
    assert proposer_at(validators, height, round_).key_id == expected
    assert proposer_at(validators, height + round_, 0).key_id == expected
    assert proposer_at(validators, height + total, round_).key_id == expected


def test_equal_powers_are_round_robin_in_key_id_order():
    validators = make_set([5] * 6)
    order = sorted(v.key_id for v in validators)
    assert [proposer_at(validators, h, 0).key_id for h in range(1, 13)] == order * 2


def test_large_total_power_uses_checkpoints_and_agrees_with_the_reference():
    powers = [70_000, 1, 2, 3]
    validators = make_set(powers)
    schedule = proposer_module._Schedule(validators)
    assert schedule.period is None  # beyond the whole-period limit
    total = sum(powers)
    reference, _ = reference_sequence(validators, 1200)
    assert [proposer_at(validators, 1 + k, 0).key_id for k in range(1200)] == reference
    assert proposer_at(validators, 1 + total + 700, 0).key_id == reference[700]
    assert proposer_at(validators, 1, 1000).key_id == reference[1000]


def test_position_must_be_a_height_and_round():
    validators = make_set([1, 1])
    for height, round_ in ((0, 0), (1, -1)):
        with pytest.raises(ConsensusError) as err:
            proposer_at(validators, height, round_)
        assert err.value.code == "consensus.bad_position"
