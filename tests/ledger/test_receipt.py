"""ledger.receipt (docs/spec/receipts.md): receipts signed by the answering node, verified
offline against the genesis alone, before and after their record is committed; and every
tampered part refused with its precise code (one test per mutation, as tests/ledger/test_bundle.py)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import b64decode, b64encode, decode, encode
from ledger.errors import EncodingError, LedgerError, ProofError, ValidationError
from ledger.receipt import (
    FORMAT, MAX_RECEIPT_BYTES, PURPOSE, Receipt, RecordProof, build_committed_receipt, sign_receipt, verify_receipt,
)
from ledger.signed_header import Precommits
from ledger.uses import Place, record_tx
from ledger.view import ChainView

from .conftest import GENESIS_TIME, make_net
from .test_uses import record

CHAIN = "test-chain"


@pytest.fixture(scope="module")
def world(net):
    """Block 1: an anchor. Block 2: an anchor, beijing-1's records 0..4, tianjin-2's 0..1,
    beijing-1's 5..6. Block 3: beijing-1's record 7."""
    local = net.local()
    key = {v.name: k for v, k in zip(net.genesis.validators, net.validator_keys)}

    def batch(node, *seqs):
        return record_tx(CHAIN, key[node], [record(s, node=node) for s in seqs], os.urandom(16))

    local.produce([net.anchor()], GENESIS_TIME + 1000)
    local.produce([net.anchor(), batch("beijing-1", 0, 1, 2, 3, 4), batch("tianjin-2", 0, 1), batch("beijing-1", 5, 6)], GENESIS_TIME + 2000)
    local.produce([batch("beijing-1", 7)], GENESIS_TIME + 3000)
    view = ChainView(local.chain.kv.snapshot(), net.genesis)
    return view, key


@pytest.fixture(scope="module")
def signed(net, world):
    _, key = world
    return sign_receipt(record(3), key["beijing-1"], CHAIN)


@pytest.fixture(scope="module")
def committed(world, signed):
    view, _ = world
    return build_committed_receipt(view, signed)


def code_of(data, genesis) -> str:
    with pytest.raises(LedgerError) as err:
        verify_receipt(data, genesis)
    return err.value.code


def error_of(data, genesis) -> LedgerError:
    with pytest.raises(LedgerError) as err:
        verify_receipt(data, genesis)
    return err.value


def edited(receipt: Receipt, edit) -> bytes:
    obj = decode(receipt.to_bytes())
    edit(obj)
    return encode(obj)


def with_proof(receipt: Receipt, **changes) -> Receipt:
    return dataclasses.replace(receipt, proof=dataclasses.replace(receipt.proof, **changes))


def proof_of(view: ChainView, height: int, index: int, base: RecordProof) -> RecordProof:
    """The log proof of transaction `index` of block `height`, with `base`'s header and commit."""
    log_index = view.log_index(height, index)
    inclusion = tuple(view.log().prove_inclusion(log_index, base.header.log_size))
    return dataclasses.replace(base, tx=view.tx(height, index), log_index=log_index, inclusion=inclusion)


# -- valid receipts --------------------------------------------------------------------------------


def test_a_signed_receipt_verifies_before_its_record_is_committed(net, signed):
    verified = verify_receipt(signed.to_bytes(), net.genesis)
    assert (verified.id, verified.signer, verified.committed, verified.place, verified.time) == ("beijing-1:3", "beijing-1", False, None, None)
    assert dict(verified.record) == record(3) and verified.chain_id == CHAIN
    obj = decode(signed.to_bytes())
    assert set(obj) == {"format", "chain_id", "record", "signature"} and obj["format"] == FORMAT == "eledger-receipt/1"
    key = next(v.public_key for v in net.genesis.validators if v.name == "beijing-1")
    key.verify(PURPOSE, CHAIN, encode(record(3)), signed.signature)


def test_a_committed_receipt_proves_the_place_of_its_record(net, world, committed):
    view, _ = world
    verified = verify_receipt(committed.to_bytes(), net.genesis)
    assert verified.committed and verified.place == Place(2, 1, 3) and verified.time == GENESIS_TIME + 2000
    assert verified.block_hash == view.header(2).hash() and verified.tx_id == view.tx(2, 1).id
    obj = decode(committed.to_bytes())
    assert obj["place"] == {"height": 2, "tx_index": 1, "record_index": 3}
    assert set(obj["proof"]) == {"tx", "log_index", "inclusion", "header", "previous", "commit"}
    assert obj["proof"]["log_index"] == 2 and len(obj["proof"]["commit"]["signatures"]) == 3
    assert obj["proof"]["previous"] == decode(encode(view.header(1).to_json()))


