"""Relay for liveness (docs/spec/consensus.md §3): which signed messages a node sends again, to
whom, and when.

The state machine sees only what reaches it, and nobody resends a lost message by itself; the
paper's liveness assumes that what one correct node holds reaches the others. So:

- a node whose state machine has not moved (same height, round and step) for a status
  interval sends every peer again the proposals and votes it holds for its current round and
  the prevotes of its valid round (the proof of lock a re-proposal needs, rule 3), its own and
  others' alike (`round_messages`);
- a peer whose status says, twice in a row, that it is one height below the height this node
  decided gets the proposal and the precommits that decided it (`decided_messages`): it then
  decides by rule 8 without waiting for block sync.

`Relay` is the bookkeeping: status intervals are counted by the caller's ticks, and a peer gets
at most one burst per interval, whatever the reason. Pure: no clock, no network; node.driver
and the simulator send what it returns. It never makes up a message: it only hands back signed
messages the node holds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from ledger.commit import Commit, VoteType
from node.consensus.messages import Message, Proposal, Vote

Position = tuple[int, int, int]  # (height, round, step) of a running state machine


class HeldMessages(Protocol):
    """What `round_messages` reads of a state machine (node.consensus.Consensus)."""

    @property
    def round(self) -> int: ...

    @property
    def valid_round(self) -> int: ...

    def proposals_of(self, round_: int) -> list[Proposal]: ...

    def votes_of(self, round_: int) -> list[Vote]: ...


def round_messages(engine: HeldMessages) -> list[Message]:
    """The proposals and votes `engine` holds for its current round, then the prevotes of its
    valid round when that is an earlier round (§3)."""
    round_ = engine.round
    messages: list[Message] = [*engine.proposals_of(round_), *engine.votes_of(round_)]
    valid_round = engine.valid_round
    if 0 <= valid_round != round_:
        messages += [v for v in engine.votes_of(valid_round) if v.type is VoteType.PREVOTE]
    return messages


def decided_messages(proposal: Proposal, commit: Commit) -> list[Message]:
    """The proposal that decided `commit`'s height, then the precommits of `commit` as votes
    (the signatures are the validators' own: blocks.md §4). Precondition: `proposal` is the
    proposal of `commit.round` for `commit.block_hash`."""
    votes = [Vote(VoteType.PRECOMMIT, commit.height, commit.round, commit.block_hash, s.validator, s.signature) for s in commit.signatures]
    return [proposal, *votes]


class Relay:
    """One node's relay bookkeeping: the intervals, the last decision, the peers' heights."""

    def __init__(self) -> None:
        self._interval = 0
        self._position: Position | None = None
        self._bursts: dict[Hashable, int] = {}  # peer -> interval of its last burst
        self._heights: dict[Hashable, int] = {}  # peer -> height of its last status
        self._decided: tuple[Proposal, Commit] | None = None

    @property
    def decided_height(self) -> int | None:
        """The height of the decision kept for peers one height behind, if any."""
        return None if self._decided is None else self._decided[1].height

    def on_interval(self, position: Position | None) -> bool:
        """A status interval ended with the state machine at `position` (None: not running).
        True when it is running and did not move since the previous interval ended: the
        caller sends `round_messages` to every peer that `claim`s a burst."""
        self._interval += 1
        stuck = position is not None and position == self._position
        self._position = position
        return stuck

    def claim(self, peer: Hashable) -> bool:
        """Whether `peer` may get a burst now; counts it (one per peer per interval)."""
        if self._bursts.get(peer) == self._interval:
            return False
        self._bursts[peer] = self._interval
        return True

    def on_decided(self, proposal: Proposal | None, commit: Commit) -> None:
        """This node decided `commit`'s height on `proposal` (None: it does not hold it)."""
        self._decided = None if proposal is None else (proposal, commit)

    def forget_decision(self) -> None:
        """The tip moved past the kept decision (block sync): there is nothing to relay."""
        self._decided = None

    def on_status(self, peer: Hashable, height: int) -> list[Message]:
        """`peer` reported `height` as its last committed height: the decided proposal and
        precommits when it said that height before too, it is one below the kept decision and
        `peer` may get a burst (`claim`); else []."""
        previous = self._heights.get(peer)
        self._heights[peer] = height
        decided = self._decided
        if decided is None or height != decided[1].height - 1 or previous != height or not self.claim(peer):
            return []
        return decided_messages(*decided)

    def on_peer_gone(self, peer: Hashable) -> None:
        """`peer` disconnected: its next status starts afresh."""
        self._heights.pop(peer, None)
