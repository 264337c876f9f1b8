"""The stored, append-only global transaction log (RFC 9162 §2.1; docs/spec/hashing.md §2.4).

`MerkleLog` keeps every complete (perfect) subtree hash once in a key-value store, written the
moment it becomes complete and never rewritten, and the right frontier (the perfect subtrees
that make up the current size) in memory. Appends cost O(1) amortised hashes and writes, the
root O(log n) hashes, and a proof for any historical (index, size) O(log n) reads. It never
scans the store and never holds more than O(log n) hashes in memory, so logs of many millions
of leaves are fine. It does not own durability: the caller decides when writes are committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.errors import ProofError, StoreError, ValidationError
from ledger.kv import KVReader
from ledger.merkle import hasher
from ledger.merkle.nodes import NodeID, consistency_nodes, inclusion_nodes, subtree_nodes

__all__ = ["MAX_SIZE", "SIZE_KEY", "MerkleLog", "node_key"]

# docs/spec/hashing.md §2.4: b"n" || level (1 byte) || index (8 bytes, big-endian) -> 32-byte
# hash; b"s" -> log size (8 bytes, big-endian), only if the caller keeps it here.
NODE_KEY_PREFIX = b"n"
SIZE_KEY = b"s"
MAX_SIZE = 1 << 64
_LEVEL_PREFIXES = [NODE_KEY_PREFIX + bytes([level]) for level in range(64)]


def node_key(node: NodeID) -> bytes:
    """The store key of a perfect subtree's hash."""
    return _LEVEL_PREFIXES[node.level] + node.index.to_bytes(8, "big")


class MerkleLog:
    """An RFC 9162 Merkle log of `size` leaves whose nodes live in `kv`.

    `kv` is read with `get` and written with `put` when it has one (an `Overlay`, or a
    `Prefixed` view of one: the caller commits the overlay's changes in its own batch), else
    with one unsynced `write` batch per append (`MemoryKV`, `LevelKV` used directly; durability
    is then the caller's business). The instance caches the frontier: while it lives, only it
    may append to the log in `kv`, and if pending writes are dropped (an overlay thrown away)
    it must be dropped too and a new one opened at the committed size.

    Raises ValidationError "log.bad_size" for a size outside [0, 2**64), and StoreError
    "store.missing_node" when `kv` lacks a node a log of `size` leaves must have (wrong size,
    wrong prefix, or a damaged store) or "store.bad_node" when a stored node is not 32 bytes;
    every method that reads nodes can raise these two.
    """

    def __init__(self, kv: KVReader, size: int) -> None:
        if not isinstance(size, int) or not 0 <= size < MAX_SIZE:
            raise ValidationError(f"size must be an integer in [0, 2**64), got {size!r}", code="log.bad_size", field="size")
        self._kv = kv
        self._put = getattr(kv, "put", None)
        self._size = size
        self._root: bytes | None = None
        # _frontier[level] is the hash of the perfect subtree of 2**level leaves in the
        # decomposition of `size` (one per set bit), or None where the bit is clear.
        self._frontier: list[bytes | None] = [None] * size.bit_length()
        for node in subtree_nodes(0, size):
            self._frontier[node.level] = self._read_node(node)

    @classmethod
    def load(cls, kv: KVReader) -> MerkleLog:
        """The log whose size was stored in `kv` by `write_size` (0 if never stored).

        Raises StoreError "store.bad_log_size" if the stored size is not 8 bytes, and what
        the constructor raises.
        """
        raw = kv.get(SIZE_KEY)
        if raw is None:
            return cls(kv, 0)
        if len(raw) != 8:
            raise StoreError(f"stored log size has {len(raw)} bytes, expected 8", code="store.bad_log_size")
        return cls(kv, int.from_bytes(raw, "big"))

    def write_size(self) -> None:
        """Store the current size in `kv` under SIZE_KEY, for `load`."""
        self._write([(SIZE_KEY, self._size.to_bytes(8, "big"))])

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def append(self, data: bytes) -> int:
        """Append a leaf whose hash is leaf_hash(data); returns its index."""
        return self.append_leaf_hash(hasher.leaf_hash(data))

    def append_leaf_hash(self, leaf_hash: bytes) -> int:
        """Append a leaf given its RFC 9162 leaf hash; returns its index.

        Writes the leaf and every subtree it completes (one per trailing 1-bit of the index),
        reading nothing from `kv`. Raises ValidationError "log.bad_leaf_hash" if `leaf_hash`
        is not 32 bytes, "log.full" past 2**64 - 1 leaves.
        """
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != hasher.HASH_SIZE:
            raise ValidationError("leaf_hash must be a 32-byte hash", code="log.bad_leaf_hash", field="leaf_hash")
        index = self._size
        if index + 1 >= MAX_SIZE:
            raise ValidationError("the log is full (2**64 - 1 leaves)", code="log.full", size=index)
        frontier = self._frontier
        h = leaf_hash
        level, i = 0, index
        writes = [(_LEVEL_PREFIXES[0] + i.to_bytes(8, "big"), h)]
        while i & 1:
            h = hasher.node_hash(frontier[level], h)  # type: ignore[arg-type]
            frontier[level] = None
            level += 1
            i >>= 1
            writes.append((_LEVEL_PREFIXES[level] + i.to_bytes(8, "big"), h))
        if level == len(frontier):
            frontier.append(h)
        else:
            frontier[level] = h
        self._write(writes)
        self._size = index + 1
        self._root = None
        return index

    def root(self) -> bytes:
        """MTH of the whole log (RFC 9162 §2.1.1), from the in-memory frontier."""
        if self._root is None:
            self._root = hasher.fold_subtrees([h for h in reversed(self._frontier) if h is not None])
        return self._root

    def root_at(self, size: int) -> bytes:
        """MTH of the first `size` leaves. Raises ProofError "proof.size_out_of_range"."""
        self._check_sizes(0, size)
        if size == self._size:
            return self.root()
        return self._hash_entry(subtree_nodes(0, size))

    def leaf_hash(self, index: int) -> bytes:
        """The stored leaf hash at `index`. Raises ProofError "proof.index_out_of_range"."""
        self._check_index(index, self._size)
        return self._read_node(NodeID(0, index))

    def prove_inclusion(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1, for any size up to the current one.

        Raises ProofError "proof.size_out_of_range" (size not in [0, self.size]) and
        "proof.index_out_of_range" (index not in [0, size)).
        """
        self._check_sizes(0, size)
        self._check_index(index, size)
        return [self._hash_entry(entry) for entry in inclusion_nodes(index, size)]

    def prove_consistency(self, size1: int, size2: int) -> list[bytes]:
        """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1 (empty if size1 is 0 or size1 == size2).

        Raises ProofError "proof.size_out_of_range" and "proof.sizes_out_of_order".
        """
        self._check_sizes(size1, size2)
        return [self._hash_entry(entry) for entry in consistency_nodes(size1, size2)]

    def _check_sizes(self, size1: int, size2: int) -> None:
        for field, value in (("size1", size1), ("size2", size2)):
            if not isinstance(value, int) or not 0 <= value <= self._size:
                raise ProofError(
                    f"{field} {value!r} is outside the log's sizes [0, {self._size}]",
                    code="proof.size_out_of_range",
                    field=field,
                    size=value,
                    log_size=self._size,
                )
        if size1 > size2:
            raise ProofError(
                f"size1 {size1} is larger than size2 {size2}",
                code="proof.sizes_out_of_order",
                size1=size1,
                size2=size2,
            )

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not isinstance(index, int) or not 0 <= index < size:
            raise ProofError(
                f"leaf index {index!r} is outside a tree of size {size}",
                code="proof.index_out_of_range",
                index=index,
                size=size,
            )

    def _hash_entry(self, nodes: Sequence[NodeID]) -> bytes:
        if len(nodes) == 1:
            return self._read_node(nodes[0])
        return hasher.fold_subtrees([self._read_node(node) for node in nodes])

    def _read_node(self, node: NodeID) -> bytes:
        value = self._kv.get(node_key(node))
        if value is not None and len(value) != hasher.HASH_SIZE:
            raise StoreError(
                f"log node (level {node.level}, index {node.index}) holds {len(value)} bytes, not a hash",
                code="store.bad_node",
                level=node.level,
                index=node.index,
            )
        if value is None:
            raise StoreError(
                f"the store lacks log node (level {node.level}, index {node.index}) of a log of "
                f"{self._size} leaves: wrong size or prefix, or a damaged store",
                code="store.missing_node",
                level=node.level,
                index=node.index,
                size=self._size,
            )
        return value

    def _write(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        if self._put is not None:
            for key, value in pairs:
                self._put(key, value)
        else:
            self._kv.write(dict(pairs), sync=False)  # type: ignore[attr-defined]
