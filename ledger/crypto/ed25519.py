"""Ed25519 (RFC 8032) signatures over the full signing bytes (docs/spec/crypto.md §3.2), on
pyca/cryptography.

Ed25519 is deterministic and OpenSSL rejects S >= L, so signatures are not malleable. This
module must never accept a key of another algorithm or a non-canonical SubjectPublicKeyInfo.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.crypto import asn1
from ledger.errors import CryptoError

ALGORITHM = asn1.Algorithm(asn1.OID_ED25519, None)
PUBLIC_SIZE = 32


def load_public(spki: bytes) -> ed25519.Ed25519PublicKey:
    """The backend key for a structurally checked Ed25519 SPKI.

    Raises CryptoError "crypto.bad_point" for a key that is not 32 bytes and
    "crypto.noncanonical_spki" unless `spki` re-encodes to itself.
    """
    try:
        key = serialization.load_der_public_key(spki)
    except ValueError as exc:
        raise CryptoError(f"Ed25519 public key is invalid: {exc}", code="crypto.bad_point") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise CryptoError("key is not an Ed25519 key", code="crypto.suite_mismatch", suite="ed25519")
    if public_spki(key) != spki:
        raise CryptoError("Ed25519 SubjectPublicKeyInfo is not in canonical form", code="crypto.noncanonical_spki")
    return key


def public_spki(key: ed25519.Ed25519PublicKey) -> bytes:
    """Canonical DER SubjectPublicKeyInfo (RFC 8410 §4)."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify(key: ed25519.Ed25519PublicKey, data: bytes, value: bytes) -> None:
    """Check the 64-byte R||S signature `value` over `data`; raises CryptoError "crypto.bad_signature"."""
    try:
        key.verify(value, data)
    except InvalidSignature as exc:
        raise CryptoError("Ed25519 signature does not verify", code="crypto.bad_signature", suite="ed25519") from exc


def generate() -> ed25519.Ed25519PrivateKey:
    """A fresh key from the operating system's CSPRNG (through OpenSSL)."""
    return ed25519.Ed25519PrivateKey.generate()


def public_of(key: ed25519.Ed25519PrivateKey) -> bytes:
    """SPKI of the private key's public half."""
    return public_spki(key.public_key())


def sign(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    """64-byte Ed25519 signature over `data`."""
    return key.sign(data)


def private_to_der(key: ed25519.Ed25519PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER (RFC 8410 §7)."""
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def private_from_der(der: bytes) -> ed25519.Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 Ed25519 key; raises CryptoError "crypto.bad_private_key"."""
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"cannot load Ed25519 private key: {exc}", code="crypto.bad_private_key") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise CryptoError("private key is not an Ed25519 key", code="crypto.bad_private_key")
    return key
