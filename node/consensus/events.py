"""The inputs and outputs of the consensus state machine (consensus.md §3) and their WAL form.

Events go into `Consensus.handle`; actions come out, and the runtime performs them in order
before the next event. `wal_record` turns an event into the canonical JSON payload the WAL
stores (§10) and `wal_event` turns it back, so that a restarted node can replay its inputs
through a fresh state machine. Plain immutable values: this module must never read the clock,
touch a file or hold state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ledger.block import Block
from ledger.commit import MAX_ROUND, Commit
from ledger.encoding import decode, encode
from ledger.errors import EncodingError, LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_int, get_str
from node.consensus.messages import MAX_FRAME, MAX_HEIGHT, MESSAGE_MAX_DEPTH, Message, Proposal, Vote, encode_message

TIMEOUT_STEPS = ("propose", "prevote", "precommit", "commit")
WAL_KINDS = ("start", "proposal", "vote", "timeout", "txs")


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Begin consensus at the engine's height (round 0)."""


@dataclass(frozen=True)
class ProposalReceived:
    proposal: Proposal


@dataclass(frozen=True)
class VoteReceived:
    vote: Vote


@dataclass(frozen=True)
class TimeoutFired:
    """A timer scheduled by ScheduleTimeout ran out; `step` is one of TIMEOUT_STEPS."""

    height: int
    round: int
    step: str

    def __post_init__(self) -> None:
        if self.step not in TIMEOUT_STEPS:
            raise ValidationError(f"timeout step must be one of {', '.join(TIMEOUT_STEPS)}, got {self.step!r}", code="consensus.bad_timeout", field="step")


@dataclass(frozen=True)
class TxsAvailable:
    """The mempool went from empty to holding transactions (§3.3)."""


Event = Union[Start, ProposalReceived, VoteReceived, TimeoutFired, TxsAvailable]


# -- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    """Send `message` to every peer."""

    message: Message


@dataclass(frozen=True)
class ScheduleTimeout:
    """Deliver TimeoutFired(height, round, step) after `delay_ms` (earlier timers stay armed)."""

    height: int
    round: int
    step: str
    delay_ms: int


@dataclass(frozen=True)
class Decide:
    """`block` is decided with certificate `commit`: commit it before the next event (§3 rule 8)."""

    block: Block
    commit: Commit


@dataclass(frozen=True)
class Evidence:
    """Two different signed votes of one validator for one (height, round, type) (§6)."""

    vote_a: Vote
    vote_b: Vote


Action = Union[Broadcast, ScheduleTimeout, Decide, Evidence]


# -- the WAL payload (§10) -----------------------------------------------------------------------


def wal_record(event: Event) -> bytes:
    """The canonical JSON payload of `event` for the WAL (§10):
    {"kind": "start"} | {"kind": "txs"} | {"kind": "timeout", "height", "round", "step"} |
    {"kind": "proposal" | "vote", "height", "round", "message": <message JSON>} (a vote also
    carries "step": "prevote" | "precommit"). Raises TypeError for anything but an Event."""
    if isinstance(event, Start):
        return b'{"kind":"start"}'
    if isinstance(event, TxsAvailable):
        return b'{"kind":"txs"}'
    if isinstance(event, TimeoutFired):
        return encode({"kind": "timeout", "height": event.height, "round": event.round, "step": event.step})
    if isinstance(event, ProposalReceived):
        p = event.proposal
        return b'{"height":%d,"kind":"proposal","message":%b,"round":%d}' % (p.height, encode_message(p), p.round)
    if isinstance(event, VoteReceived):
        v = event.vote
        return b'{"height":%d,"kind":"vote","message":%b,"round":%d,"step":"%b"}' % (v.height, encode_message(v), v.round, v.type.value.encode())
    raise TypeError(f"not a consensus event: {type(event).__name__}")


def wal_event(payload: bytes) -> Event:
    """The event whose `wal_record` is exactly `payload`.

    Raises ValidationError "wal.bad_record" (not canonical JSON, unknown kind, missing or extra
    member, or a height, round or step that disagrees with the message; `field` names it, and
    `cause` the underlying code)."""
    try:
        obj = expect_object(decode(payload, max_bytes=MAX_FRAME + 4096, max_depth=MESSAGE_MAX_DEPTH + 1), "wal")
        kind = get_str(obj, "kind", "wal", max_len=16)
        if kind in ("start", "txs"):
            expect_keys(obj, "wal", ("kind",))
            return Start() if kind == "start" else TxsAvailable()
        if kind == "timeout":
            expect_keys(obj, "wal", ("kind", "height", "round", "step"))
            return TimeoutFired(
                get_int(obj, "height", "wal", minimum=1, maximum=MAX_HEIGHT), get_int(obj, "round", "wal", maximum=MAX_ROUND - 1),
                get_str(obj, "step", "wal", max_len=16),
            )
        if kind == "proposal":
            expect_keys(obj, "wal", ("kind", "height", "round", "message"))
            proposal = Proposal.from_json(obj["message"], "wal.message", decoded=True)
            _expect_position(obj, proposal.height, proposal.round)
            return ProposalReceived(proposal)
        if kind == "vote":
            expect_keys(obj, "wal", ("kind", "height", "round", "step", "message"))
            vote = Vote.from_json(obj["message"], "wal.message", decoded=True)
            _expect_position(obj, vote.height, vote.round)
            if obj["step"] != vote.type.value:
                raise ValidationError("wal.step disagrees with the vote's type", code="wal.mismatch", field="wal.step")
            return VoteReceived(vote)
        raise ValidationError(f"unknown WAL record kind {kind!r}; expected one of {', '.join(WAL_KINDS)}", code="wal.unknown_kind", field="wal.kind")
    except (ValidationError, EncodingError) as exc:
        field = exc.fields.get("field", "wal")
        raise ValidationError(f"bad WAL record: {exc}", code="wal.bad_record", field=str(field), cause=exc.code) from exc
    except LedgerError as exc:
        raise ValidationError(f"bad WAL record: {exc}", code="wal.bad_record", field="wal", cause=exc.code) from exc


def _expect_position(obj: dict[str, object], height: int, round_: int) -> None:
    if obj["height"] != height or obj["round"] != round_:
        raise ValidationError("wal height and round disagree with the message", code="wal.mismatch", field="wal.height")

