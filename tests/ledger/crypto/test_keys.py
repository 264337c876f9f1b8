"""Tests for ledger.crypto.keys: keys of every suite, key ids, strict SPKI parsing, PEM, verify_many."""

from __future__ import annotations

import copy
import hashlib
import pickle

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from ledger.crypto import (
    KEY_ID_SIZE,
    PrivateKey,
    PublicKey,
    Signature,
    Suite,
    compute_key_id,
    verify_many,
)
from ledger.errors import CryptoError, LedgerError

SUITES = list(Suite)


@pytest.fixture(scope="module", params=SUITES)
def key(request) -> PrivateKey:
    return PrivateKey.generate(request.param)


def _code(exc_info) -> str:
    return exc_info.value.code


def _spki(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_sign_verify_round_trip(key):
    sig = key.sign("tx", "bjt-1", b"licence")
    assert sig.suite is key.suite and len(sig.value) == 64
    assert key.public_key.verify("tx", "bjt-1", b"licence", sig) is None


@pytest.mark.parametrize(
    ("purpose", "chain_id", "message"),
    [("vote", "bjt-1", b"licence"), ("tx", "bjt-2", b"licence"), ("tx", "bjt-1", b"licencf"), ("tx", "bjt-1", b"")],
)
def test_verify_rejects_other_domain_or_message(key, purpose, chain_id, message):
    sig = key.sign("tx", "bjt-1", b"licence")
    with pytest.raises(CryptoError) as info:
        key.public_key.verify(purpose, chain_id, message, sig)
    assert _code(info) == "crypto.bad_signature"


def test_verify_rejects_flipped_bits(key):
    value = key.sign("tx", "c", b"m").value
    for position in (0, 31, 32, 63):
        tampered = bytearray(value)
        tampered[position] ^= 0x01
        with pytest.raises(CryptoError) as info:
            key.public_key.verify("tx", "c", b"m", Signature(key.suite, bytes(tampered)))
        assert _code(info) in {"crypto.bad_signature", "crypto.high_s"}


def test_verify_rejects_signature_of_another_key(key):
    other = PrivateKey.generate(key.suite)
    with pytest.raises(CryptoError) as info:
        key.public_key.verify("tx", "c", b"m", other.sign("tx", "c", b"m"))
    assert _code(info) == "crypto.bad_signature"


def test_verify_rejects_signature_of_another_suite():
    p256 = PrivateKey.generate(Suite.P256)
    ed = PrivateKey.generate(Suite.ED25519)
    with pytest.raises(CryptoError) as info:
        p256.public_key.verify("tx", "c", b"m", Signature(Suite.ED25519, ed.sign("tx", "c", b"m").value))
    assert _code(info) == "crypto.suite_mismatch"
    with pytest.raises(CryptoError) as info:
        p256.public_key.verify("tx", "c", b"m", ed.sign("tx", "c", b"m").value)  # type: ignore[arg-type]
    assert _code(info) == "crypto.bad_signature"


def test_sign_and_verify_reject_bad_domain(key):
    with pytest.raises(CryptoError) as info:
        key.sign("tx\x00", "c", b"m")
    assert _code(info) == "crypto.bad_domain"
    sig = key.sign("tx", "c", b"m")
    with pytest.raises(CryptoError) as info:
        key.public_key.verify("tx", "", b"m", sig)
    assert _code(info) == "crypto.bad_domain"


def test_key_id_matches_literal_definition(key):
    spki = key.public_key.spki
    expected = hashlib.sha256(b"eledger/key-id\x00" + key.suite.value.encode() + b"\x00" + spki).digest()
    assert key.public_key.key_id == expected and len(expected) == KEY_ID_SIZE
    assert PublicKey.from_spki(key.suite, spki).key_id == expected
    assert PrivateKey.from_pem(key.to_pem()).public_key.key_id == expected


def test_key_id_is_distinct_per_suite():
    spki = PrivateKey.generate(Suite.P256).public_key.spki
    ids = {compute_key_id(suite, spki) for suite in Suite}
    assert len(ids) == len(Suite)


def test_public_key_equality_hash_and_cache(key):
    spki = key.public_key.spki
    again = PublicKey.from_spki(key.suite, bytearray(spki))
    assert again == key.public_key and hash(again) == hash(key.public_key)
    assert PublicKey.from_spki(key.suite, spki) is PublicKey.from_spki(key.suite, spki)
    assert PublicKey(key.suite.value, spki) == key.public_key
    assert len({key.public_key, again, PrivateKey.generate(Suite.ED25519).public_key}) == 2
    with pytest.raises(AttributeError):
        key.public_key.spki = b""  # type: ignore[misc]


def test_public_key_survives_pickle_and_copy(key):
    assert pickle.loads(pickle.dumps(key.public_key)) == key.public_key
    assert copy.deepcopy(key.public_key) == key.public_key


def test_public_key_json_round_trip(key):
    obj = key.public_key.to_json()
    assert set(obj) == {"suite", "spki"} and obj["suite"] == key.suite.value
    assert PublicKey.from_json(obj) == key.public_key


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: None,
        lambda o: {"suite": o["suite"]},
        lambda o: {**o, "key_id": "AA"},
        lambda o: {**o, "suite": "ecdsa-p384-sha384"},
        lambda o: {**o, "spki": o["spki"] + "="},
        lambda o: {**o, "spki": o["spki"][:-4]},
        lambda o: {**o, "spki": 5},
    ],
)
def test_public_key_from_json_is_strict(mutate):
    obj = PrivateKey.generate(Suite.P256).public_key.to_json()
    with pytest.raises(LedgerError):
        PublicKey.from_json(mutate(obj))


