"""Tests of node.usejournal: use records are on disk before their receipts are signed, go to the
ledger as use.record transactions of a real chain, survive restarts until recorded there, and
are never renumbered."""

from __future__ import annotations

import os

import pytest

from ledger.errors import LedgerError
from ledger.genesis import Genesis
from ledger.kv import Prefixed
from ledger.receipt import verify_receipt
from ledger.state import FLAT_PREFIX
from ledger.uses import recorded_ranges
from node.usejournal import JOURNAL_FILE, UseJournal
from tests.ledger.conftest import GENESIS_TIME, make_net
from tests.ledger.test_uses import record

NODE = "beijing-1"


@pytest.fixture
def net():
    return make_net()


def asked(i: int = 0) -> dict[str, object]:
    """A record as the API process sends it: without node and seq."""
    r = record(0, licence=i % 3)
    del r["node"], r["seq"]
    return r


def recorded(local) -> list[tuple[int, int]]:
    return recorded_ranges(Prefixed(local.chain.kv, FLAT_PREFIX), NODE)


def journal(net, home, local) -> UseJournal:
    return UseJournal(home, NODE, net.validator_keys[0], net.genesis.chain_id, recorded(local))


def produce(net, local, txs) -> None:
    pending = local.produce(txs, GENESIS_TIME + 1000 * (local.chain.height + 1))
    assert not pending.rejected, [r.error for r in pending.rejected]


def test_records_get_seqs_in_order_and_receipts_that_verify(net, tmp_path):
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    answers = j.record([[asked(0), asked(1)], [asked(2)]])
    assert [[r["record"]["seq"] for r in batch] for batch in answers] == [[0, 1], [2]]
    for batch in answers:
        for receipt in batch:
            proven = verify_receipt(receipt, net.genesis)
            assert proven.record["node"] == NODE and not proven.committed
    assert oct(os.stat(tmp_path / JOURNAL_FILE).st_mode & 0o777) == "0o600"


def test_a_malformed_batch_is_refused_alone(net, tmp_path):
    local = net.local()
    j = journal(net, tmp_path, local)
    bad = asked()
    bad["verdict"] = "maybe"
    answers = j.record([[asked()], [bad], [asked()]])
    assert isinstance(answers[1], LedgerError) and answers[1].code == "use.bad_verdict"
    assert [answers[0][0]["record"]["seq"], answers[2][0]["record"]["seq"]] == [0, 1]
    assert len(j) == 2


def test_taken_records_commit_and_are_forgotten(net, tmp_path):
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked(i)] for i in range(100)])
    held: set[bytes] = set()
    full = j.take(held.__contains__)
    assert len(full) >= 2 and j.loose  # 100 records fill two 16 KiB transactions at once; the rest waits
    assert j.pack() == 1 and not j.loose
    txs = full + j.take(held.__contains__)
    held.update(tx.id for tx in txs)
    assert j.take(held.__contains__) == []  # all are in flight
    produce(net, local, txs)
    j.settle(recorded(local))
    assert len(j) == 0 and recorded(local) == [(0, 99)]


def test_records_of_a_transaction_that_left_the_mempool_are_offered_again(net, tmp_path):
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked()]])
    assert j.take(lambda tx_id: True) == [] and j.loose == 1  # one record waits for more
    j.pack()
    [first] = j.take(lambda tx_id: True)
    assert j.take(lambda tx_id: True) == []
    assert j.take(lambda tx_id: False) == [] and j.loose == 1  # dropped without a commit: packed again
    j.pack()
    [again] = j.take(lambda tx_id: False)
    assert again.id != first.id and again.body["records"] == first.body["records"]
    j.release(again)  # not admitted: offered again, as it is
    assert [tx.id for tx in j.take(lambda tx_id: True)] == [again.id]


def test_a_partial_transaction_is_packed_once_its_oldest_record_has_waited(net, tmp_path, monkeypatch):
    local = net.local()
    j = journal(net, tmp_path, local)
    j.record([[asked()]])
    assert j.loose == 1
    monkeypatch.setattr("node.usejournal.PACK_AFTER_S", 0.0)
    j.record([[asked()]])  # the next record finds the first waited long enough
    assert j.loose == 0 and len(j.take(lambda tx_id: False)) == 1


def test_take_hands_out_at_most_its_limit_and_keeps_the_rest_ready(net, tmp_path):
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked(i)] for i in range(200)])
    j.pack()
    held: set[bytes] = set()
    taken = []
    while batch := j.take(held.__contains__, limit=2):
        assert len(batch) <= 2
        held.update(tx.id for tx in batch)
        taken += batch
    seqs = [r["seq"] for tx in taken for r in tx.body["records"]]
    assert seqs == list(range(200))  # every record once, in order
    produce(net, local, taken)
    j.settle(recorded(local))
    assert len(j) == 0


def test_pending_records_survive_a_restart_and_numbering_resumes(net, tmp_path):
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked(i)] for i in range(5)])
    j.pack()
    [tx] = j.take(lambda tx_id: False)
    j.close()
    j = journal(net, tmp_path, local)
    assert len(j) == 5 and j.next_seq == 5
    produce(net, local, j.take(lambda tx_id: False))
    j.settle(recorded(local))
    j.close()
    j = journal(net, tmp_path, local)
    assert len(j) == 0 and j.next_seq == 5
    assert j.record([[asked()]])[0][0]["record"]["seq"] == 5


def test_a_torn_last_append_is_cut_away(net, tmp_path):
    local = net.local()
    j = journal(net, tmp_path, local)
    j.record([[asked(0)], [asked(1)]])
    j.close()
    path = tmp_path / JOURNAL_FILE
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    j = journal(net, tmp_path, local)
    assert len(j) == 1 and j.next_seq == 1


def test_compaction_keeps_pending_records_and_the_highest_seq(net, tmp_path, monkeypatch):
    monkeypatch.setattr("node.usejournal.COMPACT_AFTER", 10)
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked(i)] for i in range(30)])
    j.pack()
    produce(net, local, j.take(lambda tx_id: False))
    j.record([[asked(i)] for i in range(2)])  # seqs 30, 31, pending
    size_before = (tmp_path / JOURNAL_FILE).stat().st_size
    j.settle(recorded(local))
    assert (tmp_path / JOURNAL_FILE).stat().st_size < size_before
    assert len(j) == 2
    j.record([[asked()]])  # appended after the rewrite
    j.close()
    j = journal(net, tmp_path, local)
    assert len(j) == 3 and j.next_seq == 33
    produce(net, local, j.take(lambda tx_id: False))
    j.settle(recorded(local))
    assert len(j) == 0
    j.close()
    j = journal(net, tmp_path, local)
    assert j.next_seq == 33 and len(j) == 0


def test_the_highest_seq_survives_compaction_when_everything_is_recorded(net, tmp_path, monkeypatch):
    monkeypatch.setattr("node.usejournal.COMPACT_AFTER", 5)
    local = net.local()
    produce(net, local, [])
    j = journal(net, tmp_path, local)
    j.record([[asked(i)] for i in range(8)])
    j.pack()
    produce(net, local, j.take(lambda tx_id: False))
    j.settle(recorded(local))
    j.close()
    j = UseJournal(tmp_path, NODE, net.validator_keys[0], net.genesis.chain_id, [])  # a state that forgot them
    assert j.next_seq == 8 and len(j) == 0
