"""The sparse Merkle state map over a content-addressed node store (docs/spec/state.md §4–§6).

`SparseMerkleTree` reads node records through a `ledger.kv` reader and writes new ones with
`put` (an `Overlay`, or a `Prefixed` view of one, that the caller commits in its block's batch).
A root names one immutable version of the map: `update` writes only new records and returns
a new root, so every earlier root can still be read and proven. The tree never deletes or
rewrites a record (a put only ever repeats the bytes already stored under that hash), never
stores an empty subtree, and never commits, syncs or opens a store itself.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Mapping

from ledger.errors import StoreError, ValidationError
from ledger.kv import KVReader, Prefixed
from ledger.smt.hasher import (
    DEPTH,
    EMPTY_HASH,
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    check_key,
    check_value,
    path_of,
)
from ledger.smt.nodes import HEAD_SIZE, LEAF_TAG, NODE_TAG, NodeCache, load_record
from ledger.smt.proof import StateProof

__all__ = ["EMPTY_ROOT", "SparseMerkleTree"]

_sha256 = hashlib.sha256


def _check_root(root: object) -> bytes:
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValidationError(
            f"state root must be {HASH_SIZE} bytes, got {type(root).__name__} "
            f"of length {len(root) if isinstance(root, (bytes, bytearray)) else '?'}",
            code="smt.root_invalid",
            field="root",
        )
    return root


def _corrupt(node: bytes, depth: int) -> StoreError:
    return StoreError(
        f"state node {node.hex()} lies deeper than {DEPTH} levels (damaged store)",
        code="smt.corrupt_node",
        node=node,
        depth=depth,
    )


class SparseMerkleTree:
    """The state map over `store` (must have `get`; `update` also needs `put`).

    `cache` holds the upper internal nodes of the latest tree (§6); pass one `NodeCache` to
    the trees built over successive block overlays, or every block starts cold. Reads go to
    the cache first: a record is immutable, so a cached one is right for any store holding it.
    """

    def __init__(self, store: KVReader, *, cache: NodeCache | None = None) -> None:
        self.store = store
        self.cache = cache if cache is not None else NodeCache()

    def _read(self, node: bytes, depth: int) -> bytes:
        """The record of non-empty `node` found at `depth`, from the cache or the store."""
        return self.cache.get(node) or self._load(node, depth)

    def _load(self, node: bytes, depth: int) -> bytes:
        """The record of non-empty `node` from the store, cached if internal and above the
        cache's depth limit."""
        record = load_record(self.store, node)
        if depth < self.cache.max_depth and record[0] == NODE_TAG:
            self.cache.add(node, record)
        return record

    def get(self, root: bytes, key: bytes) -> bytes | None:
        """The value of `key` in the map named by `root`, or None if absent (§5.1).

        Raises ValidationError for a malformed root or key, StoreError ("smt.missing_node",
        "smt.corrupt_node") if the store lacks or garbles a node under `root`.
        """
        _check_root(root)
        path = path_of(check_key(key))
        bits = int.from_bytes(path, "big")
        node, depth = root, 0
        while node != EMPTY_HASH:
            record = self._read(node, depth)
            if record[0] == LEAF_TAG:
                return record[HEAD_SIZE:] if record[1:33] == path else None
            if depth == DEPTH:
                raise _corrupt(node, depth)
            node = record[33:65] if (bits >> (255 - depth)) & 1 else record[1:33]
            depth += 1
        return None

    def prove(self, root: bytes, key: bytes) -> StateProof:
        """A proof of the membership or non-membership of `key` at `root` (§7.1).

        The proof lists the siblings of the path's nodes from the root down to where the path
        ends: at `key`'s leaf (membership), at an empty subtree, or at another key's leaf
        (non-membership; the proof then carries that leaf's path and value hash).
        Raises as `get` does.
        """
        _check_root(root)
        path = path_of(check_key(key))
        bits = int.from_bytes(path, "big")
        siblings: list[bytes] = []
        node, depth = root, 0
        while node != EMPTY_HASH:
            record = self._read(node, depth)
            if record[0] == LEAF_TAG:
                if record[1:33] == path:
                    break
                return StateProof(tuple(siblings), record[1:33], record[33:65])
            if depth == DEPTH:
                raise _corrupt(node, depth)
            if (bits >> (255 - depth)) & 1:
                siblings.append(record[1:33])
                node = record[33:65]
            else:
                siblings.append(record[33:65])
                node = record[1:33]
            depth += 1
        return StateProof(tuple(siblings))

    def update(self, root: bytes, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Apply a batch of changes to the map named by `root` and return the new root (§5.2).

        `changes` maps keys to new values; None deletes (a no-op for an absent key). The batch
        is applied as one: paths are sorted and the union of their paths rewritten once, so a
        node shared by several changes is hashed once. New records are `put` into the store;
        nothing is removed, so `root` stays readable. The result depends only on the map's
        final contents. Raises ValidationError for a malformed root, key or value (before
        anything is written; after a later error the store may hold records no root names:
        drop the overlay), StoreError "smt.read_only_store" if the store has no `put`, and
        StoreError as `get` does for missing or damaged nodes.
        """
        _check_root(root)
        if not changes:
            return root
        target = self.store
        while isinstance(target, Prefixed):
            target = target.inner
        if not callable(getattr(target, "put", None)):
            raise StoreError(
                "the state tree's store has no put(); give it an Overlay (or a Prefixed view of one)",
                code="smt.read_only_store",
            )
        items = []
        for key, value in changes.items():
            check_key(key)
            if value is not None:
                check_value(value)
            items.append((path_of(key), value))
        items.sort(key=lambda item: item[0])
        return _apply_batch(self, self.store.put, items, root)


def _apply_batch(
    tree: SparseMerkleTree, put: Callable[[bytes, bytes], None], items: list[tuple[bytes, bytes | None]], root: bytes
) -> bytes:
    """One `update` (§5.2): rewrite the union of the sorted changes' paths under `root`.

    Changes are addressed by index into arrays sorted by path; the changes under a subtree at
    depth d are a contiguous range [lo, hi), split at bit d by bisecting the paths as integers.
    `sets[i]` counts the non-deleting changes before index i. The two recursions are closures
    over these arrays: this is the hot loop, so records stay bytes and lookups stay local.
    """
    ints = [int.from_bytes(path, "big") for path, _ in items]
    values = [value for _, value in items]
    heads = [None if value is None else LEAF_PREFIX + path + _sha256(value).digest() for path, value in items]
    sets = [0]
    for value in values:
        sets.append(sets[-1] + (value is not None))
    cache = tree.cache
    cache_get, cache_set, cache_drop, cache_depth = cache.get, cache.__setitem__, cache.pop, cache.max_depth
    read, load = tree._read, tree._load

    def store_node(left: bytes, right: bytes, depth: int) -> bytes:
        record = NODE_PREFIX + left + right
        node = _sha256(record).digest()
        put(node, record)
        if depth < cache_depth:
            cache_set(node, record)
        return node

    def build(depth: int, lo: int, hi: int, leaf_bits: int, leaf: bytes | None) -> bytes:
        """The subtree at `depth` holding the set changes in [lo, hi) and, if `leaf` is not
        None, the existing leaf `leaf` with path `leaf_bits` that the batch does not touch."""
        total = sets[hi] - sets[lo] + (leaf is not None)
        if total == 0:
            return EMPTY_HASH
        if total == 1:
            if leaf is not None:
                return leaf
            i = bisect_left(sets, sets[lo] + 1, lo, hi + 1) - 1
            node = _sha256(heads[i]).digest()
            put(node, heads[i] + values[i])
            return node
        if depth == DEPTH:
            raise ValidationError("two state keys share a 256-bit path", code="smt.path_collision")
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        if leaf is None:
            left = build(depth + 1, lo, mid, 0, None)
            right = build(depth + 1, mid, hi, 0, None)
        elif (leaf_bits >> shift) & 1:
            left = build(depth + 1, lo, mid, 0, None)
            right = build(depth + 1, mid, hi, leaf_bits, leaf)
        else:
            left = build(depth + 1, lo, mid, leaf_bits, leaf)
            right = build(depth + 1, mid, hi, 0, None)
        return store_node(left, right, depth)

    def merge(node: bytes, depth: int, lo: int, hi: int) -> tuple[bytes, bool]:
        """Apply the changes [lo, hi) (non-empty) to the subtree `node` at `depth`; returns
        the new subtree hash and whether it is a single (collapsed) leaf (§4)."""
        if node == EMPTY_HASH:
            return build(depth, lo, hi, 0, None), sets[hi] - sets[lo] == 1
        record = cache_get(node) or load(node, depth)
        if record[0] == LEAF_TAG:
            leaf_bits = int.from_bytes(record[1:33], "big")
            i = bisect_left(ints, leaf_bits, lo, hi)
            if i < hi and ints[i] == leaf_bits:
                # The batch rewrites or deletes this leaf's own key.
                if hi - lo == 1 and heads[i] == record[:HEAD_SIZE]:
                    return node, True
                return build(depth, lo, hi, 0, None), sets[hi] - sets[lo] == 1
            return build(depth, lo, hi, leaf_bits, node), sets[hi] == sets[lo]
        if depth == DEPTH:
            raise _corrupt(node, depth)
        left, right = record[1:33], record[33:65]
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        new_left, left_is_leaf = merge(left, depth + 1, lo, mid) if lo < mid else (left, None)
        new_right, right_is_leaf = merge(right, depth + 1, mid, hi) if mid < hi else (right, None)
        if new_left == left and new_right == right:
            return node, False
        if depth < cache_depth:
            cache_drop(node, None)  # superseded: the cache keeps the top of the latest tree
        # §4: a subtree with exactly one leaf is that leaf; with none it is empty.
        if new_left == EMPTY_HASH:
            if new_right == EMPTY_HASH:
                return EMPTY_HASH, False
            if right_is_leaf is None:
                right_is_leaf = read(new_right, depth + 1)[0] == LEAF_TAG
            if right_is_leaf:
                return new_right, True
        elif new_right == EMPTY_HASH:
            if left_is_leaf is None:
                left_is_leaf = read(new_left, depth + 1)[0] == LEAF_TAG
            if left_is_leaf:
                return new_left, True
        return store_node(new_left, new_right, depth), False

    new_root = merge(root, 0, 0, len(items))[0]
    cache.trim()
    return new_root