def test_from_spki_rejects_garbage():
    for der in [b"", b"garbage", b"\x30\x00", bytes(91)]:
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(Suite.P256, der)
        assert _code(info) == "crypto.bad_spki"
    with pytest.raises(CryptoError) as info:
        PublicKey.from_spki(Suite.P256, "MFkwEw")  # type: ignore[arg-type]
    assert _code(info) == "crypto.bad_spki"


def test_from_spki_rejects_trailing_and_missing_bytes():
    spki = PrivateKey.generate(Suite.P256).public_key.spki
    for der in [spki + b"\x00", spki[:-1], spki[:1] + b"\x81" + spki[1:]]:
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(Suite.P256, der)
        assert _code(info) == "crypto.bad_spki"


def test_from_spki_rejects_p384_key():
    spki = _spki(ec.generate_private_key(ec.SECP384R1()))
    for suite in Suite:
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(suite, spki)
        assert _code(info) == "crypto.suite_mismatch"
        assert info.value.found == "1.2.840.10045.2.1/1.3.132.0.34"


def test_from_spki_rejects_key_of_another_suite():
    ed = PrivateKey.generate(Suite.ED25519).public_key.spki
    p256 = PrivateKey.generate(Suite.P256).public_key.spki
    for suite, der in [(Suite.P256, ed), (Suite.SM2, p256), (Suite.ED25519, p256)]:
        with pytest.raises(CryptoError) as info:
            PublicKey.from_spki(suite, der)
        assert _code(info) == "crypto.suite_mismatch"
    x_spki = x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CryptoError) as info:
        PublicKey.from_spki(Suite.ED25519, x_spki)
    assert _code(info) == "crypto.suite_mismatch"


def test_from_spki_rejects_compressed_p256_point():
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    prefix = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200")
    with pytest.raises(CryptoError) as info:
        PublicKey.from_spki(Suite.P256, prefix + point)
    assert _code(info) == "crypto.noncanonical_spki"


def test_from_spki_rejects_point_off_curve():
    spki = bytearray(PrivateKey.generate(Suite.P256).public_key.spki)
    spki[-1] ^= 0x01
    with pytest.raises(CryptoError) as info:
        PublicKey.from_spki(Suite.P256, bytes(spki))
    assert _code(info) == "crypto.bad_point"


def test_from_spki_rejects_unknown_suite():
    with pytest.raises(CryptoError) as info:
        PublicKey.from_spki("rsa", PrivateKey.generate(Suite.P256).public_key.spki)
    assert _code(info) == "crypto.unknown_suite"


def test_pem_round_trip_keeps_key(key):
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = PrivateKey.from_pem(pem)
    assert loaded.suite is key.suite and loaded.public_key == key.public_key
    assert loaded.to_pem() == pem
    key.public_key.verify("tx", "c", b"m", loaded.sign("tx", "c", b"m"))


def test_from_pem_rejects_other_forms():
    p384 = ec.generate_private_key(ec.SECP384R1())
    p256 = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = serialization.PrivateFormat.PKCS8
    cases = [
        p384.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()),
        p256.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()),
        p256.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.BestAvailableEncryption(b"pw")),
        x25519.X25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()),
        b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    ]
    for pem in cases:
        with pytest.raises(CryptoError) as info:
            PrivateKey.from_pem(pem)
        assert _code(info) == "crypto.bad_private_key"
    with pytest.raises(CryptoError) as info:
        PrivateKey.from_pem(b"not pem")
    assert _code(info) == "crypto.bad_pem"


def test_private_key_repr_hides_material():
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key = PrivateKey.from_pem(pem)
    secret = private.private_numbers().private_value.to_bytes(32, "big").hex()
    text = repr(key) + str(key)
    assert secret not in text.lower() and pem.split(b"\n")[1].decode() not in text
    assert key.public_key.key_id.hex()[:16] in text


def test_verify_many_passes_and_names_first_failure():
    keys = [PrivateKey.generate(Suite.P256), PrivateKey.generate(Suite.ED25519)]
    items = [(k.public_key, "vote", "c", bytes([i]), k.sign("vote", "c", bytes([i]))) for i, k in enumerate(keys * 2)]
    assert verify_many(items) is None
    assert verify_many([]) is None
    broken = list(items)
    broken[2] = (items[2][0], "vote", "c", b"other", items[2][4])
    broken[3] = (items[3][0], "vote", "c", b"other", items[3][4])
    with pytest.raises(CryptoError) as info:
        verify_many(iter(broken))
    assert _code(info) == "crypto.bad_signature"
    assert info.value.index == 2 and str(info.value).startswith("item 2:")
