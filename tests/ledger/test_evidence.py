"""ledger.evidence: duplicate-vote evidence accepted once, stored under its slot, and every way a
pair of votes can fail to prove equivocation rejected with its own code (consensus.md §6)."""

from __future__ import annotations

import pytest

from ledger.commit import VOTE_PURPOSE, VoteType, vote_sign_bytes
from ledger.crypto import PrivateKey, Signature
from ledger.encoding import b64encode, decode
from ledger.errors import ValidationError
from ledger.evidence import KIND, DuplicateVote, SignedVote, evidence_key
from ledger.execute import DeferredSignatures
from ledger.sigcache import SignatureCache

from .test_governance import Ledger

BLOCK_X = b"\x11" * 32
BLOCK_Y = b"\x22" * 32


def vote(ledger: Ledger, key: PrivateKey, block: bytes | None, *, height: int = 3, round_: int = 1, type_: VoteType = VoteType.PREVOTE) -> dict[str, object]:
    signature = key.sign(VOTE_PURPOSE, ledger.net.genesis.chain_id, vote_sign_bytes(type_, height, round_, block))
    return SignedVote(type_, height, round_, block, key.public_key.key_id, signature).to_json()


def evidence(ledger: Ledger, reporter: PrivateKey, vote_a: dict[str, object], vote_b: dict[str, object]):
    return ledger.signed(reporter, KIND, {"vote_a": vote_a, "vote_b": vote_b})


@pytest.fixture
def ledger(net) -> Ledger:
    return Ledger(net)


def test_evidence_is_stored_once_under_its_slot(ledger, net):
    reporter, culprit = net.validator_keys[0], net.validator_keys[1]
    a, b = vote(ledger, culprit, BLOCK_X), vote(ledger, culprit, BLOCK_Y)
    tx = evidence(ledger, reporter, a, b)
    ledger.accept(tx)
    key = evidence_key(culprit.public_key.key_id, 3, 1, VoteType.PREVOTE)
    assert key == f"evidence/{culprit.public_key.key_id.hex()}/3/1/prevote".encode()
    stored = decode(ledger.state.get(key))
    assert stored == {
        "vote_a": tx.body["vote_a"], "vote_b": tx.body["vote_b"], "reporter": b64encode(reporter.public_key.key_id),
        "recorded_height": ledger.local.chain.height, "recorded_at": ledger.time, "tx": b64encode(tx.id),
    }
    again = evidence(ledger, net.validator_keys[2], b, a)
    assert ledger.reject(again).code == "evidence.exists"
    other_round = evidence(ledger, reporter, vote(ledger, culprit, BLOCK_X, round_=2), vote(ledger, culprit, None, round_=2))
    ledger.accept(other_round)
    assert ledger.state.get(evidence_key(culprit.public_key.key_id, 3, 2, VoteType.PREVOTE)) is not None


def test_a_validator_may_report_its_own_precommits_for_a_block_and_nil(ledger, net):
    culprit = net.validator_keys[3]
    ledger.accept(evidence(ledger, culprit, vote(ledger, culprit, None, type_=VoteType.PRECOMMIT), vote(ledger, culprit, BLOCK_X, type_=VoteType.PRECOMMIT)))
    assert ledger.state.get(evidence_key(culprit.public_key.key_id, 3, 1, VoteType.PRECOMMIT)) is not None


def test_two_votes_for_the_same_block_are_no_evidence(ledger, net):
    culprit = net.validator_keys[1]
    error = ledger.reject(evidence(ledger, net.validator_keys[0], vote(ledger, culprit, BLOCK_X), vote(ledger, culprit, BLOCK_X)))
    assert (error.code, error.field) == ("evidence.same_block", "tx.body.vote_b.block")


@pytest.mark.parametrize("name, changes", [
    ("height", {"height": 4}), ("round", {"round_": 0}), ("type", {"type_": VoteType.PRECOMMIT}),
])
def test_votes_of_different_slots_are_rejected_naming_the_field(ledger, net, name, changes):
    culprit = net.validator_keys[1]
    error = ledger.reject(evidence(ledger, net.validator_keys[0], vote(ledger, culprit, BLOCK_X), vote(ledger, culprit, BLOCK_Y, **changes)))
    assert (error.code, error.field) == (f"evidence.{name}_mismatch", f"tx.body.vote_b.{name}")


def test_votes_of_two_validators_are_rejected(ledger, net):
    error = ledger.reject(evidence(ledger, net.validator_keys[0], vote(ledger, net.validator_keys[1], BLOCK_X), vote(ledger, net.validator_keys[2], BLOCK_Y)))
    assert (error.code, error.field) == ("evidence.validator_mismatch", "tx.body.vote_b.validator")


def test_votes_of_a_key_outside_the_validator_set_are_rejected(ledger, net):
    stranger = PrivateKey.generate()
    error = ledger.reject(evidence(ledger, net.validator_keys[0], vote(ledger, stranger, BLOCK_X), vote(ledger, stranger, BLOCK_Y)))
    assert (error.code, error.field) == ("evidence.unknown_validator", "tx.body.vote_a.validator")


