"""Node records of the sparse Merkle state map and their byte encoding (docs/spec/state.md §6).

The node store is content-addressed: a record is stored under its node hash and never changes.
A record starts with the preimage of its own hash, so its tag byte is the hash prefix:

    internal: 0x03 || left (32) || right (32)               65 bytes, hash = SHA-256(record)
    leaf:     0x02 || path (32) || value hash (32) || value  65 + len(value) bytes,
                                                             hash = SHA-256(record[:65])

Values are kept inline in their leaf record: a read of a key ends at its leaf with no second
lookup, a leaf that moves up or down when neighbours come and go is reused as it is, and the
first 65 bytes give the leaf hash without rehashing the value. Empty subtrees (32 zero bytes)
are never stored. This module encodes, decodes, loads and caches records; it never walks a
tree and never writes to a store.
"""

from __future__ import annotations

import hashlib
from itertools import islice

from ledger.errors import StoreError
from ledger.kv import KVReader
from ledger.smt.hasher import HASH_SIZE, LEAF_PREFIX, NODE_PREFIX

LEAF_TAG = LEAF_PREFIX[0]
NODE_TAG = NODE_PREFIX[0]
# Both kinds of record start with 65 hashed bytes: tag and two 32-byte fields.
HEAD_SIZE = 1 + 2 * HASH_SIZE

DEFAULT_CACHE_CAPACITY = 1 << 18  # ~55 MB: every node of depth < 18

__all__ = [
    "DEFAULT_CACHE_CAPACITY",
    "HEAD_SIZE",
    "LEAF_TAG",
    "NODE_TAG",
    "NodeCache",
    "encode_leaf",
    "encode_node",
    "leaf_path",
    "leaf_value",
    "leaf_value_hash",
    "load_record",
    "node_children",
    "record_hash",
]


def encode_node(left: bytes, right: bytes) -> bytes:
    """The record of an internal node. Preconditions: two 32-byte child hashes."""
    return NODE_PREFIX + left + right


def encode_leaf(path: bytes, value_hash: bytes, value: bytes) -> bytes:
    """The record of a leaf. Preconditions: 32-byte path, value_hash == SHA-256(value)."""
    return LEAF_PREFIX + path + value_hash + value


def record_hash(record: bytes) -> bytes:
    """The node hash a record is stored under: SHA-256 of its first 65 bytes (§3, §6)."""
    return hashlib.sha256(record[:HEAD_SIZE]).digest()


def node_children(record: bytes) -> tuple[bytes, bytes]:
    """(left, right) of an internal node record."""
    return record[1:33], record[33:65]


def leaf_path(record: bytes) -> bytes:
    """The 32-byte path of a leaf record."""
    return record[1:33]


def leaf_value_hash(record: bytes) -> bytes:
    """The 32-byte value hash of a leaf record."""
    return record[33:65]


def leaf_value(record: bytes) -> bytes:
    """The value held inline in a leaf record."""
    return record[HEAD_SIZE:]


def load_record(store: KVReader, node: bytes) -> bytes:
    """The record stored under the non-empty node hash `node`, checked for tag and length.

    Raises StoreError "smt.missing_node" when the store has no such record (an unknown root,
    or a store that lost nodes), "smt.corrupt_node" when the record is not a well-formed
    internal or leaf record.
    """
    record = store.get(node)
    if record is None:
        raise StoreError(
            f"state node {node.hex()} is not in the store (unknown root or damaged store)",
            code="smt.missing_node",
            node=node,
        )
    tag = record[0] if record else -1
    if not ((tag == NODE_TAG and len(record) == HEAD_SIZE) or (tag == LEAF_TAG and len(record) >= HEAD_SIZE)):
        raise StoreError(
            f"state node {node.hex()} has a malformed record (tag {tag}, {len(record)} bytes)",
            code="smt.corrupt_node",
            node=node,
        )
    return record


class NodeCache(dict):
    """A bounded map from node hash to internal-node record, safe to share between trees.

    Records are immutable and content-addressed, so an entry is never stale, whichever store
    or overlay it came from. Keys are uniformly spread over the paths, so the records worth
    keeping are the upper levels that every batch crosses: the tree admits only internal
    nodes above `max_depth` (the deepest level whose full width fits in `capacity`) and
    drops a record when a batch supersedes it, so the cache holds the top of the latest tree.
    When it overflows all the same (forks, historical reads), the oldest quarter is dropped.
    A dict so that the hot loop's lookups are plain dict operations.
    """

    def __init__(self, capacity: int = DEFAULT_CACHE_CAPACITY) -> None:
        """`capacity` is the most records kept (0 disables caching). Raises ValueError if < 0."""
        super().__init__()
        if capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.max_depth = max(capacity.bit_length() - 1, 0)

    def add(self, node: bytes, record: bytes) -> None:
        """Remember `record` under `node`, dropping the oldest quarter first when full."""
        if len(self) >= self.capacity:
            if self.capacity == 0:
                return
            self.trim(self.capacity * 3 // 4)
        self[node] = record

    def trim(self, size: int | None = None) -> None:
        """Drop the oldest records until at most `size` (default: `capacity`) remain.

        A batch stores the nodes it writes with plain item assignment and trims once at its
        end, so the cache may exceed `capacity` by one batch's new upper nodes meanwhile.
        """
        size = self.capacity if size is None else size
        if len(self) > size:
            for old in list(islice(self, len(self) - size)):
                del self[old]
