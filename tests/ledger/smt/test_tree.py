"""Tests of ledger.smt.tree: roots against the literal reference, batching, deletes, history,
node-store invariants, input errors, and LevelDB against memory."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import StoreError, ValidationError
from ledger.kv import MemoryKV, Overlay, Prefixed
from ledger.smt import EMPTY_ROOT, MAX_KEY_BYTES, MAX_VALUE_BYTES, NodeCache, SparseMerkleTree
from ledger.smt.nodes import LEAF_TAG, NODE_TAG, record_hash
from ledger.store.kv import LevelKV
from tests.ledger.smt import reference as ref

DEEP_KEYS = [
    *ref.keys_sharing_prefix(8, 4),
    *ref.keys_sharing_prefix(12, 3),
    *ref.keys_sharing_prefix(16, 3),
    *ref.keys_sharing_prefix(20, 3, limit=1 << 16),
    *ref.keys_sharing_prefix(24, 2, limit=1 << 16),
]
POOL = [b"k%d" % i for i in range(24)] + DEEP_KEYS
keys = st.sampled_from(POOL) | st.binary(min_size=1, max_size=6)
values = st.binary(max_size=12)
maps = st.dictionaries(keys, values, max_size=24)
ops = st.lists(st.tuples(keys, st.none() | values), max_size=40)


class RecordingOverlay(Overlay):
    """An Overlay that counts puts and fails if a put would change an existing record."""

    def __init__(self, base: MemoryKV) -> None:
        super().__init__(base)
        self.put_count = 0

    def put(self, key: bytes, value: bytes) -> None:
        old = self.get(key)
        assert old is None or old == value, f"record {key.hex()} rewritten with different bytes"
        self.put_count += 1
        super().put(key, value)


def new_tree() -> tuple[SparseMerkleTree, RecordingOverlay]:
    store = RecordingOverlay(MemoryKV())
    return SparseMerkleTree(store), store


def apply_ops(tree: SparseMerkleTree, root: bytes, operations, model: dict[bytes, bytes]) -> bytes:
    for key, value in operations:
        root = tree.update(root, {key: value})
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    return root


def reachable(tree: SparseMerkleTree, root: bytes) -> dict[bytes, bytes]:
    """All records reachable from `root`, checking the canonical shape of §4 on the way."""
    out: dict[bytes, bytes] = {}
    stack = [root] if root != EMPTY_ROOT else []
    while stack:
        node = stack.pop()
        record = tree.store.get(node)
        assert record is not None and record_hash(record) == node
        out[node] = record
        if record[0] == NODE_TAG:
            children = [record[1:33], record[33:65]]
            live = [c for c in children if c != EMPTY_ROOT]
            assert live, "internal node with two empty children"
            if len(live) == 1:
                assert tree.store.get(live[0])[0] == NODE_TAG, "uncollapsed single leaf"
            stack += live
        else:
            assert record[0] == LEAF_TAG
    return out


def test_empty_tree_root_is_zero_and_holds_nothing():
    tree, store = new_tree()
    assert EMPTY_ROOT == bytes(32) == ref.root_of({})
    assert tree.get(EMPTY_ROOT, b"anything") is None
    assert tree.update(EMPTY_ROOT, {}) == EMPTY_ROOT
    assert tree.update(EMPTY_ROOT, {b"absent": None}) == EMPTY_ROOT
    assert store.put_count == 0


def test_single_key_root_is_its_leaf_hash():
    tree, _ = new_tree()
    root = tree.update(EMPTY_ROOT, {b"k": b"v"})
    assert root == ref.leaf(ref.sha256(b"k"), ref.sha256(b"v"))


@settings(max_examples=250, deadline=None)
@given(maps)
def test_update_matches_reference_root_and_get(pairs):
    tree, _ = new_tree()
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
    tree, _ = new_tree()
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
@given(maps, ops)
def test_historical_roots_still_answer_get(pairs, operations):
    tree, _ = new_tree()
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


def test_unchanged_value_and_absent_delete_write_nothing():
    tree, store = new_tree()
    root = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2", b"c": b"3"})
    before = store.put_count
    assert tree.update(root, {b"a": b"1", b"zz": None}) == root
    assert store.put_count == before


def test_batch_writes_each_new_node_once():
    tree, store = new_tree()
    pairs = {b"key-%d" % i: b"%d" % i for i in range(300)} | {k: k for k in DEEP_KEYS}
    root = tree.update(EMPTY_ROOT, pairs)
    assert store.put_count == len(reachable(tree, root)) == len(store.puts)
    store.put_count = 0
    changes = {b"key-%d" % i: b"new" for i in range(0, 300, 7)}
    new_root = tree.update(root, changes)
    fresh = set(reachable(tree, new_root)) - set(reachable(tree, root))
    assert store.put_count == len(fresh)


def test_every_record_is_stored_under_its_hash_and_none_is_empty():
    tree, store = new_tree()
    root = tree.update(EMPTY_ROOT, {b"x%d" % i: b"v" * i for i in range(50)})
    tree.update(root, {b"x%d" % i: None for i in range(0, 50, 3)})
    assert EMPTY_ROOT not in store.puts
    for key, record in store.puts.items():
        assert key == record_hash(record)


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
    assert store.put_count == 0


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
    base.write({root: b"\x03short"})
    with pytest.raises(StoreError) as info:
        SparseMerkleTree(base).get(root, b"a")
    assert info.value.code == "smt.corrupt_node"


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
        root = SparseMerkleTree(Prefixed(overlay, b"smt/"), cache=cache).update(root, changes)
        overlay.commit_to(base)
        model |= changes
        assert len(cache) <= 64
    assert root == ref.root_of(model)
    reader = SparseMerkleTree(Prefixed(base, b"smt/"), cache=NodeCache(capacity=0))
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
            level_root = SparseMerkleTree(Prefixed(overlay, b"smt/")).update(level_root, changes)
            overlay.commit_to(db)
            assert level_root == memory_root
            roots.append(level_root)
    with LevelKV(tmp_path / "db", create=False) as db:
        reopened = SparseMerkleTree(Prefixed(db, b"smt/"))
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