@pytest.mark.parametrize("which", ["vote_a", "vote_b"])
def test_a_signature_that_does_not_verify_is_rejected(ledger, net, which):
    culprit = net.validator_keys[1]
    votes = {"vote_a": vote(ledger, culprit, BLOCK_X), "vote_b": vote(ledger, culprit, BLOCK_Y)}
    # a real signature of the culprit, over the other vote
    votes[which] = votes[which] | {"signature": votes["vote_b" if which == "vote_a" else "vote_a"]["signature"]}
    error = ledger.reject(evidence(ledger, net.validator_keys[0], votes["vote_a"], votes["vote_b"]))
    assert (error.code, error.field, error.validator) == ("evidence.bad_signature", f"tx.body.{which}.signature", "tianjin-2")


def test_a_bad_vote_signature_fails_a_block_whose_checks_are_deferred(ledger, net):
    # A proposer whose cache wrongly holds a forged vote signature lets the evidence in; every
    # validator that checks the block (deferred, without that cache) rejects it at that tx.
    culprit = net.validator_keys[1]
    chain_id = net.genesis.chain_id
    good = evidence(ledger, net.validator_keys[0], vote(ledger, culprit, BLOCK_X), vote(ledger, culprit, BLOCK_Y))
    other_signature = culprit.sign(VOTE_PURPOSE, chain_id, vote_sign_bytes(VoteType.PREVOTE, 3, 5, BLOCK_X))
    forged = SignedVote(VoteType.PREVOTE, 3, 5, BLOCK_Y, culprit.public_key.key_id, other_signature)
    bad = evidence(ledger, net.validator_keys[0], vote(ledger, culprit, BLOCK_X, round_=5), forged.to_json())
    fooled = SignatureCache()
    fooled.remember(culprit.public_key, VOTE_PURPOSE, chain_id, forged.sign_bytes(), forged.signature)
    chain = ledger.local.chain
    proposer = net.validator_keys[0].public_key.key_id
    assert [r.error.code for r in chain.build_block([good, bad], ledger.next_time, proposer, None).rejected] == ["evidence.bad_signature"]
    pending = chain.build_block([good, bad], ledger.next_time, proposer, None, cache=fooled)
    assert pending.block.txs == (good, bad)
    deferred = DeferredSignatures()
    chain.execute_block(pending.block, deferred=deferred)
    assert len(deferred.items) == 6  # per tx: its own signature and both votes'
    with pytest.raises(ValidationError) as info:
        deferred.verify()
    assert (info.value.code, info.value.field, info.value.validator) == ("evidence.bad_signature", "block.txs[1]", "tianjin-2")


@pytest.mark.parametrize("reporter", ["admin", "stranger"])
def test_only_validator_keys_may_submit_evidence(ledger, net, reporter):
    culprit = net.validator_keys[1]
    key = net.admin_keys["beijing"] if reporter == "admin" else PrivateKey.generate()
    error = ledger.reject(evidence(ledger, key, vote(ledger, culprit, BLOCK_X), vote(ledger, culprit, BLOCK_Y)))
    assert error.code == {"admin": "tx.forbidden", "stranger": "tx.unknown_signer"}[reporter]


@pytest.mark.parametrize("mutate, code, field", [
    (lambda v: v | {"type": "propose"}, "evidence.bad_vote_type", "tx.body.vote_a.type"),
    (lambda v: v | {"height": 0}, "validation.range", "tx.body.vote_a.height"),
    (lambda v: v | {"block": "AAAA"}, "validation.length", "tx.body.vote_a.block"),
    (lambda v: {k: x for k, x in v.items() if k != "validator"}, "validation.missing_field", "tx.body.vote_a.validator"),
    (lambda v: v | {"signature": {"suite": "p256"}}, "evidence.bad_signature_form", "tx.body.vote_a.signature"),
])
def test_malformed_votes_are_rejected_naming_the_field(ledger, net, mutate, code, field):
    culprit = net.validator_keys[1]
    error = ledger.reject(evidence(ledger, net.validator_keys[0], mutate(vote(ledger, culprit, BLOCK_X)), vote(ledger, culprit, BLOCK_Y)))
    assert (error.code, error.field) == (code, field)


def test_signed_vote_json_round_trips_through_a_transaction_body(ledger, net):
    culprit = net.validator_keys[1]
    tx = evidence(ledger, net.validator_keys[0], vote(ledger, culprit, None), vote(ledger, culprit, BLOCK_Y))
    parsed = DuplicateVote.from_json(tx.body)
    assert parsed.vote_a.block is None and parsed.vote_b.block == BLOCK_Y
    assert isinstance(parsed.vote_b.signature, Signature)
    assert ledger.signed(net.validator_keys[0], KIND, parsed.to_json()).body == tx.body
    assert parsed.key() == evidence_key(culprit.public_key.key_id, 3, 1, VoteType.PREVOTE)
