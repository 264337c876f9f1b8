"""Tests of ledger.smt.nodes: node keys, record layout, stale lists and the node cache."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import StoreError
from ledger.kv import MemoryKV
from ledger.smt.hasher import leaf_hash, node_hash, value_hash
from ledger.smt.nodes import (
    EMPTY_KEY,
    NODE_SPACE,
    NodeCache,
    decode_stale_list,
    encode_leaf,
    encode_node,
    encode_stale_list,
    key_hash,
    key_version,
    leaf_path,
    leaf_value,
    leaf_value_hash,
    load_record,
    node_children,
    node_key,
    position,
    record_hash,
)


def test_node_keys_are_version_then_hash():
    node = b"\x07" * 32
    key = node_key(258, node)
    assert key == bytes(6) + b"\x01\x02" + node and len(key) == 40
    assert (key_version(key), key_hash(key)) == (258, node)
    assert EMPTY_KEY == node_key(0, bytes(32))


def test_internal_records_name_child_instances_and_hash_their_hashes():
    left, right = node_key(3, b"\x01" * 32), node_key(9, b"\x02" * 32)
    record = encode_node(left, right)
    assert len(record) == 81 and record[0] == 0x03
    assert node_children(record) == (left, right)
    assert record_hash(record) == node_hash(b"\x01" * 32, b"\x02" * 32)


def test_leaf_records_start_with_the_preimage_of_their_hash():
    path, value = hashlib.sha256(b"key").digest(), b"some value"
    inline = encode_leaf(path, value_hash(value), value)
    apart = encode_leaf(path, value_hash(value), None)
    assert len(inline) == 65 + len(value) and len(apart) == 65
    assert record_hash(inline) == record_hash(apart) == leaf_hash(path, value_hash(value))
    assert (leaf_path(inline), leaf_value_hash(inline), leaf_value(inline)) == (path, value_hash(value), value)
    assert leaf_value(apart) is None


def test_a_head_only_leaf_of_the_empty_value_holds_it():
    record = encode_leaf(b"\x05" * 32, value_hash(b""), None)
    assert record == encode_leaf(b"\x05" * 32, value_hash(b""), b"")
    assert leaf_value(record) == b""


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (None, "smt.missing_node"),
        (b"", "smt.corrupt_node"),
        (b"\x03" + b"\x00" * 79, "smt.corrupt_node"),
        (b"\x03" + b"\x00" * 81, "smt.corrupt_node"),
        (b"\x02" + b"\x00" * 63, "smt.corrupt_node"),
        (b"\x01" + b"\x00" * 80, "smt.corrupt_node"),
    ],
)
def test_load_record_rejects_missing_and_malformed_records(record, code):
    store = MemoryKV()
    key = node_key(4, b"\x09" * 32)
    if record is not None:
        store.write({NODE_SPACE + key: record})
    with pytest.raises(StoreError) as info:
        load_record(store, key)
    assert info.value.code == code and info.value.node == b"\x09" * 32


def test_load_record_accepts_both_kinds_under_a_given_space():
    store = MemoryKV()
    internal, leaf = node_key(1, b"\x01" * 32), node_key(2, b"\x02" * 32)
    store.write({b"x/" + internal: b"\x03" + b"\x00" * 80, b"x/" + leaf: b"\x02" + b"\x00" * 64})
    assert load_record(store, internal, b"x/")[0] == 3
    assert load_record(store, leaf, b"x/") == b"\x02" + b"\x00" * 64
    with pytest.raises(StoreError):
        load_record(store, leaf)


def test_stale_lists_round_trip_with_and_without_a_retired_root():
    keys = [node_key(i, bytes([i]) * 32) for i in range(1, 4)]
    retired = (b"\x0a" * 32, bytes(16))
    assert decode_stale_list(encode_stale_list(retired, keys)) == (retired, keys)
    assert decode_stale_list(encode_stale_list(None, keys)) == (None, keys)
    assert decode_stale_list(encode_stale_list(None, [])) == (None, [])


@pytest.mark.parametrize("data", [b"", b"\x02", b"\x00" + bytes(39), b"\x01" + bytes(47), b"\x01" + bytes(48 + 41)])
def test_malformed_stale_lists_are_refused(data):
    with pytest.raises(StoreError) as info:
        decode_stale_list(data)
    assert info.value.code == "smt.corrupt_stale_list"


def test_cache_depth_follows_capacity():
    assert NodeCache(0).max_depth == 0
    assert NodeCache(1 << 18).max_depth == 18
    assert NodeCache((1 << 18) - 1).max_depth == 17
    with pytest.raises(ValueError):
        NodeCache(-1)


def test_positions_number_the_tree_breadth_first():
    path = int.from_bytes(bytes([0b1011_0000]) + bytes(31), "big")
    assert position(path, 0) == 1
    assert [position(path, d) for d in range(1, 5)] == [0b11, 0b110, 0b1101, 0b11011]
    for d in range(8):
        assert position(path, d + 1) == 2 * position(path, d) + ((path >> (255 - d)) & 1)
    assert position((1 << 256) - 1, 256) == (1 << 257) - 1


def test_cache_keeps_one_internal_record_per_position_above_its_depth():
    cache = NodeCache(8)  # depths 0..2: positions 1..7
    left, right = node_key(1, b"\x01" * 32), node_key(1, b"\x02" * 32)
    record = encode_node(left, right)
    key = node_key(2, b"\x03" * 32)
    cache.remember(5, key, record)
    assert cache.find(5, key) == record + key
    assert cache.find(5, node_key(3, b"\x03" * 32)) is None  # another instance of that position
    assert cache.find(4, key) is None
    newer = node_key(3, b"\x04" * 32)
    cache.remember(5, newer, encode_node(right, left))
    assert cache.find(5, key) is None and cache.find(5, newer).startswith(encode_node(right, left))
    cache.remember(8, key, record)  # depth 3: below the limit
    cache.remember(6, key, encode_leaf(b"\x05" * 32, b"\x06" * 32, b"v"))  # leaves are never kept
    assert [place for place, entry in enumerate(cache.slots) if entry is not None] == [5] and len(cache) == 1


def test_zero_capacity_cache_stays_empty():
    cache = NodeCache(0)
    cache.remember(1, node_key(1, b"\x01" * 32), encode_node(EMPTY_KEY, node_key(1, b"\x02" * 32)))
    assert len(cache) == 0
