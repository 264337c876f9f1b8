"""certs.keys: key generation and PEM files (mode 0600 keys, never overwritten)."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from certs.errors import CertError
from certs.keys import (
    fingerprint_certificate,
    generate_key,
    read_certificate,
    read_private_key,
    write_certificate,
    write_private_key,
)


def test_write_private_key_creates_mode_0600_and_round_trips(tmp_path):
    key = generate_key()
    path = tmp_path / "node.key"
    write_private_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_private_key(path).private_numbers() == key.private_numbers()


def test_write_private_key_refuses_to_overwrite(tmp_path):
    path = tmp_path / "node.key"
    path.write_bytes(b"precious")
    with pytest.raises(CertError, match="refusing to overwrite") as info:
        write_private_key(path, generate_key())
    assert info.value.code == "cert.exists"
    assert path.read_bytes() == b"precious"


def test_write_private_key_into_missing_directory(tmp_path):
    with pytest.raises(CertError) as info:
        write_private_key(tmp_path / "missing" / "k.key", generate_key())
    assert info.value.code == "cert.not_found"


def test_read_private_key_rejects_other_curves_and_garbage(tmp_path):
    other = tmp_path / "ed.key"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CertError, match="not ECDSA P-256") as info:
        read_private_key(other)
    assert info.value.code == "cert.malformed"
    p384 = tmp_path / "p384.key"
    p384.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CertError, match="not ECDSA P-256"):
        read_private_key(p384)
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CertError, match="not an unencrypted PEM private key") as info:
        read_private_key(garbage)
    assert "AAAA" not in str(info.value)
    with pytest.raises(CertError) as info:
        read_private_key(tmp_path / "absent.key")
    assert info.value.code == "cert.not_found"


def test_certificate_files_round_trip_pem_and_der(tmp_path, beijing):
    path = tmp_path / "ca.crt"
    write_certificate(path, beijing.cert)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert read_certificate(path) == beijing.cert
    der = tmp_path / "ca.der"
    der.write_bytes(beijing.cert.public_bytes(serialization.Encoding.DER))
    assert fingerprint_certificate(read_certificate(der)) == fingerprint_certificate(beijing.cert)


def test_read_certificate_rejects_garbage_and_directories(tmp_path):
    bad = tmp_path / "bad.crt"
    bad.write_bytes(b"not a certificate")
    with pytest.raises(CertError) as info:
        read_certificate(bad)
    assert info.value.code == "cert.malformed"
    with pytest.raises(CertError) as info:
        read_certificate(tmp_path)
    assert info.value.code == "cert.not_found"
