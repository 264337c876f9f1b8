"""Tests of ledger.merkle.log: the stored, appendable global log (docs/spec/hashing.md §2.4).

Storage behaviour: nodes written once and never rewritten, appends that read nothing, proofs
in O(log n) reads, a log built block by block in overlays and reopened from the committed
store (memory and LevelDB), the stored size, and precise errors for bad arguments.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError, StoreError, ValidationError
from ledger.kv import MemoryKV, Overlay, Prefixed
from ledger.merkle import EMPTY_ROOT, MerkleLog, leaf_hash, node_hash, verify_consistency, verify_inclusion
from ledger.merkle.log import SIZE_KEY, node_key
from ledger.merkle.nodes import NodeID
from ledger.store.kv import LevelKV

PREFIX = b"log/"


class RecordingKV:
    """An overlay-like reader/writer that counts reads and refuses to rewrite a key."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.gets = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets += 1
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        assert key not in self.data, f"rewrote {key!r}"
        self.data[key] = value


def _data(i: int) -> bytes:
    return b"tx %d" % i


def _reference(size: int) -> MerkleLog:
    log = MerkleLog(MemoryKV(), 0)
    for i in range(size):
        log.append(_data(i))
    return log


def _assert_same_log(log: MerkleLog, ref: MerkleLog) -> None:
    assert log.size == ref.size
    assert log.root() == ref.root()
    for size in range(ref.size + 1):
        assert log.root_at(size) == ref.root_at(size)
    for size in {ref.size, (ref.size + 1) // 2} - {0}:
        for index in range(0, size, 7):
            assert log.leaf_hash(index) == ref.leaf_hash(index)
            assert log.prove_inclusion(index, size) == ref.prove_inclusion(index, size)
    for size1 in range(0, ref.size + 1, 5):
        assert log.prove_consistency(size1, ref.size) == ref.prove_consistency(size1, ref.size)


def test_nodes_are_stored_once_under_level_and_index_keys() -> None:
    kv = RecordingKV()
    log = MerkleLog(kv, 0)
    for i in range(1000):
        assert log.append(_data(i)) == i
    # Every complete subtree exactly once: 2n - popcount(n) of them (RFC 9162 tree shape).
    assert len(kv.data) == 2 * 1000 - (1000).bit_count()
    l0, l1, l2, l3 = (leaf_hash(_data(i)) for i in range(4))
    assert kv.data[b"n\x00" + (0).to_bytes(8, "big")] == l0
    assert kv.data[b"n\x01" + (1).to_bytes(8, "big")] == node_hash(l2, l3)
    assert kv.data[b"n\x02" + (0).to_bytes(8, "big")] == node_hash(node_hash(l0, l1), node_hash(l2, l3))
    assert node_key(NodeID(9, 1)) == b"n\x09" + (1).to_bytes(8, "big")
    assert b"n\x0a" + (0).to_bytes(8, "big") not in kv.data  # 1000 < 1024: never complete


def test_append_reads_nothing_from_the_store() -> None:
    kv = RecordingKV()
    log = MerkleLog(kv, 0)
    for i in range(777):
        log.append(_data(i))
        log.root()
    assert kv.gets == 0


def test_proofs_and_roots_take_logarithmic_reads() -> None:
    kv = RecordingKV()
    log = MerkleLog(kv, 0)
    for i in range(5000):
        log.append(_data(i))
    for size in (5000, 4097, 3333, 1):
        bound = 2 * size.bit_length() + 1
        for index in range(0, size, 97):
            before = kv.gets
            log.prove_inclusion(index, size)
            assert kv.gets - before <= bound
        before = kv.gets
        log.root_at(size)
        log.prove_consistency(size // 3, size)
        assert kv.gets - before <= 2 * bound


def test_reopening_loads_only_the_frontier() -> None:
    kv = RecordingKV()
    log = MerkleLog(kv, 0)
    for i in range(1234):
        log.append(_data(i))
    reopened = MerkleLog(kv, 1234)
    assert kv.gets == (1234).bit_count()
    assert reopened.root() == log.root()


def test_log_built_block_by_block_in_overlays_reopens_from_the_store() -> None:
    store = MemoryKV()
    size = 0
    roots = {0: EMPTY_ROOT}
    for block in (1, 0, 5, 64, 3, 200, 1, 17):
        overlay = Overlay(store)
        log = MerkleLog(Prefixed(overlay, PREFIX), size)
        for _ in range(block):
            log.append(_data(log.size))
        overlay.commit_to(store)
        size = log.size
        roots[size] = log.root()
    reopened = MerkleLog(Prefixed(store, PREFIX), size)
    ref = _reference(size)
    _assert_same_log(reopened, ref)
    for at, root in roots.items():
        assert reopened.root_at(at) == root
    assert all(key.startswith(PREFIX) for key, _ in store.iterate(b""))


def test_dropped_overlay_leaves_the_store_untouched() -> None:
    store = MemoryKV()
    overlay = Overlay(store)
    log = MerkleLog(Prefixed(overlay, PREFIX), 0)
    for i in range(10):
        log.append(_data(i))
    overlay.commit_to(store)
    committed = dict(store.iterate(b""))
    abandoned = MerkleLog(Prefixed(Overlay(store), PREFIX), 10)
    for i in range(50):
        abandoned.append(b"never committed %d" % i)
    assert dict(store.iterate(b"")) == committed
    overlay = Overlay(store)
    log = MerkleLog(Prefixed(overlay, PREFIX), 10)
    for i in range(10, 40):
        log.append(_data(i))
    overlay.commit_to(store)
    _assert_same_log(MerkleLog(Prefixed(store, PREFIX), 40), _reference(40))


def test_log_in_leveldb_reopens_with_same_roots_and_proofs(tmp_path: Path) -> None:
    ref = _reference(300)
    with LevelKV(tmp_path / "db") as db:
        size = 0
        for block in (7, 120, 1, 172):
            overlay = Overlay(db)
            log = MerkleLog(Prefixed(overlay, PREFIX), size)
            for _ in range(block):
                log.append(_data(log.size))
            log.write_size()
            overlay.commit_to(db, sync=True)
            size = log.size
    with LevelKV(tmp_path / "db", create=False) as db:
        reopened = MerkleLog.load(Prefixed(db, PREFIX))
        _assert_same_log(reopened, ref)
        proof = reopened.prove_inclusion(123, 300)
        verify_inclusion(leaf_hash(_data(123)), 123, 300, proof, ref.root())
        verify_consistency(128, 300, reopened.prove_consistency(128, 300), ref.root_at(128), ref.root())


def test_log_writes_batches_straight_into_a_store(tmp_path: Path) -> None:
    ref = _reference(100)
    memory = MemoryKV()
    direct = MerkleLog(memory, 0)
    for i in range(100):
        direct.append(_data(i))
    _assert_same_log(MerkleLog(memory, 100), ref)
    with LevelKV(tmp_path / "db") as db:
        log = MerkleLog(db, 0)
        for i in range(100):
            log.append(_data(i))
        _assert_same_log(MerkleLog(db, 100), ref)


@settings(max_examples=50, deadline=None)
@given(blocks=st.lists(st.integers(0, 40), max_size=12), hashes=st.booleans())
def test_any_block_split_gives_the_same_log(blocks: list[int], hashes: bool) -> None:
    store = MemoryKV()
    size = 0
    for block in blocks:
        overlay = Overlay(store)
        log = MerkleLog(overlay, size)
        for _ in range(block):
            if hashes:
                log.append_leaf_hash(leaf_hash(_data(log.size)))
            else:
                log.append(_data(log.size))
        overlay.commit_to(store)
        size = log.size
    _assert_same_log(MerkleLog(store, size), _reference(size))


def test_size_is_stored_and_loaded() -> None:
    kv = MemoryKV()
    assert MerkleLog.load(kv).size == 0
    log = MerkleLog(kv, 0)
    for i in range(21):
        log.append(_data(i))
    log.write_size()
    assert kv.get(SIZE_KEY) == (21).to_bytes(8, "big")
    assert MerkleLog.load(kv).root() == log.root()
    kv.write({SIZE_KEY: b"\x15"})
    with pytest.raises(StoreError) as info:
        MerkleLog.load(kv)
    assert info.value.code == "store.bad_log_size"


def test_opening_with_a_size_the_store_does_not_hold_fails() -> None:
    kv = MemoryKV()
    log = MerkleLog(kv, 0)
    for i in range(6):
        log.append(_data(i))
    with pytest.raises(StoreError) as info:
        MerkleLog(kv, 7)
    assert (info.value.code, info.value.level, info.value.index) == ("store.missing_node", 0, 6)
    with pytest.raises(StoreError) as info:
        MerkleLog(Prefixed(kv, PREFIX), 6)
    assert info.value.code == "store.missing_node"
    kv.write({node_key(NodeID(2, 0)): b"short"})
    with pytest.raises(StoreError) as info:
        MerkleLog(kv, 6)
    assert info.value.code == "store.bad_node"


def test_bad_arguments_raise_precise_errors() -> None:
    log = _reference(10)
    cases = [
        (lambda: log.root_at(11), "proof.size_out_of_range"),
        (lambda: log.root_at(-1), "proof.size_out_of_range"),
        (lambda: log.leaf_hash(10), "proof.index_out_of_range"),
        (lambda: log.leaf_hash(-1), "proof.index_out_of_range"),
        (lambda: log.prove_inclusion(5, 5), "proof.index_out_of_range"),
        (lambda: log.prove_inclusion(0, 0), "proof.index_out_of_range"),
        (lambda: log.prove_inclusion(0, 11), "proof.size_out_of_range"),
        (lambda: log.prove_consistency(6, 5), "proof.sizes_out_of_order"),
        (lambda: log.prove_consistency(3, 12), "proof.size_out_of_range"),
    ]
    for call, code in cases:
        with pytest.raises(ProofError) as info:
            call()
        assert info.value.code == code
    with pytest.raises(ProofError) as info:
        log.prove_consistency(3, 12)
    assert (info.value.field, info.value.size, info.value.log_size) == ("size2", 12, 10)
    with pytest.raises(ValidationError) as verr:
        log.append_leaf_hash(b"\x00" * 31)
    assert verr.value.code == "log.bad_leaf_hash"
    with pytest.raises(ValidationError) as verr:
        MerkleLog(MemoryKV(), -1)
    assert verr.value.code == "log.bad_size"
    assert log.size == 10


class EveryNodeKV:
    """A reader that holds a (fake) hash under every key: lets a log open at any size."""

    def get(self, key: bytes) -> bytes:
        return b"\x11" * 32

    def put(self, key: bytes, value: bytes) -> None:
        raise AssertionError("a full log must not write")


def test_append_refuses_past_the_largest_size() -> None:
    log = MerkleLog(EveryNodeKV(), (1 << 64) - 1)
    with pytest.raises(ValidationError) as info:
        log.append(b"one too many")
    assert info.value.code == "log.full"
    assert log.size == (1 << 64) - 1
    with pytest.raises(ValidationError) as info:
        MerkleLog(EveryNodeKV(), 1 << 64)
    assert info.value.code == "log.bad_size"


def test_writes_are_counted_per_append() -> None:
    writes: Counter[int] = Counter()
    kv = RecordingKV()
    log = MerkleLog(kv, 0)
    for i in range(64):
        before = len(kv.data)
        log.append(_data(i))
        writes[len(kv.data) - before] += 1
    # One leaf plus one node per trailing 1-bit of the index: 32 appends write 1 key, 16 write 2...
    assert writes == Counter({1: 32, 2: 16, 3: 8, 4: 4, 5: 2, 6: 1, 7: 1})
