"""Node instances of the sparse Merkle state map: keys, records, the store's key spaces, loading
and caching (docs/spec/state.md §6).

A node is stored as an *instance*: the node written by one version (one batch) of the map,
under the 40-byte node key `version (8 bytes, big-endian) || node hash`. A record's tag byte is
its hash prefix:

    internal: 0x03 || left child's key (40) || right child's key (40)          81 bytes
              hash = SHA-256(0x03 || left hash || right hash)
    leaf:     0x02 || path (32) || value hash (32) [|| value]                  65 + len(value)
              hash = SHA-256(first 65 bytes)

An internal record names its children's instances; an empty child is `EMPTY_KEY` (version 0,
32 zero bytes). A leaf holds its value inline, except the leaf of a live key in a tree kept with
a latest-value table (§6.3), whose value sits in that table.
This module encodes, decodes, loads and caches records; it never walks a tree and never writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ledger.errors import StoreError
from ledger.kv import KVReader
from ledger.smt.hasher import HASH_SIZE, LEAF_PREFIX, NODE_PREFIX

LEAF_TAG = LEAF_PREFIX[0]
NODE_TAG = NODE_PREFIX[0]
# A leaf record starts with its 65 hashed bytes: tag, path and value hash.
HEAD_SIZE = 1 + 2 * HASH_SIZE
VERSION_SIZE = 8
MAX_VERSION = (1 << 64) - 1
KEY_SIZE = VERSION_SIZE + HASH_SIZE
NODE_SIZE = 1 + 2 * KEY_SIZE
EMPTY_KEY = bytes(KEY_SIZE)
# §6.2: a root's entry is the version of its instance and the version that made it the root.
ROOT_ENTRY_SIZE = 2 * VERSION_SIZE
EMPTY_VALUE_HASH = hashlib.sha256(b"").digest()

# §6.1: the key spaces of the tree's store. Under the state's prefix "s" (ledger.state) they
# are the `smt/`, `smr/`, `smp`, `smv` and `st/` spaces of docs/spec/blocks.md §6.
NODE_SPACE = b"mt/"
ROOT_SPACE = b"mr/"
PRUNED_KEY = b"mp"
VERSION_KEY = b"mv"
LATEST_SPACE = b"t/"

# §6.5: every internal node of depth < 20, which is nearly every internal node of a map of 10^6
# keys (a batch then reads about one record per change from the store: the leaf it lands on);
# 8 MB of slots and ~160 bytes per record: at most ~175 MB, ~135 MB at 10^6 keys.
DEFAULT_CACHE_CAPACITY = 1 << 20
# The cache of a tree made without one (a reader of a few paths): depths < 12, 32 KB of slots.
PRIVATE_CACHE_CAPACITY = 1 << 12

__all__ = [
    "DEFAULT_CACHE_CAPACITY",
    "PRIVATE_CACHE_CAPACITY",
    "EMPTY_KEY",
    "EMPTY_VALUE_HASH",
    "HEAD_SIZE",
    "KEY_SIZE",
    "LATEST_SPACE",
    "LEAF_TAG",
    "MAX_VERSION",
    "NODE_SIZE",
    "NODE_SPACE",
    "NODE_TAG",
    "NodeCache",
    "PRUNED_KEY",
    "ROOT_ENTRY_SIZE",
    "ROOT_SPACE",
    "VERSION_KEY",
    "VERSION_SIZE",
    "decode_stale_list",
    "encode_leaf",
    "encode_node",
    "encode_stale_list",
    "key_hash",
    "key_version",
    "leaf_path",
    "leaf_value",
    "leaf_value_hash",
    "load_record",
    "node_children",
    "node_key",
    "position",
    "record_hash",
    "too_deep",
]


def node_key(version: int, node: bytes) -> bytes:
    """The key of the instance of `node` written by `version`. Precondition: 0 <= version <= MAX_VERSION."""
    return version.to_bytes(VERSION_SIZE, "big") + node


def key_version(key: bytes) -> int:
    """The version of a node key."""
    return int.from_bytes(key[:VERSION_SIZE], "big")


def key_hash(key: bytes) -> bytes:
    """The node hash of a node key."""
    return key[VERSION_SIZE:]


def encode_node(left: bytes, right: bytes) -> bytes:
    """The record of an internal node over two child node keys (EMPTY_KEY for an empty child)."""
    return NODE_PREFIX + left + right


def encode_leaf(path: bytes, value_hash: bytes, value: bytes | None) -> bytes:
    """The record of a leaf; `value` None leaves the value to the latest-value table (§6.3).
    Preconditions: 32-byte path, value_hash == SHA-256(value) when a value is given."""
    head = LEAF_PREFIX + path + value_hash
    return head if value is None else head + value


def record_hash(record: bytes) -> bytes:
    """The node hash of a well-formed record (§3, §6.1)."""
    if record[0] == NODE_TAG:
        return hashlib.sha256(record[:1] + record[9:41] + record[49:81]).digest()
    return hashlib.sha256(record[:HEAD_SIZE]).digest()


def node_children(record: bytes) -> tuple[bytes, bytes]:
    """(left, right) child node keys of an internal node record."""
    return record[1:41], record[41:81]


def leaf_path(record: bytes) -> bytes:
    """The 32-byte path of a leaf record."""
    return record[1:33]


def leaf_value_hash(record: bytes) -> bytes:
    """The 32-byte value hash of a leaf record."""
    return record[33:65]


def leaf_value(record: bytes) -> bytes | None:
    """The value a leaf record holds inline, or None when it is in the latest-value table.

    A 65-byte record of the empty value's hash is the empty value: nothing else hashes so."""
    if len(record) > HEAD_SIZE or record[33:65] == EMPTY_VALUE_HASH:
        return record[HEAD_SIZE:]
    return None


