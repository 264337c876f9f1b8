"""Tests for ledger.crypto.ed25519 against RFC 8032 §7.1 TEST 1 and its strict SPKI handling."""

from __future__ import annotations

import pytest

from ledger.crypto import PublicKey, Suite, ed25519
from ledger.errors import CryptoError

# RFC 8032 §7.1, TEST 1 (empty message).
TEST1_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
TEST1_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # RFC 8410 §4 layout for a 32-byte key


def test_rfc8032_test1_verifies():
    key = ed25519.load_public(SPKI_PREFIX + TEST1_PUBLIC)
    assert ed25519.verify(key, b"", TEST1_SIGNATURE) is None
    with pytest.raises(CryptoError) as info:
        ed25519.verify(key, b"\x00", TEST1_SIGNATURE)
    assert info.value.code == "crypto.bad_signature"


def test_non_canonical_s_is_rejected():
    key = ed25519.load_public(SPKI_PREFIX + TEST1_PUBLIC)
    group_order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(TEST1_SIGNATURE[32:], "little") + group_order
    with pytest.raises(CryptoError) as info:
        ed25519.verify(key, b"", TEST1_SIGNATURE[:32] + s.to_bytes(32, "little"))
    assert info.value.code == "crypto.bad_signature"


def test_spki_with_wrong_key_size_is_rejected():
    for key in (TEST1_PUBLIC[:31], TEST1_PUBLIC + b"\x00"):
        body = bytes.fromhex("300506032b6570") + bytes([0x03, len(key) + 1, 0x00]) + key
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(Suite.ED25519, bytes([0x30, len(body)]) + body)
        assert info.value.code == "crypto.bad_point"
