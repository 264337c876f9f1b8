"""ledger.uses: use records (用证留痕, docs/spec/domain.md §10): the record form, `use.record`
through real blocks (ranges, indexes, every refusal with its code and field), the reads over a
ChainView, batching, and the coalesced ranges against a literal reference (a set of seqs)."""

from __future__ import annotations

import copy
import hashlib
import os
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.audit import audit_chain
from ledger.chain import Chain
from ledger.encoding import b64encode, decode, encode
from ledger.errors import ValidationError
from ledger.execute import Context, TxView
from ledger.ids import complete_uscc, format_licence_id
from ledger.kv import MemoryKV
from ledger.state import INDEX_PREFIX
from ledger.tx import MAX_TX_BYTES, Tx
from ledger.uses import (
    KIND, MAX_RANGES, MAX_RECORDS, Place, check_record, find_record, format_use_id, is_recorded, list_uses, merge_ranges,
    pack_records, parse_use_id, record_tx, recorded_ranges, use_place,
)
from ledger.uses import _record  # the handler, for a body no transaction can carry
from ledger.view import ChainView

from .test_governance import Ledger

TYPE = complete_uscc("11100000000013338") + "032"
LICENCES = [format_licence_id(TYPE, complete_uscc("91110000000000001"), str(2430599 + i), "001") for i in range(3)]
CERT = b64encode(hashlib.sha256(b"tianjin-gateway certificate").digest())


def record(seq: int, node: str = "beijing-1", licence: int = 0, **changes) -> dict[str, object]:
    """A use record as the API makes it: a Tianjin partner asks about a Beijing licence."""
    r: dict[str, object] = {
        "node": node, "seq": seq, "time": 1_795_654_800_000,
        "caller": {"region": "tianjin", "role": "partner", "name": "tianjin-gateway", "certificate": CERT},
        "purpose": {"item_code": "11110000000000000X4442001000", "item_name": "食品经营许可核查", "serial": "TJ-2026-000123456"},
        "licence_id": LICENCES[licence], "asking_region": "tianjin", "presented": "id", "verdict": "valid", "height": 1,
    }
    r.update(changes)
    return r


class Uses(Ledger):
    """A chain whose block 1 is an anchor (so use records may reflect height 1)."""

    def __init__(self, net) -> None:
        super().__init__(net)
        self.accept(net.anchor())

    def key(self, node: str):
        names = [v.name for v in self.net.genesis.validators]
        return self.net.validator_keys[names.index(node)]

    def batch(self, *records: dict[str, object], node: str = "beijing-1") -> Tx:
        return record_tx(self.net.genesis.chain_id, self.key(node), list(records), os.urandom(16))

    def raw(self, body: dict[str, object], node: str = "beijing-1") -> Tx:
        """A use.record transaction signed as is, without record_tx's checks."""
        return self.signed(self.key(node), KIND, body)

    @property
    def view(self) -> ChainView:
        return ChainView(self.local.chain.kv, self.net.genesis)


@pytest.fixture
def uses(net) -> Uses:
    return Uses(net)


# -- the record ------------------------------------------------------------------------------------


def test_check_record_returns_the_record_in_canonical_member_order():
    given_order = dict(reversed(list(record(7).items())))
    checked = check_record(given_order, "r")
    assert checked == record(7) and list(checked) == sorted(checked)
    assert list(checked["caller"]) == sorted(checked["caller"]) and list(checked["purpose"]) == sorted(checked["purpose"])
    assert encode(checked) == encode(record(7))


