"""ledger.tx: the envelope, its id and signature (docs/spec/transactions.md §2), and sealed
transactions (§5), whose signature is a seal signature and not one of the id."""

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


# -- sealed transactions (transactions.md §5) -----------------------------------------------------


def sealed(key, body=None, chain="test-chain", nonce=bytes(range(16)), statement=b"statement"):
    """A sealed transaction whose signature is `key`'s seal signature over `statement`."""
    return Tx.sealed(chain, "licence.issue", body or {"private": bytes(32)}, key.public_key.key_id, nonce, key.sign("seal", chain, statement))


def test_sealed_tx_round_trips_through_bytes_and_keeps_the_envelope_it_was_given(key):
    tx = sealed(key)
    again = Tx.from_bytes(tx.to_bytes())
    assert again == tx and again.id == tx.id and again.raw == tx.raw
    assert (tx.signer, tx.nonce, tx.body) == (key.public_key.key_id, bytes(range(16)), {"private": encode(bytes(32)).decode().strip('"')})


def test_sealed_tx_id_is_deterministic_and_excludes_the_seal_signature(key):
    a, b = sealed(key), sealed(key)
    assert a.signature != b.signature and a.id == b.id and a.raw != b.raw
    assert sealed(key, nonce=bytes(16)).id != a.id and sealed(key, body={"private": b"\x01" * 32}).id != a.id
    assert sealed(key, chain="other-chain").id != a.id
    other = PrivateKey.generate()
    assert Tx.sealed("test-chain", "licence.issue", a.body, other.public_key.key_id, a.nonce, a.signature).id != a.id


def test_a_sealed_tx_signature_is_not_a_signature_of_its_id(key):
    with pytest.raises(CryptoError):
        sealed(key).verify_signature(key.public_key)


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"chain_id": "Test Chain"}, "validation.format", "tx.chain_id"),
        ({"kind": "Licence.Issue"}, "validation.format", "tx.kind"),
        ({"body": []}, "validation.type", "tx.body"),
        ({"nonce": bytes(15)}, "validation.length", "tx.nonce"),
        ({"body": {"label": "x" * MAX_TX_BYTES}}, "tx.too_large", "tx.body"),
    ],
)
def test_sealed_rejects_a_malformed_envelope_naming_the_field(key, changes, code, field):
    members = {"chain_id": "test-chain", "kind": "licence.issue", "body": {}, "signer": key.public_key.key_id, "nonce": bytes(16)}
    members |= changes
    with pytest.raises(ValidationError) as err:
        Tx.sealed(members["chain_id"], members["kind"], members["body"], members["signer"], members["nonce"], key.sign("seal", "test-chain", b"s"))
    assert (err.value.code, err.value.field) == (code, field)


def test_sealed_rejects_a_signer_that_is_not_a_key_id():
    key = PrivateKey.generate()
    signature = key.sign("seal", "chain-a", b"statement")
    with pytest.raises(ValidationError) as info:
        Tx.sealed("chain-a", "licence.issue", {}, b"short", bytes(16), signature)
    assert (info.value.code, info.value.fields["field"]) == ("validation.length", "tx.signer")
