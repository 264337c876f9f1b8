"""Tests for ledger.crypto.asn1: the strict DER subset and PEM armour."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import asn1
from ledger.errors import CryptoError

# Encodings of well-known OIDs as printed by `openssl asn1parse` (X.690 §8.19).
KNOWN_OIDS = {
    "1.2.840.10045.2.1": "2a8648ce3d0201",
    "1.2.840.10045.3.1.7": "2a8648ce3d030107",
    "1.3.101.112": "2b6570",
    "1.2.156.10197.1.301": "2a811ccf5501822d",
}


@pytest.mark.parametrize(("dotted", "hexed"), KNOWN_OIDS.items())
def test_encode_oid_matches_known_encodings(dotted, hexed):
    assert asn1.encode_oid(dotted).hex() == hexed
    assert asn1.decode_oid(bytes.fromhex(hexed)) == dotted


@settings(max_examples=200)
@given(st.integers(0, 2), st.integers(0, 39), st.lists(st.integers(0, 2**40), max_size=6))
def test_decode_oid_inverts_encode_oid(first, second, rest):
    dotted = ".".join(str(a) for a in [first, second, *rest])
    assert asn1.decode_oid(asn1.encode_oid(dotted)) == dotted


@pytest.mark.parametrize("content", [b"", b"\x2a\x86", b"\x2a\x80\x01"])
def test_decode_oid_rejects_truncated_or_padded_arcs(content):
    with pytest.raises(CryptoError) as info:
        asn1.decode_oid(content)
    assert info.value.code == "crypto.bad_der"


@settings(max_examples=200)
@given(st.binary(max_size=700))
def test_decode_tlv_inverts_encode_tlv(content):
    encoded = asn1.encode_tlv(0x04, content)
    assert asn1.decode_tlv(encoded) == (0x04, content, len(encoded))
    assert asn1.decode_tlv(b"\xff" + encoded, 1) == (0x04, content, len(encoded) + 1)


@pytest.mark.parametrize(
    "data",
    [
        b"\x04",  # truncated header
        b"\x04\x80",  # indefinite length
        b"\x04\x81\x05hello",  # long form for a short length
        b"\x04\x82\x00\x81" + b"x" * 0x81,  # length with a leading zero octet
        b"\x04\x05hell",  # content past the end
        b"\x1f\x01\x00",  # multi-byte tag
        b"\x04\x84\x00\x00\x00\x01x",  # four length octets
    ],
)
def test_decode_tlv_rejects_non_der(data):
    with pytest.raises(CryptoError) as info:
        asn1.decode_tlv(data)
    assert info.value.code == "crypto.bad_der"


def test_decode_single_rejects_trailing_bytes_and_wrong_tag():
    element = asn1.encode_tlv(0x30, b"")
    assert asn1.decode_single(element, 0x30, "x") == b""
    with pytest.raises(CryptoError, match="trailing"):
        asn1.decode_single(element + b"\x00", 0x30, "x")
    with pytest.raises(CryptoError, match="expected tag"):
        asn1.decode_single(element, 0x04, "x")


def test_spki_round_trip_and_layout():
    algorithm = asn1.Algorithm(asn1.OID_EC_PUBLIC_KEY, asn1.OID_SM2)
    point = b"\x04" + bytes(range(64))
    der = asn1.encode_spki(algorithm, point)
    assert der[:27].hex() == "3059301306072a8648ce3d020106082a811ccf5501822d03420004"
    assert asn1.decode_spki(der) == (algorithm, point)


def test_decode_spki_rejects_unused_bits_and_extra_fields():
    algorithm = asn1.Algorithm(asn1.OID_ED25519, None)
    good = asn1.encode_spki(algorithm, bytes(32))
    unused = good[:-33] + b"\x01" + good[-32:]
    with pytest.raises(CryptoError, match="unused bits"):
        asn1.decode_spki(unused)
    extra = asn1.encode_tlv(0x30, asn1.decode_single(good, 0x30, "x") + asn1.encode_tlv(0x05, b""))
    with pytest.raises(CryptoError, match="exactly two"):
        asn1.decode_spki(extra)


def test_pkcs8_ec_round_trip():
    der = asn1.encode_pkcs8_ec(asn1.OID_SM2, b"\x01" * 32, b"\x04" + b"\x02" * 64)
    assert asn1.decode_pkcs8_algorithm(der) == asn1.Algorithm(asn1.OID_EC_PUBLIC_KEY, asn1.OID_SM2)
    assert asn1.decode_pkcs8_ec(der, asn1.OID_SM2, 32) == (b"\x01" * 32, b"\x04" + b"\x02" * 64)
    with pytest.raises(CryptoError, match="algorithm"):
        asn1.decode_pkcs8_ec(der, asn1.OID_SECP256R1, 32)
    with pytest.raises(CryptoError, match="octets"):
        asn1.decode_pkcs8_ec(der, asn1.OID_SM2, 31)


def test_pem_round_trip_uses_64_character_lines():
    der = bytes(range(256)) * 2
    pem = asn1.encode_pem("PRIVATE KEY", der)
    lines = pem.split(b"\n")
    assert lines[0] == b"-----BEGIN PRIVATE KEY-----"
    assert all(len(line) == 64 for line in lines[1:-3])
    assert asn1.decode_pem(pem) == ("PRIVATE KEY", der)
    assert asn1.decode_pem(pem.replace(b"\n", b"\r\n")) == ("PRIVATE KEY", der)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nA*AA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n",
        asn1.encode_pem("PRIVATE KEY", b"x") * 2,
    ],
)
def test_decode_pem_rejects_malformed(data):
    with pytest.raises(CryptoError) as info:
        asn1.decode_pem(data)
    assert info.value.code == "crypto.bad_pem"
