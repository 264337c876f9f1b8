"""The sparse Merkle state map (docs/spec/state.md): a root over (key, value) pairs that depends
only on the set of pairs, with membership and non-membership proofs of O(log n) size.

Public API: `EMPTY_ROOT`, `SparseMerkleTree` (get / prove / update / write_version / prune over a
store of versioned node instances), `Update` (a batch's new root and stale list), `StateProof`
(compact bytes and JSON forms), `verify_proof`, `NodeCache`, and the size limits.
"""

from ledger.smt.hasher import EMPTY_ROOT, MAX_KEY_BYTES, MAX_VALUE_BYTES
from ledger.smt.nodes import NodeCache
from ledger.smt.proof import MAX_PROOF_BYTES, StateProof, verify_proof
from ledger.smt.tree import SparseMerkleTree, Update

__all__ = [
    "EMPTY_ROOT",
    "MAX_KEY_BYTES",
    "MAX_PROOF_BYTES",
    "MAX_VALUE_BYTES",
    "NodeCache",
    "SparseMerkleTree",
    "StateProof",
    "Update",
    "verify_proof",
]
