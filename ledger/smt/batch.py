"""One batch update of the sparse Merkle state map (docs/spec/state.md §5.2, §6).

`apply_batch` rewrites the union of the changed paths under one root as new node instances of
one version, reuses every unchanged subtree's instance as it is, and returns the new root's node
key with the list of the instances it replaced (the stale list of §6.4). It writes through the
store's `put` (and `delete`, for the latest-value table of §6.3) and never removes a node
instance: pruning is `SparseMerkleTree.prune`. Inputs are checked by the caller.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left

from ledger.errors import StoreError, ValidationError
from ledger.smt.hasher import DEPTH, LEAF_PREFIX, NODE_PREFIX
from ledger.smt.nodes import (
    EMPTY_KEY,
    HEAD_SIZE,
    LATEST_SPACE,
    LEAF_TAG,
    NODE_SPACE,
    NODE_TAG,
    VERSION_SIZE,
    NodeCache,
    leaf_value,
    load_record,
    too_deep,
)

__all__ = ["apply_batch"]

_sha256 = hashlib.sha256


def apply_batch(
    store,
    prefix: bytes,
    cache: NodeCache,
    items: list[tuple[bytes, bytes, bytes | None]],
    root: bytes,
    version: int,
    latest: bool,
) -> tuple[bytes, list[bytes]]:
    """Apply `items` — (path, key, value or None to delete), sorted by path, one per key — to
    the tree whose root instance is `root` (EMPTY_KEY for the empty map), kept in `store` under
    `prefix` (a store with `get` and `put`, and `delete` with `latest`); write the new
    instances as `version`. Returns (new root key, stale node keys). With `latest`, new leaves
    hold no value and the latest-value table is kept (§6.3).

    Changes are addressed by index into arrays sorted by path; the changes under a subtree at
    depth d are a contiguous range [lo, hi), split at bit d by bisecting the paths as integers.
    `sets[i]` counts the non-deleting changes before index i. The two recursions are closures
    over these arrays: this is the hot loop, so records stay bytes and lookups stay local.
    Raises ValidationError "smt.path_collision"; StoreError for missing or damaged nodes, and
    "smt.value_mismatch" when a replaced leaf's latest value does not match its hash.
    """
    ints = [int.from_bytes(path, "big") for path, _, _ in items]
    values = [value for _, _, value in items]
    heads = [None if value is None else LEAF_PREFIX + path + _sha256(value).digest() for path, _, value in items]
    sets = [0]
    for value in values:
        sets.append(sets[-1] + (value is not None))
    stamp = version.to_bytes(VERSION_SIZE, "big")
    put = store.put
    space = prefix + NODE_SPACE
    cache_get, cache_set, cache_drop, cache_depth = cache.get, cache.__setitem__, cache.pop, cache.max_depth
    stale: list[bytes] = []
    replaced: dict[int, tuple[bytes, bytes]] = {}  # change index -> (key, record) of the leaf it replaces
    unchanged: set[int] = set()  # changes that set a key to the value it has

    def load(key: bytes, depth: int) -> bytes:
        record = load_record(store, key, space)
        if depth < cache_depth and record[0] == NODE_TAG:
            cache.add(key, record)
        return record

    def read(key: bytes, depth: int) -> bytes:
        return cache_get(key) or load(key, depth)

    def store_node(left: bytes, right: bytes, depth: int) -> bytes:
        key = stamp + _sha256(NODE_PREFIX + left[8:] + right[8:]).digest()
        record = NODE_PREFIX + left + right
        put(space + key, record)
        if depth < cache_depth:
            cache_set(key, record)
        return key

    def build(depth: int, lo: int, hi: int, leaf_bits: int, leaf: bytes | None, same: bool) -> bytes:
        """The subtree at `depth` holding the set changes in [lo, hi) and, if `leaf` is not
        None, the existing leaf instance `leaf` with path `leaf_bits`. `same`: one of the
        changes sets that leaf's own key to the value it has (the leaf stands for it)."""
        total = sets[hi] - sets[lo] + (leaf is not None and not same)
        if total == 0:
            return EMPTY_KEY
        if total == 1:
            if leaf is not None:
                return leaf
            i = bisect_left(sets, sets[lo] + 1, lo, hi + 1) - 1
            head = heads[i]
            key = stamp + _sha256(head).digest()
            put(space + key, head if latest else head + values[i])
            return key
        if depth == DEPTH:
            raise ValidationError("two state keys share a 256-bit path", code="smt.path_collision")
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        if leaf is None:
            left = build(depth + 1, lo, mid, 0, None, False)
            right = build(depth + 1, mid, hi, 0, None, False)
        elif (leaf_bits >> shift) & 1:
            left = build(depth + 1, lo, mid, 0, None, False)
            right = build(depth + 1, mid, hi, leaf_bits, leaf, same)
        else:
            left = build(depth + 1, lo, mid, leaf_bits, leaf, same)
            right = build(depth + 1, mid, hi, 0, None, False)
        return store_node(left, right, depth)

    def merge(key: bytes, depth: int, lo: int, hi: int) -> tuple[bytes, bool]:
        """Apply the changes [lo, hi) (non-empty) to the subtree instance `key` at `depth`;
        returns the new subtree's key and whether it is a single (collapsed) leaf (§4). An
        unchanged subtree comes back as the same instance; a replaced one is listed stale."""
        if key == EMPTY_KEY:
            return build(depth, lo, hi, 0, None, False), sets[hi] - sets[lo] == 1
        record = cache_get(key) or load(key, depth)
        if record[0] == LEAF_TAG:
            leaf_bits = int.from_bytes(record[1:33], "big")
            i = bisect_left(ints, leaf_bits, lo, hi)
            if i < hi and ints[i] == leaf_bits:
                # The batch sets or deletes this leaf's own key.
                if heads[i] == record[:HEAD_SIZE]:
                    unchanged.add(i)
                    if hi - lo == 1:
                        return key, True
                    return build(depth, lo, hi, leaf_bits, key, True), sets[hi] - sets[lo] == 1
                replaced[i] = (key, record)
                stale.append(key)
                return build(depth, lo, hi, 0, None, False), sets[hi] - sets[lo] == 1
            return build(depth, lo, hi, leaf_bits, key, False), sets[hi] == sets[lo]
        if depth == DEPTH:
            raise too_deep(key)
        left, right = record[1:41], record[41:81]
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        new_left, left_is_leaf = merge(left, depth + 1, lo, mid) if lo < mid else (left, None)
        new_right, right_is_leaf = merge(right, depth + 1, mid, hi) if mid < hi else (right, None)
        if new_left == left and new_right == right:
            return key, False
        stale.append(key)
        if depth < cache_depth:
            cache_drop(key, None)  # superseded: the cache keeps the top of the latest tree
        # §4: a subtree with exactly one leaf is that leaf; with none it is empty.
        if new_left == EMPTY_KEY:
            if new_right == EMPTY_KEY:
                return EMPTY_KEY, False
            if right_is_leaf is None:
                right_is_leaf = read(new_right, depth + 1)[0] == LEAF_TAG
            if right_is_leaf:
                return new_right, True
        elif new_right == EMPTY_KEY:
            if left_is_leaf is None:
                left_is_leaf = read(new_left, depth + 1)[0] == LEAF_TAG
            if left_is_leaf:
                return new_left, True
        return store_node(new_left, new_right, depth), False

    new_root = merge(root, 0, 0, len(items))[0]
    cache.trim()
    if latest and new_root != root:
        _write_latest(store, prefix, items, replaced, unchanged)
    return new_root, stale


def _write_latest(
    store,
    prefix: bytes,
    items: list[tuple[bytes, bytes, bytes | None]],
    replaced: dict[int, tuple[bytes, bytes]],
    unchanged: set[int],
) -> None:
    """§6.3: give each replaced leaf that relied on the latest-value table its value inline,
    then bring the table up to date (all reads before any write)."""
    latest, space = prefix + LATEST_SPACE, prefix + NODE_SPACE
    for i, (key, record) in replaced.items():
        if leaf_value(record) is None:
            value = store.get(latest + items[i][1])
            if value is None or _sha256(value).digest() != record[33:65]:
                raise StoreError(
                    f"the latest value of state key {items[i][1]!r} does not match its leaf (damaged store)",
                    code="smt.value_mismatch",
                    key=items[i][1],
                )
            store.put(space + key, record + value)
    for i, (_, state_key, value) in enumerate(items):
        if value is None:
            if i in replaced:
                store.delete(latest + state_key)
        elif i not in unchanged:
            store.put(latest + state_key, value)