def test_verify_receipt_takes_bytes_decoded_json_and_parsed_receipts_alike(net, committed):
    raw = committed.to_bytes()
    assert Receipt.from_bytes(raw) == committed
    assert verify_receipt(raw, net.genesis) == verify_receipt(decode(raw), net.genesis) == verify_receipt(committed, net.genesis)


def test_receipts_of_the_last_record_of_a_block_and_of_a_later_block_verify(net, world):
    view, key = world
    for seq, place in ((6, Place(2, 3, 1)), (7, Place(3, 0, 0))):
        receipt = build_committed_receipt(view, sign_receipt(record(seq), key["beijing-1"], CHAIN))
        assert verify_receipt(receipt.to_bytes(), net.genesis).place == place


def test_build_committed_receipt_refuses_a_record_not_committed_or_committed_otherwise(world):
    view, key = world
    with pytest.raises(ValidationError) as err:
        build_committed_receipt(view, sign_receipt(record(8), key["beijing-1"], CHAIN))
    assert (err.value.code, err.value.id, err.value.height) == ("receipt.not_committed", "beijing-1:8", 3)
    with pytest.raises(ValidationError) as err:
        build_committed_receipt(view, sign_receipt(record(3, verdict="invalid"), key["beijing-1"], CHAIN))
    assert err.value.code == "receipt.record_mismatch"


def test_sign_receipt_checks_the_record(world):
    _, key = world
    with pytest.raises(ValidationError) as err:
        sign_receipt(record(3, presented="photo"), key["beijing-1"], CHAIN)
    assert (err.value.code, err.value.field) == ("use.bad_presented", "record.presented")


# -- tampered receipts ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["signed", "committed"])
def test_tampered_record_breaks_the_signature(net, request, form):
    receipt = request.getfixturevalue(form)
    data = edited(receipt, lambda o: o["record"].update(verdict="invalid"))
    error = error_of(data, net.genesis)
    assert (error.code, error.field) == ("receipt.bad_signature", "receipt.signature")


def test_flipped_signature_is_refused(net, committed):
    value = bytearray(committed.signature.value)
    value[5] ^= 1
    data = edited(committed, lambda o: o["signature"].update(value=b64encode(bytes(value))))
    assert code_of(data, net.genesis) == "receipt.bad_signature"


def test_a_receipt_signed_by_another_validator_than_its_node_is_refused(net, world):
    _, key = world
    forged = sign_receipt(record(3), key["tianjin-2"], CHAIN)
    assert code_of(forged.to_bytes(), net.genesis) == "receipt.bad_signature"


def test_a_node_that_is_no_genesis_validator_is_refused(net, world):
    _, key = world
    stranger = sign_receipt(record(3, node="shanghai-1"), key["beijing-1"], CHAIN)
    error = error_of(stranger.to_bytes(), net.genesis)
    assert (error.code, error.field) == ("receipt.unknown_node", "receipt.record.node")


def test_a_receipt_of_another_chain_is_refused(net, world):
    _, key = world
    other = sign_receipt(record(3), key["beijing-1"], "other-chain")
    assert code_of(other.to_bytes(), net.genesis) == "receipt.wrong_chain"
    assert code_of(edited(other, lambda o: o.update(chain_id=CHAIN)), net.genesis) == "receipt.bad_signature"


def test_a_receipt_checked_against_another_genesis_is_refused():
    other = make_net()
    receipt = sign_receipt(record(3), other.validator_keys[0], CHAIN)
    verify_receipt(receipt.to_bytes(), other.genesis)
    assert code_of(receipt.to_bytes(), make_net().genesis) == "receipt.bad_signature"  # same names, other keys


def test_tampered_place_height_is_refused(net, committed):
    error = error_of(edited(committed, lambda o: o["place"].update(height=3)), net.genesis)
    assert (error.code, error.field) == ("receipt.place_mismatch", "receipt.place.height")


def test_tampered_place_tx_index_is_refused(net, committed):
    error = error_of(edited(committed, lambda o: o["place"].update(tx_index=2)), net.genesis)
    assert (error.code, error.field) == ("receipt.place_mismatch", "receipt.place.tx_index")


def test_tampered_place_record_index_is_refused(net, committed):
    for index in (2, 4, 200):
        error = error_of(edited(committed, lambda o: o["place"].update(record_index=index)), net.genesis)
        assert (error.code, error.field) == ("receipt.record_mismatch", "receipt.place.record_index")


