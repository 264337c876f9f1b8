"""Proof bundles (ledger/bundle.py, docs/spec/proofs.md): build from a chain, verify offline
against genesis alone, and reject every forgery with a precise code; then a verified bundle as
the state `verify_licence` (ledger/verify.py, domain.md §9) judges a licence over.

Generic entries are `document.anchor` records; the licence tests issue real licences through
governance, seal and licence transactions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.anchors import anchor_key
import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
from ledger.bundle import MAX_BUNDLE_BYTES, MAX_ENTRIES, Bundle, Entry, Precommits, build_bundle, quorum_of, verify_bundle
from ledger.chain import Chain
from ledger.commit import make_commit, sign_precommit
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, build_licence, seal_document
from ledger.encoding import b64decode, b64encode, decode, encode
from ledger.errors import EncodingError, LedgerError, ProofError, StoreError, ValidationError
from ledger.execute import TxKind, register
from ledger.identity import Role
from ledger.kv import MemoryKV
from ledger.ids import complete_uscc, format_licence_id
from ledger.licences import licence_key, stored_seal_signature
from ledger.licence_bodies import issue_tx, version_body
from ledger.smt import MAX_PROOF_BYTES, StateProof
from ledger.tx import Tx
from ledger.validators import Validator, ValidatorSet
from ledger.verify import Outcome, StateAt, verify_licence
from node.local import LocalNetwork

from .conftest import GENESIS_TIME, make_net
from .test_verify import Recording

DOCS = [hashlib.sha256(b"bundle test document %d" % i).digest() for i in range(3)]
ABSENT = anchor_key(hashlib.sha256(b"never anchored").digest())


@pytest.fixture(scope="module")
def chain(net):
    """Height 1 anchors DOCS[0]; height 2 anchors DOCS[1] and DOCS[2] among other anchors."""
    local = net.local()
    local.produce([net.anchor(document=DOCS[0], label="first")] + [net.anchor() for _ in range(5)], GENESIS_TIME + 1000)
    local.produce([net.anchor(document=DOCS[1]), net.anchor(region="hebei", document=DOCS[2])] + [net.anchor() for _ in range(20)], GENESIS_TIME + 2000)
    return local.chain


@pytest.fixture(scope="module")
def bundle(chain):
    return build_bundle(chain, [anchor_key(DOCS[1]), ABSENT, anchor_key(DOCS[0])])


def mutated(bundle: Bundle, **changes) -> Bundle:
    return dataclasses.replace(bundle, **changes)


def with_header(bundle: Bundle, **changes) -> Bundle:
    return mutated(bundle, header=dataclasses.replace(bundle.header, **changes))


def code_of(bundle, genesis) -> str:
    with pytest.raises(LedgerError) as err:
        verify_bundle(bundle, genesis)
    return err.value.code


# -- valid bundles ---------------------------------------------------------------------------


def test_verify_bundle_accepts_a_valid_bundle_with_only_the_genesis(net, chain, bundle):
    raw = bundle.to_bytes()
    verified = verify_bundle(raw, net.genesis)
    assert (verified.chain_id, verified.height, verified.time) == ("test-chain", 2, GENESIS_TIME + 2000)
    assert verified.block_hash == chain.block(2).hash and verified.state_root == chain.tip.state_root
    assert len(verified.signers) == 3 and set(verified.signers) < {v.name for v in net.genesis.validators}
    assert verified.get(anchor_key(DOCS[0])) == chain.kv.get(b"st/" + anchor_key(DOCS[0]))
    assert decode(verified.get(anchor_key(DOCS[0])))["label"] == "first"
    assert decode(verified.get(anchor_key(DOCS[1])))["height"] == 2
    assert verified.get(ABSENT) is None


def test_verify_bundle_accepts_bytes_decoded_json_and_parsed_bundles_alike(net, bundle):
    raw = bundle.to_bytes()
    assert Bundle.from_bytes(raw) == bundle
    assert verify_bundle(decode(raw), net.genesis) == verify_bundle(bundle, net.genesis) == verify_bundle(raw, net.genesis)


def test_get_refuses_a_key_the_bundle_does_not_prove(net, bundle):
    verified = verify_bundle(bundle, net.genesis)
    with pytest.raises(ValidationError) as err:
        verified.get(anchor_key(DOCS[2]))
    assert err.value.code == "bundle.key_not_proven"


def test_build_bundle_sorts_keys_and_drops_repeats(chain):
    keys = [anchor_key(DOCS[2]), anchor_key(DOCS[0]), anchor_key(DOCS[2])]
    built = build_bundle(chain, keys)
    assert [e.key for e in built.entries] == sorted({anchor_key(DOCS[0]), anchor_key(DOCS[2])})


def test_bundle_at_an_earlier_height_proves_the_state_of_that_height(net, chain):
    early = build_bundle(chain, [anchor_key(DOCS[0]), anchor_key(DOCS[1])], height=1)
    verified = verify_bundle(early.to_bytes(), net.genesis)
    assert verified.height == 1
    assert verified.get(anchor_key(DOCS[0])) is not None
    assert verified.get(anchor_key(DOCS[1])) is None  # anchored only at height 2


def test_build_bundle_carries_three_of_four_precommits_by_validator_name(net, chain, bundle):
    stored = chain.commit(2)
    names = {v.key_id: v.name for v in net.genesis.validators}
    assert len(stored.signatures) == 4 and bundle.commit.round == stored.round
    assert dict(bundle.commit.signatures) == {names[s.validator]: s.signature.value for s in stored.signatures[:3]}
    assert list(bundle.commit.signatures) == sorted(bundle.commit.signatures)
    assert decode(bundle.to_bytes())["commit"] == {"round": stored.round, "signatures": {n: b64encode(v) for n, v in bundle.commit.signatures}}
    assert bundle.commit.to_commit(bundle.header, net.genesis.validators) == dataclasses.replace(stored, signatures=stored.signatures[:3])
    full = Precommits.of(stored, net.genesis.validators)
    assert len(verify_bundle(mutated(bundle, commit=full), net.genesis).signers) == 4


def test_precommits_of_a_commit_outside_the_genesis_set_is_store_damage(net, chain):
    stored = chain.commit(2)
    h = chain.header(2)
    stranger = make_commit(2, stored.round, h.hash(), [*stored.signatures, sign_precommit(PrivateKey.generate(), h.chain_id, 2, stored.round, h.hash())])
    with pytest.raises(StoreError) as err:
        Precommits.of(stranger, net.genesis.validators)
    assert err.value.code == "store.corrupt_commit" and err.value.height == 2


def test_quorum_of_keeps_the_fewest_signatures_of_most_power_in_key_order():
    keys = [PrivateKey.generate() for _ in range(4)]
    validators = ValidatorSet.of(Validator(f"v{i}", "beijing", k.public_key, p) for i, (k, p) in enumerate(zip(keys, (1, 5, 1, 1))))
    block = hashlib.sha256(b"block").digest()
    sigs = [sign_precommit(k, "c", 1, 0, block) for k in keys]
    full = make_commit(1, 0, block, sigs)
    kept = quorum_of(full, validators).signatures  # 5 + 1 of 8 is a quorum (3 * 6 > 16), 5 alone is not
    heavy = keys[1].public_key.key_id
    assert len(kept) == 2 and heavy in [s.validator for s in kept] and list(kept) == sorted(kept, key=lambda s: s.validator)
    assert set(kept) < set(full.signatures)
    full.verify("c", validators, 1, block)
    dataclasses.replace(full, signatures=kept).verify("c", validators, 1, block)
    light = make_commit(1, 0, block, [sigs[0], sigs[2]])  # power 2 of 8: no quorum, left as it is
    assert quorum_of(light, validators) == light
    stranger = make_commit(1, 0, block, [*sigs, sign_precommit(PrivateKey.generate(), "c", 1, 0, block)])
    assert quorum_of(stranger, validators) == stranger


# -- tampered records and proofs -------------------------------------------------------------


def _index_of(bundle: Bundle, key: bytes) -> int:
    return next(i for i, e in enumerate(bundle.entries) if e.key == key)


def _replace_entry(bundle: Bundle, key: bytes, **changes) -> Bundle:
    entries = list(bundle.entries)
    i = _index_of(bundle, key)
    entries[i] = dataclasses.replace(entries[i], **changes)
    return mutated(bundle, entries=tuple(entries))


def test_tampered_record_fails_with_root_mismatch_naming_the_entry(net, bundle):
    key = anchor_key(DOCS[0])
    record = decode(bundle.entries[_index_of(bundle, key)].value)
    record["label"] = "forged"
    with pytest.raises(ProofError) as err:
        verify_bundle(_replace_entry(bundle, key, value=encode(record)).to_bytes(), net.genesis)
    assert err.value.code == "proof.root_mismatch"
    assert err.value.field == f"bundle.entries[{_index_of(bundle, key)}]" and err.value.key == key


def test_present_record_claimed_absent_fails(net, bundle):
    assert code_of(_replace_entry(bundle, anchor_key(DOCS[1]), value=None), net.genesis) == "proof.root_mismatch"


def test_absent_key_claimed_present_fails(net, bundle):
    code = code_of(_replace_entry(bundle, ABSENT, value=b'{"label":"forged"}'), net.genesis)
    assert code in {"proof.root_mismatch", "proof.unexpected_other_leaf"}  # by where the walk ended


def test_forged_non_membership_pointing_at_the_keys_own_leaf_fails(net, bundle):
    key = anchor_key(DOCS[1])
    entry = bundle.entries[_index_of(bundle, key)]
    forged = StateProof(entry.proof.siblings, hashlib.sha256(key).digest(), hashlib.sha256(entry.value).digest())
    assert code_of(_replace_entry(bundle, key, value=None, proof=forged), net.genesis) == "proof.other_leaf_is_key"


def test_proof_of_another_absent_key_does_not_prove_this_one_absent(net, chain, bundle):
    other = build_bundle(chain, [anchor_key(os.urandom(32))]).entries[0]
    assert code_of(_replace_entry(bundle, anchor_key(DOCS[1]), value=None, proof=other.proof), net.genesis).startswith("proof.")


def test_tampered_state_root_breaks_the_commit(net, bundle):
    assert code_of(with_header(bundle, state_root=hashlib.sha256(b"x").digest()), net.genesis) == "commit.bad_signature"


# -- forged commits --------------------------------------------------------------------------


def _signed_by(keys: list[PrivateKey], names: list[str], header) -> Precommits:
    sigs = [sign_precommit(k, header.chain_id, header.height, 0, header.hash()).signature.value for k in keys]
    return Precommits(0, tuple(sorted(zip(names, sigs))))


def test_commit_signed_by_non_validators_fails(net, bundle):
    strangers = [PrivateKey.generate() for _ in range(4)]
    with pytest.raises(ValidationError) as err:
        verify_bundle(mutated(bundle, commit=_signed_by(strangers, ["mallory-1", "mallory-2", "mallory-3", "mallory-4"], bundle.header)), net.genesis)
    assert (err.value.code, err.value.field) == ("commit.unknown_validator", "bundle.commit.signatures.mallory-1")
    under_their_names = _signed_by(strangers, [v.name for v in net.genesis.validators], bundle.header)
    assert code_of(mutated(bundle, commit=under_their_names), net.genesis) == "commit.bad_signature"


def test_commit_with_too_little_power_fails(net, bundle):
    commit = dataclasses.replace(bundle.commit, signatures=bundle.commit.signatures[:2])
    with pytest.raises(ValidationError) as err:
        verify_bundle(mutated(bundle, commit=commit), net.genesis)
    assert err.value.code == "commit.insufficient_power" and (err.value.power, err.value.total) == (2, 4)
    assert code_of(mutated(bundle, commit=Precommits(0, ())), net.genesis) == "commit.insufficient_power"


@pytest.mark.parametrize("index", [0, 2])
def test_commit_with_a_flipped_signature_fails(net, bundle, index):
    sigs = list(bundle.commit.signatures)
    value = bytearray(sigs[index][1])
    value[10] ^= 0x01
    sigs[index] = (sigs[index][0], bytes(value))
    commit = dataclasses.replace(bundle.commit, signatures=tuple(sigs))
    assert code_of(mutated(bundle, commit=commit), net.genesis) == "commit.bad_signature"


def test_a_signature_moved_to_another_validators_name_fails(net, bundle):
    (a, sig_a), (b, sig_b), rest = bundle.commit.signatures[0], bundle.commit.signatures[1], bundle.commit.signatures[2:]
    swapped = dataclasses.replace(bundle.commit, signatures=((a, sig_b), (b, sig_a), *rest))
    assert code_of(mutated(bundle, commit=swapped), net.genesis) == "commit.bad_signature"


def test_commit_for_another_round_than_signed_fails(net, bundle):
    commit = dataclasses.replace(bundle.commit, round=1)
    assert code_of(mutated(bundle, commit=commit), net.genesis) == "commit.bad_signature"


# -- other chains ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def foreign():
    """A bundle from another network that uses the same chain id."""
    other = make_net()
    local = other.local()
    local.produce([other.anchor(document=DOCS[0])], GENESIS_TIME + 1000)
    local.produce([other.anchor()], GENESIS_TIME + 2000)
    return other, build_bundle(local.chain, [anchor_key(DOCS[0])])


def test_bundle_of_another_genesis_fails_at_every_layer(net, foreign):
    other, bundle = foreign
    verify_bundle(bundle, other.genesis)
    assert [v.name for v in other.genesis.validators] == [v.name for v in net.genesis.validators]  # only the keys differ
    assert code_of(bundle, net.genesis) == "bundle.untrusted_validators"
    relabelled = with_header(bundle, validators_hash=net.genesis.validators.hash())
    assert code_of(relabelled, net.genesis) == "commit.bad_signature"
    resigned = mutated(relabelled, commit=_signed_by(other.validator_keys, [v.name for v in other.genesis.validators], relabelled.header))
    assert code_of(resigned, net.genesis) == "commit.bad_signature"


def test_header_of_another_chain_id_fails(net, bundle):
    assert code_of(with_header(bundle, chain_id="other-chain"), net.genesis) == "bundle.wrong_chain"


def test_block_one_must_link_to_the_trusted_genesis(net, chain):
    first = build_bundle(chain, [anchor_key(DOCS[0])], height=1)
    verify_bundle(first, net.genesis)
    assert code_of(with_header(first, previous_hash=bytes(32)), net.genesis) == "bundle.genesis_link"


def test_header_time_before_genesis_fails(net, bundle):
    assert code_of(with_header(bundle, time=GENESIS_TIME), net.genesis) == "bundle.time_before_genesis"


# -- form ------------------------------------------------------------------------------------


def _edit(bundle: Bundle, edit) -> dict:
    obj = decode(bundle.to_bytes())
    edit(obj)
    return obj


@pytest.mark.parametrize(
    "edit, code",
    [
        (lambda o: o.update(format="eledger-bundle/1"), "bundle.unsupported_format"),
        (lambda o: o.update(format="eledger-bundle/2"), "bundle.unsupported_format"),
        (lambda o: o.update(format="eledger-bundle/4"), "bundle.unsupported_format"),
        (lambda o: o.pop("format"), "bundle.unsupported_format"),
        (lambda o: o.update(validator_proofs=[]), "validation.unknown_field"),
        (lambda o: o.update(genesis_hash=o["header"]["previous_hash"]), "validation.unknown_field"),
        (lambda o: o["commit"].update(height=2), "validation.unknown_field"),
        (lambda o: o["commit"].pop("round"), "validation.missing_field"),
        (lambda o: o["commit"].update(round=-1), "validation.range"),
        (lambda o: o["commit"].update(signatures=[]), "validation.type"),
        (lambda o: o["commit"]["signatures"].update(extra=b64encode(bytes(63))), "validation.length"),
        (lambda o: o["commit"]["signatures"].update(extra={"suite": "p256", "value": ""}), "validation.type"),
        (lambda o: o["commit"]["signatures"].update({"Beijing-1": b64encode(bytes(64))}), "validation.format"),
        (lambda o: o.update(entries=[]), "bundle.no_entries"),
        (lambda o: o.update(entries=o["entries"] * (MAX_ENTRIES // 3 + 1)), "bundle.too_many_entries"),
        (lambda o: o["entries"].reverse(), "bundle.entries_unsorted"),
        (lambda o: o["entries"].insert(0, o["entries"][0]), "bundle.duplicate_entry"),
        (lambda o: o.update(extra=1), "validation.unknown_field"),
        (lambda o: o.pop("commit"), "validation.missing_field"),
        (lambda o: o["entries"][0].update(value="eyJhIjoxfQ"), "validation.type"),
        (lambda o: o["entries"][0].update(value=[1]), "validation.type"),
        (lambda o: o["entries"][0].update(proof="AAA"), "proof.truncated"),
        (lambda o: o["entries"][0].update(proof=b64encode(b64decode(o["entries"][0]["proof"]) + b"\x00")), "proof.trailing_bytes"),
    ],
)
def test_malformed_bundle_is_refused_with_a_precise_code(net, bundle, edit, code):
    assert code_of(_edit(bundle, edit), net.genesis) == code
    assert code_of(encode(_edit(bundle, edit)), net.genesis) == code


def test_entry_proof_one_byte_over_the_limit_is_refused_proof_too_large_naming_the_entry(net, bundle):
    obj = _edit(bundle, lambda o: o["entries"][1].update(proof=b64encode(bytes(MAX_PROOF_BYTES + 1))))  # 8,292 bytes
    for form in (obj, encode(obj)):
        with pytest.raises(ProofError) as err:
            verify_bundle(form, net.genesis)
        assert err.value.code == "proof.too_large"
        assert err.value.field == "bundle.entries[1].proof"
        assert (err.value.size, err.value.limit) == (MAX_PROOF_BYTES + 1, MAX_PROOF_BYTES)


def test_oversized_bundle_is_refused_before_parsing(net):
    with pytest.raises(ValidationError) as err:
        verify_bundle(b" " * (MAX_BUNDLE_BYTES + 1), net.genesis)
    assert err.value.code == "bundle.too_large"


def test_non_canonical_bytes_are_refused(net, bundle):
    with pytest.raises(EncodingError) as err:
        verify_bundle(bundle.to_bytes() + b"\n", net.genesis)
    assert err.value.code == "encoding.not_canonical"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_rejected(net, bundle, data):
    raw = bytearray(bundle.to_bytes())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    with pytest.raises(LedgerError):
        verify_bundle(bytes(raw), net.genesis)


# -- building --------------------------------------------------------------------------------


@pytest.mark.parametrize("height", [0, 3])
def test_build_bundle_refuses_an_uncommitted_height(chain, height):
    with pytest.raises(ValidationError) as err:
        build_bundle(chain, [ABSENT], height=height)
    assert err.value.code == "bundle.unknown_height"


def test_build_bundle_refuses_no_keys_and_too_many_keys(chain):
    with pytest.raises(ValidationError) as err:
        build_bundle(chain, [])
    assert err.value.code == "bundle.no_entries"
    with pytest.raises(ValidationError) as err:
        build_bundle(chain, [b"k%d" % i for i in range(MAX_ENTRIES + 1)])
    assert err.value.code == "bundle.too_many_entries"


def test_build_bundle_on_a_chain_without_blocks_has_no_height_to_prove(net):
    with pytest.raises(ValidationError) as err:
        build_bundle(net.local().chain, [ABSENT])
    assert err.value.code == "bundle.unknown_height"


def test_build_bundle_below_the_retention_window_says_state_pruned_up_front(net):
    """proofs.md §5, blocks.md §6.1: a pruned height is refused before anything is read."""
    local = LocalNetwork(Chain(MemoryKV(), net.genesis, retain_heights=2), net.validator_keys)
    for height in range(1, 6):
        local.produce([net.anchor(document=DOCS[0])] if height == 1 else [], GENESIS_TIME + 1000 * height)
    chain = local.chain
    assert chain.oldest_state_height == 3
    for height in (1, 2):
        with pytest.raises(StoreError) as err:
            build_bundle(chain, [anchor_key(DOCS[0])], height)
        assert (err.value.code, err.value.fields["height"], err.value.fields["oldest"]) == ("state.pruned", height, 3)
    kept = verify_bundle(build_bundle(chain, [anchor_key(DOCS[0])], 3).to_bytes(), net.genesis)
    assert kept.height == 3 and kept.get(anchor_key(DOCS[0])) is not None


def test_build_bundle_reports_a_missing_commit_as_store_damage(net):
    local = net.local()
    local.produce([net.anchor()], GENESIS_TIME + 1000)
    local.chain.kv.write({}, [b"cmt/" + (1).to_bytes(8, "big")])
    with pytest.raises(StoreError) as err:
        build_bundle(local.chain, [ABSENT])
    assert err.value.code == "store.missing_commit"


def test_build_bundle_reports_a_stored_precommit_of_a_stranger_as_store_damage(net):
    local = net.local()
    local.produce([net.anchor()], GENESIS_TIME + 1000)
    stored, h = local.chain.commit(1), local.chain.header(1)
    stranger = sign_precommit(PrivateKey.generate(), h.chain_id, 1, stored.round, h.hash())
    local.chain.kv.write({b"cmt/" + (1).to_bytes(8, "big"): make_commit(1, stored.round, h.hash(), [*stored.signatures, stranger]).to_bytes()})
    with pytest.raises(StoreError) as err:
        build_bundle(local.chain, [ABSENT])
    assert err.value.code == "store.corrupt_commit"


def test_build_bundle_refuses_a_block_of_another_validator_set(net):
    """A block whose header names a set other than the genesis one (validator-set changes) cannot
    be proven in this format: a verifier trusts only the genesis set (proofs.md §4)."""
    local = net.local()
    local.produce([net.anchor()], GENESIS_TIME + 1000)
    header = dataclasses.replace(local.chain.header(1), validators_hash=hashlib.sha256(b"a later set").digest())
    commit = make_commit(1, 0, header.hash(), [sign_precommit(k, header.chain_id, 1, 0, header.hash()) for k in net.validator_keys])
    local.chain.kv.write({b"hdr/" + (1).to_bytes(8, "big"): encode(header.to_json()), b"cmt/" + (1).to_bytes(8, "big"): commit.to_bytes()})
    with pytest.raises(ValidationError) as err:
        build_bundle(local.chain, [ABSENT])
    assert err.value.code == "bundle.validator_change_unsupported"


def test_entry_json_round_trips(bundle):
    for entry in bundle.entries:
        assert Entry.from_json(decode(encode(entry.to_json())), "e") == entry


def test_entries_carry_the_state_values_as_json_objects(chain, bundle):
    shown = decode(bundle.to_bytes())["entries"]
    assert [e["value"] for e in shown] == [None if e.value is None else decode(chain.kv.get(b"st/" + e.key)) for e in bundle.entries]
    values = [e["value"] for e in shown]
    assert values.count(None) == 1 and sorted(v["label"] for v in values if v is not None) == ["", "first"]


def _put_a_list(view, tx, signer, ctx) -> None:
    view.put(b"test/list", [1, 2])  # not an object: no real kind writes one


register(TxKind("test.bundle_list_value", frozenset({Role.REGION_ADMIN}), _put_a_list))


def test_build_bundle_refuses_a_state_value_that_is_not_a_json_object(net):
    local = net.local()
    local.produce([Tx.create(net.genesis.chain_id, "test.bundle_list_value", {}, net.admin_keys["beijing"], os.urandom(16))], GENESIS_TIME + 1000)
    assert local.chain.kv.get(b"st/test/list") == b"[1,2]"
    with pytest.raises(StoreError) as err:
        build_bundle(local.chain, [b"test/list"])
    assert err.value.code == "store.corrupt_value" and err.value.key == b"test/list"
    assert build_bundle(local.chain, [ABSENT]).entries[0].value is None


def _flip_state_root(raw: bytes) -> bytes:
    at = raw.index(b'"state_root":"') + len(b'"state_root":"') + 5
    return raw[:at] + (b"B" if raw[at:at + 1] != b"B" else b"C") + raw[at + 1:]


@pytest.mark.parametrize(
    "damage, code",
    [
        (lambda raw: None, "store.missing_block"),
        (_flip_state_root, "store.corrupt_block"),
        (lambda raw: b'{"txs":[]}', "store.corrupt_block"),
        (lambda raw: raw[:40], "store.corrupt_block"),
    ],
)
def test_build_bundle_reports_a_damaged_header_as_store_damage(net, damage, code):
    local = net.local()
    local.produce([net.anchor()], GENESIS_TIME + 1000)
    key = b"hdr/" + (1).to_bytes(8, "big")
    replacement = damage(local.chain.kv.get(key))
    if replacement is None:
        local.chain.kv.write({}, [key])
    else:
        local.chain.kv.write({key: replacement})
    with pytest.raises(StoreError) as err:
        build_bundle(local.chain, [ABSENT])
    assert err.value.code == code


# -- a verified bundle as the state of a licence verdict (domain.md §9.3) -----------------------

ISSUER = complete_uscc("91110000000000123")
HOLDER = complete_uscc("91120000000000456")
TYPE = complete_uscc("11100000000013338") + "032"
SEAL = "LICSEAL001"
VALID_ID, REVOKED_ID, UNKNOWN_ID, CHANGED_ID = (format_licence_id(TYPE, ISSUER, serial, "001") for serial in ("1", "2", "3", "5"))
CHANGED_V2 = format_licence_id(TYPE, ISSUER, "5", "002")
DAY_MS = 86_400_000


def issue_licences(net, local) -> None:
    """On a fresh chain of `net`, through real transactions: Beijing's ISSUER issues VALID_ID
    (valid until 2026-12-31), REVOKED_ID (then revoked) and CHANGED_ID (then changed into CHANGED_V2).
    Each issue is the sealed transaction of its document (transactions.md §5)."""
    issuer = PrivateKey.generate()
    chain_id = net.genesis.chain_id
    time = local.chain.tip.time

    def produce(tx: Tx) -> None:
        nonlocal time
        time += 1000
        pending = local.produce([tx], time)
        assert not pending.rejected, pending.rejected[0].error.to_dict()

    def signed(key, kind, body) -> Tx:
        return Tx.create(chain_id, kind, body, key, os.urandom(16))

    def sealed(licence_id: str, valid_until: str | None, place: str) -> LicenceDocument:
        part = build_licence(
            id=licence_id, type_name="business licence", issuer_name="market regulator", holder=EnterpriseHolder(HOLDER, "天津某某贸易有限公司"),
            issue_date=dt.date(2026, 1, 1), valid_from=dt.date(2026, 1, 1),
            valid_until=None if valid_until is None else dt.date.fromisoformat(valid_until), commitment_deadline=None, fields={"address": place},
        )
        return seal_document(part, issuer, chain_id, SEAL, time)

    admin = net.admin_keys["beijing"]
    produce(signed(admin, "ltype.register", {"code": TYPE, "name": "business licence", "validity_required": False}))
    grant = {"public_key": issuer.public_key.to_json(), "not_before": GENESIS_TIME, "not_after": GENESIS_TIME + 400 * DAY_MS}
    produce(signed(admin, "org.admit", {"uscc": ISSUER, "name": "market regulator", "keys": [grant], "licence_types": [TYPE]}))
    produce(signed(issuer, "seal.register", {
        "seal_id": SEAL, "owner": ISSUER, "name": "licence seal", "type": "licence", "image_hash": bytes(32),
        "signers": [issuer.public_key.key_id], "valid_from": GENESIS_TIME, "valid_until": GENESIS_TIME + 400 * DAY_MS,
    }))
    for licence_id in (VALID_ID, REVOKED_ID, CHANGED_ID):
        produce(issue_tx(sealed(licence_id, "2026-12-31" if licence_id == VALID_ID else None, "Dongcheng"), chain_id))
    produce(signed(issuer, "licence.revoke", {"id": REVOKED_ID, "reason": "fraud"}))
    produce(signed(issuer, "licence.change", version_body(sealed(CHANGED_V2, None, "Xicheng"), CHANGED_ID, "new_address")))


@pytest.fixture(scope="module")
def licences(net):
    local = net.local()
    issue_licences(net, local)
    return local.chain


def offline(chain, genesis, licence_id: str, *, height: int | None = None, at: int | None = None, keys=None):
    """verify_licence for Beijing over the verified bundle of every key a verification of
    `licence_id` reads over the full state (or of `keys`)."""
    state = StateAt(chain, height)
    if keys is None:
        recording = Recording(state)
        verify_licence(recording, chain_id=genesis.chain_id, at_time=state.time, asking_region="beijing", licence_id=licence_id)
        keys = sorted(recording.keys)
    verified = verify_bundle(build_bundle(chain, keys, state.height).to_bytes(), genesis)
    return verify_licence(verified, chain_id=genesis.chain_id, at_time=verified.time if at is None else at, asking_region="beijing", licence_id=licence_id)


def _failed(verdict) -> list[str]:
    return [c.name for c in verdict.checks if c.ok is False]


@pytest.mark.parametrize("licence_id", [VALID_ID, REVOKED_ID, UNKNOWN_ID, CHANGED_ID, CHANGED_V2])
def test_a_bundle_of_every_key_read_gives_the_verdict_of_the_full_state(net, licences, licence_id):
    chain = licences
    proven = offline(chain, net.genesis, licence_id)
    direct = verify_licence(StateAt(chain), chain_id=net.genesis.chain_id, at_time=chain.tip.time, asking_region="beijing", licence_id=licence_id)
    assert proven.to_json() == direct.to_json() and proven.height == chain.height


def test_a_revoked_licences_bundle_gives_invalid_with_status_failed(net, licences):
    verdict = offline(licences, net.genesis, REVOKED_ID)
    assert (verdict.verdict, _failed(verdict)) == (Outcome.INVALID, ["status"])
    assert verdict.check("status").detail.startswith("revoked (吊销), reason fraud")


def test_a_valid_licences_bundle_gives_valid(net, licences):
    verdict = offline(licences, net.genesis, VALID_ID)
    assert verdict.verdict is Outcome.VALID and verdict.record["holder"] == {"kind": "enterprise", "uscc": HOLDER}


def test_a_bundle_at_an_earlier_height_sees_the_licence_before_its_revocation(net, licences):
    assert offline(licences, net.genesis, REVOKED_ID, height=licences.height - 2).verdict is Outcome.VALID  # revoked at height 7 of 8


def test_a_bundle_judges_a_superseded_version_and_its_successor(net, licences):
    old = offline(licences, net.genesis, CHANGED_ID)
    assert _failed(old) == ["latest_version"] and old.check("latest_version").detail.endswith(f"superseded by {CHANGED_V2}")
    assert offline(licences, net.genesis, CHANGED_V2).verdict is Outcome.VALID


def test_a_bundle_judged_after_the_validity_window_gives_lapsed(net, licences):
    after_expiry = 1_798_732_800_000  # 2027-01-01T00:00:00 in UTC+8: past 2026-12-31
    verdict = offline(licences, net.genesis, VALID_ID, at=after_expiry)
    assert _failed(verdict) == ["within_validity"] and verdict.check("within_validity").detail.startswith("lapsed")


def test_a_bundle_proving_a_licence_absent_gives_invalid(net, licences):
    verdict = offline(licences, net.genesis, UNKNOWN_ID)
    assert (verdict.verdict, _failed(verdict), verdict.record) == (Outcome.INVALID, ["on_ledger"], None)


def test_a_bundle_without_the_licence_gives_indeterminate_not_an_error(net, licences):
    verdict = offline(licences, net.genesis, VALID_ID, keys=[b"region/beijing", licence_key(REVOKED_ID)])
    assert (verdict.verdict, verdict.check("on_ledger").ok, _failed(verdict)) == (Outcome.INDETERMINATE, None, [])


def test_tampered_licence_status_fails_the_bundle_before_any_verdict(net, licences):
    bundle = build_bundle(licences, [licence_key(REVOKED_ID)])
    record = decode(bundle.entries[0].value)
    record["status"] = "valid"
    forged = mutated(bundle, entries=(dataclasses.replace(bundle.entries[0], value=encode(record)),))
    assert code_of(forged.to_bytes(), net.genesis) == "proof.root_mismatch"


def test_a_first_versions_bundle_verifies_its_kind_stating_seal_signature_offline(net, licences):
    """A first version's record stores its seal signature without the kind its statement names
    (domain.md §5); the verifier restores "licence.issue" because `supersedes` is null, and judges
    the signature offline over the proven seal and signer key. `supersedes` is bound by the state
    root like every member: flipping it fails the bundle before any verdict."""
    verdict = offline(licences, net.genesis, VALID_ID)
    record = verdict.record
    assert record["supersedes"] is None and "kind" not in record["seal_signature"]
    assert stored_seal_signature(record).kind == "licence.issue"
    assert verdict.verdict is Outcome.VALID
    assert [(c.name, c.ok, c.detail) for c in verdict.seal_checks if c.name == "seal.signature"] == [
        ("seal.signature", True, "the signature verifies with the signer key"),  # judged, not certified by the record
    ]
    bundle = build_bundle(licences, [licence_key(VALID_ID)])
    obj = decode(bundle.to_bytes())
    obj["entries"][0]["value"]["supersedes"] = CHANGED_ID
    assert code_of(encode(obj), net.genesis) == "proof.root_mismatch"
