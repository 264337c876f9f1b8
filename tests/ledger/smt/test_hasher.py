"""Tests of ledger.smt.hasher: domain prefixes, path bits, key and value checks."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import ValidationError
from ledger.smt.hasher import (
    EMPTY_ROOT,
    MAX_KEY_BYTES,
    MAX_VALUE_BYTES,
    check_key,
    check_value,
    leaf_hash,
    node_hash,
    path_bit,
    path_of,
    value_hash,
)


def test_hashes_follow_the_spec_formulas():
    path, vh = path_of(b"k"), value_hash(b"v")
    assert path == hashlib.sha256(b"k").digest() and vh == hashlib.sha256(b"v").digest()
    assert leaf_hash(path, vh) == hashlib.sha256(b"\x02" + path + vh).digest()
    assert node_hash(path, vh) == hashlib.sha256(b"\x03" + path + vh).digest()
    assert EMPTY_ROOT == bytes(32)


def test_leaf_and_node_of_the_same_bytes_differ():
    a, b = b"\x05" * 32, b"\x06" * 32
    assert leaf_hash(a, b) != node_hash(a, b)


def test_path_bits_are_most_significant_first():
    path = bytes([0b1010_0000]) + bytes(30) + bytes([0b0000_0001])
    assert [path_bit(path, d) for d in range(4)] == [1, 0, 1, 0]
    assert path_bit(path, 255) == 1 and path_bit(path, 254) == 0


def test_checks_accept_the_limits_and_reject_beyond():
    assert check_key(b"k" * MAX_KEY_BYTES) and check_value(b"") == b""
    assert check_value(b"v" * MAX_VALUE_BYTES)
    for bad, code in [(b"", "smt.key_empty"), (b"k" * (MAX_KEY_BYTES + 1), "smt.key_too_long"), (memoryview(b"k"), "smt.key_type")]:
        with pytest.raises(ValidationError) as info:
            check_key(bad)
        assert info.value.code == code and info.value.field == "key"
    with pytest.raises(ValidationError) as info:
        check_value(b"v" * (MAX_VALUE_BYTES + 1))
    assert info.value.code == "smt.value_too_long" and info.value.limit == MAX_VALUE_BYTES
    with pytest.raises(ValidationError) as info:
        check_value(None)
    assert info.value.code == "smt.value_type"
