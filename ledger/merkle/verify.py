"""Verification of the global log's inclusion and consistency proofs (RFC 9162 §2.1.3.2, §2.1.4.2).

Pure functions over hashes supplied by the caller: they never read storage and never trust
the prover. Every check raises `ProofError` with a specific `code` and never returns False.
Hash sizes are checked before anything is compared (docs/spec/hashing.md §2.5), so that an
empty or truncated root can never match an equally malformed leaf or root.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import ProofError
from ledger.merkle.hasher import EMPTY_ROOT, HASH_SIZE, node_hash
from ledger.merkle.nodes import consistency_length, inclusion_length

__all__ = ["root_from_inclusion", "verify_consistency", "verify_inclusion"]


def _check_hash(value: object, field: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ProofError(
            f"{field} must be a {HASH_SIZE}-byte hash, got {got}",
            code="proof.bad_hash_size",
            field=field,
            size=len(value) if isinstance(value, bytes) else None,
        )


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, value in enumerate(proof):
        _check_hash(value, f"proof[{i}]")


def _check_length(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise ProofError(
            f"proof has {len(proof)} hashes, expected {expected} for these sizes",
            code="proof.wrong_length",
            expected=expected,
            got=len(proof),
        )


def _check_root(field: str, expected: bytes, calculated: bytes) -> None:
    if calculated != expected:
        raise ProofError(
            f"{field} does not match: expected {expected.hex()}, calculated {calculated.hex()}",
            code="proof.root_mismatch",
            field=field,
            expected=expected.hex(),
            calculated=calculated.hex(),
        )


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root of the tree of `size` leaves in which `leaf_hash` is leaf `index`, per `proof`.

    Raises ProofError: "proof.bad_hash_size" (leaf hash or a proof entry is not 32 bytes),
    "proof.index_out_of_range" (not 0 <= index < size; a tree of size 0 has no leaves),
    "proof.wrong_length" (not the number of hashes PATH(index, D[size]) has).
    """
    _check_hash(leaf_hash, "leaf_hash")
    _check_proof_hashes(proof)
    if not 0 <= index < size:
        raise ProofError(
            f"leaf index {index} is outside a tree of size {size}",
            code="proof.index_out_of_range",
            index=index,
            size=size,
        )
    _check_length(proof, inclusion_length(index, size))
    # RFC 9162 §2.1.3.2 steps 2-4. The exact length check above settles what the RFC's "sn is
    # 0" checks (steps 4a, 5) and the extra right-shifts of step 4b2 are for: those shifts skip
    # levels without a sibling so that sn reaches 0 exactly when the proof ends. They never
    # change a hash, since once fn == sn it stays so and every later entry is a left sibling.
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.

    Raises ProofError: the codes of `root_from_inclusion`, "proof.bad_hash_size" for `root`,
    and "proof.root_mismatch" (fields `expected` = `root`, `calculated`, both hex).
    """
    _check_hash(root, "root")
    _check_root("root", root, root_from_inclusion(leaf_hash, index, size, proof))


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of `size2` leaves with root `root2` extends the one of `size1` with `root1`.

    Policy for the cases RFC 9162 §2.1.4 leaves open (docs/spec/hashing.md §2.3): equal sizes
    need an empty proof and equal roots; size1 == 0 needs an empty proof and root1 equal to
    the empty-tree root; every root is a 32-byte hash in every case.

    Raises ProofError: "proof.bad_hash_size", "proof.size_out_of_range" (size1 < 0),
    "proof.sizes_out_of_order" (size1 > size2), "proof.wrong_length", "proof.root_mismatch"
    (field "root1" or "root2", with `expected` and `calculated` hex).
    """
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    _check_proof_hashes(proof)
    if size1 < 0:
        raise ProofError(f"size1 {size1} is negative", code="proof.size_out_of_range", size1=size1)
    if size1 > size2:
        raise ProofError(
            f"size1 {size1} is larger than size2 {size2}: a log never shrinks",
            code="proof.sizes_out_of_order",
            size1=size1,
            size2=size2,
        )
    _check_length(proof, consistency_length(size1, size2))
    if size1 == 0:
        _check_root("root1", root1, EMPTY_ROOT)
    if size1 == size2:
        _check_root("root2", root2, root1)
    if size1 == 0 or size1 == size2:
        return
    # RFC 9162 §2.1.4.2 steps 2-7; as in root_from_inclusion, the exact length check stands in
    # for the "sn is 0" checks and the extra right-shifts of step 6b3.
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    _check_root("root1", root1, fr)
    _check_root("root2", root2, sr)
