"""ECDSA over NIST P-256 with SHA-256, signatures as 64-byte r||s with low S
(docs/spec/crypto.md §3.1), on pyca/cryptography.

Signing normalises s to at most n/2 and verification rejects s above n/2, so that a valid
signature cannot be turned into a second valid one by anybody without the key. This module
must never accept a DER signature, a compressed or non-canonical SubjectPublicKeyInfo, or a key
on another curve.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ledger.crypto import asn1
from ledger.errors import CryptoError

ALGORITHM = asn1.Algorithm(asn1.OID_EC_PUBLIC_KEY, asn1.OID_SECP256R1)
SCALAR_SIZE = 32
# Order of the P-256 base point (FIPS 186-5 / SP 800-186 §3.2.1.3).
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_N = N // 2

_ECDSA = ec.ECDSA(hashes.SHA256())


def load_public(spki: bytes) -> ec.EllipticCurvePublicKey:
    """The backend key for a structurally checked P-256 SPKI.

    Raises CryptoError "crypto.bad_point" if the point is not on the curve and
    "crypto.noncanonical_spki" unless `spki` is exactly the uncompressed DER re-encoding.
    """
    try:
        key = serialization.load_der_public_key(spki)
    except ValueError as exc:
        raise CryptoError(f"P-256 public point is invalid: {exc}", code="crypto.bad_point") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CryptoError("key is not a P-256 key", code="crypto.suite_mismatch", suite="ecdsa-p256-sha256")
    if public_spki(key) != spki:
        raise CryptoError(
            "P-256 SubjectPublicKeyInfo is not in canonical form (uncompressed point, minimal DER)",
            code="crypto.noncanonical_spki",
        )
    return key


def public_spki(key: ec.EllipticCurvePublicKey) -> bytes:
    """Canonical DER SubjectPublicKeyInfo (uncompressed point)."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify(key: ec.EllipticCurvePublicKey, data: bytes, value: bytes) -> None:
    """Check the r||s signature `value` over `data`.

    Raises CryptoError "crypto.high_s" if s > n/2 (§3.1) and "crypto.bad_signature" if r or s
    is out of range or the signature does not verify.
    """
    r = int.from_bytes(value[:SCALAR_SIZE], "big")
    s = int.from_bytes(value[SCALAR_SIZE:], "big")
    if not (0 < r < N and 0 < s < N):
        raise CryptoError("P-256 signature r or s is out of range", code="crypto.bad_signature", suite="ecdsa-p256-sha256")
    if s > HALF_N:
        raise CryptoError(
            "P-256 signature has a high S value; eledger accepts only s <= n/2",
            code="crypto.high_s",
            suite="ecdsa-p256-sha256",
        )
    try:
        key.verify(encode_dss_signature(r, s), data, _ECDSA)
    except InvalidSignature as exc:
        raise CryptoError("P-256 signature does not verify", code="crypto.bad_signature", suite="ecdsa-p256-sha256") from exc


def generate() -> ec.EllipticCurvePrivateKey:
    """A fresh key from the operating system's CSPRNG (through OpenSSL)."""
    return ec.generate_private_key(ec.SECP256R1())


def public_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    """SPKI of the private key's public half."""
    return public_spki(key.public_key())


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """64-byte r||s over `data`, with s replaced by n - s when above n/2 (§3.1)."""
    r, s = decode_dss_signature(key.sign(data, _ECDSA))
    if s > HALF_N:
        s = N - s
    return r.to_bytes(SCALAR_SIZE, "big") + s.to_bytes(SCALAR_SIZE, "big")


def private_to_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER."""
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def private_from_der(der: bytes) -> ec.EllipticCurvePrivateKey:
    """Load an unencrypted PKCS#8 P-256 key; raises CryptoError "crypto.bad_private_key"."""
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"cannot load P-256 private key: {exc}", code="crypto.bad_private_key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CryptoError("private key is not on P-256", code="crypto.bad_private_key")
    return key
