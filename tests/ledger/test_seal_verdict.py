"""ledger.seal_verdict: a sealed document judged with the GB/T 38540 checks of domain.md §4, each
step's outcome and the verdict; judged for the time the ledger recorded the very signature (a
seal.sign record, or the licence version it sealed) when it did, else at its signing time or at
the time the caller names."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.checks import Check
from ledger.crypto import PrivateKey
from ledger.encoding import b64encode, encode
from ledger.seal_verdict import INDETERMINATE, INVALID, VALID, verdict_of, verify_sealed_document, verify_sealed_hash
from ledger.seals import SealSignature
from ledger.verify import StateAt

from .test_verify import Dept, issue, make_doc, world  # noqa: F401  (world is a fixture)

CHECKS = ["seal.registered", "seal.valid_at_signing", "seal.signer_allowed", "seal.document_hash", "seal.signer_key", "seal.signature"]
DOCUMENT = bytes(range(32))


def sign(ledger, dept: Dept, document_hash: bytes = DOCUMENT, *, key: PrivateKey | None = None, seal_id: str | None = None) -> SealSignature:
    return SealSignature.create(key or dept.key, ledger.net.genesis.chain_id, seal_id or dept.seal_id, document_hash, ledger.time)


def judge(ledger, signature, document_hash=DOCUMENT, **kwargs):
    return verify_sealed_hash(StateAt(ledger.local.chain), ledger.net.genesis.chain_id, signature, document_hash, **kwargs)


def outcomes(verdict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in verdict.to_json()["checks"]}


def test_a_good_seal_signature_passes_every_check(world):
    ledger, dept = world
    signature = sign(ledger, dept)
    verdict = judge(ledger, signature, owner=dept.uscc)
    shown = verdict.to_json()
    assert shown["verdict"] == VALID and [c["name"] for c in shown["checks"]] == CHECKS[:1] + ["seal.owner"] + CHECKS[1:]
    assert all(c["ok"] is True and c["outcome"] == "passed" for c in shown["checks"])
    assert (shown["seal_id"], shown["signer"], shown["signing_time"], shown["owner"]) == (dept.seal_id, dept.key.public_key.key_id, ledger.time, dept.uscc)
    assert shown["document_hash"] == DOCUMENT and shown["at_time"] is None and shown["recorded"] is None
    assert shown["seal"]["owner"] == dept.uscc and shown["seal"]["status"] == "active"
    encode(shown)  # canonical-encodable


def test_another_document_fails_only_the_document_check(world):
    ledger, dept = world
    verdict = judge(ledger, sign(ledger, dept), bytes(32))
    assert verdict.verdict == INVALID
    assert [name for name, outcome in outcomes(verdict).items() if outcome != "passed"] == ["seal.document_hash"]


def test_an_unknown_seal_fails_and_leaves_what_needs_it_undecided(world):
    ledger, dept = world
    verdict = judge(ledger, sign(ledger, dept, seal_id="BJNOSUCH0001"), owner=dept.uscc)
    assert verdict.verdict == INVALID and verdict.seal is None
    assert outcomes(verdict) == {
        "seal.registered": "failed", "seal.owner": "undecided", "seal.valid_at_signing": "undecided", "seal.signer_allowed": "undecided",
        "seal.document_hash": "passed", "seal.signer_key": "undecided", "seal.signature": "passed",
    }


def test_a_seal_of_another_owner_fails_the_owner_check(world):
    ledger, dept = world
    verdict = judge(ledger, sign(ledger, dept), owner="91110000000000001N")
    assert verdict.verdict == INVALID and outcomes(verdict)["seal.owner"] == "failed"


def test_a_key_that_is_not_the_seals_signer_fails(world):
    ledger, dept = world
    verdict = judge(ledger, sign(ledger, dept, key=PrivateKey.generate()))
    assert verdict.verdict == INVALID
    assert {name for name, outcome in outcomes(verdict).items() if outcome != "passed"} == {"seal.signer_allowed", "seal.signer_key", "seal.signature"}


def test_a_forged_signature_fails_the_signature_check_alone(world):
    ledger, dept = world
    good = sign(ledger, dept)
    forged = dataclasses.replace(good, signature=sign(ledger, dept, bytes(32)).signature)
    assert [name for name, outcome in outcomes(judge(ledger, forged)).items() if outcome != "passed"] == ["seal.signature"]


def test_a_seal_revoked_after_signing_counts_only_when_the_time_presented_is_after_it(world):
    ledger, dept = world
    signature = sign(ledger, dept)
    ledger.accept(ledger.signed(dept.key, "seal.revoke", {"seal_id": dept.seal_id, "reason": "lost"}))
    revoked_at = ledger.time
    assert judge(ledger, signature).verdict == VALID  # judged at its signing time
    late = judge(ledger, signature, at_time=revoked_at)
    assert late.verdict == INVALID and late.at_time == revoked_at and outcomes(late)["seal.valid_at_signing"] == "failed"
    assert judge(ledger, signature, at_time=revoked_at - 1).verdict == VALID


def test_a_signature_recorded_by_seal_sign_is_judged_for_its_recording_time(world):
    ledger, dept = world
    signature = sign(ledger, dept)
    ledger.accept(ledger.signed(dept.key, "seal.sign", {"seal_signature": signature.to_json()}))
    recorded_at = ledger.time
    ledger.accept(ledger.signed(dept.key, "seal.revoke", {"seal_id": dept.seal_id, "reason": "lost"}))
    verdict = judge(ledger, signature)
    assert verdict.verdict == VALID and verdict.at_time == recorded_at
    assert verdict.to_json()["recorded"] == {"kind": "seal.sign", "at": recorded_at}
    other = sign(ledger, dept)  # the same seal over the same document later: not the recorded one
    assert judge(ledger, dataclasses.replace(other, signing_time=other.signing_time + 1)).recorded is None


def test_a_licence_document_is_judged_as_a_seal_of_its_issuer_for_the_time_it_was_recorded(world):
    ledger, dept = world
    document = make_doc(ledger, dept, 7001)
    issue(ledger, dept, document)
    issued_at = ledger.time
    ledger.accept(ledger.signed(dept.key, "seal.revoke", {"seal_id": dept.seal_id, "reason": "lost"}))
    verdict = verify_sealed_document(StateAt(ledger.local.chain), ledger.net.genesis.chain_id, document)
    shown = verdict.to_json()
    assert shown["verdict"] == VALID and shown["owner"] == dept.uscc and shown["document_hash"] == document.hash
    assert shown["recorded"] == {"kind": "licence", "at": issued_at, "licence_id": document.licence.id} and shown["at_time"] == issued_at
    assert "seal.owner" in outcomes(verdict)
    late = verify_sealed_document(StateAt(ledger.local.chain), ledger.net.genesis.chain_id, document, at_time=ledger.time)
    assert late.verdict == INVALID


def test_an_altered_licence_document_fails_the_document_check(world):
    ledger, dept = world
    document = make_doc(ledger, dept, 7002)
    issue(ledger, dept, document)
    altered = dataclasses.replace(document, licence=dataclasses.replace(document.licence, fields=(("经营场所", "天津市"),)))
    verdict = verify_sealed_document(StateAt(ledger.local.chain), ledger.net.genesis.chain_id, altered)
    assert verdict.verdict == INVALID and [n for n, o in outcomes(verdict).items() if o != "passed"] == ["seal.document_hash"]


def test_an_unrecorded_licence_document_is_judged_at_its_signing_time(world):
    ledger, dept = world
    document = make_doc(ledger, dept, 7003)
    verdict = verify_sealed_document(StateAt(ledger.local.chain), ledger.net.genesis.chain_id, document)
    assert verdict.verdict == VALID and verdict.recorded is None and verdict.at_time is None


@pytest.mark.parametrize("oks, verdict", [((True, True), VALID), ((True, None), INDETERMINATE), ((None, False), INVALID), ((), VALID)])
def test_the_verdict_is_invalid_on_a_failure_else_indeterminate_on_an_undecided_check(oks, verdict):
    assert verdict_of(tuple(Check(f"c{i}", ok, "") for i, ok in enumerate(oks))) == verdict


def test_the_json_form_shows_binary_values_as_base64url(world):
    ledger, dept = world
    decoded = encode(judge(ledger, sign(ledger, dept)).to_json())
    assert b64encode(DOCUMENT).encode() in decoded
