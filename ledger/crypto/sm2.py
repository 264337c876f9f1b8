"""SM2 signatures with SM3 (GB/T 32918.2-2016, GM/T 0003) and the default distinguishing ID
"1234567812345678" (GM/T 0009), as 64-byte r||s (docs/spec/crypto.md §3.3).

The arithmetic is done by the optional backend gmssl-pyx (GmSSL 3.1), installed with the
`eledger[gm]` extra; it is imported only when an SM2 key signs or verifies, never by the other
suites. Parsing and checking SM2 public keys needs no backend, so a node without the extra can
still read a genesis that lists SM2 keys. The DER forms (SPKI with id-ecPublicKey and the SM2
curve OID 1.2.156.10197.1.301, PKCS#8 as OpenSSL 3 writes it) are built by ledger.crypto.asn1.
This module must never hold a private scalar anywhere but in an Sm2PrivateKey, and never print it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ledger.crypto import asn1
from ledger.errors import CryptoError

ALGORITHM = asn1.Algorithm(asn1.OID_EC_PUBLIC_KEY, asn1.OID_SM2)
DISTINGUISHING_ID = b"1234567812345678"
SCALAR_SIZE = 32
POINT_SIZE = 1 + 2 * SCALAR_SIZE

# Recommended curve parameters, GB/T 32918.5-2017 §3 (sm2p256v1); cofactor 1.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

_KEY_CHECK_MESSAGE = b"eledger-sm2-key-check"


def load_backend() -> ModuleType:
    """The gmssl_pyx module; raises CryptoError "crypto.suite_unavailable" if it is not installed."""
    try:
        import gmssl_pyx
    except ImportError as exc:
        raise CryptoError(
            "the sm2-sm3 suite needs the optional backend gmssl-pyx: pip install 'eledger[gm]'",
            code="crypto.suite_unavailable",
            suite="sm2-sm3",
        ) from exc
    return gmssl_pyx


@dataclass(frozen=True, repr=False)
class Sm2PrivateKey:
    """A private scalar d (32 bytes, 1 <= d <= n-2) and its public point X||Y (64 bytes)."""

    scalar: bytes
    point: bytes

    def __repr__(self) -> str:
        return "Sm2PrivateKey(<hidden>)"


def check_point(point: bytes) -> bytes:
    """X||Y (64 bytes) of an uncompressed SEC 1 point `04 || X || Y` on the SM2 curve.

    Raises CryptoError "crypto.noncanonical_spki" for a compressed point and "crypto.bad_point"
    for anything that is not a curve point (the curve has cofactor 1, so every affine point on
    it is a valid public key).
    """
    if len(point) == 1 + SCALAR_SIZE and point[0] in (2, 3):
        raise CryptoError("SM2 public key must use the uncompressed point form", code="crypto.noncanonical_spki")
    if len(point) != POINT_SIZE or point[0] != 4:
        raise CryptoError(f"SM2 public point must be {POINT_SIZE} bytes starting with 0x04", code="crypto.bad_point")
    x = int.from_bytes(point[1 : 1 + SCALAR_SIZE], "big")
    y = int.from_bytes(point[1 + SCALAR_SIZE :], "big")
    if x >= P or y >= P or (y * y - (x * x * x + A * x + B)) % P != 0:
        raise CryptoError("SM2 public point is not on the curve", code="crypto.bad_point")
    return point[1:]


def load_public(spki: bytes) -> bytes:
    """The 64-byte X||Y of a structurally checked SM2 SPKI (§4); needs no backend.

    Raises CryptoError "crypto.bad_point" or "crypto.noncanonical_spki".
    """
    _, key = asn1.decode_spki(spki)
    xy = check_point(key)
    if asn1.encode_spki(ALGORITHM, key) != spki:
        raise CryptoError("SM2 SubjectPublicKeyInfo is not in canonical DER form", code="crypto.noncanonical_spki")
    return xy


def verify(xy: bytes, data: bytes, value: bytes) -> None:
    """Check the r||s signature `value` over `data` with Z computed from the default ID.

    Raises CryptoError "crypto.suite_unavailable" without the backend and
    "crypto.bad_signature" if r or s is outside [1, n-1] or the signature does not verify.
    """
    backend = load_backend()
    r = int.from_bytes(value[:SCALAR_SIZE], "big")
    s = int.from_bytes(value[SCALAR_SIZE:], "big")
    if not (0 < r < N and 0 < s < N):
        raise CryptoError("SM2 signature r or s is out of range", code="crypto.bad_signature", suite="sm2-sm3")
    try:
        ok = backend.sm2_verify(xy, data, encode_dss_signature(r, s), signer_id=DISTINGUISHING_ID)
    except backend.GmsslInnerError as exc:
        raise CryptoError(f"SM2 backend rejected the signature: {exc}", code="crypto.bad_signature", suite="sm2-sm3") from exc
    if not ok:
        raise CryptoError("SM2 signature does not verify", code="crypto.bad_signature", suite="sm2-sm3")


def generate() -> Sm2PrivateKey:
    """A fresh key; GmSSL draws d uniformly from [1, n-1] with bytes from /dev/urandom."""
    public, private = load_backend().sm2_key_generate()
    return _checked_private(private, b"\x04" + public)


def public_of(key: Sm2PrivateKey) -> bytes:
    """SPKI of the private key's public half."""
    return asn1.encode_spki(ALGORITHM, b"\x04" + key.point)


