"""WAL payloads of consensus events (consensus.md §10): canonical, and back to the same event."""

from __future__ import annotations

import pytest

from ledger.encoding import encode
from ledger.errors import ValidationError
from node.consensus.events import ProposalReceived, Start, TimeoutFired, TxsAvailable, VoteReceived, wal_event, wal_record

from .test_messages import NIL_VOTE, PROPOSAL, VOTE

EVENTS = [
    Start(), TxsAvailable(), TimeoutFired(3, 1, "prevote"), TimeoutFired(1, 0, "commit"),
    ProposalReceived(PROPOSAL), VoteReceived(VOTE), VoteReceived(NIL_VOTE),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_record_is_canonical_and_replays_to_the_same_event(event):
    record = wal_record(event)
    assert wal_event(record) == event
    assert wal_record(wal_event(record)) == record


def test_record_members_are_those_of_section_10():
    assert wal_record(TimeoutFired(3, 1, "prevote")) == encode({"kind": "timeout", "height": 3, "round": 1, "step": "prevote"})
    vote_record = {"kind": "vote", "height": 1, "round": 0, "step": "precommit", "message": VOTE.to_json()}
    assert wal_record(VoteReceived(VOTE)) == encode(vote_record)
    proposal_record = {"kind": "proposal", "height": 1, "round": 0, "message": PROPOSAL.to_json()}
    assert wal_record(ProposalReceived(PROPOSAL)) == encode(proposal_record)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"kind":"nap"}', "wal.kind"),
        (b'{"height":1,"kind":"start"}', "wal.height"),
        (b'{"kind": "start"}', "wal"),
        (encode({"kind": "timeout", "height": 1, "round": 0, "step": "lunch"}), "step"),
        (encode({"kind": "timeout", "height": 0, "round": 0, "step": "propose"}), "wal.height"),
        (encode({"kind": "vote", "height": 2, "round": 0, "step": "precommit", "message": VOTE.to_json()}), "wal.height"),
        (encode({"kind": "vote", "height": 1, "round": 0, "step": "prevote", "message": VOTE.to_json()}), "wal.step"),
        (encode({"kind": "proposal", "height": 1, "round": 0, "message": VOTE.to_json()}), "wal.message.validator"),
    ],
)
def test_bad_records_are_refused_naming_the_field(payload, field):
    with pytest.raises(ValidationError) as err:
        wal_event(payload)
    assert (err.value.code, err.value.field) == ("wal.bad_record", field)


def test_only_events_have_records():
    with pytest.raises(TypeError):
        wal_record(object())  # type: ignore[arg-type]
