"""Tests of ledger.kv: MemoryKV, and Overlay reads over pending writes, one by one and in bulk."""

from __future__ import annotations

from ledger.kv import MemoryKV, Overlay, Prefixed


def _base() -> MemoryKV:
    base = MemoryKV()
    base.write({b"a": b"1", b"b": b"2", b"c": b"3"})
    return base


def test_overlay_reads_its_pending_writes_first_and_commits_them_in_one_batch():
    base = _base()
    overlay = Overlay(base)
    overlay.put(b"a", b"10")
    overlay.delete(b"b")
    assert (overlay.get(b"a"), overlay.get(b"b"), overlay.get(b"c"), overlay.get(b"d")) == (b"10", None, b"3", None)
    assert base.get(b"a") == b"1" and base.get(b"b") == b"2"
    overlay.commit_to(base)
    assert dict(base.iterate(b"")) == {b"a": b"10", b"c": b"3"}
    assert overlay.puts == {} and overlay.deletes == set()


def test_put_many_and_delete_many_act_as_put_and_delete_of_each_key():
    one, bulk = Overlay(_base()), Overlay(_base())
    steps = [
        ("put", {b"a": b"x", b"d": b"4"}),
        ("delete", [b"a", b"b", b"e"]),
        ("put", {b"b": b"y"}),
        ("delete", iter([b"d"])),
        ("put", {b"d": b"z", b"f": b""}),
    ]
    for kind, arg in steps:
        if kind == "put":
            for key, value in arg.items():
                one.put(key, value)
            bulk.put_many(arg)
        else:
            keys = list(arg)
            for key in keys:
                one.delete(key)
            bulk.delete_many(iter(keys))
        assert (one.puts, one.deletes) == (bulk.puts, bulk.deletes)
    for key in [b"a", b"b", b"c", b"d", b"e", b"f"]:
        assert one.get(key) == bulk.get(key)
    assert bulk.get(b"a") is None and bulk.get(b"b") == b"y" and bulk.get(b"f") == b""


def test_a_read_remembered_before_a_bulk_delete_is_not_served_after_it():
    overlay = Overlay(_base())
    assert overlay.get(b"c") == b"3"
    overlay.delete_many([b"c"])
    assert overlay.get(b"c") is None
    overlay.put_many({b"c": b"back"})
    assert overlay.get(b"c") == b"back"


def test_prefixed_view_reads_and_writes_under_its_prefix():
    overlay = Overlay(MemoryKV())
    view = Prefixed(overlay, b"p/")
    view.put(b"k", b"v")
    assert overlay.get(b"p/k") == b"v" and view.get(b"k") == b"v"
    view.delete(b"k")
    assert view.get(b"k") is None and b"p/k" in overlay.deletes


def test_memory_iterate_from_a_start_key_stays_within_the_prefix():
    kv = MemoryKV()
    kv.write({b"p/1": b"a", b"p/2": b"b", b"p/3": b"c", b"q/1": b"d", b"o": b"e"})
    assert [k for k, _ in kv.iterate(b"p/", b"p/2")] == [b"p/2", b"p/3"]
    assert [k for k, _ in kv.iterate(b"p/", b"a")] == [b"p/1", b"p/2", b"p/3"]  # a start before the prefix
    assert list(kv.iterate(b"p/", b"p/9")) == []


def test_memory_snapshot_does_not_see_later_writes():
    kv = MemoryKV()
    kv.write({b"a": b"1"})
    snap = kv.snapshot()
    kv.write({b"a": b"2", b"b": b"3"}, [])
    assert snap.get(b"a") == b"1" and snap.get(b"b") is None
    assert list(snap.iterate(b"")) == [(b"a", b"1")]
