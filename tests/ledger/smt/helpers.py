"""Shared pieces of the state-tree tests: key pools and strategies, a recording overlay, and a
walk over the stored node instances that checks the canonical shape of state.md §4."""

from __future__ import annotations

from hypothesis import strategies as st

from ledger.kv import MemoryKV, Overlay
from ledger.smt import EMPTY_ROOT, SparseMerkleTree
from ledger.smt.nodes import EMPTY_KEY, LEAF_TAG, NODE_SPACE, NODE_TAG, key_hash, node_children, node_key, record_hash
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
    """An Overlay that counts node writes and fails if a put would change a node record, but
    for a superseded leaf of a latest-values tree taking its value inline (state.md §6.3)."""

    def __init__(self, base: MemoryKV) -> None:
        super().__init__(base)
        self.node_puts = 0

    def put(self, key: bytes, value: bytes) -> None:
        self._check(key, value)
        super().put(key, value)

    def put_many(self, items) -> None:
        for key, value in items.items():
            self._check(key, value)
        super().put_many(items)

    def _check(self, key: bytes, value: bytes) -> None:
        if key.startswith(NODE_SPACE):
            old = self.get(key)
            archived = old is not None and old[0] == LEAF_TAG and len(old) == 65 and value.startswith(old)
            assert old is None or old == value or archived, f"record {key.hex()} rewritten with different bytes"
            self.node_puts += 1


def new_tree(latest: bool = False) -> tuple[SparseMerkleTree, RecordingOverlay]:
    store = RecordingOverlay(MemoryKV())
    return SparseMerkleTree(store, latest_values=latest), store


def apply_ops(tree: SparseMerkleTree, root: bytes, operations, model: dict[bytes, bytes]) -> bytes:
    """Apply `operations` one update each, keeping `model` (key -> value) in step."""
    for key, value in operations:
        root = tree.update(root, {key: value})
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    return root


def root_key(tree: SparseMerkleTree, root: bytes) -> bytes:
    """The node key of the instance `root` names (EMPTY_KEY for the empty root)."""
    version = tree.root_version(root)
    return EMPTY_KEY if version is None else node_key(version, root)


def reachable(tree: SparseMerkleTree, root: bytes) -> dict[bytes, bytes]:
    """Node key -> record of every instance reachable from `root`, checking on the way that
    each is stored under its hash and that the tree has the canonical shape of §4."""
    out: dict[bytes, bytes] = {}
    stack = [root_key(tree, root)] if root != EMPTY_ROOT else []
    while stack:
        key = stack.pop()
        record = tree.store.get(NODE_SPACE + key)
        assert record is not None and record_hash(record) == key_hash(key)
        out[key] = record
        if record[0] == NODE_TAG:
            live = [child for child in node_children(record) if child != EMPTY_KEY]
            assert live, "internal node with two empty children"
            if len(live) == 1:
                assert tree.store.get(NODE_SPACE + live[0])[0] == NODE_TAG, "uncollapsed single leaf"
            stack += live
        else:
            assert record[0] == LEAF_TAG
    return out