def _set(path: str, value):
    def edit(r):
        *parents, last = path.split(".")
        target = r
        for name in parents:
            target = target[name]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return edit


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, code",
    [
        ("extra", 1, "validation.unknown_field"),
        ("verdict", _DELETE, "validation.missing_field"),
        ("node", "Beijing-1", "validation.format"),
        ("node", "b" * 33, "validation.length"),
        ("seq", -1, "validation.range"),
        ("seq", 2**53, "validation.range"),
        ("seq", True, "validation.type"),
        ("time", "now", "validation.type"),
        ("height", 0, "validation.range"),
        ("caller", "tianjin-gateway", "validation.type"),
        ("caller.role", "validator", "use.bad_role"),
        ("caller.role", "observer", "use.bad_role"),
        ("caller.name", "Tianjin Gateway", "validation.format"),
        ("caller.name", "a" * 64, "validation.length"),
        ("caller.region", "tian_jin", "validation.format"),
        ("caller.certificate", b64encode(bytes(31)), "validation.length"),
        ("caller.certificate", "not base64!", "validation.binary"),
        ("caller.person", "张三", "validation.unknown_field"),
        ("purpose.item_code", "", "validation.length"),
        ("purpose.item_code", "事项", "validation.format"),
        ("purpose.item_code", "x" * 65, "validation.length"),
        ("purpose.item_name", "a\nb", "validation.format"),
        ("purpose.item_name", "名" * 129, "validation.length"),
        ("purpose.serial", "TJ 2026", "validation.format"),
        ("purpose.serial", "s" * 65, "validation.length"),
        ("purpose.holder_name", "张三", "validation.unknown_field"),
        ("licence_id", "1.2.156.3005.2.x", "ids.bad_licence_id"),
        ("licence_id", LICENCES[0][:-1] + ("A" if LICENCES[0][-1] != "A" else "B"), "ids.bad_check_character"),
        ("asking_region", "", "validation.length"),
        ("presented", "photo", "use.bad_presented"),
        ("verdict", "lapsed", "use.bad_verdict"),
        ("verdict", None, "validation.type"),
    ],
)
def test_check_record_refuses_each_malformed_member_naming_it(path, value, code):
    r = copy.deepcopy(record(1))
    _set(path, value)(r)
    with pytest.raises(ValidationError) as err:
        check_record(r, "tx.body.records[4]")
    assert (err.value.code, err.value.field) == (code, f"tx.body.records[4].{path}")


@pytest.mark.parametrize("role", ["partner", "staff", "issuer", "auditor", "region-admin"])
@pytest.mark.parametrize("presented", ["id", "document", "qr"])
def test_check_record_accepts_every_caller_role_and_way_of_presenting(role, presented):
    r = record(1, presented=presented)
    r["caller"] = {**r["caller"], "role": role}
    assert check_record(r, "r")["caller"]["role"] == role


def test_use_ids_name_a_record_and_parse_back():
    assert format_use_id(record(42)) == "beijing-1:42"
    assert parse_use_id("beijing-1:42") == ("beijing-1", 42)
    assert parse_use_id("x:0") == ("x", 0)
    for bad in ("beijing-1:042", "beijing-1:-1", "Beijing-1:4", "beijing-1", ":4", "beijing-1:9007199254740992", 7):
        with pytest.raises(ValidationError) as err:
            parse_use_id(bad, "after")
        assert (err.value.code, err.value.field) == ("use.bad_id", "after")


# -- use.record through blocks -----------------------------------------------------------------------


def test_records_commit_with_their_ranges_indexes_and_places(uses):
    first, second = uses.batch(*(record(s) for s in range(10, 20))), uses.batch(*(record(s, licence=s % 2) for s in range(10)))
    uses.accept(first, second)  # out of order: both in flight at once
    height = uses.local.chain.height
    state = uses.view.state()
    assert recorded_ranges(state, "beijing-1") == [(0, 19)]
    assert decode(state.get(b"use/beijing-1")) == {"ranges": [[0, 19]]}
    assert is_recorded(state, "beijing-1", 0) and is_recorded(state, "beijing-1", 19) and not is_recorded(state, "beijing-1", 20)
    assert recorded_ranges(state, "tianjin-2") == [] and not is_recorded(state, "tianjin-2", 0)
    assert use_place(uses.view, "beijing-1", 12) == Place(height, 0, 2)
    assert use_place(uses.view, "beijing-1", 3) == (height, 1, 3)
    assert use_place(uses.view, "beijing-1", 20) is None
    assert find_record(uses.view, "beijing-1", 3) == (record(3, licence=1), Place(height, 1, 3))
    assert find_record(uses.view, "beijing-1", 99) is None
    key = INDEX_PREFIX + f"use/{LICENCES[1]}/beijing-1/{3:020d}".encode()
    assert uses.local.chain.kv.get(key) == encode(record(3, licence=1))
    listed, cursor = list_uses(uses.view, LICENCES[1], limit=100)
    assert [r["seq"] for r in listed] == [1, 3, 5, 7, 9] and cursor is None
    assert [r["seq"] for r in list_uses(uses.view, LICENCES[0], limit=100)[0]] == [0, 2, 4, 6, 8, *range(10, 20)]
    assert list_uses(uses.view, LICENCES[2], limit=10) == ([], None)


