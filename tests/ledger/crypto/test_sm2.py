"""Tests for ledger.crypto.sm2 (SM2/SM3 with ID "1234567812345678"), cross-checked against the
independent OpenSSL command line: keys, SPKI and PEM forms, and signatures in both directions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ledger.crypto import PrivateKey, PublicKey, Signature, Suite, asn1, signing_bytes, sm2
from ledger.errors import CryptoError

OPENSSL = shutil.which("openssl") or "openssl"
DISTID = "distid:1234567812345678"


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=30, check=False)


def _to_der(value: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(value[:32], "big"), int.from_bytes(value[32:], "big"))


def _from_der(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _openssl_verify(tmp: Path, spki: bytes, message: bytes, value: bytes, distid: str = DISTID) -> bool:
    (tmp / "pub.der").write_bytes(spki)
    (tmp / "msg").write_bytes(message)
    (tmp / "sig.der").write_bytes(_to_der(value))
    result = _openssl(
        "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp / "pub.der", "-rawin", "-digest", "sm3",
        "-in", tmp / "msg", "-sigfile", tmp / "sig.der", "-pkeyopt", distid,
    )
    return result.returncode == 0 and b"Verified Successfully" in result.stdout


# The base point G of the SM2 curve (GB/T 32918.5-2017 §3): a valid public key known in advance.
SM2_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
SM2_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
GENERATOR_SPKI = asn1.encode_spki(sm2.ALGORITHM, b"\x04" + SM2_GX.to_bytes(32, "big") + SM2_GY.to_bytes(32, "big"))


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate(Suite.SM2)


def test_generator_spki_parses_without_backend(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmssl_pyx", None)
    assert PublicKey.from_spki(Suite.SM2, GENERATOR_SPKI).spki == GENERATOR_SPKI


@pytest.fixture(scope="module")
def openssl_key(tmp_path_factory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("sm2") / "key.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", path).returncode == 0
    spki = _openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    assert spki.returncode == 0
    return path, spki.stdout


def test_pem_and_spki_are_byte_identical_to_openssl(key, tmp_path):
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    assert _openssl("pkey", "-in", tmp_path / "key.pem").stdout == key.to_pem()
    assert _openssl("pkey", "-in", tmp_path / "key.pem", "-pubout", "-outform", "DER").stdout == key.public_key.spki
    text = _openssl("pkey", "-in", tmp_path / "key.pem", "-noout", "-text").stdout
    assert b"ASN1 OID: SM2" in text


def test_openssl_key_loads_with_same_public_key(openssl_key):
    path, spki = openssl_key
    loaded = PrivateKey.from_pem(path.read_bytes())
    assert loaded.suite is Suite.SM2 and loaded.public_key.spki == spki
    assert PublicKey.from_spki(Suite.SM2, spki) == loaded.public_key


def test_our_signature_verifies_with_openssl(key, tmp_path):
    sig = key.sign("seal", "bjt-1", b"document")
    data = signing_bytes("seal", "bjt-1", b"document")
    assert _openssl_verify(tmp_path, key.public_key.spki, data, sig.value)
    assert not _openssl_verify(tmp_path, key.public_key.spki, data + b"!", sig.value)
    assert not _openssl_verify(tmp_path, key.public_key.spki, data, sig.value, distid="distid:1234567812345679")


def test_openssl_signature_verifies_with_ours(openssl_key, tmp_path):
    path, spki = openssl_key
    data = signing_bytes("seal", "bjt-1", b"document")
    (tmp_path / "msg").write_bytes(data)
    result = _openssl(
        "pkeyutl", "-sign", "-inkey", path, "-rawin", "-digest", "sm3", "-in", tmp_path / "msg",
        "-out", tmp_path / "sig.der", "-pkeyopt", DISTID,
    )
    assert result.returncode == 0, result.stderr
    value = _from_der((tmp_path / "sig.der").read_bytes())
    public = PublicKey.from_spki(Suite.SM2, spki)
    public.verify("seal", "bjt-1", b"document", Signature(Suite.SM2, value))
    with pytest.raises(CryptoError) as info:
        public.verify("seal", "bjt-2", b"document", Signature(Suite.SM2, value))
    assert info.value.code == "crypto.bad_signature"


def test_tampered_signature_fails_in_both(key, tmp_path):
    value = bytearray(key.sign("seal", "bjt-1", b"document").value)
    value[40] ^= 0x04
    data = signing_bytes("seal", "bjt-1", b"document")
    assert not _openssl_verify(tmp_path, key.public_key.spki, data, bytes(value))
    with pytest.raises(CryptoError) as info:
        key.public_key.verify("seal", "bjt-1", b"document", Signature(Suite.SM2, bytes(value)))
    assert info.value.code == "crypto.bad_signature"


@pytest.mark.parametrize(("r", "s"), [(0, 1), (1, 0), (sm2.N, 1), (1, sm2.N)])
def test_verify_rejects_out_of_range_scalars(key, r, s):
    value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with pytest.raises(CryptoError) as info:
        key.public_key.verify("seal", "c", b"m", Signature(Suite.SM2, value))
    assert info.value.code == "crypto.bad_signature"


def test_from_spki_rejects_bad_points(key):
    point = key.public_key.spki[-65:]
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    compressed = bytes([2 + (y & 1)]) + point[1:33]
    cases = {
        b"\x04" + point[1:33] + ((y + 1) % sm2.P).to_bytes(32, "big"): "crypto.bad_point",
        b"\x04" + (x + sm2.P).to_bytes(33, "big")[1:] + point[33:]: "crypto.bad_point",
        b"\x04" + bytes(64): "crypto.bad_point",
        b"\x05" + point[1:]: "crypto.bad_point",
        compressed: "crypto.noncanonical_spki",
    }
    for bits, code in cases.items():
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(Suite.SM2, asn1.encode_spki(sm2.ALGORITHM, bits))
        assert info.value.code == code


def _pkcs8_without_public_key(scalar: bytes) -> bytes:
    ec_key = asn1.encode_tlv(0x30, asn1.encode_tlv(0x02, b"\x01") + asn1.encode_tlv(0x04, scalar))
    algorithm = asn1.encode_tlv(0x30, asn1.encode_tlv(0x06, asn1.OID_EC_PUBLIC_KEY) + asn1.encode_tlv(0x06, asn1.OID_SM2))
    return asn1.encode_tlv(0x30, asn1.encode_tlv(0x02, b"\x00") + algorithm + asn1.encode_tlv(0x04, ec_key))


def test_from_pem_refuses_inconsistent_or_incomplete_pairs(key):
    other_point = PrivateKey.generate(Suite.SM2).public_key.spki[-65:]
    scalar, point = asn1.decode_pkcs8_ec(asn1.decode_pem(key.to_pem())[1], asn1.OID_SM2, 32)
    assert point == key.public_key.spki[-65:]
    cases = [
        ("does not belong", asn1.encode_pkcs8_ec(asn1.OID_SM2, scalar, other_point)),
        (r"outside \[1, n-2\]", asn1.encode_pkcs8_ec(asn1.OID_SM2, bytes(32), other_point)),
        (r"outside \[1, n-2\]", asn1.encode_pkcs8_ec(asn1.OID_SM2, (sm2.N - 1).to_bytes(32, "big"), other_point)),
        ("must include its public key", _pkcs8_without_public_key(scalar)),
        ("bad public key", asn1.encode_pkcs8_ec(asn1.OID_SM2, scalar, b"\x04" + bytes(64))),
    ]
    for message, der in cases:
        with pytest.raises(CryptoError, match=message) as info:
            PrivateKey.from_pem(asn1.encode_pem("PRIVATE KEY", der))
        assert info.value.code == "crypto.bad_private_key"


def test_missing_backend_raises_suite_unavailable(key, monkeypatch):
    monkeypatch.setitem(sys.modules, "gmssl_pyx", None)
    public = PublicKey(Suite.SM2, GENERATOR_SPKI)
    sig = Signature(Suite.SM2, bytes(range(1, 65)))
    for action in (
        lambda: PrivateKey.generate(Suite.SM2),
        lambda: public.verify("seal", "c", b"m", sig),
        lambda: key.sign("seal", "c", b"m"),
        lambda: PrivateKey.from_pem(key.to_pem()),
    ):
        with pytest.raises(CryptoError) as info:
            action()
        assert info.value.code == "crypto.suite_unavailable"
        assert "eledger[gm]" in str(info.value)


def test_other_suites_never_import_the_sm2_backend():
    program = (
        "import sys\n"
        "from ledger.crypto import PrivateKey, PublicKey, Suite\n"
        "for suite in (Suite.P256, Suite.ED25519):\n"
        "    k = PrivateKey.from_pem(PrivateKey.generate(suite).to_pem())\n"
        "    PublicKey.from_spki(suite, k.public_key.spki).verify('tx', 'c', b'm', k.sign('tx', 'c', b'm'))\n"
        "assert 'gmssl_pyx' not in sys.modules, 'gmssl_pyx was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()
