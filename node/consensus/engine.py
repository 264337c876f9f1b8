"""The Tendermint state machine of one node, sans I/O (consensus.md §3; the paper's Algorithm 1).

`Consensus.handle(event, now) -> list[Action]`: events in (Start, ProposalReceived,
VoteReceived, TimeoutFired, TxsAvailable), actions out (Broadcast, ScheduleTimeout, Decide,
Evidence), which the runtime performs in order before the next event. After every input the
rules of §3 are applied until none fires ("upon" semantics); each method below cites the rule
and the paper's lines. Signing goes through the injected signer (its guard, §5, may refuse:
the message is then simply not sent). The application answers validity and builds blocks.

This module must never read the clock (`now`, integer ms, is an argument), touch the network
or a file, or count a message before its signature verified. An invalid message raises
before any state changes, so the runtime can drop and count it (§2).
"""

from __future__ import annotations

from ledger.block import Block
from ledger.commit import VOTE_PURPOSE, Commit, VoteType, vote_sign_bytes
from ledger.crypto import Signature
from ledger.errors import LedgerError
from node.consensus.events import (
    Action, Broadcast, Decide, Event, ProposalReceived, ScheduleTimeout, Start, TimeoutFired, TxsAvailable, VoteReceived,
)
from node.consensus.height import HeightState
from node.consensus.messages import PROPOSAL_PURPOSE, Proposal, Step, Vote, proposal_sign_bytes
from node.consensus.ports import App, Signer
from node.consensus.proposer import proposer_at
from node.consensus.timeouts import Timeouts
from node.consensus.votes import is_skip_set
from node.errors import ConsensusError

MAX_FUTURE_ROUNDS = 10
MAX_CLOCK_DRIFT_MS = 10_000

__all__ = ["MAX_CLOCK_DRIFT_MS", "MAX_FUTURE_ROUNDS", "App", "Consensus", "Signer", "Timeouts"]


