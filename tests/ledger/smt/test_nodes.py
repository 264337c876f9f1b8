"""Tests of ledger.smt.nodes: record layout and the node cache."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import StoreError
from ledger.kv import MemoryKV
from ledger.smt.hasher import leaf_hash, node_hash, value_hash
from ledger.smt.nodes import (
    NodeCache,
    encode_leaf,
    encode_node,
    leaf_path,
    leaf_value,
    leaf_value_hash,
    load_record,
    node_children,
    record_hash,
)


def test_records_start_with_the_preimage_of_their_hash():
    left, right = b"\x01" * 32, b"\x02" * 32
    node = encode_node(left, right)
    assert len(node) == 65 and record_hash(node) == node_hash(left, right) == hashlib.sha256(node).digest()
    assert node_children(node) == (left, right)
    path, value = hashlib.sha256(b"key").digest(), b"some value"
    leaf = encode_leaf(path, value_hash(value), value)
    assert len(leaf) == 65 + len(value) and record_hash(leaf) == leaf_hash(path, value_hash(value))
    assert (leaf_path(leaf), leaf_value_hash(leaf), leaf_value(leaf)) == (path, value_hash(value), value)


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (None, "smt.missing_node"),
        (b"", "smt.corrupt_node"),
        (b"\x03" + b"\x00" * 63, "smt.corrupt_node"),
        (b"\x03" + b"\x00" * 65, "smt.corrupt_node"),
        (b"\x02" + b"\x00" * 63, "smt.corrupt_node"),
        (b"\x01" + b"\x00" * 64, "smt.corrupt_node"),
    ],
)
def test_load_record_rejects_missing_and_malformed_records(record, code):
    store = MemoryKV()
    node = b"\x09" * 32
    if record is not None:
        store.write({node: record})
    with pytest.raises(StoreError) as info:
        load_record(store, node)
    assert info.value.code == code and info.value.node == node


def test_load_record_accepts_both_kinds():
    store = MemoryKV()
    store.write({b"\x01" * 32: b"\x03" + b"\x00" * 64, b"\x02" * 32: b"\x02" + b"\x00" * 64})
    assert load_record(store, b"\x01" * 32)[0] == 3
    assert load_record(store, b"\x02" * 32) == b"\x02" + b"\x00" * 64


def test_cache_depth_follows_capacity():
    assert NodeCache(0).max_depth == 0
    assert NodeCache(1 << 18).max_depth == 18
    assert NodeCache((1 << 18) - 1).max_depth == 17
    with pytest.raises(ValueError):
        NodeCache(-1)


def test_cache_drops_oldest_quarter_when_full():
    cache = NodeCache(8)
    for i in range(8):
        cache.add(bytes([i]), b"r%d" % i)
    assert len(cache) == 8
    cache.add(b"\x08", b"r8")
    assert list(cache) == [bytes([i]) for i in range(2, 9)]
    for i in range(9, 20):
        cache[bytes([i])] = b"r"
    cache.trim()
    assert list(cache) == [bytes([i]) for i in range(12, 20)]


def test_zero_capacity_cache_stays_empty():
    cache = NodeCache(0)
    cache.add(b"\x01", b"r")
    assert len(cache) == 0
