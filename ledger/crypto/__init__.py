"""eledger's signature suites (docs/spec/crypto.md): ECDSA P-256/SHA-256 (default), Ed25519 and
SM2/SM3 (optional `eledger[gm]` extra), domain-separated signing bytes, keys, key files, SM3.

This package re-exports the public API only; importing it never imports the SM2 backend.
"""

from ledger.crypto.keyfile import read_private_key, write_private_key
from ledger.crypto.keys import KEY_ID_SIZE, PrivateKey, PublicKey, compute_key_id, verify_many
from ledger.crypto.sm3 import sm3
from ledger.crypto.suites import DEFAULT_SUITE, SIGNATURE_SIZE, Signature, Suite, signing_bytes

__all__ = [
    "DEFAULT_SUITE",
    "KEY_ID_SIZE",
    "SIGNATURE_SIZE",
    "PrivateKey",
    "PublicKey",
    "Signature",
    "Suite",
    "compute_key_id",
    "read_private_key",
    "signing_bytes",
    "sm3",
    "verify_many",
    "write_private_key",
]