def test_tampered_transaction_is_refused_by_the_inclusion_proof(net, committed):
    def edit(o):
        o["proof"]["tx"]["body"]["records"][0]["verdict"] = "invalid"
    error = error_of(edited(committed, edit), net.genesis)
    assert isinstance(error, ProofError) and (error.code, error.field) == ("proof.root_mismatch", "receipt.proof.inclusion")


def test_another_committed_transaction_in_its_place_is_refused(net, world, committed):
    """Real transactions of the same block, each with its own valid inclusion proof and place."""
    view, _ = world
    for index, code, field in (
        (0, "receipt.tx_mismatch", "receipt.proof.tx.kind"),  # an anchor
        (2, "receipt.tx_mismatch", "receipt.proof.tx.signer"),  # tianjin-2's records
        (3, "receipt.record_mismatch", "receipt.place.record_index"),  # beijing-1's other batch
    ):
        swapped = dataclasses.replace(with_proof(committed), place=Place(2, index, 1), proof=proof_of(view, 2, index, committed.proof))
        error = error_of(swapped.to_bytes(), net.genesis)
        assert (error.code, error.field) == (code, field)


def test_tampered_log_index_is_refused(net, committed):
    error = error_of(with_proof(committed, log_index=committed.proof.log_index + 1).to_bytes(), net.genesis)
    assert (error.code, error.field) == ("receipt.place_mismatch", "receipt.place.tx_index")
    moved = dataclasses.replace(with_proof(committed, log_index=committed.proof.log_index + 1), place=Place(2, 2, 3))
    assert code_of(moved.to_bytes(), net.genesis) == "proof.root_mismatch"
    for outside in (0, committed.proof.header.log_size):
        error = error_of(with_proof(committed, log_index=outside).to_bytes(), net.genesis)
        assert (error.code, error.field) == ("receipt.place_mismatch", "receipt.proof.log_index")


def test_tampered_inclusion_proof_is_refused(net, committed):
    hashes = list(committed.proof.inclusion)
    flipped = bytearray(hashes[0])
    flipped[0] ^= 1
    assert code_of(with_proof(committed, inclusion=(bytes(flipped), *hashes[1:])).to_bytes(), net.genesis) == "proof.root_mismatch"
    assert code_of(with_proof(committed, inclusion=tuple(hashes[:-1])).to_bytes(), net.genesis) == "proof.wrong_length"
    error = error_of(edited(committed, lambda o: o["proof"]["inclusion"].append("AAAA")), net.genesis)
    assert (error.code, error.field) == ("validation.length", f"receipt.proof.inclusion[{len(hashes)}]")


def test_tampered_header_breaks_the_commit(net, committed):
    header = dataclasses.replace(committed.proof.header, log_root=bytes(32))
    assert code_of(with_proof(committed, header=header).to_bytes(), net.genesis) == "commit.bad_signature"
    other_chain = dataclasses.replace(committed.proof.header, chain_id="other-chain")
    error = error_of(with_proof(committed, header=other_chain).to_bytes(), net.genesis)
    assert (error.code, error.field) == ("bundle.wrong_chain", "receipt.proof.header.chain_id")


def test_another_blocks_signed_header_is_refused(net, world, committed):
    view, _ = world
    from ledger.signed_header import read_signed_header

    header, commit = read_signed_header(view, 3)
    moved = with_proof(committed, header=header, commit=commit, previous=view.header(2))
    error = error_of(moved.to_bytes(), net.genesis)
    assert (error.code, error.field) == ("receipt.place_mismatch", "receipt.place.height")


def test_tampered_previous_header_is_refused(net, world, committed):
    previous = dataclasses.replace(committed.proof.previous, log_size=0)
    for proof in (with_proof(committed, previous=previous), with_proof(committed, previous=None)):
        error = error_of(proof.to_bytes(), net.genesis)
        assert (error.code, error.field) == ("receipt.previous_mismatch", "receipt.proof.previous")


def test_tampered_commit_is_refused(net, committed):
    sigs = committed.proof.commit.signatures
    weak = Precommits(committed.proof.commit.round, sigs[:2])
    error = error_of(with_proof(committed, commit=weak).to_bytes(), net.genesis)
    assert (error.code, error.power, error.total) == ("commit.insufficient_power", 2, 4)
    value = bytearray(sigs[0][1])
    value[9] ^= 1
    flipped = Precommits(committed.proof.commit.round, ((sigs[0][0], bytes(value)), *sigs[1:]))
    assert code_of(with_proof(committed, commit=flipped).to_bytes(), net.genesis) == "commit.bad_signature"
    stranger = Precommits(0, (*sigs, ("mallory-1", sigs[0][1])))
    error = error_of(with_proof(committed, commit=stranger).to_bytes(), net.genesis)
    assert (error.code, error.field) == ("commit.unknown_validator", "receipt.proof.commit.signatures.mallory-1")


