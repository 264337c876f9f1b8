"""Which tree nodes a root or a proof of the global log is made of (RFC 9162 §2.1).

A node is named by its level and index: `NodeID(level, index)` is the perfect subtree over the
leaves [index * 2**level, (index + 1) * 2**level). The functions here say *which* nodes an
inclusion or consistency proof needs, in proof order; they never hash and never touch storage,
and they assume their arguments were validated by the caller (ledger.merkle.log,
ledger.merkle.verify). A proof entry that is not a perfect subtree (a node on the right edge
of a tree whose size is not a power of two, called ephemeral) is given as the perfect subtrees
it splits into, largest first, to be combined with `hasher.fold_subtrees`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeID", "consistency_length", "consistency_nodes", "inclusion_length", "inclusion_nodes", "subtree_nodes"]


@dataclass(frozen=True, slots=True)
class NodeID:
    """The perfect subtree of height `level` that is the `index`-th of its level (0-based)."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        """The first leaf index it covers."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf index it covers."""
        return (self.index + 1) << self.level


def _split(size: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtree_nodes(begin: int, end: int) -> tuple[NodeID, ...]:
    """The perfect subtrees that make up the leaves [begin, end), largest (leftmost) first.

    Precondition: [begin, end) is a node of some RFC 9162 tree, i.e. begin is a multiple of
    the smallest power of two >= end - begin (true of every range the §2.1.3/§2.1.4
    recursions visit, and of [0, size)). One NodeID per set bit of end - begin.
    """
    out = []
    width = end - begin
    level = width.bit_length() - 1
    while level >= 0:
        if width >> level & 1:
            out.append(NodeID(level, begin >> level))
            begin += 1 << level
        level -= 1
    return tuple(out)


def inclusion_nodes(index: int, size: int) -> list[tuple[NodeID, ...]]:
    """The entries of PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf level first.

    Precondition: 0 <= index < size. Each entry is the sibling of a node on the path from the
    leaf to the root; only one of them (the first right sibling below the root's right edge)
    can be ephemeral.
    """
    path: list[tuple[NodeID, ...]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        split = lo + _split(hi - lo)
        if index < split:
            path.append(subtree_nodes(split, hi))
            hi = split
        else:
            path.append(subtree_nodes(lo, split))
            lo = split
    path.reverse()
    return path


def consistency_nodes(size1: int, size2: int) -> list[tuple[NodeID, ...]]:
    """The entries of PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1), in proof order.

    Precondition: 0 <= size1 <= size2. Empty when size1 == size2 (SUBPROOF(m, D[m], true))
    and when size1 == 0 (every tree extends the empty tree; docs/spec/hashing.md §2.3).
    """
    if size1 == 0 or size1 == size2:
        return []
    proof: list[tuple[NodeID, ...]] = []
    lo, hi, m = 0, size2, size1
    # `starts_at_root` is the flag b of SUBPROOF: true while the old tree's root is still a
    # prefix of the new tree's left edge, so the verifier already holds its hash.
    starts_at_root = True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_nodes(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_nodes(lo, lo + k))
            lo += k
            m -= k
            starts_at_root = False
    if not starts_at_root:
        proof.append(subtree_nodes(lo, hi))
    proof.reverse()
    return proof


def inclusion_length(index: int, size: int) -> int:
    """len(inclusion_nodes(index, size)) in O(1): the proof length a verifier must demand.

    Precondition: 0 <= index < size. Below the level where the paths to leaf `index` and to
    the last leaf part, every node has a sibling (`inner`); above it, the path runs along
    the right edge and has a left sibling exactly where `index` has a set bit (`border`).
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_length(size1: int, size2: int) -> int:
    """len(consistency_nodes(size1, size2)) in O(1).

    Precondition: 0 <= size1 <= size2. The proof is the inclusion path of the old tree's last
    leaf, less the levels inside the largest perfect subtree ending at size1 (its hash is
    sent once instead, unless that subtree is the whole old tree, whose root the verifier
    already holds).
    """
    if size1 == 0 or size1 == size2:
        return 0
    shift = (size1 & -size1).bit_length() - 1
    length = inclusion_length(size1 - 1, size2) - shift
    return length if size1 == 1 << shift else length + 1