def test_gaps_are_ranges_until_filled(uses):
    uses.accept(uses.batch(record(0), record(1), record(5), record(9)))
    assert recorded_ranges(uses.state, "beijing-1") == [(0, 1), (5, 5), (9, 9)]
    uses.accept(uses.batch(record(2), record(3), record(4), record(6), record(7), record(8)))
    assert recorded_ranges(uses.state, "beijing-1") == [(0, 9)]


def test_each_node_has_its_own_ranges(uses):
    uses.accept(uses.batch(record(0)), uses.batch(record(0, node="tianjin-2"), node="tianjin-2"))
    assert recorded_ranges(uses.state, "beijing-1") == recorded_ranges(uses.state, "tianjin-2") == [(0, 0)]
    listed, _ = list_uses(uses.view, LICENCES[0], limit=10)
    assert [format_use_id(r) for r in listed] == ["beijing-1:0", "tianjin-2:0"]


def test_a_record_is_committed_once(uses):
    uses.accept(uses.batch(record(3), record(4)))
    again = uses.batch(record(2), record(4))  # a resubmission that overlaps (new nonce, new tx id)
    error = uses.reject(again)
    assert (error.code, error.field, error.seq) == ("use.exists", "tx.body.records[1].seq", 4)
    both = uses.produce(uses.batch(record(5)), uses.batch(record(5)))
    assert len(both.block.txs) == 1 and [r.error.code for r in both.rejected] == ["use.exists"]


def test_seqs_must_increase_within_a_transaction(uses):
    for seqs in ((1, 1), (2, 1)):
        error = uses.reject(uses.raw({"records": [record(s) for s in seqs]}))
        assert (error.code, error.field) == ("use.seq_order", "tx.body.records[1].seq")
    with pytest.raises(ValidationError) as err:
        uses.batch(record(2), record(1))
    assert err.value.code == "use.seq_order"


def test_records_are_the_signers_own(uses):
    error = uses.reject(uses.raw({"records": [record(0, node="tianjin-2")]}))
    assert (error.code, error.field) == ("use.wrong_node", "tx.body.records[0].node")
    error = uses.reject(uses.raw({"records": [record(0), record(1, node="tianjin-2")]}))
    assert (error.code, error.field) == ("use.wrong_node", "tx.body.records[1].node")
    with pytest.raises(ValidationError) as err:
        uses.batch(record(0), record(1, node="tianjin-2"))
    assert err.value.code == "use.wrong_node"


def test_only_validators_record_uses(uses):
    tx = uses.admin("beijing", KIND, {"records": [record(0)]})
    assert uses.reject(tx).code == "tx.forbidden"


def test_a_verdict_reflects_a_height_committed_before_the_records_block(uses):
    next_height = uses.local.chain.height + 1
    error = uses.reject(uses.batch(record(0), record(1, height=next_height)))
    assert (error.code, error.field, error.height) == ("use.bad_height", "tx.body.records[1].height", next_height)
    uses.accept(uses.batch(record(0, height=next_height - 1)))


@pytest.mark.parametrize("member, field", [("caller", "caller.region"), ("asking_region", "asking_region")])
def test_regions_of_a_record_are_regions_of_the_chain(uses, member, field):
    r = record(0)
    if member == "caller":
        r["caller"] = {**r["caller"], "region": "shanghai"}
    else:
        r["asking_region"] = "shanghai"
    error = uses.reject(uses.batch(r))
    assert (error.code, error.field) == ("use.unknown_region", f"tx.body.records[0].{field}")


def test_at_most_64_ranges_stand_after_a_transaction(uses):
    spread = [record(2 * i) for i in range(MAX_RANGES)]  # 0, 2, ..., 126: 64 ranges
    uses.accept(uses.batch(*spread))
    assert len(recorded_ranges(uses.state, "beijing-1")) == MAX_RANGES
    error = uses.reject(uses.batch(record(200)))
    assert (error.code, error.field, error.ranges) == ("use.too_many_gaps", "tx.body.records", MAX_RANGES + 1)
    uses.accept(uses.batch(record(1), record(127)))  # fills a gap and extends the last range
    assert len(recorded_ranges(uses.state, "beijing-1")) == MAX_RANGES - 1


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"records": []}, "validation.length", "tx.body.records"),
        ({"records": {}}, "validation.type", "tx.body.records"),
        ({}, "validation.missing_field", "tx.body.records"),
        ({"records": [record(0)], "node": "beijing-1"}, "validation.unknown_field", "tx.body.node"),
        ({"records": [record(0), record(1, verdict="maybe")]}, "use.bad_verdict", "tx.body.records[1].verdict"),
    ],
)
def test_use_record_body_errors_name_the_field(uses, body, code, field):
    error = uses.reject(uses.raw(body))
    assert (error.code, error.field) == (code, field)


