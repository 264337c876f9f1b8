"""Domain-separated hashing (docs/spec/hashing.md §1).

Every hash eledger computes over its own structures is SHA-256 over a tag and the canonical
encoding, so that a hash of one kind of object can never be mistaken for another. The RFC 9162
Merkle log keeps its own 0x00 / 0x01 prefixes (ledger.merkle) and the sparse Merkle state its
own 0x02 / 0x03 (ledger.smt); tagged hashes start with the ASCII letter "e" and so never
collide with them.
"""

from __future__ import annotations

import hashlib

from ledger.encoding import encode

HASH_SIZE = 32
TAG_PREFIX = b"eledger/"


def sha256(data: bytes) -> bytes:
    """Plain SHA-256."""
    return hashlib.sha256(data).digest()


def tagged_hash(tag: str, data: bytes) -> bytes:
    """SHA-256("eledger/" || tag || 0x00 || data). `tag` is ASCII without NUL."""
    return hashlib.sha256(TAG_PREFIX + tag.encode("ascii") + b"\x00" + data).digest()


def hash_object(tag: str, value: object) -> bytes:
    """tagged_hash(tag, encode(value)): the hash of a value's canonical encoding (docs/spec/encoding.md).

    Raises EncodingError when `value` cannot be encoded (ledger.encoding.encode).
    """
    return tagged_hash(tag, encode(value))
