"""eledger's global transaction log: an RFC 9162 §2.1 Merkle tree (docs/spec/hashing.md §2).

`hasher` hashes leaves and nodes, `nodes` says which nodes a root or proof is made of,
`verify` checks proofs given hashes, `log` stores and appends. Nothing here reads the clock or
the network; only `MerkleLog` touches a key-value store, and only through `ledger.kv`.
"""

from ledger.merkle.hasher import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from ledger.merkle.log import MerkleLog
from ledger.merkle.nodes import NodeID, consistency_nodes, inclusion_nodes
from ledger.merkle.verify import root_from_inclusion, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleLog",
    "NodeID",
    "consistency_nodes",
    "inclusion_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]