def test_more_than_256_records_are_refused_before_any_is_read(uses):
    """No real record is small enough for 257 to fit 64 KiB; the count is checked all the same."""
    too_many = SimpleNamespace(body={"records": [record(i) for i in range(MAX_RECORDS + 1)]})
    identity = SimpleNamespace(name="beijing-1")
    with pytest.raises(ValidationError) as err:
        _record(TxView(uses.state), too_many, identity, Context(uses.net.genesis.chain_id, 9, 0))
    assert (err.value.code, err.value.field) == ("validation.length", "tx.body.records")
    with pytest.raises(ValidationError) as err:
        record_tx(uses.net.genesis.chain_id, uses.key("beijing-1"), too_many.body["records"], os.urandom(16))
    assert (err.value.code, err.value.field) == ("validation.length", "tx.body.records")


def test_the_place_is_the_position_in_the_block_when_earlier_transactions_are_left_out(uses):
    """A proposer leaves failing transactions out; a record's place is where its transaction
    lands in the block, as every validator re-executing the block sees it."""
    replica = Chain(MemoryKV(), uses.net.genesis)
    for h in range(1, uses.local.chain.height + 1):
        replica.commit_block(replica.execute_block(uses.local.chain.block(h)), uses.local.chain.commit(h))
    bad = uses.raw({"records": [record(0, node="tianjin-2")]})
    pending = uses.produce(bad, uses.net.anchor(), uses.batch(record(0), record(1)))
    assert [r.error.code for r in pending.rejected] == ["use.wrong_node"] and len(pending.block.txs) == 2
    height = uses.local.chain.height
    assert use_place(uses.view, "beijing-1", 1) == Place(height, 1, 1)
    replica.commit_block(replica.execute_block(pending.block), uses.local.chain.commit(height))
    index = lambda kv: dict(kv.iterate(INDEX_PREFIX))  # noqa: E731
    assert index(replica.kv) == index(uses.local.chain.kv)
    assert use_place(ChainView(replica.kv, uses.net.genesis), "beijing-1", 1) == Place(height, 1, 1)


def test_the_audit_replays_use_records(uses):
    uses.accept(uses.batch(*(record(s) for s in range(50))))
    uses.accept(uses.batch(record(50)), uses.batch(record(0, node="hebei-3"), node="hebei-3"))
    report = audit_chain(uses.local.chain.kv, uses.net.genesis)
    assert report.height == uses.local.chain.height and report.state_root == uses.local.chain.tip.state_root


# -- listing -----------------------------------------------------------------------------------------


def test_list_uses_pages_with_a_cursor(uses):
    uses.accept(
        uses.batch(*(record(s) for s in range(7))),
        uses.batch(*(record(s, node="tianjin-2") for s in range(3)), node="tianjin-2"),
    )
    everything, _ = list_uses(uses.view, LICENCES[0], limit=1000)
    assert [format_use_id(r) for r in everything] == [f"beijing-1:{s}" for s in range(7)] + [f"tianjin-2:{s}" for s in range(3)]
    pages, cursor = [], None
    while True:
        page, cursor = list_uses(uses.view, LICENCES[0], after=cursor, limit=3)
        pages.append(page)
        if cursor is None:
            break
        assert cursor == format_use_id(page[-1])
    assert [len(p) for p in pages] == [3, 3, 3, 1] and [r for p in pages for r in p] == everything
    assert list_uses(uses.view, LICENCES[0], after="tianjin-2:2", limit=5) == ([], None)
    assert list_uses(uses.view, LICENCES[0], limit=10)[1] is None  # exactly ten: no further page


