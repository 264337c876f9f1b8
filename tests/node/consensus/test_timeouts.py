"""Timeouts of consensus.md §3.3: linear growth with the round, capped; defaults of the spec."""

from __future__ import annotations

import pytest

from ledger.errors import ValidationError
from node.consensus.timeouts import Timeouts


def test_defaults_are_the_spec_values():
    t = Timeouts()
    assert [t.propose(r) for r in range(4)] == [1000, 1500, 2000, 2500]
    assert [t.prevote(r) for r in range(3)] == [500, 1000, 1500] == [t.precommit(r) for r in range(3)]
    assert (t.commit_ms, t.empty_block_interval_ms, t.cap_ms) == (200, 10_000, 10_000)


def test_timeouts_are_capped():
    t = Timeouts()
    assert t.propose(18) == 10_000 and t.propose(10**6) == 10_000
    assert t.prevote(19) == 10_000 and t.precommit(10**6) == 10_000
    assert Timeouts(cap_ms=700).propose(0) == 700


@pytest.mark.parametrize("changes", [{"propose_ms": -1}, {"cap_ms": 0}, {"commit_ms": True}, {"prevote_delta_ms": 1.5}])
def test_bad_parameters_are_refused(changes):
    with pytest.raises(ValidationError) as err:
        Timeouts(**changes)
    assert err.value.code == "consensus.bad_timeouts"
