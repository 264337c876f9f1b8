"""Tests of ledger.state: buffered writes, the flat index kept by the tree, values stored once,
one commit per version, stale lists that prune cleanly, and secondary indexes."""

from __future__ import annotations

import pytest

from ledger.errors import ValidationError
from ledger.kv import MemoryKV, Overlay, Prefixed
from ledger.smt import EMPTY_ROOT, SparseMerkleTree
from ledger.state import FLAT_PREFIX, INDEX_PREFIX, SMT_PREFIX, State
from tests.ledger.smt import reference as ref


def commit_block(kv: MemoryKV, root: bytes, version: int, changes: dict[bytes, bytes | None]) -> State:
    overlay = Overlay(kv)
    state = State(overlay, root, version=version)
    state.apply(changes)
    state.commit()
    overlay.commit_to(kv)
    return state


def test_reads_see_buffered_writes_before_and_the_flat_index_after_commit():
    kv = MemoryKV()
    overlay = Overlay(kv)
    state = State(overlay, EMPTY_ROOT, version=0)
    state.apply({b"a": b"1", b"b": b"2"})
    state.apply({b"b": None})
    assert (state.get(b"a"), state.get(b"b"), state.get(b"c")) == (b"1", None, None)
    assert state.root == EMPTY_ROOT
    root = state.commit()
    assert root == ref.root_of({b"a": b"1"}) and state.root == root
    assert Prefixed(overlay, FLAT_PREFIX).get(b"a") == b"1" and state.get(b"b") is None
    assert state.commit() == root  # nothing buffered: nothing to do


def test_each_value_is_stored_once_and_old_roots_read_through_the_tree():
    kv = MemoryKV()
    value = b"v" * 500
    first = commit_block(kv, EMPTY_ROOT, 1, {b"k%d" % i: value for i in range(20)})
    assert sum(stored.count(value) for _, stored in kv.iterate(b"")) == 20
    second = commit_block(kv, first.root, 2, {b"k0": b"new", b"k1": None})
    # The superseded values now sit in their old leaves, once each; the live ones stay single.
    assert sum(stored.count(value) for _, stored in kv.iterate(b"")) == 20
    reader = SparseMerkleTree(Prefixed(kv, SMT_PREFIX))
    assert (reader.get(first.root, b"k0"), reader.get(first.root, b"k1")) == (value, value)
    assert (reader.get(second.root, b"k0"), reader.get(second.root, b"k1")) == (b"new", None)
    assert Prefixed(kv, FLAT_PREFIX).get(b"k0") == b"new"


def test_commit_records_the_stale_list_and_refuses_a_second_commit_of_one_version():
    kv = MemoryKV()
    first = commit_block(kv, EMPTY_ROOT, 1, {b"a": b"1", b"b": b"2"})
    overlay = Overlay(kv)
    state = State(overlay, first.root, version=2)
    state.apply({b"a": b"3"})
    state.commit()
    assert state.stale  # the old root and the replaced leaf of b"a"
    state.apply({b"b": b"4"})
    with pytest.raises(ValidationError) as info:
        state.commit()
    assert info.value.code == "smt.version_invalid"


def test_pruning_a_state_stale_list_keeps_the_new_state_whole():
    kv = MemoryKV()
    root, lists = EMPTY_ROOT, []
    model: dict[bytes, bytes] = {}
    for version in range(1, 13):
        changes: dict[bytes, bytes | None] = {b"k%d" % (version % 4): b"v%d" % (version % 3), b"gone": None if version % 2 else b"x"}
        overlay = Overlay(kv)
        state = State(overlay, root, version=version)
        state.apply(changes)
        root = state.commit()
        lists.append(state.stale)
        if len(lists) > 2:
            state.tree.prune(lists.pop(0))
        overlay.commit_to(kv)
        model = {k: v for k, v in (model | changes).items() if v is not None}
    reader = SparseMerkleTree(Prefixed(kv, SMT_PREFIX))
    assert root == ref.root_of(model)
    assert {key: reader.get(root, key) for key in model} == model
    assert {key[len(FLAT_PREFIX) :]: value for key, value in kv.iterate(FLAT_PREFIX)} == model


def test_indexes_are_written_beside_the_state_and_outside_the_tree():
    overlay = Overlay(MemoryKV())
    state = State(overlay, EMPTY_ROOT, version=0)
    state.apply_indexes({b"by/x": b"", b"by/y": b"1"})
    state.apply_indexes({b"by/x": None})
    assert overlay.get(INDEX_PREFIX + b"by/y") == b"1" and overlay.get(INDEX_PREFIX + b"by/x") is None
    assert state.commit() == EMPTY_ROOT
