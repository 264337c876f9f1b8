import os

import pytest

from ledger.crypto import PrivateKey
from ledger.encoding import decode, encode
from ledger.errors import CryptoError, ValidationError
from ledger.tx import MAX_TX_BYTES, Tx


@pytest.fixture(scope="module")
def key():
    return PrivateKey.generate()


def make(key, body=None, chain="test-chain", nonce=None):
    return Tx.create(chain, "document.anchor", body or {"document_hash": bytes(32)}, key, nonce or os.urandom(16))


def test_tx_round_trips_through_bytes(key):
    tx = make(key)
    again = Tx.from_bytes(tx.to_bytes())
    assert again == tx and again.id == tx.id and again.raw == tx.raw


def test_tx_id_excludes_signature(key):
    nonce = os.urandom(16)
    a = make(key, nonce=nonce)
    b = make(key, nonce=nonce)  # ECDSA: a fresh random signature each time
    assert a.signature != b.signature
    assert a.id == b.id


def test_tx_id_changes_with_every_signed_field(key):
    nonce = os.urandom(16)
    base = make(key, nonce=nonce)
    assert make(key, nonce=os.urandom(16)).id != base.id
    assert make(key, body={"document_hash": b"\x01" * 32}, nonce=nonce).id != base.id
    assert make(key, chain="other-chain", nonce=nonce).id != base.id


def test_verify_signature_accepts_signer_and_rejects_other_key(key):
    tx = make(key)
    tx.verify_signature(key.public_key)
    with pytest.raises(ValidationError) as err:
        tx.verify_signature(PrivateKey.generate().public_key)
    assert err.value.code == "tx.signer_mismatch"


def test_tampered_body_fails_signature(key):
    tx = make(key)
    obj = decode(tx.to_bytes())
    obj["body"]["document_hash"] = encode(b"\x07" * 32).decode().strip('"')
    forged = Tx.from_json(obj)
    assert forged.id != tx.id
    with pytest.raises(CryptoError):
        forged.verify_signature(key.public_key)


def test_signature_from_one_chain_does_not_verify_on_another(key):
    tx = make(key)
    obj = decode(tx.to_bytes())
    obj["chain_id"] = "other-chain"
    with pytest.raises(CryptoError):
        Tx.from_json(obj).verify_signature(key.public_key)


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda o: o.update(extra=1), "validation.unknown_field"),
        (lambda o: o.pop("nonce"), "validation.missing_field"),
        (lambda o: o.update(nonce="AAAA"), "validation.length"),
        (lambda o: o.update(kind="Document.Anchor"), "validation.format"),
        (lambda o: o.update(chain_id=""), "validation.length"),
        (lambda o: o.update(body=[]), "validation.type"),
        (lambda o: o.update(signer=5), "validation.type"),
        (lambda o: o.update(signer="!!"), "validation.binary"),
        (lambda o: o.update(signature={"suite": "rsa", "value": "AA"}), "tx.bad_signature_form"),
    ],
)
def test_from_json_rejects_malformed_envelope_naming_the_field(key, mutate, code):
    obj = decode(make(key).to_bytes())
    mutate(obj)
    with pytest.raises(ValidationError) as err:
        Tx.from_json(obj)
    assert err.value.code == code


def test_from_bytes_rejects_oversized_input_before_parsing():
    with pytest.raises(ValidationError) as err:
        Tx.from_bytes(b"{" + b" " * MAX_TX_BYTES + b"}")
    assert err.value.code == "tx.too_large"


def test_create_rejects_bad_nonce_and_oversized_body(key):
    with pytest.raises(ValidationError):
        Tx.create("test-chain", "document.anchor", {}, key, b"short")
    with pytest.raises(ValidationError) as err:
        Tx.create("test-chain", "document.anchor", {"label": "x" * MAX_TX_BYTES}, key, os.urandom(16))
    assert err.value.code == "tx.too_large"
