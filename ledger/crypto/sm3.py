"""SM3 hash (GB/T 32905-2016, ISO/IEC 10118-3) for the SM2/SM3 suite and for callers that must
hash with 国密 algorithms (docs/spec/crypto.md §3.3).

Thin wrapper over pyca/cryptography's SM3; it must never be used where eledger's own
domain-separated SHA-256 hashes (ledger.hashing) are specified.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

SM3_SIZE = 32


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest of `data` (bytes-like; anything else raises TypeError)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()