def test_list_uses_refuses_bad_arguments(uses):
    for kwargs, code, field in (
        ({"limit": 0}, "validation.range", "limit"),
        ({"limit": 1001}, "validation.range", "limit"),
        ({"limit": True}, "validation.range", "limit"),
        ({"limit": 5, "after": "beijing-1"}, "use.bad_id", "after"),
    ):
        with pytest.raises(ValidationError) as err:
            list_uses(uses.view, LICENCES[0], **kwargs)
        assert (err.value.code, err.value.field) == (code, field)
    with pytest.raises(ValidationError) as err:
        list_uses(uses.view, "1.2.156.x", limit=5)
    assert err.value.code == "ids.bad_licence_id"


# -- batching ------------------------------------------------------------------------------------------


def test_pack_records_fills_transactions_that_fit_any_chain_id_and_suite(net):
    records = [record(s) for s in range(400)]
    batches = pack_records(records)
    assert [r for b in batches for r in b] == records and len(batches) == 3
    key = net.validator_keys[0]
    for batch in batches:
        tx = record_tx("c" * 50, key, batch, os.urandom(16))
        assert len(tx.raw) <= MAX_TX_BYTES
        assert len(tx.raw) + 1 + len(encode(record(0))) > MAX_TX_BYTES or batch is batches[-1]  # greedy
    small = pack_records(records[:10], max_bytes=2000)
    assert all(len(record_tx("c" * 50, key, b, os.urandom(16)).raw) <= 2000 for b in small) and sum(map(len, small)) == 10


def test_pack_records_caps_a_batch_at_256_records():
    tiny = [record(s) for s in range(MAX_RECORDS + 10)]
    assert [len(b) for b in pack_records(tiny, max_bytes=10**6)] == [MAX_RECORDS, 10]


def test_pack_records_checks_each_record_and_refuses_one_that_fits_nowhere():
    with pytest.raises(ValidationError) as err:
        pack_records([record(0), record(1, verdict="perhaps")])
    assert (err.value.code, err.value.field) == ("use.bad_verdict", "records[1].verdict")
    with pytest.raises(ValidationError) as err:
        pack_records([record(0)], max_bytes=500)
    assert (err.value.code, err.value.field) == ("tx.too_large", "records[0]")


def test_record_tx_refuses_no_records(net):
    with pytest.raises(ValidationError) as err:
        record_tx(net.genesis.chain_id, net.validator_keys[0], [], os.urandom(16))
    assert (err.value.code, err.value.field) == ("validation.length", "tx.body.records")


# -- ranges against a literal reference ----------------------------------------------------------------


def reference_ranges(seqs: set[int]) -> list[tuple[int, int]]:
    """Coalesced inclusive ranges of a set of seqs, the obvious way."""
    out: list[tuple[int, int]] = []
    for seq in sorted(seqs):
        if out and out[-1][1] + 1 == seq:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sets(st.integers(0, 200), max_size=30), max_size=8))
def test_merge_ranges_agrees_with_the_reference(batches):
    ranges: list[tuple[int, int]] = []
    seen: set[int] = set()
    for batch in batches:
        fresh = sorted(batch - seen)
        ranges = merge_ranges(ranges, fresh)
        seen |= set(fresh)
        assert ranges == reference_ranges(seen)
        assert all(a <= b and b + 1 < c for (a, b), (c, _) in zip(ranges, ranges[1:]))


def test_a_transactions_records_are_checked_once_and_a_refusal_every_time(uses, monkeypatch):
    """The form check is remembered by transaction id (admission, re-check and block execution
    check one body); only a passing check is remembered, and only the last few."""
    import ledger.uses as uses_module

    calls = []
    real = uses_module._check_batch
    monkeypatch.setattr(uses_module, "_check_batch", lambda items, where: calls.append(len(items)) or real(items, where))
    monkeypatch.setattr(uses_module, "_CHECKED_MAX", 2)
    early = uses.batch(record(0), record(1, height=uses.local.chain.height + 1))  # a height not committed yet
    calls.clear()  # record_tx checked its records as it built it
    assert uses.reject(early).code == "use.bad_height" and calls == [2]
    uses.accept(uses.batch(record(5)))  # the height it names is committed now
    uses.accept(early)
    assert calls.count(2) == 1  # its body was checked once, for both executions
    bad = uses.raw({"records": [record(7, verdict="maybe")]})
    assert uses.reject(bad).code == uses.reject(bad).code == "use.bad_verdict"
    for s in range(8, 12):
        uses.accept(uses.batch(record(s)))
    assert len(uses_module._CHECKED) <= 2
