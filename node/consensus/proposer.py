"""Proposer selection: smooth weighted round robin over a validator set (consensus.md §4).

The proposer of (h, r) is the validator chosen at step `k = (h - 1) + r` of the sequence that
starts with every priority 0 and, at each step, adds every validator's power to its priority,
chooses the highest priority (ties: the smallest key id) and subtracts the total power `P` from
the chosen one. The sequence has period `P`, so a set's schedule is computed once and cached by
the set's value (an equal set has an equal hash); large sets keep checkpoints of the priorities
instead of the whole period. Pure: no clock, no I/O, no state besides the bounded cache.
"""

from __future__ import annotations

from collections import OrderedDict

from ledger.validators import Validator, ValidatorSet
from node.errors import ConsensusError

# A period of at most this many (steps x validators) is precomputed whole.
PERIOD_WORK_LIMIT = 1 << 18
CHECKPOINT_EVERY = 256
CACHED_SETS = 8


def proposer_at(validators: ValidatorSet, height: int, round: int) -> Validator:
    """The proposer of (`height`, `round`) under `validators` (§4).

    Preconditions: height >= 1 and round >= 0, else ConsensusError "consensus.bad_position".
    """
    if height < 1 or round < 0:
        raise ConsensusError(f"no proposer for height {height} round {round}", code="consensus.bad_position", height=height, round=round)
    return _schedule(validators).at((height - 1) + round)


def choose_step(priorities: list[int], powers: tuple[int, ...], total: int) -> int:
    """Run one step of §4 on `priorities` (in key-id order, changed in place); the chosen index."""
    best = 0
    best_priority = None
    for i, power in enumerate(powers):
        priority = priorities[i] + power
        priorities[i] = priority
        if best_priority is None or priority > best_priority:  # strict: ties keep the smaller key id
            best, best_priority = i, priority
    priorities[best] -= total
    return best


class _Schedule:
    """The proposer sequence of one validator set: a whole period, or checkpoints of it."""

    def __init__(self, validators: ValidatorSet) -> None:
        self.order = tuple(sorted(validators, key=lambda v: v.key_id))
        self.powers = tuple(v.power for v in self.order)
        self.total = validators.total_power
        self.period: tuple[int, ...] | None = None
        self.checkpoints: list[tuple[int, ...]] = [(0,) * len(self.order)]
        if self.total * len(self.order) <= PERIOD_WORK_LIMIT:
            priorities = [0] * len(self.order)
            self.period = tuple(choose_step(priorities, self.powers, self.total) for _ in range(self.total))

    def at(self, k: int) -> Validator:
        k %= self.total
        if self.period is not None:
            return self.order[self.period[k]]
        index, offset = divmod(k, CHECKPOINT_EVERY)
        while len(self.checkpoints) <= index:
            priorities = list(self.checkpoints[-1])
            for _ in range(CHECKPOINT_EVERY):
                choose_step(priorities, self.powers, self.total)
            self.checkpoints.append(tuple(priorities))
        priorities = list(self.checkpoints[index])
        for _ in range(offset):
            choose_step(priorities, self.powers, self.total)
        return self.order[choose_step(priorities, self.powers, self.total)]


_CACHE: OrderedDict[ValidatorSet, _Schedule] = OrderedDict()


def _schedule(validators: ValidatorSet) -> _Schedule:
    schedule = _CACHE.get(validators)
    if schedule is None:
        schedule = _Schedule(validators)
        _CACHE[validators] = schedule
        if len(_CACHE) > CACHED_SETS:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(validators)
    return schedule
