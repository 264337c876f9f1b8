"""Tests of ledger.smt.tree: roots against the literal reference, batching, deletes, history,
versions, node-store invariants, input errors, and LevelDB against memory."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import StoreError, ValidationError
from ledger.kv import MemoryKV, Overlay, Prefixed
from ledger.smt import EMPTY_ROOT, MAX_KEY_BYTES, MAX_VALUE_BYTES, NodeCache, SparseMerkleTree
from ledger.smt.nodes import NODE_SPACE, key_hash, key_version, node_key, record_hash
from ledger.store.kv import LevelKV
from tests.ledger.smt import reference as ref
from tests.ledger.smt.helpers import DEEP_KEYS, POOL, apply_ops, maps, new_tree, ops, reachable, root_key


def test_empty_tree_root_is_zero_and_holds_nothing():
    tree, store = new_tree()
    assert EMPTY_ROOT == bytes(32) == ref.root_of({})
    assert tree.get(EMPTY_ROOT, b"anything") is None
    assert tree.update(EMPTY_ROOT, {}) == EMPTY_ROOT
    assert tree.update(EMPTY_ROOT, {b"absent": None}) == EMPTY_ROOT
    assert tree.root_version(EMPTY_ROOT) is None
    assert store.puts == {} and store.deletes == set()


def test_single_key_root_is_its_leaf_hash():
    tree, _ = new_tree()
    root = tree.update(EMPTY_ROOT, {b"k": b"v"})
    assert root == ref.leaf(ref.sha256(b"k"), ref.sha256(b"v"))


@settings(max_examples=250, deadline=None)
@given(maps, st.booleans())
def test_update_matches_reference_root_and_get(pairs, latest):
    tree, _ = new_tree(latest)
    root = tree.update(EMPTY_ROOT, pairs)
    assert root == ref.root_of(pairs)
    for key in POOL[:30]:
        assert tree.get(root, key) == pairs.get(key)
    for key, value in pairs.items():
        assert tree.get(root, key) == value
    reachable(tree, root)


@settings(max_examples=200, deadline=None)
@given(ops, st.randoms(use_true_random=False))
def test_root_is_independent_of_order_and_batching(operations, rnd):
    model: dict[bytes, bytes] = {}
    tree, _ = new_tree()
    one_by_one = apply_ops(tree, EMPTY_ROOT, operations, model)
    assert one_by_one == ref.root_of(model)
    # The final map as one batch, in a shuffled insertion order.
    items = list(model.items())
    rnd.shuffle(items)
    assert new_tree()[0].update(EMPTY_ROOT, dict(items)) == one_by_one
    # The operations in random chunks; a later op on a key overrides an earlier one in its chunk.
    tree, _ = new_tree(latest=True)
    root, i = EMPTY_ROOT, 0
    while i < len(operations):
        n = rnd.randint(1, 8)
        root = tree.update(root, dict(operations[i : i + n]))
        i += n
    assert root == one_by_one
    reachable(tree, root)


@settings(max_examples=200, deadline=None)
@given(maps, st.randoms(use_true_random=False))
def test_deleting_everything_gives_empty_root(pairs, rnd):
    tree, _ = new_tree()
    root = tree.update(EMPTY_ROOT, pairs)
    keys_left = list(pairs)
    rnd.shuffle(keys_left)
    while keys_left:
        n = rnd.randint(1, 5)
        batch, keys_left = keys_left[:n], keys_left[n:]
        root = tree.update(root, dict.fromkeys(batch))
        remaining = {k: pairs[k] for k in keys_left}
        assert root == ref.root_of(remaining)
        reachable(tree, root)
    assert root == EMPTY_ROOT


@settings(max_examples=150, deadline=None)
@given(maps, ops, st.booleans())
def test_historical_roots_still_answer_get(pairs, operations, latest):
    tree, _ = new_tree(latest)
    old_root = tree.update(EMPTY_ROOT, pairs)
    apply_ops(tree, old_root, operations, dict(pairs))
    for key in list(pairs) + POOL[:10]:
        assert tree.get(old_root, key) == pairs.get(key)


def test_deep_splits_match_reference():
    tree, _ = new_tree()
    pairs = {key: b"v" + key for key in DEEP_KEYS}
    root = tree.update(EMPTY_ROOT, pairs)
    assert root == ref.root_of(pairs)
    # Removing one of the 28-bit-prefix pair collapses the other back up to its neighbours.
    deep_a, deep_b = DEEP_KEYS[-2:]
    assert ref.common_prefix_bits(ref.sha256(deep_a), ref.sha256(deep_b)) >= 24
    del pairs[deep_a]
    root = tree.update(root, {deep_a: None})
    assert root == ref.root_of(pairs)
    assert tree.get(root, deep_b) == b"v" + deep_b
    reachable(tree, root)


@pytest.mark.parametrize("latest", [False, True])
def test_unchanged_value_and_absent_delete_write_nothing(latest):
    tree, store = new_tree(latest)
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2", b"c": b"3"})
    before = (dict(store.puts), set(store.deletes))
    update = tree.write_version(root, {b"a": b"1", b"zz": None})
    assert (update.root, update.retired, update.stale, update.stale_list()) == (root, None, (), b"")
    assert (store.puts, store.deletes) == before


def test_batch_writes_each_new_node_once():
    tree, store = new_tree()
    pairs = {b"key-%d" % i: b"%d" % i for i in range(300)} | {k: k for k in DEEP_KEYS}
    root = tree.update(EMPTY_ROOT, pairs)
    assert store.node_puts == len(reachable(tree, root))
    store.node_puts = 0
    changes = {b"key-%d" % i: b"new" for i in range(0, 300, 7)}
    new_root = tree.update(root, changes)
    fresh = set(reachable(tree, new_root)) - set(reachable(tree, root))
    assert store.node_puts == len(fresh) and all(key_version(key) == 2 for key in fresh)


def test_every_record_is_stored_under_its_instance_key_and_none_is_empty():
    tree, store = new_tree()
    root = tree.update(EMPTY_ROOT, {b"x%d" % i: b"v" * i for i in range(50)})
    tree.update(root, {b"x%d" % i: None for i in range(0, 50, 3)})
    nodes = {key[len(NODE_SPACE) :]: record for key, record in store.puts.items() if key.startswith(NODE_SPACE)}
    assert nodes and all(key_hash(key) == record_hash(record) and key_hash(key) != EMPTY_ROOT for key, record in nodes.items())
    assert {key_version(key) for key in nodes} == {1, 2}


def test_versions_default_to_one_more_than_the_root_and_must_grow():
    tree, _ = new_tree()
    first = tree.update(EMPTY_ROOT, {b"a": b"1"})
    assert tree.root_version(first) == 1
    second = tree.write_version(first, {b"b": b"2"}, version=40)
    assert (second.version, tree.root_version(second.root)) == (40, 40)
    assert tree.root_version(tree.update(second.root, {b"c": b"3"})) == 41
    for bad in (40, 39, -1, 1 << 64, True, "41"):
        with pytest.raises(ValidationError) as info:
            tree.write_version(second.root, {b"d": b"4"}, version=bad)
        assert info.value.code == "smt.version_invalid"


@pytest.mark.parametrize("latest", [False, True])
def test_versions_keep_growing_when_the_map_empties_and_refills(latest):
    tree, _ = new_tree(latest)
    root = tree.update(EMPTY_ROOT, {b"k0": b"\x00"})
    assert tree.update(root, {b"k0": None}) == EMPTY_ROOT
    again = tree.write_version(EMPTY_ROOT, {b"k0": b"\x00"})  # the same leaf, a new instance
    assert (again.root, again.version, tree.root_version(root)) == (root, 3, 3)
    assert tree.get(root, b"k0") == b"\x00"


def test_key_and_value_limits_are_inclusive():
    tree, _ = new_tree()
    big_key, big_value = b"k" * MAX_KEY_BYTES, b"v" * MAX_VALUE_BYTES
    root = tree.update(EMPTY_ROOT, {big_key: big_value, b"e": b""})
    assert tree.get(root, big_key) == big_value
    assert tree.get(root, b"e") == b""
    assert root == ref.root_of({big_key: big_value, b"e": b""})


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        (b"", b"v", "smt.key_empty"),
        (b"k" * (MAX_KEY_BYTES + 1), b"v", "smt.key_too_long"),
        ("text", b"v", "smt.key_type"),
        (b"k", b"v" * (MAX_VALUE_BYTES + 1), "smt.value_too_long"),
        (b"k", bytearray(b"v"), "smt.value_type"),
    ],
)
def test_update_rejects_bad_input_before_writing(key, value, code):
    tree, store = new_tree()
    with pytest.raises(ValidationError) as info:
        tree.update(EMPTY_ROOT, {b"good": b"1", key: value})
    assert info.value.code == code
    assert store.puts == {}


def test_get_rejects_bad_root_and_key():
    tree, _ = new_tree()
    with pytest.raises(ValidationError) as info:
        tree.get(b"short", b"k")
    assert info.value.code == "smt.root_invalid"
    with pytest.raises(ValidationError) as info:
        tree.get(EMPTY_ROOT, b"")
    assert info.value.code == "smt.key_empty"


def test_unknown_root_is_missing_node():
    tree, _ = new_tree()
    with pytest.raises(StoreError) as info:
        tree.get(b"\x01" * 32, b"k")
    assert info.value.code == "smt.missing_node"
    assert info.value.node == b"\x01" * 32


def test_damaged_record_is_reported():
    base = MemoryKV()
    tree = SparseMerkleTree(Overlay(base))
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    tree.store.commit_to(base)
    base.write({NODE_SPACE + node_key(1, root): b"\x03short"})
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(base).get(root, b"a")
    assert info.value.code == "smt.corrupt_node"


def test_lost_node_under_a_known_root_is_missing_node():
    base = MemoryKV()
    tree = SparseMerkleTree(Overlay(base))
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    tree.store.commit_to(base)
    base.write({}, [NODE_SPACE + node_key(1, ref.leaf(ref.sha256(b"a"), ref.sha256(b"1")))])
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(base).prove(root, b"a")
    assert info.value.code == "smt.missing_node"


@pytest.mark.parametrize("store", [MemoryKV(), Prefixed(MemoryKV(), b"smt/")])
def test_update_needs_a_writable_store(store):
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(store).update(EMPTY_ROOT, {b"k": b"v"})
    assert info.value.code == "smt.read_only_store"


def test_shared_cache_serves_trees_over_successive_overlays():
    base = MemoryKV()
    cache = NodeCache(capacity=64)
    root = EMPTY_ROOT
    model: dict[bytes, bytes] = {}
    for block in range(20):
        overlay = Overlay(base)
        changes = {b"b%d-%d" % (block, i): b"%d" % i for i in range(10)} | {b"b0-1": b"block%d" % block}
        root = SparseMerkleTree(Prefixed(overlay, b"s"), cache=cache, latest_values=True).update(root, changes)
        overlay.commit_to(base)
        model |= changes
        assert len(cache) <= 64
    assert root == ref.root_of(model)
    reader = SparseMerkleTree(Prefixed(base, b"s"), cache=NodeCache(capacity=0))
    assert reader.get(root, b"b0-1") == b"block19"


def test_levelkv_gives_the_same_roots_as_memorykv(tmp_path):
    import random

    rnd = random.Random(7)
    memory_tree = SparseMerkleTree(Overlay(MemoryKV()))
    memory_root = level_root = EMPTY_ROOT
    roots = []
    with LevelKV(tmp_path / "db") as db:
        for _ in range(15):
            changes = {rnd.choice(POOL): (rnd.randbytes(rnd.randint(0, 20)) if rnd.random() < 0.7 else None) for _ in range(30)}
            memory_root = memory_tree.update(memory_root, changes)
            overlay = Overlay(db)
            level_root = SparseMerkleTree(Prefixed(overlay, b"s"), latest_values=True).update(level_root, changes)
            overlay.commit_to(db)
            assert level_root == memory_root
            roots.append(level_root)
    with LevelKV(tmp_path / "db", create=False) as db:
        reopened = SparseMerkleTree(Prefixed(db, b"s"))
        for root in roots:
            for key in POOL[:20]:
                assert reopened.get(root, key) == memory_tree.get(root, key)


def test_path_is_sha256_of_key():
    tree, _ = new_tree()
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    pa, pb = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    left, right = sorted([(pa, b"1"), (pb, b"2")])
    assert ref.bit(left[0], 0) != ref.bit(right[0], 0)
    expected = ref.sha256(b"\x03" + ref.leaf(left[0], ref.sha256(left[1])) + ref.leaf(right[0], ref.sha256(right[1])))
    assert root == expected
    assert root_key(tree, root) == node_key(1, root)


@settings(max_examples=100, deadline=None)
@given(st.lists(ops, min_size=1, max_size=6))
def test_cache_size_never_changes_results(batches):
    trees = [SparseMerkleTree(Overlay(MemoryKV()), cache=NodeCache(capacity)) for capacity in (0, 4, 1 << 10)]
    roots = [EMPTY_ROOT] * len(trees)
    model: dict[bytes, bytes] = {}
    for operations in batches:
        changes = dict(operations)
        roots = [tree.update(root, changes) for tree, root in zip(trees, roots)]
        model = {k: v for k, v in (model | changes).items() if v is not None}
        assert len(trees[1].cache) <= 4
        assert roots[0] == roots[1] == roots[2] == ref.root_of(model)
    for key in POOL[:12]:
        assert trees[1].get(roots[1], key) == model.get(key)


def test_cache_is_bounded_by_its_positions_and_serves_only_the_instance_asked_for():
    """§6.5: with a shared cache, entries left by an old root's reads and by a dropped batch of
    the next version never stand for the instances of the tree that is then written."""
    import random

    rnd = random.Random(11)
    base = MemoryKV()
    cache = NodeCache(capacity=1 << 5)  # depths 0..4: positions 1..31
    keys = [b"c%d" % i for i in range(400)] + DEEP_KEYS
    history = [(EMPTY_ROOT, {})]
    for version in range(1, 30):
        root, model = history[-1]
        changes = {rnd.choice(keys): (rnd.randbytes(rnd.randint(0, 9)) if rnd.random() < 0.8 else None) for _ in range(40)}
        old_root, old_model = rnd.choice(history)
        old_reader = SparseMerkleTree(base, cache=cache)
        for key in rnd.sample(keys, 15):  # fills positions with the old root's instances
            assert old_reader.get(old_root, key) == old_model.get(key)
        dropped = Overlay(base)  # a proposal of this version that is never committed
        SparseMerkleTree(dropped, cache=cache).update(root, {rnd.choice(keys): b"dropped" for _ in range(20)}, version=version)
        overlay = Overlay(base)
        new_root = SparseMerkleTree(overlay, cache=cache).update(root, changes, version=version)
        overlay.commit_to(base)
        model = {k: v for k, v in (model | changes).items() if v is not None}
        assert new_root == ref.root_of(model)
        assert len(cache.slots) == 32 and cache.slots[0] is None and 0 < len(cache) <= 31
        history.append((new_root, model))
    cold = SparseMerkleTree(base, cache=NodeCache(0))
    warm = SparseMerkleTree(base, cache=cache)
    for root, model in history[-5:]:
        for key in keys[:60] + DEEP_KEYS:
            assert warm.get(root, key) == cold.get(root, key) == model.get(key)
            assert warm.prove(root, key) == cold.prove(root, key)


def test_a_large_batch_matches_the_reference_and_lists_exactly_what_it_replaced():
    """Most changes of a large batch reach their subtree alone (batch.merge_one): inserts that
    push a leaf down, overwrites, deletes that collapse a pair, no-ops, on a latest-values tree."""
    import random

    rnd = random.Random(3)
    tree, store = new_tree(latest=True)
    model = {b"b%d" % i: b"%d" % i for i in range(1500)}
    root = tree.update(EMPTY_ROOT, model)
    for _ in range(3):
        changes: dict[bytes, bytes | None] = {}
        for key in rnd.sample(sorted(model), 300):
            changes[key] = rnd.choice([None, model[key], b"new" + key])
        changes |= {b"n%d" % rnd.randrange(10**6): b"fresh" for _ in range(300)}
        changes |= {b"absent%d" % i: None for i in range(20)}
        before = reachable(tree, root)
        update = tree.write_version(root, changes)
        model = {k: v for k, v in (model | changes).items() if v is not None}
        assert update.root == ref.root_of(model)
        assert set(update.stale) == set(before) - set(reachable(tree, update.root))
        for key in rnd.sample(sorted(changes), 50):
            assert tree.get(update.root, key) == model.get(key)
        root = update.root