# -- form -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, code, field",
    [
        (lambda o: o.update(format="eledger-receipt/2"), "receipt.unsupported_format", "receipt.format"),
        (lambda o: o.pop("format"), "receipt.unsupported_format", "receipt.format"),
        (lambda o: o.update(extra=1), "validation.unknown_field", "receipt.extra"),
        (lambda o: o.pop("proof"), "validation.missing_field", "receipt.proof"),
        (lambda o: o.pop("place"), "validation.missing_field", "receipt.place"),
        (lambda o: o.pop("signature"), "validation.missing_field", "receipt.signature"),
        (lambda o: o.update(chain_id="Test Chain"), "validation.format", "receipt.chain_id"),
        (lambda o: o["record"].pop("seq"), "validation.missing_field", "receipt.record.seq"),
        (lambda o: o["record"]["caller"].update(role="validator"), "use.bad_role", "receipt.record.caller.role"),
        (lambda o: o.update(signature={"suite": "rsa", "value": ""}), "receipt.bad_signature_form", "receipt.signature"),
        (lambda o: o["place"].update(height=0), "validation.range", "receipt.place.height"),
        (lambda o: o["place"].update(record_index=256), "validation.range", "receipt.place.record_index"),
        (lambda o: o["place"].update(seq=3), "validation.unknown_field", "receipt.place.seq"),
        (lambda o: o["proof"].pop("previous"), "validation.missing_field", "receipt.proof.previous"),
        (lambda o: o["proof"].update(inclusion="AAAA"), "validation.type", "receipt.proof.inclusion"),
        (lambda o: o["proof"].update(log_index=-1), "validation.range", "receipt.proof.log_index"),
        (lambda o: o["proof"]["tx"].pop("nonce"), "validation.missing_field", "receipt.proof.tx.nonce"),
        (lambda o: o["proof"]["header"].pop("tx_root"), "validation.missing_field", "receipt.proof.header.tx_root"),
        (lambda o: o["proof"]["commit"].update(round=-1), "validation.range", "receipt.proof.commit.round"),
    ],
)
def test_malformed_receipt_is_refused_with_a_precise_code(net, committed, edit, code, field):
    obj = decode(committed.to_bytes())
    edit(obj)
    for data in (obj, encode(obj)):
        error = error_of(data, net.genesis)
        assert (error.code, error.field) == (code, field)


def test_oversized_receipt_is_refused_before_parsing(net):
    error = error_of(b" " * (MAX_RECEIPT_BYTES + 1), net.genesis)
    assert (error.code, error.size, error.limit) == ("receipt.too_large", MAX_RECEIPT_BYTES + 1, MAX_RECEIPT_BYTES)


def test_non_canonical_bytes_are_refused(net, signed):
    with pytest.raises(EncodingError) as err:
        verify_receipt(signed.to_bytes() + b"\n", net.genesis)
    assert err.value.code == "encoding.not_canonical"


def test_a_receipt_never_reads_the_clock(net, committed, monkeypatch):
    import time

    monkeypatch.setattr(time, "time", lambda: (_ for _ in ()).throw(AssertionError("clock read")))
    monkeypatch.setattr(time, "time_ns", lambda: (_ for _ in ()).throw(AssertionError("clock read")))
    assert verify_receipt(committed.to_bytes(), net.genesis).committed


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_rejected(net, committed, data):
    raw = bytearray(committed.to_bytes())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    with pytest.raises(LedgerError):
        verify_receipt(bytes(raw), net.genesis)


def test_inclusion_values_are_the_logs_hashes(world, committed):
    view, _ = world
    from ledger.merkle import verify_inclusion

    proof = committed.proof
    verify_inclusion(proof.tx.leaf_hash, proof.log_index, proof.header.log_size, list(proof.inclusion), view.header(2).log_root)
    assert all(len(h) == 32 for h in proof.inclusion)
    assert decode(committed.to_bytes())["proof"]["inclusion"] == [b64encode(h) for h in proof.inclusion]
    assert [b64decode(h) for h in decode(committed.to_bytes())["proof"]["inclusion"]] == list(proof.inclusion)
