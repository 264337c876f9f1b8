"""Tests of ledger.smt.batch through SparseMerkleTree.write_version: the stale list is exactly
the replaced instances, unchanged subtrees keep their instances, and a latest-values tree keeps
each live value once (state.md §5.2, §6.3, §6.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import StoreError
from ledger.kv import MemoryKV, Overlay
from ledger.smt import EMPTY_ROOT, SparseMerkleTree
from ledger.smt.nodes import LATEST_SPACE, LEAF_TAG, NODE_SPACE, ROOT_SPACE, decode_stale_list, key_version, leaf_value
from tests.ledger.smt import reference as ref
from tests.ledger.smt.helpers import POOL, maps, new_tree, ops, reachable


@settings(max_examples=200, deadline=None)
@given(maps, st.lists(ops, min_size=1, max_size=5), st.booleans())
def test_stale_list_is_exactly_the_instances_the_batch_replaced(pairs, batches, latest):
    tree, store = new_tree(latest)
    root = tree.update(EMPTY_ROOT, pairs)
    for operations in batches:
        before = reachable(tree, root)
        entry = store.get(ROOT_SPACE + root)
        update = tree.write_version(root, dict(operations))
        after = reachable(tree, update.root)
        assert set(update.stale) == set(before) - set(after)
        assert len(update.stale) == len(set(update.stale))
        if update.root == root or root == EMPTY_ROOT:
            assert update.retired is None
        else:
            assert update.retired == (root, entry)
            assert decode_stale_list(update.stale_list()) == (update.retired, list(update.stale))
        if update.root == root:
            assert update.stale == () and update.stale_list() == b""
        root = update.root


def test_unchanged_leaves_keep_their_instances_when_moved_or_rewritten_alike():
    tree, _ = new_tree()
    keys = [b"k%d" % i for i in range(30)]
    root = tree.update(EMPTY_ROOT, {key: b"same" for key in keys})
    before = reachable(tree, root)
    update = tree.write_version(root, {key: b"same" for key in keys} | {b"extra": b"1"})
    after = reachable(tree, update.root)
    leaves_before = {key for key, record in before.items() if record[0] == LEAF_TAG}
    assert leaves_before <= set(after)  # including the one b"extra" pushed down, if any
    fresh = set(after) - set(before)
    assert fresh and all(key_version(key) == 2 for key in fresh)
    assert [after[key][1:33] for key in fresh if after[key][0] == LEAF_TAG] == [ref.sha256(b"extra")]


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, min_size=1, max_size=6))
def test_latest_values_are_stored_once_and_superseded_ones_inline(batches):
    tree, store = new_tree(latest=True)
    root, model, history = EMPTY_ROOT, {}, []
    for operations in batches:
        root = tree.update(root, dict(operations))
        model = {k: v for k, v in (model | dict(operations)).items() if v is not None}
        history.append((root, dict(model)))
    table = {key[len(LATEST_SPACE) :]: value for key, value in store.puts.items() if key.startswith(LATEST_SPACE)}
    assert table == model
    live = reachable(tree, root)
    for key, record in store.puts.items():
        if key.startswith(NODE_SPACE) and record[0] == LEAF_TAG:
            inline = leaf_value(record) is not None
            # A leaf of the latest tree leaves its value to the table; every other holds it.
            assert inline == (key[len(NODE_SPACE) :] not in live or record[33:65] == ref.sha256(b""))
    for old_root, old_model in history:
        for key in POOL[:20] + list(old_model):
            assert tree.get(old_root, key) == old_model.get(key)


def test_latest_values_read_off_their_linear_history_raise_and_never_lie():
    tree, _ = new_tree(latest=True)
    first = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    second = tree.update(first, {b"b": b"3"})
    tree.update(first, {b"b": b"4"})  # a second branch from an old root overwrites the table
    assert tree.get(first, b"b") == b"2"  # superseded leaves hold their values inline
    with pytest.raises(StoreError) as info:
        tree.get(second, b"b")
    assert info.value.code == "smt.value_mismatch"


def test_a_damaged_latest_table_is_reported_on_update():
    base = MemoryKV()
    overlay = Overlay(base)
    tree = SparseMerkleTree(overlay, latest_values=True)
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    overlay.commit_to(base)
    base.write({LATEST_SPACE + b"a": b"forged"})
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(Overlay(base), latest_values=True).update(root, {b"a": b"9"})
    assert info.value.code == "smt.value_mismatch"
