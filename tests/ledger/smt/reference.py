"""A literal reference of the sparse Merkle state map (docs/spec/state.md §3–§4, §7).

Roots and proofs are computed straight from the definitions over a set of (path, value hash)
pairs: no storage, no caching, no batching. The fast tree in ledger.smt is checked against it.
Also: deterministic keys whose paths share long prefixes, to exercise deep splits.
"""

from __future__ import annotations

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


ZERO = bytes(32)


def bit(path: bytes, depth: int) -> int:
    """Bit `depth` of a path, most significant bit of the first byte first."""
    return (path[depth // 8] >> (7 - depth % 8)) & 1


def leaf(path: bytes, value_hash: bytes) -> bytes:
    return sha256(b"\x02" + path + value_hash)


def subtree_root(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
    """The hash of the subtree at `depth` holding `entries` (all sharing the bits above)."""
    if not entries:
        return ZERO
    if len(entries) == 1:
        return leaf(*entries[0])
    left = [e for e in entries if bit(e[0], depth) == 0]
    right = [e for e in entries if bit(e[0], depth) == 1]
    return sha256(b"\x03" + subtree_root(left, depth + 1) + subtree_root(right, depth + 1))


def entries_of(pairs: dict[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(sha256(key), sha256(value)) for key, value in pairs.items()]


def root_of(pairs: dict[bytes, bytes]) -> bytes:
    """The root of the map holding `pairs` (key -> value)."""
    return subtree_root(entries_of(pairs), 0)


def proof_of(pairs: dict[bytes, bytes], key: bytes) -> tuple[list[bytes], tuple[bytes, bytes] | None]:
    """(siblings from the root down, other leaf or None) for `key` in the map of `pairs`."""
    path = sha256(key)
    entries = entries_of(pairs)
    siblings = []
    depth = 0
    while len(entries) > 1:
        here = [e for e in entries if bit(e[0], depth) == bit(path, depth)]
        there = [e for e in entries if bit(e[0], depth) != bit(path, depth)]
        siblings.append(subtree_root(there, depth + 1))
        entries = here
        depth += 1
    other = entries[0] if entries and entries[0][0] != path else None
    return siblings, other


def verify(root: bytes, key: bytes, value: bytes | None, siblings: list[bytes], other: tuple[bytes, bytes] | None) -> bool:
    """Recompute the root from a proof as §7.2 says (without the canonical-form checks)."""
    path = sha256(key)
    if value is not None:
        node = leaf(path, sha256(value))
    elif other is None:
        node = ZERO
    else:
        node = leaf(*other)
    for depth in reversed(range(len(siblings))):
        pair = (siblings[depth], node) if bit(path, depth) else (node, siblings[depth])
        node = sha256(b"\x03" + pair[0] + pair[1])
    return node == root


def common_prefix_bits(a: bytes, b: bytes) -> int:
    n = 0
    while n < 256 and bit(a, n) == bit(b, n):
        n += 1
    return n


def keys_sharing_prefix(bits: int, count: int, *, limit: int = 1 << 15) -> list[bytes]:
    """`count` keys b"p<i>" (searched in order) whose paths share their first `bits` bits."""
    groups: dict[int, list[bytes]] = {}
    for i in range(limit):
        key = b"p%d" % i
        top = int.from_bytes(sha256(key)[:4], "big") >> (32 - bits)
        group = groups.setdefault(top, [])
        group.append(key)
        if len(group) == count:
            return group
    raise AssertionError(f"no {count} keys share {bits} path bits among {limit}")
