"""Tests of ledger.smt.proof: proofs from the tree against the reference, verification of
membership and non-membership, every way a proof can be wrong, and the byte and JSON forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import b64encode
from ledger.errors import LedgerError, ProofError, ValidationError
from ledger.kv import MemoryKV, Overlay
from ledger.smt import EMPTY_ROOT, MAX_PROOF_BYTES, SparseMerkleTree, StateProof, verify_proof
from tests.ledger.smt import reference as ref
from tests.ledger.smt.helpers import DEEP_KEYS, POOL, keys, maps, values

ZERO = bytes(32)


def build(pairs: dict[bytes, bytes]) -> tuple[SparseMerkleTree, bytes]:
    tree = SparseMerkleTree(Overlay(MemoryKV()))
    return tree, tree.update(EMPTY_ROOT, pairs)


def fixed_tree() -> tuple[SparseMerkleTree, bytes, dict[bytes, bytes]]:
    pairs = {b"key-%d" % i: b"value-%d" % i for i in range(200)} | {k: b"deep" for k in DEEP_KEYS}
    tree, root = build(pairs)
    return tree, root, pairs


def assert_rejected(root, key, value, proof, code=None):
    with pytest.raises(ProofError) as info:
        verify_proof(root, key, value, proof)
    if code is not None:
        assert info.value.code == code
    return info.value


@settings(max_examples=250, deadline=None)
@given(maps, keys)
def test_proofs_match_reference_and_verify(pairs, key):
    tree, root = build(pairs)
    value = pairs.get(key)
    proof = tree.prove(root, key)
    siblings, other = ref.proof_of(pairs, key)
    assert list(proof.siblings) == siblings
    assert (None if proof.other_path is None else (proof.other_path, proof.other_value_hash)) == other
    assert ref.verify(root, key, value, siblings, other)
    verify_proof(root, key, value, proof)
    assert StateProof.from_bytes(proof.to_bytes()) == proof


@settings(max_examples=250, deadline=None)
@given(maps.filter(bool), keys, values)
def test_wrong_claims_are_rejected(pairs, key, wrong):
    tree, root = build(pairs)
    value = pairs.get(key)
    proof = tree.prove(root, key)
    if value is None:
        # Absent: claiming any value fails.
        with pytest.raises(ProofError):
            verify_proof(root, key, wrong, proof)
    else:
        # Present: claiming absence, or a different value, fails.
        with pytest.raises(ProofError):
            verify_proof(root, key, None, proof)
        if wrong != value:
            assert_rejected(root, key, wrong, proof, "proof.root_mismatch")
    # Wrong key: a membership proof does not carry over to another key with the same value,
    # and a non-membership proof does not show a present key absent.
    if value is not None:
        other_key = next(k for k in POOL if k != key)
        with pytest.raises(ProofError):
            verify_proof(root, other_key, value, proof)
    else:
        member = next(iter(pairs))
        with pytest.raises(ProofError):
            verify_proof(root, member, None, proof)
    wrong_root = bytes([root[0] ^ 1]) + root[1:]
    assert_rejected(wrong_root, key, value, proof, "proof.root_mismatch")


@settings(max_examples=200, deadline=None)
@given(maps.filter(bool), keys, st.data())
def test_any_flipped_bit_or_length_change_is_rejected(pairs, key, data):
    tree, root = build(pairs)
    value = pairs.get(key)
    blob = tree.prove(root, key).to_bytes()
    position = data.draw(st.integers(0, len(blob) * 8 - 1))
    flipped = bytearray(blob)
    flipped[position // 8] ^= 0x80 >> (position % 8)
    with pytest.raises(ProofError):
        verify_proof(root, key, value, StateProof.from_bytes(bytes(flipped)))
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(ProofError):
        StateProof.from_bytes(blob[:cut])
    extra = data.draw(st.binary(min_size=1, max_size=40))
    with pytest.raises(ProofError):
        verify_proof(root, key, value, StateProof.from_bytes(blob + extra))


def test_every_bit_of_a_deep_proof_matters():
    tree, root, pairs = fixed_tree()
    for key, value in [(DEEP_KEYS[-1], b"deep"), (b"absent-key", None)]:
        blob = tree.prove(root, key).to_bytes()
        verify_proof(root, key, value, StateProof.from_bytes(blob))
        for position in range(len(blob) * 8):
            flipped = bytearray(blob)
            flipped[position // 8] ^= 0x80 >> (position % 8)
            with pytest.raises(ProofError):
                verify_proof(root, key, value, StateProof.from_bytes(bytes(flipped)))
        for cut in range(len(blob)):
            with pytest.raises(ProofError):
                StateProof.from_bytes(blob[:cut])


@settings(max_examples=100, deadline=None)
@given(maps, st.lists(st.tuples(keys, st.none() | values), min_size=1, max_size=20))
def test_historical_roots_still_prove(pairs, later):
    tree, old_root = build(pairs)
    root = old_root
    for key, value in later:
        root = tree.update(root, {key: value})
    for key in list(pairs) + POOL[:8]:
        verify_proof(old_root, key, pairs.get(key), tree.prove(old_root, key))


def test_empty_tree_proves_absence_with_no_siblings():
    tree = SparseMerkleTree(Overlay(MemoryKV()))
    proof = tree.prove(EMPTY_ROOT, b"k")
    assert proof == StateProof() and proof.to_bytes() == b"\x00\x00\x00"
    verify_proof(EMPTY_ROOT, b"k", None, proof)
    assert_rejected(EMPTY_ROOT, b"k", b"", proof, "proof.root_mismatch")


def test_other_leaf_proof_cases():
    tree, root, pairs = fixed_tree()
    absent = next(k for k in (b"absent-%d" % i for i in range(1000)) if tree.prove(root, k).other_path is not None)
    proof = tree.prove(root, absent)
    verify_proof(root, absent, None, proof)
    assert_rejected(root, absent, b"x", proof, "proof.unexpected_other_leaf")
    # The other leaf's key cannot be proven absent with its own leaf.
    owner = next(k for k in pairs if ref.sha256(k) == proof.other_path)
    assert_rejected(root, owner, None, proof, "proof.other_leaf_is_key")
    # An other leaf off the key's path is refused before any hashing.
    off_path = bytes([proof.other_path[0] ^ 0x80]) + proof.other_path[1:]
    moved = StateProof(proof.siblings, off_path, proof.other_value_hash)
    assert_rejected(root, absent, None, moved, "proof.other_leaf_off_path")


def test_noncanonical_trailing_empty_sibling_is_rejected():
    tree, root, _ = fixed_tree()
    proof = tree.prove(root, b"key-1")
    padded = StateProof(proof.siblings + (ZERO,))
    error = assert_rejected(root, b"key-1", b"value-1", padded, "proof.noncanonical")
    assert error.depth == len(proof.siblings) + 1


def test_root_mismatch_carries_both_roots():
    tree, root, _ = fixed_tree()
    proof = tree.prove(root, b"key-3")
    error = assert_rejected(root, b"key-3", b"value-4", proof, "proof.root_mismatch")
    assert error.expected == root and error.calculated != root
    assert error.to_dict()["expected"] == root.hex()


def test_byte_form_layout():
    siblings = (b"\x11" * 32, ZERO, ZERO, b"\x22" * 32, ZERO, ZERO, ZERO, ZERO, b"\x33" * 32)
    proof = StateProof(siblings, b"\x44" * 32, b"\x55" * 32)
    blob = proof.to_bytes()
    assert blob[:5] == bytes([0x01, 0x00, 0x09, 0b1001_0000, 0b1000_0000])
    assert blob[5:] == b"\x11" * 32 + b"\x22" * 32 + b"\x33" * 32 + b"\x44" * 32 + b"\x55" * 32
    assert StateProof.from_bytes(blob) == proof


@pytest.mark.parametrize(
    ("blob", "code"),
    [
        (b"", "proof.truncated"),
        (b"\x00\x00", "proof.truncated"),
        (b"\x02\x00\x00", "proof.unknown_flags"),
        (b"\x00\x01\x01" + b"\x00" * 33, "proof.too_deep"),
        (b"\x00\x00\x01", "proof.truncated"),
        (b"\x00\x00\x01\x40", "proof.bitmap_padding"),
        (b"\x00\x00\x01\x80" + b"\x00" * 32, "proof.empty_sibling_listed"),
        (b"\x00\x00\x01\x80" + b"\x01" * 31, "proof.truncated"),
        (b"\x00\x00\x01\x80" + b"\x01" * 33, "proof.trailing_bytes"),
        (b"\x01\x00\x00" + b"\x01" * 63, "proof.truncated"),
        (b"\x00" * (MAX_PROOF_BYTES + 1), "proof.too_large"),
        (bytearray(b"\x00\x00\x00"), "proof.type"),
    ],
)
def test_from_bytes_errors_are_precise(blob, code):
    with pytest.raises(ProofError) as info:
        StateProof.from_bytes(blob)
    assert info.value.code == code


def test_largest_proof_fits_the_limit():
    proof = StateProof(tuple(b"\x07" * 32 for _ in range(256)), b"\x01" * 32, b"\x02" * 32)
    blob = proof.to_bytes()
    assert len(blob) == MAX_PROOF_BYTES
    assert StateProof.from_bytes(blob) == proof


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"siblings": (ZERO,) * 257}, "proof.too_deep"),
        ({"siblings": (b"short",)}, "proof.hash_invalid"),
        ({"other_path": b"\x01" * 32}, "proof.other_leaf_incomplete"),
        ({"other_path": b"\x01" * 31, "other_value_hash": b"\x01" * 32}, "proof.hash_invalid"),
    ],
)
def test_construction_errors_are_precise(kwargs, code):
    with pytest.raises(ProofError) as info:
        StateProof(**kwargs)
    assert info.value.code == code


def test_verify_rejects_bad_arguments():
    with pytest.raises(ValidationError) as info:
        verify_proof(b"\x00" * 31, b"k", None, StateProof())
    assert info.value.code == "smt.root_invalid"
    with pytest.raises(ValidationError) as info:
        verify_proof(EMPTY_ROOT, b"", None, StateProof())
    assert info.value.code == "smt.key_empty"
    assert_rejected(EMPTY_ROOT, b"k", None, StateProof().to_bytes(), "proof.type")


def test_json_form_round_trips_and_is_strict():
    tree, root, _ = fixed_tree()
    for key in (DEEP_KEYS[0], b"absent", b"key-7"):
        proof = tree.prove(root, key)
        obj = proof.to_json()
        assert StateProof.from_json(obj) == proof
        assert obj["siblings"] == [b64encode(s) for s in proof.siblings]
    good = tree.prove(root, b"absent").to_json()
    bad_cases = [
        ([], "proof.json_type"),
        ({}, "proof.json_field"),
        (good | {"extra": "AA"}, "proof.json_field"),
        (good | {"siblings": "AA"}, "proof.json_type"),
        (good | {"siblings": [1]}, "proof.json_type"),
        (good | {"siblings": ["!!"]}, "proof.json_binary"),
        (good | {"siblings": ["AAAA"]}, "proof.hash_invalid"),
    ]
    for obj, code in bad_cases:
        with pytest.raises(LedgerError) as info:
            StateProof.from_json(obj)
        assert info.value.code == code, obj


def test_worked_example_of_the_spec():
    """docs/spec/state.md §10, number for number."""
    tree, root = build({b"a": b"1", b"b": b"2", b"c": b"3"})
    assert root.hex() == "911b9f48e2cf2848076fedf8d7fab4fdbf01f877e80e797f1674e89a2433b946"
    expected = {
        b"b": "0000049040b3aff522c0bae10cbe057e460498e836bd21445897adb3dcf19bd6198b7260"
        "c10e468afd85394b02630d9f720260e8e7a0dd7a2ba37217735288436ef27ce6",
        b"d": "000003a040b3aff522c0bae10cbe057e460498e836bd21445897adb3dcf19bd6198b7260"
        "25a794d8532a00e0502b32d1dfbf3c32f6c546d309eb23d8c54d3a496821c0e2",
        b"seal/1": "01000180153de5347188a75778f15ede831203f3a541f05dd41bad7672b592730feae721"
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
    }
    for key, blob in expected.items():
        assert tree.prove(root, key).to_bytes().hex() == blob
        verify_proof(root, key, b"2" if key == b"b" else None, StateProof.from_bytes(bytes.fromhex(blob)))
