"""The hashes of the sparse Merkle state map (docs/spec/state.md §2–§3).

A key is placed at `path = SHA-256(key)`, read as 256 bits, most significant bit of the first
byte first (bit 0 chooses the root's child: 0 left, 1 right). Leaves and internal nodes are
hashed behind their own one-byte prefixes, 0x02 and 0x03, distinct from the RFC 9162 log's
0x00 / 0x01 (ledger.merkle) and from the ASCII "e" that starts every tagged hash
(ledger.hashing). The empty subtree is 32 zero bytes at every height. This module only hashes
and checks key and value sizes: it knows nothing of storage, tree shapes or proofs.
"""

from __future__ import annotations

import hashlib

from ledger.errors import ValidationError
from ledger.hashing import HASH_SIZE

LEAF_PREFIX = b"\x02"
NODE_PREFIX = b"\x03"

# §3: the empty subtree, at any height, and so the root of the empty map.
EMPTY_HASH = bytes(HASH_SIZE)
EMPTY_ROOT = EMPTY_HASH

DEPTH = 256
MAX_KEY_BYTES = 1024
MAX_VALUE_BYTES = 65536

__all__ = [
    "DEPTH",
    "EMPTY_HASH",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_KEY_BYTES",
    "MAX_VALUE_BYTES",
    "NODE_PREFIX",
    "check_key",
    "check_value",
    "leaf_hash",
    "node_hash",
    "path_bit",
    "path_of",
    "value_hash",
]


def check_key(key: object) -> bytes:
    """Return `key` if it is a valid map key (§2): bytes of 1..MAX_KEY_BYTES bytes.

    Raises ValidationError: "smt.key_type" (not bytes), "smt.key_empty", "smt.key_too_long".
    """
    if not isinstance(key, bytes):
        raise ValidationError(
            f"state key must be bytes, not {type(key).__name__}", code="smt.key_type", field="key"
        )
    if not key:
        raise ValidationError("state key must not be empty", code="smt.key_empty", field="key")
    if len(key) > MAX_KEY_BYTES:
        raise ValidationError(
            f"state key is {len(key)} bytes; the limit is {MAX_KEY_BYTES}",
            code="smt.key_too_long",
            field="key",
            size=len(key),
            limit=MAX_KEY_BYTES,
        )
    return key


def check_value(value: object) -> bytes:
    """Return `value` if it is a valid map value (§2): bytes of 0..MAX_VALUE_BYTES bytes.

    Raises ValidationError: "smt.value_type" (not bytes), "smt.value_too_long".
    """
    if not isinstance(value, bytes):
        raise ValidationError(
            f"state value must be bytes, not {type(value).__name__}", code="smt.value_type", field="value"
        )
    if len(value) > MAX_VALUE_BYTES:
        raise ValidationError(
            f"state value is {len(value)} bytes; the limit is {MAX_VALUE_BYTES}",
            code="smt.value_too_long",
            field="value",
            size=len(value),
            limit=MAX_VALUE_BYTES,
        )
    return value


def path_of(key: bytes) -> bytes:
    """The 32-byte path of `key` (§2): SHA-256(key). Precondition: `key` passed check_key."""
    return hashlib.sha256(key).digest()


def value_hash(value: bytes) -> bytes:
    """SHA-256(value) (§3), the part of a leaf that commits to its value."""
    return hashlib.sha256(value).digest()


def path_bit(path: bytes, depth: int) -> int:
    """Bit `depth` (0..255) of `path`, most significant bit of byte 0 first (§2)."""
    return (path[depth >> 3] >> (7 - (depth & 7))) & 1


def leaf_hash(path: bytes, value_hash: bytes) -> bytes:
    """SHA-256(0x02 || path || value_hash) (§3). Preconditions: both are 32 bytes."""
    return hashlib.sha256(LEAF_PREFIX + path + value_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x03 || left || right) (§3). Preconditions: both are 32-byte hashes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()
