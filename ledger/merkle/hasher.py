"""The RFC 9162 §2.1.1 Merkle tree hashes of the global transaction log.

Leaves and interior nodes are hashed with SHA-256 behind one-byte prefixes (0x00 for a leaf,
0x01 for a node) so that a leaf can never pass for a node (docs/spec/hashing.md §2.1). This
module only hashes: it knows nothing of tree shapes, proofs or storage, and it never uses the
tagged hashes of `ledger.hashing` (the log's hashes must stay RFC 9162 hashes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.hashing import HASH_SIZE

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# RFC 9162 §2.1.1: MTH({}) = HASH(), the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "LEAF_PREFIX", "NODE_PREFIX", "fold_subtrees", "leaf_hash", "node_hash"]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 9162 §2.1.1). Any `data`, including b"", is a leaf."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).

    Precondition: both are HASH_SIZE-byte hashes; callers that take hashes from outside check
    sizes first (ledger.merkle.verify), so this hot path does not.
    """
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """The hash of a subtree given its perfect subtrees' hashes, largest (leftmost) first.

    A subtree of an RFC 9162 tree whose size is not a power of two splits into one perfect
    subtree per set bit of its size; its hash is node_hash(h0, node_hash(h1, ... hk)) because
    each split of §2.1.1 puts the largest power of two on the left. An empty sequence is the
    empty tree (EMPTY_ROOT).
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc
