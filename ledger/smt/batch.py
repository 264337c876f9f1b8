"""One batch update of the sparse Merkle state map (docs/spec/state.md §5.2, §6).

`apply_batch` rewrites the union of the changed paths under one root as new node instances of
one version, reuses every unchanged subtree's instance as it is, and returns the new root's node
key with the list of the instances it replaced (the stale list of §6.4). It writes through the
store's `put_many`, once per batch (and `delete_many`, for the latest-value table of §6.3), and
never removes a node instance: pruning is `SparseMerkleTree.prune`. Inputs are checked by the
caller.
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
    position,
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
    `prefix` (a store with `get` and `put_many`, and `delete_many` with `latest`); write the
    new instances as `version`. Returns (new root key, stale node keys). With `latest`, new
    leaves hold no value and the latest-value table is kept (§6.3).

    Changes are addressed by index into arrays sorted by path; the changes under a subtree at
    depth d are a contiguous range [lo, hi), split at bit d by bisecting the paths as integers.
    `sets[i]` counts the non-deleting changes before index i. A subtree with one change (below
    the levels a batch shares, nearly every node) is walked down and rebuilt up in a loop
    (`merge_one`), others recursively (`merge`); each carries the position of its node in the
    cache (`ledger.smt.nodes.position`). All closures over these arrays: this is the hot loop,
    so records stay bytes, lookups stay local and new records are collected in one dict handed
    to the store at the end.
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
    space = prefix + NODE_SPACE
    writes: dict[bytes, bytes] = {}
    slots, cache_depth = cache.slots, cache.max_depth  # §6.5: entry by position, for depths < cache_depth
    stale: list[bytes] = []
    replaced: dict[int, tuple[bytes, bytes]] = {}  # change index -> (key, record) of the leaf it replaces
    unchanged: set[int] = set()  # changes that set a key to the value it has

    def read(key: bytes, depth: int, place: int) -> bytes:
        """The record (or cache entry, §6.5) of the non-empty instance `key` at `depth` and
        position `place`; an internal record read from the store is cached."""
        if depth < cache_depth:
            entry = slots[place]
            if entry is not None and entry.endswith(key):
                return entry
            record = load_record(store, key, space)
            if record[0] == NODE_TAG:
                slots[place] = record + key
            return record
        return load_record(store, key, space)

    def store_node(left: bytes, right: bytes, depth: int, place: int) -> bytes:
        key = stamp + _sha256(NODE_PREFIX + left[8:] + right[8:]).digest()
        record = NODE_PREFIX + left + right
        writes[space + key] = record
        if depth < cache_depth:
            slots[place] = record + key  # in place of the record it supersedes
        return key

    def store_leaf(i: int) -> bytes:
        head = heads[i]
        key = stamp + _sha256(head).digest()
        writes[space + key] = head if latest else head + values[i]
        return key

    def build(depth: int, place: int, lo: int, hi: int, leaf_bits: int, leaf: bytes | None, same: bool) -> bytes:
        """The subtree at `depth` and `place` holding the set changes in [lo, hi) and, if
        `leaf` is not None, the existing leaf instance `leaf` with path `leaf_bits`. `same`:
        one of the changes sets that leaf's own key to the value it has (the leaf stands for it)."""
        total = sets[hi] - sets[lo] + (leaf is not None and not same)
        if total == 0:
            return EMPTY_KEY
        if total == 1:
            if leaf is not None:
                return leaf
            return store_leaf(bisect_left(sets, sets[lo] + 1, lo, hi + 1) - 1)
        if depth == DEPTH:
            raise ValidationError("two state keys share a 256-bit path", code="smt.path_collision")
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        if leaf is None:
            left = build(depth + 1, 2 * place, lo, mid, 0, None, False)
            right = build(depth + 1, 2 * place + 1, mid, hi, 0, None, False)
        elif (leaf_bits >> shift) & 1:
            left = build(depth + 1, 2 * place, lo, mid, 0, None, False)
            right = build(depth + 1, 2 * place + 1, mid, hi, leaf_bits, leaf, same)
        else:
            left = build(depth + 1, 2 * place, lo, mid, leaf_bits, leaf, same)
            right = build(depth + 1, 2 * place + 1, mid, hi, 0, None, False)
        return store_node(left, right, depth, place)

    def pair(depth: int, i: int, leaf_bits: int, leaf: bytes) -> bytes:
        """build(depth, ..., i, i + 1, leaf_bits, leaf, False) for a set change i whose path
        differs from the leaf's: the two leaves under the node where their paths part, and
        above it a chain of nodes with one empty child each."""
        bits = ints[i]
        top = (bits ^ leaf_bits).bit_length() - 1
        d = 255 - top
        mine = store_leaf(i)
        place = position(bits, d)
        node = store_node(leaf, mine, d, place) if (bits >> top) & 1 else store_node(mine, leaf, d, place)
        while d > depth:
            d -= 1
            place >>= 1
            node = store_node(EMPTY_KEY, node, d, place) if (bits >> (255 - d)) & 1 else store_node(node, EMPTY_KEY, d, place)
        return node

    def merge_one(key: bytes, depth: int, place: int, i: int) -> tuple[bytes, bool]:
        """merge(key, depth, place, i, i + 1): walk down the path of change i to the leaf or
        empty subtree where it ends, change that, then rebuild the nodes walked through, bottom
        up, collapsing as §4 requires."""
        bits = ints[i]
        trail: list[tuple[bytes, bytes, int]] = []  # (instance, record, bit taken) of the internal nodes walked through
        node, d = key, depth
        while node != EMPTY_KEY:
            if d < cache_depth:  # read(node, d, place), inline
                record = slots[place]
                if record is None or not record.endswith(node):
                    record = load_record(store, node, space)
                    if record[0] == NODE_TAG:
                        slots[place] = record + node
            else:
                record = load_record(store, node, space)
            if record[0] == LEAF_TAG:
                break
            if d == DEPTH:
                raise too_deep(node)
            bit = (bits >> (255 - d)) & 1
            trail.append((node, record, bit))
            node = record[41:81] if bit else record[1:41]
            place = 2 * place + bit
            d += 1
        if node == EMPTY_KEY:
            if values[i] is None:  # deleting an absent key
                return key, False
            bottom, is_leaf = store_leaf(i), True
        else:
            leaf_bits = int.from_bytes(record[1:33], "big")
            if leaf_bits != bits:
                if values[i] is None:  # deleting an absent key
                    return key, not trail
                bottom, is_leaf = pair(d, i, leaf_bits, node), False
            elif heads[i] == record[:HEAD_SIZE]:
                unchanged.add(i)
                return key, not trail
            else:
                replaced[i] = (node, record)
                stale.append(node)
                bottom, is_leaf = (EMPTY_KEY, False) if values[i] is None else (store_leaf(i), True)
        stale.extend([node for node, _, _ in trail])  # each is replaced: by a new node, a leaf or nothing
        for _, record, on_right in reversed(trail):
            d -= 1
            place >>= 1
            sibling = record[1:41] if on_right else record[41:81]
            # §4: a subtree with exactly one leaf is that leaf; with none it is empty.
            if sibling == EMPTY_KEY and (is_leaf or bottom == EMPTY_KEY):
                continue
            if bottom == EMPTY_KEY and read(sibling, d + 1, 2 * place + 1 - on_right)[0] == LEAF_TAG:
                bottom, is_leaf = sibling, True
                continue
            left, right = (sibling, bottom) if on_right else (bottom, sibling)  # store_node, inline
            record = NODE_PREFIX + left + right
            bottom = stamp + _sha256(NODE_PREFIX + left[8:] + right[8:]).digest()
            writes[space + bottom] = record
            if d < cache_depth:
                slots[place] = record + bottom
            is_leaf = False
        return bottom, is_leaf

    def merge(key: bytes, depth: int, place: int, lo: int, hi: int) -> tuple[bytes, bool]:
        """Apply the changes [lo, hi) (at least two) to the subtree instance `key` at `depth`
        and `place`; returns the new subtree's key and whether it is a single (collapsed) leaf
        (§4). An unchanged subtree comes back as the same instance; a replaced one is listed
        stale."""
        if key == EMPTY_KEY:
            return build(depth, place, lo, hi, 0, None, False), sets[hi] - sets[lo] == 1
        record = read(key, depth, place)
        if record[0] == LEAF_TAG:
            leaf_bits = int.from_bytes(record[1:33], "big")
            i = bisect_left(ints, leaf_bits, lo, hi)
            if i < hi and ints[i] == leaf_bits:
                # The batch sets or deletes this leaf's own key.
                if heads[i] == record[:HEAD_SIZE]:
                    unchanged.add(i)
                    return build(depth, place, lo, hi, leaf_bits, key, True), sets[hi] - sets[lo] == 1
                replaced[i] = (key, record)
                stale.append(key)
                return build(depth, place, lo, hi, 0, None, False), sets[hi] - sets[lo] == 1
            return build(depth, place, lo, hi, leaf_bits, key, False), sets[hi] == sets[lo]
        if depth == DEPTH:
            raise too_deep(key)
        left, right = record[1:41], record[41:81]
        shift = 255 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        new_left, left_is_leaf = descend(left, depth + 1, 2 * place, lo, mid) if lo < mid else (left, None)
        new_right, right_is_leaf = descend(right, depth + 1, 2 * place + 1, mid, hi) if mid < hi else (right, None)
        if new_left == left and new_right == right:
            return key, False
        stale.append(key)
        # §4: a subtree with exactly one leaf is that leaf; with none it is empty.
        if new_left == EMPTY_KEY:
            if new_right == EMPTY_KEY:
                return EMPTY_KEY, False
            if right_is_leaf is None:
                right_is_leaf = read(new_right, depth + 1, 2 * place + 1)[0] == LEAF_TAG
            if right_is_leaf:
                return new_right, True
        elif new_right == EMPTY_KEY:
            if left_is_leaf is None:
                left_is_leaf = read(new_left, depth + 1, 2 * place)[0] == LEAF_TAG
            if left_is_leaf:
                return new_left, True
        return store_node(new_left, new_right, depth, place), False

    def descend(key: bytes, depth: int, place: int, lo: int, hi: int) -> tuple[bytes, bool]:
        return merge_one(key, depth, place, lo) if hi - lo == 1 else merge(key, depth, place, lo, hi)

    new_root = descend(root, 0, 1, 0, len(items))[0]
    if latest and new_root != root:
        _write_latest(store, prefix, items, replaced, unchanged, writes)
    store.put_many(writes)
    return new_root, stale


def _write_latest(
    store,
    prefix: bytes,
    items: list[tuple[bytes, bytes, bytes | None]],
    replaced: dict[int, tuple[bytes, bytes]],
    unchanged: set[int],
    writes: dict[bytes, bytes],
) -> None:
    """§6.3: give each replaced leaf that relied on the latest-value table its value inline,
    then bring the table up to date; puts go to `writes`, deletes to the store (all reads
    before any write)."""
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
            writes[space + key] = record + value
    deleted = []
    for i, (_, state_key, value) in enumerate(items):
        if value is None:
            if i in replaced:
                deleted.append(latest + state_key)
        elif i not in unchanged:
            writes[latest + state_key] = value
    if deleted:
        store.delete_many(deleted)