class Consensus:
    """One node's consensus from `height` on (`last_commit`: the commit of height - 1, None at 1).

    With `signer` None, or a signer whose key is not a validator, the node only follows: it
    decides but never proposes or votes. Construction asks `app.validators(height)`.
    """

    def __init__(self, chain_id: str, app: App, signer: Signer | None, height: int, last_commit: Commit | None, timeouts: Timeouts = Timeouts()) -> None:
        if height < 1:
            raise ConsensusError(f"consensus starts at a height >= 1, not {height}", code="consensus.bad_position", height=height)
        self._chain_id = chain_id
        self._app = app
        self._signer = signer
        self._timeouts = timeouts
        self._height = height
        self._last_commit = last_commit
        self._cur = HeightState(height, app.validators(height))
        self._next: HeightState | None = None
        self._started = False
        self._out: list[Action] = []
        self._reset_height()

    # -- read-only view ------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._height

    @property
    def round(self) -> int:
        return self._round

    @property
    def step(self) -> Step:
        return self._step

    @property
    def decision(self) -> Decide | None:
        """The decision of the current height, until the next height starts."""
        return self._decision

    @property
    def locked_round(self) -> int:
        return self._locked_round

    @property
    def valid_round(self) -> int:
        return self._valid_round

    def proposals_of(self, round_: int) -> list[Proposal]:
        """The verified proposals of the current height in `round_` (at most a few), in arrival
        order: for the runtime to relay, and to find the one a decision was made on."""
        return self._cur.proposals_in(round_)

    def votes_of(self, round_: int) -> list[Vote]:
        """The verified prevotes and precommits of the current height in `round_`, for the
        runtime to relay to peers that lack them (the gossip the paper assumes, e.g. the proof
        of lock of `valid_round` that a re-proposal needs, rule 3)."""
        votes = self._cur.votes
        return votes.votes(round_, VoteType.PREVOTE) + votes.votes(round_, VoteType.PRECOMMIT)

    # -- the one entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: int) -> list[Action]:
        """Apply `event` at time `now` (ms) and return the actions to perform, in order.

        Raises, before changing anything: ValidationError "message.*" for a proposal or vote
        that fails `verify`; ConsensusError "consensus.old_height" / "consensus.future_height" /
        "consensus.future_round" for one this node does not keep (§3), "consensus.unknown_event".
        """
        self._out = out = []
        if isinstance(event, VoteReceived):
            self._on_vote(event.vote)
        elif isinstance(event, ProposalReceived):
            self._on_proposal(event.proposal)
        elif isinstance(event, TimeoutFired):
            self._on_timeout(event, now)
        elif isinstance(event, TxsAvailable):
            self._on_txs(now)
        elif isinstance(event, Start):
            if self._started:
                return []
            self._started = True
            self._start_round(0, now)
        else:
            raise ConsensusError(f"unknown consensus event {type(event).__name__}", code="consensus.unknown_event")
        if self._started:
            while self._decision is None and self._apply_one_rule(now):
                pass
        return out

    # -- inputs --------------------------------------------------------------------------------

    def _state_for(self, height: int, round_: int) -> HeightState:
        """The state that keeps messages of (height, round), or raise why none does (§3)."""
        if height < self._height:
            raise ConsensusError(f"message for height {height}; this node is at {self._height}", code="consensus.old_height", height=height)
        if height == self._height:
            state, limit = self._cur, self._round + MAX_FUTURE_ROUNDS
        elif height == self._height + 1:
            if self._next is None:
                self._next = HeightState(height, self._app.validators(height))
            state, limit = self._next, MAX_FUTURE_ROUNDS
        else:
            raise ConsensusError(f"message for height {height}; this node is at {self._height}", code="consensus.future_height", height=height)
        if round_ > limit:
            raise ConsensusError(f"message for round {round_}; at most {limit} is kept", code="consensus.future_round", round=round_)
        return state

    def _on_proposal(self, proposal: Proposal) -> None:
        state = self._state_for(proposal.height, proposal.round)
        if state.has_proposal(proposal) or not state.wants_proposal(proposal):
            return
        proposal.verify(self._chain_id, state.validators)
        state.add_proposal(proposal, proposer_at(state.validators, proposal.height, proposal.round).key_id)

    def _on_vote(self, vote: Vote) -> None:
        state = self._state_for(vote.height, vote.round)
        if state.votes.is_known(vote):
            return
        vote.verify(self._chain_id, state.validators)
        evidence = state.votes.add(vote)
        if evidence is not None:
            self._out.append(evidence)

    def _on_timeout(self, event: TimeoutFired, now: int) -> None:
        """Rule 10 [57–65], the end of the empty-block wait (§3.3) and timeout_commit."""
        if event.height != self._height or not self._started:
            return
        if event.step == "commit":
            if self._decision is not None:
                self._start_height(now)
            return
        if self._decision is not None or event.round != self._round:
            return
        if event.step == "propose" and self._step is Step.PROPOSE:
            if self._awaiting_txs and self._is_proposer(self._round):
                self._awaiting_txs = False
                self._propose(now)
            else:
                self._prevote(None)
        elif event.step == "prevote" and self._step is Step.PREVOTE:
            self._precommit(None)
        elif event.step == "precommit":
            self._start_round(self._round + 1, now)

    def _on_txs(self, now: int) -> None:
        """§3.3: transactions arrived while round 0 waited for them."""
        if not self._awaiting_txs or self._decision is not None or self._step is not Step.PROPOSE:
            return
        self._awaiting_txs = False
        if self._is_proposer(self._round):
            self._propose(now)
        else:
            self._schedule("propose", self._timeouts.propose(self._round))

    # -- rounds and heights --------------------------------------------------------------------

    def _reset_height(self) -> None:
        self._round = 0
        self._step = Step.PROPOSE
        self._locked: Block | None = None
        self._locked_round = -1
        self._valid: Block | None = None
        self._valid_round = -1
        self._decision: Decide | None = None
        validators = self._cur.validators
        self._voting = self._signer is not None and validators.get(self._signer.key_id) is not None
        self._reset_round()

    def _reset_round(self) -> None:
        self._awaiting_txs = False
        self._prevote_timer_set = False
        self._precommit_timer_set = False
        self._valid_set_this_round = False

    def _start_round(self, round_: int, now: int) -> None:
        """Rule 1, StartRound [11–21], with the empty-block wait of §3.3 in round 0."""
        self._round = round_
        self._step = Step.PROPOSE
        self._reset_round()
        proposer = self._is_proposer(round_)
        if round_ == 0 and not self._app.has_txs():
            self._awaiting_txs = True
            wait = self._timeouts.empty_block_interval_ms
            self._schedule("propose", wait if proposer else wait + self._timeouts.propose(0))
        elif proposer:
            self._propose(now)
        else:
            self._schedule("propose", self._timeouts.propose(round_))

    def _start_height(self, now: int) -> None:
        """After timeout_commit: the next height, with the messages kept for it (§3)."""
        assert self._decision is not None
        self._last_commit = self._decision.commit
        self._height += 1
        validators = self._app.validators(self._height)
        kept = self._next
        self._cur = kept if kept is not None and kept.validators == validators else HeightState(self._height, validators)
        self._next = None
        self._reset_height()
        self._start_round(0, now)

    def _is_proposer(self, round_: int) -> bool:
        return self._voting and proposer_at(self._cur.validators, self._height, round_).key_id == self._signer.key_id  # type: ignore[union-attr]

    # -- the rules ([lines] of the paper) --------------------------------------------------------

    def _apply_one_rule(self, now: int) -> bool:
        return (
            self._decide(now) or self._skip_round(now) or self._prevote_proposal(now) or self._lock_and_precommit(now)
            or self._precommit_nil() or self._arm_prevote_timer() or self._arm_precommit_timer()
        )

    def _decide(self, now: int) -> bool:
        """Rule 8 [49–54]: a proposal and a quorum of precommits for its block, any round."""
        state = self._cur
        for round_, block_hash in state.votes.precommit_quorums():
            proposal = state.find_proposal(round_, block_hash)
            if proposal is not None and self._is_valid(proposal.block, now):
                self._decision = Decide(proposal.block, state.votes.commit_for(round_, block_hash))
                self._out.append(self._decision)
                self._schedule("commit", self._timeouts.commit_ms)
                return True
        return False

    def _skip_round(self, now: int) -> bool:
        """Rule 9 [55–56]: an f+1 set of messages for a higher round starts that round."""
        votes = self._cur.votes
        later = [r for r in votes.rounds_with_senders() if r > self._round and is_skip_set(votes.sender_power(r), votes.total)]
        if not later:
            return False
        self._start_round(max(later), now)
        return True

    def _prevote_proposal(self, now: int) -> bool:
        """Rules 2 [22–27] and 3 [28–33]: prevote on the round's proposal while in propose."""
        if self._step is not Step.PROPOSE:
            return False
        for proposal in self._cur.proposals_in(self._round):
            block, vr = proposal.block, proposal.pol_round
            if vr == -1:
                good = self._locked_round == -1 or self._locked.hash == block.hash  # type: ignore[union-attr]
            elif self._cur.votes.has_quorum_for(vr, VoteType.PREVOTE, block.hash):
                good = self._locked_round <= vr or self._locked.hash == block.hash  # type: ignore[union-attr]
            else:
                continue
            self._prevote(block.hash if good and self._is_valid(block, now) else None)
            return True
        return False

    def _lock_and_precommit(self, now: int) -> bool:
        """Rule 5 [36–43]: a valid proposal with a quorum of prevotes in this round, first time."""
        if self._step is Step.PROPOSE or self._valid_set_this_round:
            return False
        for proposal in self._cur.proposals_in(self._round):
            block = proposal.block
            if self._cur.votes.has_quorum_for(self._round, VoteType.PREVOTE, block.hash) and self._is_valid(block, now):
                self._valid_set_this_round = True
                if self._step is Step.PREVOTE:
                    self._locked, self._locked_round = block, self._round
                    self._precommit(block.hash)
                self._valid, self._valid_round = block, self._round
                return True
        return False

    def _precommit_nil(self) -> bool:
        """Rule 6 [44–46]: a quorum of prevotes for nil while in prevote."""
        if self._step is Step.PREVOTE and self._cur.votes.has_quorum_for(self._round, VoteType.PREVOTE, None):
            self._precommit(None)
            return True
        return False

    def _arm_prevote_timer(self) -> bool:
        """Rule 4 [34–35]: a quorum of prevotes of any kind while in prevote, first time."""
        if self._step is Step.PREVOTE and not self._prevote_timer_set and self._cur.votes.has_quorum_any(self._round, VoteType.PREVOTE):
            self._prevote_timer_set = True
            self._schedule("prevote", self._timeouts.prevote(self._round))
            return True
        return False

    def _arm_precommit_timer(self) -> bool:
        """Rule 7 [47–48]: a quorum of precommits of any kind, first time."""
        if not self._precommit_timer_set and self._cur.votes.has_quorum_any(self._round, VoteType.PRECOMMIT):
            self._precommit_timer_set = True
            self._schedule("precommit", self._timeouts.precommit(self._round))
            return True
        return False

    # -- outputs -------------------------------------------------------------------------------

    def _is_valid(self, block: Block, now: int) -> bool:
        """valid(v) of §3.2: the application accepts the block (asked once per block) and its
        time is at most now + MAX_CLOCK_DRIFT_MS."""
        validity = self._cur.validity
        if block.hash not in validity:
            try:
                self._app.validate(block)
                validity[block.hash] = None
            except LedgerError as exc:
                validity[block.hash] = exc
        return validity[block.hash] is None and block.header.time <= now + MAX_CLOCK_DRIFT_MS

    def _propose(self, now: int) -> None:
        """The proposer's half of rule 1 [14–19] and §3.1."""
        assert self._signer is not None
        if self._valid is not None:
            block, pol_round = self._valid, self._valid_round
        else:
            time = max(now, self._app.last_block_time() + 1)
            block = self._app.propose(self._height, self._round, time, self._signer.key_id, self._last_commit)
            pol_round = -1
        signature = self._sign(Step.PROPOSE, PROPOSAL_PURPOSE, proposal_sign_bytes(self._height, self._round, pol_round, block.hash))
        if signature is None:  # the guard refused (a restart): wait like any other validator
            self._schedule("propose", self._timeouts.propose(self._round))
            return
        proposal = Proposal(self._height, self._round, pol_round, block, signature)
        self._cur.add_proposal(proposal, self._signer.key_id)
        self._out.append(Broadcast(proposal))

    def _prevote(self, block_hash: bytes | None) -> None:
        self._step = Step.PREVOTE
        self._vote(VoteType.PREVOTE, block_hash)

    def _precommit(self, block_hash: bytes | None) -> None:
        self._step = Step.PRECOMMIT
        self._vote(VoteType.PRECOMMIT, block_hash)

    def _vote(self, vote_type: VoteType, block_hash: bytes | None) -> None:
        if not self._voting:
            return
        assert self._signer is not None
        step = Step.PREVOTE if vote_type is VoteType.PREVOTE else Step.PRECOMMIT
        signature = self._sign(step, VOTE_PURPOSE, vote_sign_bytes(vote_type, self._height, self._round, block_hash))
        if signature is None:
            return
        vote = Vote(vote_type, self._height, self._round, block_hash, self._signer.key_id, signature)
        self._cur.votes.add(vote)
        self._out.append(Broadcast(vote))

    def _sign(self, step: Step, purpose: str, message: bytes) -> Signature | None:
        try:
            return self._signer.sign(self._height, self._round, step, purpose, message)  # type: ignore[union-attr]
        except LedgerError:
            return None

    def _schedule(self, step: str, delay_ms: int) -> None:
        self._out.append(ScheduleTimeout(self._height, self._round, step, delay_ms))
