"""What the state machine knows about one height: proposals by round, votes, block validity.

The engine keeps one `HeightState` for its current height and one for the next (messages for
h+1 are kept and replayed when it starts, consensus.md §3). Proposals are kept per round and
block (at most MAX_PROPOSALS_PER_ROUND distinct blocks per round, plus any block that an f+1
set of prevotes or precommits already backs, so an equivocating proposer cannot crowd out the
block that matters). Pure bookkeeping: signatures are verified by the caller before adding.
"""

from __future__ import annotations

from ledger.commit import VoteType
from ledger.errors import LedgerError
from ledger.validators import ValidatorSet
from node.consensus.messages import Proposal
from node.consensus.votes import VoteSet

MAX_PROPOSALS_PER_ROUND = 2


class HeightState:
    """Proposals, votes and validity verdicts of one height under one validator set."""

    def __init__(self, height: int, validators: ValidatorSet) -> None:
        self.height = height
        self.validators = validators
        self.votes = VoteSet(height, validators)
        self._proposals: dict[int, dict[bytes, Proposal]] = {}
        # block hash -> None when the application accepted it, else the error it raised (§3.2)
        self.validity: dict[bytes, LedgerError | None] = {}

    def has_proposal(self, proposal: Proposal) -> bool:
        """Whether a proposal of this block for this round is already kept."""
        return proposal.block.hash in self._proposals.get(proposal.round, {})

    def wants_proposal(self, proposal: Proposal) -> bool:
        """Whether `proposal` (not yet kept) should be verified and kept: room is left in its
        round, or an f+1 set of votes of its round backs its block."""
        kept = self._proposals.get(proposal.round, {})
        if len(kept) < MAX_PROPOSALS_PER_ROUND:
            return True
        block_hash = proposal.block.hash
        return any(self.votes.has_skip_set_for(proposal.round, t, block_hash) for t in (VoteType.PREVOTE, VoteType.PRECOMMIT))

    def add_proposal(self, proposal: Proposal, author: bytes) -> None:
        """Keep a verified `proposal` signed by `author` (the proposer of its round)."""
        self._proposals.setdefault(proposal.round, {})[proposal.block.hash] = proposal
        self.votes.note_sender(proposal.round, author)

    def proposals_in(self, round_: int) -> list[Proposal]:
        """The kept proposals of `round_`, in arrival order."""
        return list(self._proposals.get(round_, {}).values())

    def find_proposal(self, round_: int, block_hash: bytes) -> Proposal | None:
        return self._proposals.get(round_, {}).get(block_hash)
