"""The votes of one height: de-duplication, tallies by value, equivocation (consensus.md §3, §6).

A `VoteSet` holds the verified prevotes and precommits of every round of one height under one
validator set, and the senders of any message per round (for the round skip of rule 9).
Thresholds are integer-only: a quorum has `3p > 2P`, a skip set `3p > P` (§1). A validator's
second, different vote for one (round, type) is equivocation: both votes are kept, an Evidence
is returned once, and its power counts once toward each of the two values it signed and once
toward "any value"; further values from it are ignored. Pure bookkeeping: callers verify
signatures first; nothing here reads the clock or signs.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger.commit import Commit, CommitSig, VoteType, make_commit
from ledger.validators import ValidatorSet
from node.consensus.events import Evidence
from node.consensus.messages import Vote
from node.errors import ConsensusError

MAX_VALUES_PER_VALIDATOR = 2


def is_quorum(power: int, total: int) -> bool:
    """More than two thirds: `3 * power > 2 * total` (§1)."""
    return 3 * power > 2 * total


def is_skip_set(power: int, total: int) -> bool:
    """More than one third (f+1): `3 * power > total` (§1)."""
    return 3 * power > total


class _Tally:
    """One (round, type): each validator's votes by value, and the power behind each value."""

    __slots__ = ("votes", "power", "any_power")

    def __init__(self) -> None:
        self.votes: dict[bytes, dict[bytes | None, Vote]] = {}
        self.power: dict[bytes | None, int] = {}
        self.any_power = 0


class VoteSet:
    """Verified votes of `height` under `validators`, with the round senders of rule 9."""

    def __init__(self, height: int, validators: ValidatorSet) -> None:
        self.height = height
        self.validators = validators
        self.total = validators.total_power
        self._tallies: dict[tuple[int, VoteType], _Tally] = {}
        self._senders: dict[int, dict[bytes, int]] = {}
        self._sender_power: dict[int, int] = {}
        self._precommit_quorums: dict[tuple[int, bytes], None] = {}

    def is_known(self, vote: Vote) -> bool:
        """Whether `vote` adds nothing: its validator already has a vote for this value in
        (round, type), or already equivocated there. Cheap; call it before verifying."""
        tally = self._tallies.get((vote.round, vote.type))
        if tally is None:
            return False
        mine = tally.votes.get(vote.validator)
        return mine is not None and (vote.block_hash in mine or len(mine) >= MAX_VALUES_PER_VALIDATOR)

    def add(self, vote: Vote) -> Evidence | None:
        """Record a verified `vote` of this height; returns Evidence when it is the validator's
        second value for (round, type), else None. A known vote (see `is_known`) changes nothing.
        Raises ConsensusError "consensus.wrong_height" / "consensus.not_validator"."""
        if vote.height != self.height:
            raise ConsensusError(f"vote for height {vote.height} added to the votes of {self.height}", code="consensus.wrong_height")
        validator = self.validators.get(vote.validator)
        if validator is None:
            raise ConsensusError("vote from a key outside the validator set", code="consensus.not_validator", validator=vote.validator)
        if self.is_known(vote):
            return None
        tally = self._tallies.setdefault((vote.round, vote.type), _Tally())
        mine = tally.votes.setdefault(vote.validator, {})
        mine[vote.block_hash] = vote
        power = tally.power.get(vote.block_hash, 0) + validator.power
        tally.power[vote.block_hash] = power
        if vote.type is VoteType.PRECOMMIT and vote.block_hash is not None and is_quorum(power, self.total):
            self._precommit_quorums.setdefault((vote.round, vote.block_hash), None)
        if len(mine) == 1:
            tally.any_power += validator.power
            self.note_sender(vote.round, vote.validator)
            return None
        first = next(iter(mine.values()))
        return Evidence(first, vote)

    def note_sender(self, round_: int, validator: bytes) -> None:
        """Count `validator` once among the senders of any message in `round_` (rule 9)."""
        senders = self._senders.setdefault(round_, {})
        if validator not in senders:
            member = self.validators.get(validator)
            if member is None:
                raise ConsensusError("sender outside the validator set", code="consensus.not_validator", validator=validator)
            senders[validator] = member.power
            self._sender_power[round_] = self._sender_power.get(round_, 0) + member.power

    # -- tallies ---------------------------------------------------------------------------

    def power_for(self, round_: int, vote_type: VoteType, block_hash: bytes | None) -> int:
        """The power of the validators that voted `block_hash` (None: nil) in (round, type)."""
        tally = self._tallies.get((round_, vote_type))
        return 0 if tally is None else tally.power.get(block_hash, 0)

    def power_any(self, round_: int, vote_type: VoteType) -> int:
        """The power of the validators that voted anything in (round, type), each once."""
        tally = self._tallies.get((round_, vote_type))
        return 0 if tally is None else tally.any_power

    def has_quorum_for(self, round_: int, vote_type: VoteType, block_hash: bytes | None) -> bool:
        return is_quorum(self.power_for(round_, vote_type, block_hash), self.total)

    def has_quorum_any(self, round_: int, vote_type: VoteType) -> bool:
        return is_quorum(self.power_any(round_, vote_type), self.total)

    def has_skip_set_for(self, round_: int, vote_type: VoteType, block_hash: bytes | None) -> bool:
        return is_skip_set(self.power_for(round_, vote_type, block_hash), self.total)

    def sender_power(self, round_: int) -> int:
        """The power of the distinct validators that sent any message in `round_` (rule 9)."""
        return self._sender_power.get(round_, 0)

    def rounds_with_senders(self) -> Iterator[int]:
        """The rounds some message was seen for, in no particular order."""
        return iter(self._sender_power)

    def precommit_quorums(self) -> list[tuple[int, bytes]]:
        """Every (round, block hash) with a quorum of precommits, in the order reached (rule 8)."""
        return list(self._precommit_quorums)

    def votes(self, round_: int, vote_type: VoteType) -> list[Vote]:
        """Every kept vote of (round, type), in arrival order per validator."""
        tally = self._tallies.get((round_, vote_type))
        return [] if tally is None else [v for mine in tally.votes.values() for v in mine.values()]

    def commit_for(self, round_: int, block_hash: bytes) -> Commit:
        """The commit certificate made of the precommits for `block_hash` in `round_`, signers
        sorted by key id (blocks.md §4). Raises ConsensusError "consensus.no_quorum" unless
        they are a quorum."""
        if not self.has_quorum_for(round_, VoteType.PRECOMMIT, block_hash):
            raise ConsensusError(f"no quorum of precommits for the block in round {round_}", code="consensus.no_quorum", round=round_)
        tally = self._tallies[(round_, VoteType.PRECOMMIT)]
        sigs = [CommitSig(v, mine[block_hash].signature) for v, mine in tally.votes.items() if block_hash in mine]
        return make_commit(self.height, round_, block_hash, sigs)
