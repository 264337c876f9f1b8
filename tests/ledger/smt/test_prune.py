"""Tests of SparseMerkleTree.prune (state.md §6.4): with a retention window of R versions every
retained root stays wholly readable and provable, older roots raise "state.pruned", nodes that
content addressing re-creates are never lost, and nothing but the window is kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import StoreError
from ledger.kv import MemoryKV, Overlay, Prefixed
from ledger.smt import EMPTY_ROOT, NodeCache, SparseMerkleTree, verify_proof
from ledger.smt.nodes import LATEST_SPACE, NODE_SPACE, ROOT_SPACE, decode_stale_list
from tests.ledger.smt import reference as ref
from tests.ledger.smt.helpers import POOL, reachable

# Few keys and values, so that batches often bring back earlier leaves, subtrees and roots.
KEYS = [b"k%d" % i for i in range(6)] + POOL[24:28]
small_ops = st.lists(st.tuples(st.sampled_from(KEYS), st.none() | st.sampled_from([b"", b"a", b"b", b"c" * 30])), min_size=1, max_size=4)


class Window:
    """A store written one version per batch, pruning what left a window of `retain` versions,
    as ledger.chain does with heights; `history` keeps (version, root, model) of every batch."""

    def __init__(self, retain: int, latest: bool, cache_capacity: int = 1 << 10) -> None:
        self.kv = MemoryKV()
        self.retain = retain
        self.latest = latest
        self.cache = NodeCache(cache_capacity)
        self.pending: dict[int, bytes] = {}
        self.history: list[tuple[int, bytes, dict[bytes, bytes]]] = [(0, EMPTY_ROOT, {})]

    def tree(self, store) -> SparseMerkleTree:
        return SparseMerkleTree(Prefixed(store, b"s"), cache=self.cache, latest_values=self.latest)

    def write(self, changes: dict[bytes, bytes | None]) -> None:
        version, root, model = self.history[-1]
        version += 1
        overlay = Overlay(self.kv)
        tree = self.tree(overlay)
        update = tree.write_version(root, changes, version=version)
        self.pending[version] = update.stale_list()
        if version - self.retain in self.pending:
            tree.prune(self.pending.pop(version - self.retain))
        overlay.commit_to(self.kv)
        model = {k: v for k, v in (model | changes).items() if v is not None}
        assert update.root == ref.root_of(model)
        self.history.append((version, update.root, model))

    @property
    def oldest(self) -> int:
        return max(0, self.history[-1][0] - self.retain)

    def reader(self) -> SparseMerkleTree:
        return SparseMerkleTree(Prefixed(self.kv, b"s"), cache=NodeCache(0))


def check_window(window: Window) -> None:
    reader = window.reader()
    retained = {root for version, root, _ in window.history if version >= window.oldest}
    for version, root, model in window.history:
        if version >= window.oldest:
            for key in KEYS:
                assert reader.get(root, key) == model.get(key)
                verify_proof(root, key, model.get(key), reader.prove(root, key))
        elif root not in retained and root != EMPTY_ROOT:
            with pytest.raises(StoreError) as info:
                for key in KEYS:
                    reader.get(root, key)
            assert info.value.code == "state.pruned"
    # Nothing is kept but the retained trees and what the pending stale lists will remove.
    live = set().union(*(reachable(reader, root) for root in retained))
    pending: set[bytes] = set()
    pending_roots: set[bytes] = set()
    for stale_list in window.pending.values():
        if stale_list:
            retired, keys = decode_stale_list(stale_list)
            pending |= set(keys)
            pending_roots |= {retired[0]} if retired else set()
    stored = {key[len(b"s" + NODE_SPACE) :] for key, _ in window.kv.iterate(b"s" + NODE_SPACE)}
    assert live <= stored <= live | pending
    indexed = {key[len(b"s" + ROOT_SPACE) :] for key, _ in window.kv.iterate(b"s" + ROOT_SPACE)}
    assert retained - {EMPTY_ROOT} <= indexed <= retained | pending_roots
    if window.latest:
        table = {key[len(b"s" + LATEST_SPACE) :]: value for key, value in window.kv.iterate(b"s" + LATEST_SPACE)}
        assert table == window.history[-1][2]


@settings(max_examples=200, deadline=None)
@given(st.lists(small_ops, min_size=1, max_size=25), st.integers(0, 3), st.booleans(), st.sampled_from([0, 4, 1 << 10]))
def test_retained_roots_match_the_reference_and_older_ones_are_pruned(batches, retain, latest, capacity):
    window = Window(retain, latest, capacity)
    for operations in batches:
        window.write(dict(operations))
    check_window(window)


@pytest.mark.parametrize("latest", [False, True])
def test_values_and_subtrees_that_come_back_survive_the_pruning_of_their_first_life(latest):
    window = Window(retain=2, latest=latest)
    base = {b"k%d" % i: b"base" for i in range(20)}
    window.write(base)
    for round_ in range(30):
        window.write({b"k1": b"A"})
        window.write({b"k1": b"B", b"t": b"tmp"})
        window.write({b"k1": b"A", b"t": None})  # the tree of round_'s first write comes back
        window.write({b"k1": b"base"})  # ... and so does the first tree of all
        assert window.history[-1][1] == window.history[1][1]
        if round_ % 10 == 9:
            check_window(window)
    reader = window.reader()
    assert all(reader.get(window.history[-1][1], key) == value for key, value in base.items())


def test_a_retired_single_leaf_root_is_pruned_though_its_leaf_lives_on():
    window = Window(retain=0, latest=True)
    window.write({b"a": b"1"})
    leaf_root = window.history[-1][1]
    window.write({b"b": b"2"})  # the leaf of b"a" becomes a child of the new root
    with pytest.raises(StoreError) as info:
        window.reader().get(leaf_root, b"a")
    assert info.value.code == "state.pruned"
    window.write({b"b": None})  # ... and the root again: readable once more
    assert window.reader().get(leaf_root, b"a") == b"1"
    check_window(window)


def test_a_reader_whose_root_is_pruned_meanwhile_gets_state_pruned():
    window = Window(retain=1, latest=True)
    window.write({key: b"v" for key in KEYS})
    root = window.history[-1][1]
    reader = window.reader()
    assert reader.get(root, KEYS[0]) == b"v"
    for i in range(3):
        window.write({key: b"w%d" % i for key in KEYS})
    with pytest.raises(StoreError) as info:
        reader.prove(root, KEYS[1])
    assert info.value.code == "state.pruned"


def test_an_unknown_root_of_a_pruned_store_is_state_pruned():
    window = Window(retain=0, latest=False)
    window.write({b"a": b"1"})
    window.write({b"a": b"2"})
    with pytest.raises(StoreError) as info:
        window.reader().root_version(b"\x07" * 32)
    assert info.value.code == "state.pruned"


def test_prune_needs_a_deletable_store_and_a_well_formed_list():
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(MemoryKV()).prune(b"\x00")
    assert info.value.code == "smt.read_only_store"
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(Overlay(MemoryKV())).prune(b"\x00" + b"\x01" * 39)
    assert info.value.code == "smt.corrupt_stale_list"
    store = Overlay(MemoryKV())
    SparseMerkleTree(store).prune(b"")
    assert store.puts == {} and store.deletes == set()


@settings(max_examples=60, deadline=None)
@given(st.lists(small_ops, min_size=1, max_size=20), st.integers(0, 3), st.booleans())
def test_reads_of_retained_roots_through_the_shared_cache_change_nothing(batches, retain, latest):
    """§6.5: old roots read through the writer's cache leave their instances in it; the writer
    and pruning go on as if they were not there."""
    window = Window(retain, latest, cache_capacity=1 << 4)
    for operations in batches:
        window.write(dict(operations))
        shared = window.tree(window.kv)
        for version, root, model in window.history:
            if version >= window.oldest:
                for key in KEYS:
                    assert shared.get(root, key) == model.get(key)
        assert len(window.cache) < 1 << 4
    check_window(window)