def encode_stale_list(retired: tuple[bytes, bytes] | None, keys: Iterable[bytes]) -> bytes:
    """A stale list (§6.4): 0x01 || root hash || root entry when a root was retired (else
    0x00), then the stale node keys."""
    head = b"\x00" if retired is None else b"\x01" + retired[0] + retired[1]
    return head + b"".join(keys)


def decode_stale_list(data: bytes, prefix: bytes = b"") -> tuple[tuple[bytes, bytes] | None, list[bytes]]:
    """(retired root and its entry, or None; node keys, each behind `prefix`) of an
    `encode_stale_list` output. Raises StoreError "smt.corrupt_stale_list" for anything else."""
    flag = data[:1]
    start = 1 + (HASH_SIZE + ROOT_ENTRY_SIZE if flag == b"\x01" else 0)
    if flag not in (b"\x00", b"\x01") or len(data) < start or (len(data) - start) % KEY_SIZE:
        raise StoreError(
            f"a stale list of {len(data)} bytes is malformed (flag {flag.hex() or 'missing'})",
            code="smt.corrupt_stale_list",
            size=len(data),
        )
    retired = (data[1:33], data[33:start]) if flag == b"\x01" else None
    return retired, [prefix + data[i : i + KEY_SIZE] for i in range(start, len(data), KEY_SIZE)]


def load_record(store: KVReader, key: bytes, space: bytes = NODE_SPACE) -> bytes:
    """The record of the non-empty node instance `key`, stored under `space` + key in `store`,
    checked for tag and length.

    Raises StoreError "smt.missing_node" when the store has no such instance (a pruned or
    unknown root, or a store that lost nodes; carries `node` = the node hash and `version`),
    "smt.corrupt_node" when the record is not a well-formed internal or leaf record.
    """
    record = store.get(space + key)
    node = key[VERSION_SIZE:]
    if record is None:
        raise StoreError(
            f"state node {node.hex()} of version {key_version(key)} is not in the store",
            code="smt.missing_node",
            node=node,
            version=key_version(key),
        )
    tag = record[0] if record else -1
    if not ((tag == NODE_TAG and len(record) == NODE_SIZE) or (tag == LEAF_TAG and len(record) >= HEAD_SIZE)):
        raise StoreError(
            f"state node {node.hex()} has a malformed record (tag {tag}, {len(record)} bytes)",
            code="smt.corrupt_node",
            node=node,
        )
    return record


def too_deep(key: bytes) -> StoreError:
    """The error for internal node instance `key` found at depth 256, where only leaves can be."""
    return StoreError(
        f"state node {key[VERSION_SIZE:].hex()} lies deeper than 256 levels (damaged store)",
        code="smt.corrupt_node",
        node=key[VERSION_SIZE:],
        depth=256,
    )


def position(path: int, depth: int) -> int:
    """The position of the node at `depth` (0..256) on `path` (a path as an integer): 2^depth +
    the path's first `depth` bits. The root is 1, the children of position p are 2p and 2p + 1."""
    return (path >> (256 - depth)) | (1 << depth)


class NodeCache:
    """A bounded table from tree position (`position`) to the internal node instance last
    written or read there, safe to share between trees.

    An entry is `record || node key` (121 bytes): the record's offsets hold, and the entry
    stands for the instance a walk wants only if it ends with that instance's key (`find`). An
    instance's record never changes, so an entry is right for any store holding that instance,
    provided every tree sharing the cache writes each version from one root (a chain writes
    version h from the state of height h-1). Keys are uniformly spread over the paths, so the
    records worth keeping are the upper levels that every batch crosses: only positions of
    depth < `max_depth` (the deepest level whose full width fits in `capacity`) are kept, in a
    list of 2^max_depth slots (`slots`, allocated on first use: 8 MB of pointers by default).
    A batch writing a node overwrites the record it supersedes at that position, so the cache
    holds the top of the latest tree; a record whose position the latest tree no longer fills
    (a collapsed or emptied subtree), or one of an old root read since, stays until that
    position is written or read again: it is still right for its key, never for the key the
    latest tree names. Pruning leaves the cache alone for that reason. A plain list so that
    the hot loop's lookups are plain subscripts.
    """

    __slots__ = ("capacity", "max_depth", "_slots")

    def __init__(self, capacity: int = DEFAULT_CACHE_CAPACITY) -> None:
        """`capacity` bounds the records kept (0 disables caching). Raises ValueError if < 0."""
        if capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.max_depth = max(capacity.bit_length() - 1, 0)
        self._slots: list[bytes | None] | None = None

    @property
    def slots(self) -> list[bytes | None]:
        """The entry (or None) of each position below 2^max_depth, by position."""
        if self._slots is None:
            self._slots = [None] * (1 << self.max_depth)
        return self._slots

    def __len__(self) -> int:
        """The number of entries held."""
        return 0 if self._slots is None else len(self._slots) - self._slots.count(None)

    def find(self, place: int, key: bytes) -> bytes | None:
        """The entry of instance `key` if it is the one at position `place`, else None."""
        if place >> self.max_depth:
            return None
        entry = self.slots[place]
        return entry if entry is not None and entry.endswith(key) else None

    def remember(self, place: int, key: bytes, record: bytes) -> None:
        """Keep the record of instance `key` at position `place` if it is internal and above
        `max_depth`, in place of whatever was there."""
        if place >> self.max_depth == 0 and record[0] == NODE_TAG:
            self.slots[place] = record + key
