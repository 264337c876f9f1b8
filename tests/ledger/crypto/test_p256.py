"""Tests for ledger.crypto.p256: low-S normalisation and rejection, r/s ranges, a published vector."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ledger.crypto import PrivateKey, PublicKey, Signature, Suite, p256, signing_bytes
from ledger.errors import CryptoError

# RFC 6979 Appendix A.2.5: ECDSA, P-256, SHA-256, message "sample" (deterministic k). The
# published s is above n/2, so eledger accepts only its low-S twin n - s.
RFC6979_UX = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
RFC6979_UY = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299
RFC6979_R = 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716
RFC6979_S = 0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.fixture(scope="module")
def rfc6979_key() -> ec.EllipticCurvePublicKey:
    spki = ec.EllipticCurvePublicNumbers(RFC6979_UX, RFC6979_UY, ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return p256.load_public(spki)


def test_rfc6979_vector_verifies_only_in_low_s_form(rfc6979_key):
    assert RFC6979_S > p256.HALF_N
    with pytest.raises(CryptoError) as info:
        p256.verify(rfc6979_key, b"sample", _raw(RFC6979_R, RFC6979_S))
    assert info.value.code == "crypto.high_s"
    assert p256.verify(rfc6979_key, b"sample", _raw(RFC6979_R, p256.N - RFC6979_S)) is None
    with pytest.raises(CryptoError) as info:
        p256.verify(rfc6979_key, b"sampl", _raw(RFC6979_R, p256.N - RFC6979_S))
    assert info.value.code == "crypto.bad_signature"


def test_sign_always_produces_low_s():
    key = PrivateKey.generate(Suite.P256)
    for i in range(200):
        value = key.sign("tx", "c", i.to_bytes(2, "big")).value
        assert 0 < int.from_bytes(value[32:], "big") <= p256.HALF_N


def test_high_s_twin_of_valid_signature_is_rejected():
    private = ec.generate_private_key(ec.SECP256R1())
    key = PublicKey.from_spki(Suite.P256, p256.public_of(private))
    value = p256.sign(private, signing_bytes("tx", "c", b"m"))
    r, s = int.from_bytes(value[:32], "big"), int.from_bytes(value[32:], "big")
    twin = encode_dss_signature(r, p256.N - s)
    private.public_key().verify(twin, signing_bytes("tx", "c", b"m"), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(CryptoError) as info:
        key.verify("tx", "c", b"m", Signature(Suite.P256, _raw(r, p256.N - s)))
    assert info.value.code == "crypto.high_s"


@pytest.mark.parametrize(("r", "s"), [(0, 1), (1, 0), (p256.N, 1), (1, p256.N), (2**256 - 1, 1)])
def test_verify_rejects_out_of_range_scalars(rfc6979_key, r, s):
    with pytest.raises(CryptoError) as info:
        p256.verify(rfc6979_key, b"sample", _raw(r, s))
    assert info.value.code == "crypto.bad_signature"
