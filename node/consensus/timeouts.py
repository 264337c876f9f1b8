"""Round timeouts and the empty-block interval (consensus.md §3.3).

Each step's timeout grows linearly with the round and is capped: `base + round * delta`, at
most `cap_ms`. The defaults are the spec's; a node may configure its own (all nodes should
agree on them for good liveness, never for safety). Integers in milliseconds; no clock here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ledger.errors import ValidationError


@dataclass(frozen=True)
class Timeouts:
    """Timeout parameters in ms; construction raises ValidationError "consensus.bad_timeouts"
    for a negative value or a zero cap."""

    propose_ms: int = 1000
    propose_delta_ms: int = 500
    prevote_ms: int = 500
    prevote_delta_ms: int = 500
    precommit_ms: int = 500
    precommit_delta_ms: int = 500
    cap_ms: int = 10_000
    commit_ms: int = 200
    empty_block_interval_ms: int = 10_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"timeouts.{f.name} must be an integer >= 0, got {value!r}", code="consensus.bad_timeouts", field=f"timeouts.{f.name}")
        if self.cap_ms == 0:
            raise ValidationError("timeouts.cap_ms must be positive", code="consensus.bad_timeouts", field="timeouts.cap_ms")

    def propose(self, round_: int) -> int:
        """timeout_propose(r) of §3.3."""
        return min(self.propose_ms + round_ * self.propose_delta_ms, self.cap_ms)

    def prevote(self, round_: int) -> int:
        """timeout_prevote(r) of §3.3."""
        return min(self.prevote_ms + round_ * self.prevote_delta_ms, self.cap_ms)

    def precommit(self, round_: int) -> int:
        """timeout_precommit(r) of §3.3."""
        return min(self.precommit_ms + round_ * self.precommit_delta_ms, self.cap_ms)
