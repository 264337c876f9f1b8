"""Tests for ledger.crypto.suites: suite names, signing bytes (domain separation), Signature."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import SIGNATURE_SIZE, Signature, Suite, signing_bytes
from ledger.errors import CryptoError, LedgerError

DOMAIN = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64)


def test_suite_wire_names_are_stable():
    assert [s.value for s in Suite] == ["ecdsa-p256-sha256", "ed25519", "sm2-sm3"]


def test_suite_parse_accepts_wire_name_and_rejects_unknown():
    assert Suite.parse("ed25519") is Suite.ED25519
    assert Suite.parse(Suite.SM2) is Suite.SM2
    for bad in ["ECDSA-P256-SHA256", "rsa", "", 1, None]:
        with pytest.raises(CryptoError) as info:
            Suite.parse(bad)
        assert info.value.code == "crypto.unknown_suite"


def test_signing_bytes_layout_is_exact():
    assert signing_bytes("tx", "bjt-1", b"\x00\xff") == b"eledger-sig/v1\x00tx\x00bjt-1\x00\x00\xff"


@pytest.mark.parametrize(
    ("purpose", "chain_id"),
    [("", "c"), ("p", ""), ("a\x00b", "c"), ("p", "c\x00"), ("x" * 65, "c"), ("p", "y" * 65), ("tx\n", "c"),
     ("licence签", "c"), ("p", "\x7f"), (b"tx", "c"), ("p", None)],
)
def test_signing_bytes_rejects_bad_domain(purpose, chain_id):
    with pytest.raises(CryptoError) as info:
        signing_bytes(purpose, chain_id, b"m")
    assert info.value.code == "crypto.bad_domain"


def test_signing_bytes_accepts_limits():
    assert signing_bytes("x" * 64, " ~", b"").endswith(b"x" * 64 + b"\x00 ~\x00")


def test_signing_bytes_rejects_non_bytes_message():
    with pytest.raises(CryptoError) as info:
        signing_bytes("tx", "c", "text")
    assert info.value.code == "crypto.bad_message"


@settings(max_examples=300)
@given(DOMAIN, DOMAIN, st.binary(max_size=40), DOMAIN, DOMAIN, st.binary(max_size=40))
def test_signing_bytes_is_injective(p1, c1, m1, p2, c2, m2):
    if (p1, c1, m1) != (p2, c2, m2):
        assert signing_bytes(p1, c1, m1) != signing_bytes(p2, c2, m2)


@pytest.mark.parametrize("size", [0, 63, 65, 70, 72])
@pytest.mark.parametrize("suite", list(Suite))
def test_signature_rejects_wrong_length(suite, size):
    with pytest.raises(CryptoError) as info:
        Signature(suite, b"\x01" * size)
    assert info.value.code == "crypto.bad_signature_length"


def test_signature_rejects_non_bytes_and_unknown_suite():
    with pytest.raises(CryptoError) as info:
        Signature(Suite.P256, bytearray(SIGNATURE_SIZE))
    assert info.value.code == "crypto.bad_signature_length"
    with pytest.raises(CryptoError) as info:
        Signature("ecdsa-p384", bytes(SIGNATURE_SIZE))
    assert info.value.code == "crypto.unknown_suite"


def test_signature_is_frozen_and_coerces_suite_name():
    sig = Signature("ed25519", bytes(SIGNATURE_SIZE))
    assert sig.suite is Suite.ED25519
    with pytest.raises(AttributeError):
        sig.value = b""  # type: ignore[misc]


def test_signature_json_round_trip():
    sig = Signature(Suite.SM2, bytes(range(64)))
    obj = sig.to_json()
    assert obj == {"suite": "sm2-sm3", "value": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"}
    assert Signature.from_json(obj) == sig


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        {"suite": "ed25519"},
        {"suite": "ed25519", "value": "AA", "extra": "x"},
        {"suite": 1, "value": "AA"},
        {"suite": "ed25519", "value": b"AA"},
        {"suite": "ed25519", "value": "AA"},
        {"suite": "ed25519", "value": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw=="},
        {"suite": "p256", "value": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"},
    ],
)
def test_signature_from_json_is_strict(obj):
    with pytest.raises(LedgerError):
        Signature.from_json(obj)