def sign(key: Sm2PrivateKey, data: bytes) -> bytes:
    """64-byte r||s over `data`; GmSSL draws the nonce k from /dev/urandom for each signature."""
    backend = load_backend()
    der = backend.sm2_sign(key.scalar, key.point, data, signer_id=DISTINGUISHING_ID)
    r, s = decode_dss_signature(der)
    return r.to_bytes(SCALAR_SIZE, "big") + s.to_bytes(SCALAR_SIZE, "big")


def private_to_der(key: Sm2PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER with the public key inside, byte-for-byte as OpenSSL 3 writes it."""
    return asn1.encode_pkcs8_ec(asn1.OID_SM2, key.scalar, b"\x04" + key.point)


def private_from_der(der: bytes) -> Sm2PrivateKey:
    """Load an unencrypted PKCS#8 SM2 key that carries its public key.

    The pair is checked by signing and verifying a probe message, so a file whose public key
    does not belong to its scalar is refused. Raises CryptoError "crypto.bad_private_key" or
    "crypto.suite_unavailable".
    """
    try:
        scalar, point = asn1.decode_pkcs8_ec(der, asn1.OID_SM2, SCALAR_SIZE)
    except CryptoError as exc:
        raise CryptoError(f"cannot load SM2 private key: {exc}", code="crypto.bad_private_key") from exc
    if point is None:
        raise CryptoError(
            "SM2 private key must include its public key (re-export it with `openssl pkey`)",
            code="crypto.bad_private_key",
        )
    return _checked_private(scalar, point)


def _checked_private(scalar: bytes, point: bytes) -> Sm2PrivateKey:
    if not 0 < int.from_bytes(scalar, "big") < N - 1:
        raise CryptoError("SM2 private scalar is outside [1, n-2]", code="crypto.bad_private_key")
    try:
        key = Sm2PrivateKey(scalar, check_point(point))
    except CryptoError as exc:
        raise CryptoError(f"SM2 private key has a bad public key: {exc}", code="crypto.bad_private_key") from exc
    try:
        verify(key.point, _KEY_CHECK_MESSAGE, sign(key, _KEY_CHECK_MESSAGE))
    except CryptoError as exc:
        if exc.code == "crypto.suite_unavailable":
            raise
        raise CryptoError("SM2 public key does not belong to the private scalar", code="crypto.bad_private_key") from exc
    return key
