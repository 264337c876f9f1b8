"""node.replay: a WAL log read back as the inputs a fresh state machine replays (consensus.md §10)."""

from __future__ import annotations

from ledger.commit import VoteType
from node.consensus.events import Start, TimeoutFired, TxsAvailable, VoteReceived, wal_record
from node.replay import read_replay
from tests.node.consensus.harness import NET
from tests.node.consensus.support import sign_vote

VOTE = VoteReceived(sign_vote(NET.keys[1], VoteType.PREVOTE, 3, 0, None))


def test_an_empty_log_means_start_is_a_new_input():
    replay = read_replay([])
    assert replay.log_start is True and replay.events == () and replay.skipped == ()


def test_recorded_inputs_come_back_in_order_without_start():
    records = [wal_record(e) for e in (Start(), VOTE, TimeoutFired(3, 0, "prevote"), TxsAvailable(), Start())]
    replay = read_replay(records)
    assert replay.log_start is False
    assert replay.events == (VOTE, TimeoutFired(3, 0, "prevote"), TxsAvailable())


def test_an_unreadable_record_is_skipped_with_its_error_and_the_rest_replayed():
    records = [wal_record(Start()), b'{"kind":"nap"}', wal_record(VOTE)]
    replay = read_replay(records)
    assert replay.events == (VOTE,)
    [error] = replay.skipped
    assert error.code == "wal.bad_record" and error.fields["cause"] == "wal.unknown_kind"
