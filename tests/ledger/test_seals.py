"""ledger.seals: seal registration, revocation and seal signatures through real blocks, and the
checks of docs/spec/domain.md §4, each failing on its own."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checks import Check, first_failure
from ledger.crypto import PrivateKey, Signature, Suite
from ledger.encoding import b64encode, decode, encode
from ledger.errors import EncodingError, ValidationError
from ledger.execute import TxView
from ledger.seals import ISSUE_KIND, SEAL_ID_RE, SealSignature, read_seal, read_seal_signature, require_seal_signature, seal_checks

from .conftest import GENESIS_TIME
from .test_governance import YEAR_MS, Ledger, grant, uscc

CHECKS = ["seal.registered", "seal.valid_at_signing", "seal.signer_allowed", "seal.document_hash", "seal.signer_key", "seal.signature"]
SEAL = "BJ0000000001"
DOC = bytes(range(32))
DOC_TEXT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # base64url of DOC, unpadded


@dataclasses.dataclass
class Org:
    uscc: str
    signer: PrivateKey  # listed in the seal
    other: PrivateKey  # a key of the org that the seal does not list


def seal_body(seal_id: str, owner: str, *signers: PrivateKey, valid_from: int = GENESIS_TIME, valid_until: int = GENESIS_TIME + YEAR_MS) -> dict[str, object]:
    return {
        "seal_id": seal_id, "owner": owner, "name": "licence seal", "type": "licence", "image_hash": bytes(32),
        "signers": [k.public_key.key_id for k in signers], "valid_from": valid_from, "valid_until": valid_until,
    }


def make_org(ledger: Ledger, n: int = 1, region: str = "beijing") -> Org:
    org = Org(uscc(n), PrivateKey.generate(), PrivateKey.generate())
    ledger.admit(region, org.uscc, org.signer, org.other)
    return org


@pytest.fixture
def setup(net) -> tuple[Ledger, Org]:
    ledger = Ledger(net)
    org = make_org(ledger)
    ledger.accept(ledger.signed(org.signer, "seal.register", seal_body(SEAL, org.uscc, org.signer)))
    return ledger, org


def sign(ledger: Ledger, key: PrivateKey, sig: SealSignature):
    return ledger.signed(key, "seal.sign", {"seal_signature": sig.to_json()})


def outcome(checks: list[Check]) -> dict[str, bool | None]:
    return {c.name: c.ok for c in checks}


def only_failing(checks: list[Check]) -> list[str]:
    return [c.name for c in checks if c.ok is not True]


def test_register_sign_and_revoke_are_accepted_and_recorded(setup, net):
    ledger, org = setup
    assert read_seal(ledger.state, SEAL) == {
        "seal_id": SEAL, "owner": org.uscc, "name": "licence seal", "type": "licence", "image_hash": b64encode(bytes(32)),
        "signers": [b64encode(org.signer.public_key.key_id)], "valid_from": GENESIS_TIME, "valid_until": GENESIS_TIME + YEAR_MS,
        "status": "active", "registered_at": GENESIS_TIME + 2000, "revoked_at": None,
    }
    ledger.accept(ledger.admin("beijing", "seal.register", seal_body("BJ0000000002", org.uscc, org.signer, org.other)))
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    recorded_at = ledger.next_time
    ledger.accept(sign(ledger, org.signer, sig))
    assert read_seal_signature(ledger.state, DOC, SEAL) == decode(encode({**sig.to_json(), "recorded_at": recorded_at}))
    revoked_at = ledger.next_time
    ledger.accept(ledger.signed(org.other, "seal.revoke", {"seal_id": SEAL, "reason": "replaced"}))
    ledger.accept(ledger.admin("beijing", "seal.revoke", {"seal_id": "BJ0000000002", "reason": "replaced", "note": "new seal"}))
    assert (read_seal(ledger.state, SEAL)["status"], read_seal(ledger.state, SEAL)["revoked_at"]) == ("revoked", revoked_at)
    assert read_seal(ledger.state, "BJ0000000002")["status"] == "revoked"
    # The signature made before the revocation still verifies; a new one cannot be recorded.
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, sig, DOC)) == []
    late = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, bytes(32), ledger.time)
    assert ledger.reject(sign(ledger, org.signer, late)).code == "seal.valid_at_signing"


def test_register_errors(setup, net):
    ledger, org = setup
    stranger = make_org(ledger, 2)
    tianjin_org = make_org(ledger, 3, region="tianjin")
    revoked = PrivateKey.generate()
    ledger.accept(ledger.admin("beijing", "org.key_add", {"uscc": org.uscc, "key": grant(revoked)}))
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": org.uscc, "key_id": revoked.public_key.key_id, "reason": "lost"}))
    wrong_type = seal_body("BJ0000000003", org.uscc, org.signer) | {"type": "secret"}
    assert ledger.codes(
        ledger.signed(org.signer, "seal.register", seal_body(SEAL, org.uscc, org.signer)),
        ledger.admin("beijing", "seal.register", seal_body("BJ0000000003", uscc(9), org.signer)),
        ledger.admin("beijing", "seal.register", seal_body("BJ0000000003", tianjin_org.uscc, tianjin_org.signer)),
        ledger.signed(stranger.signer, "seal.register", seal_body("BJ0000000003", org.uscc, org.signer)),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, stranger.signer)),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, PrivateKey.generate())),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, revoked)),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, org.signer, org.signer)),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc)),
        ledger.signed(org.signer, "seal.register", wrong_type),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, org.signer, valid_from=5, valid_until=5)),
        ledger.signed(org.signer, "seal.register", seal_body("bj-3", org.uscc, org.signer)),
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc[:-1] + "Z", org.signer)),
    ) == [
        "seal.exists", "org.unknown", "gov.other_region", "seal.forbidden", "seal.bad_signer", "seal.bad_signer", "seal.bad_signer",
        "seal.bad_signer", "validation.length", "seal.bad_type", "validation.range", "validation.format", "ids.bad_uscc",
    ]


def test_suspended_org_cannot_register_revoke_or_sign(setup, net):
    ledger, org = setup
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": org.uscc, "reason": "inspection"}))
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    assert ledger.codes(
        ledger.signed(org.signer, "seal.register", seal_body("BJ0000000003", org.uscc, org.signer)),
        ledger.admin("beijing", "seal.register", seal_body("BJ0000000003", org.uscc, org.signer)),
        ledger.signed(org.signer, "seal.revoke", {"seal_id": SEAL, "reason": "x"}),
        sign(ledger, org.signer, sig),
    ) == ["org.status"] * 4
    # Its region's admin can still revoke the seal of a suspended organisation.
    ledger.accept(ledger.admin("beijing", "seal.revoke", {"seal_id": SEAL, "reason": "org_suspended"}))


def test_revoke_errors(setup):
    ledger, org = setup
    stranger = make_org(ledger, 2)
    ledger.accept(ledger.admin("beijing", "seal.register", seal_body("BJ0000000002", org.uscc, org.signer)))
    ledger.accept(ledger.admin("beijing", "seal.revoke", {"seal_id": "BJ0000000002", "reason": "replaced"}))
    assert ledger.codes(
        ledger.signed(org.signer, "seal.revoke", {"seal_id": "BJ0000000009", "reason": "x"}),
        ledger.signed(org.signer, "seal.revoke", {"seal_id": "BJ0000000002", "reason": "x"}),
        ledger.signed(stranger.signer, "seal.revoke", {"seal_id": SEAL, "reason": "x"}),
        ledger.admin("tianjin", "seal.revoke", {"seal_id": SEAL, "reason": "x"}),
        ledger.signed(org.signer, "seal.revoke", {"seal_id": SEAL}),
    ) == ["seal.unknown", "seal.status", "seal.forbidden", "gov.other_region", "validation.missing_field"]


def test_sign_errors(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    ledger.accept(sign(ledger, org.signer, sig))
    again = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    bad_form = sig.to_json() | {"signature": {"suite": "p256", "value": "AAAA"}}
    assert ledger.codes(
        sign(ledger, org.signer, again),
        sign(ledger, org.other, SealSignature.create(org.signer, net.genesis.chain_id, SEAL, bytes(32), ledger.time)),
        ledger.signed(org.signer, "seal.sign", {"seal_signature": bad_form}),
        ledger.admin("beijing", "seal.sign", {"seal_signature": sig.to_json()}),
    ) == ["seal.signature_exists", "seal.not_signer", "seal.bad_signature_form", "tx.forbidden"]


# -- each check failing on its own -----------------------------------------------------------


def test_all_checks_pass_for_a_good_signature(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    checks = seal_checks(ledger.state, net.genesis.chain_id, sig, DOC, owner=org.uscc, at_time=ledger.next_time)
    assert [c.name for c in checks] == CHECKS[:1] + ["seal.owner"] + CHECKS[1:]
    assert first_failure(checks) is None
    require_seal_signature(TxView(ledger.state), net.genesis.chain_id, sig, DOC, org.uscc, ledger.next_time, "tx.body.seal_signature")


def test_unregistered_seal_leaves_the_dependent_checks_undecided(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, "BJ0000000009", DOC, ledger.time)
    assert outcome(seal_checks(ledger.state, net.genesis.chain_id, sig, DOC, owner=org.uscc)) == {
        "seal.registered": False, "seal.owner": None, "seal.valid_at_signing": None, "seal.signer_allowed": None,
        "seal.document_hash": True, "seal.signer_key": None, "seal.signature": True,
    }
    assert ledger.reject(sign(ledger, org.signer, sig)).code == "seal.registered"


def test_signing_outside_the_seal_window_fails_only_valid_at_signing(net):
    ledger = Ledger(net)
    org = make_org(ledger)
    start = GENESIS_TIME + 10_000
    ledger.accept(ledger.signed(org.signer, "seal.register", seal_body(SEAL, org.uscc, org.signer, valid_from=start)))
    early = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, start - 1)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, early, DOC)) == ["seal.valid_at_signing"]
    error = ledger.reject(sign(ledger, org.signer, early))
    assert (error.code, error.field, error.check) == ("seal.valid_at_signing", "tx.body.seal_signature.signing_time", "seal.valid_at_signing")


def test_signing_time_after_presentation_fails_only_valid_at_signing(setup, net):
    ledger, org = setup
    future = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.next_time + 1)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, future, DOC)) == []
    assert ledger.reject(sign(ledger, org.signer, future)).code == "seal.valid_at_signing"


def test_key_not_listed_by_the_seal_fails_only_signer_allowed(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.other, net.genesis.chain_id, SEAL, DOC, ledger.time)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, sig, DOC)) == ["seal.signer_allowed"]
    error = ledger.reject(sign(ledger, org.other, sig))
    assert (error.code, error.field) == ("seal.signer_allowed", "tx.body.seal_signature.signer")


def test_other_document_fails_only_document_hash(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, sig, bytes(32))) == ["seal.document_hash"]
    with pytest.raises(ValidationError) as info:
        require_seal_signature(TxView(ledger.state), net.genesis.chain_id, sig, bytes(32), org.uscc, ledger.next_time, "tx.body.seal_signature")
    assert (info.value.code, info.value.field) == ("seal.document_hash", "tx.body.seal_signature.document_hash")


def test_signing_before_the_key_window_fails_only_signer_key(net):
    ledger = Ledger(net)
    org = Org(uscc(1), PrivateKey.generate(), PrivateKey.generate())
    key_start = GENESIS_TIME + 3000
    body = {"uscc": org.uscc, "name": "d", "keys": [grant(org.signer, key_start)], "licence_types": []}
    ledger.accept(ledger.admin("beijing", "org.admit", body))
    ledger.accept(ledger.admin("beijing", "seal.register", seal_body(SEAL, org.uscc, org.signer)))
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, key_start - 1)
    assert ledger.next_time == key_start
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, sig, DOC)) == ["seal.signer_key"]
    assert ledger.reject(sign(ledger, org.signer, sig)).code == "seal.signer_key"


def test_revoked_signer_key_fails_only_signer_key_from_its_revocation_on(setup, net):
    ledger, org = setup
    before = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    revoked_at = ledger.next_time
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": org.uscc, "key_id": org.signer.public_key.key_id, "reason": "lost"}))
    after = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, revoked_at)
    chain_id = net.genesis.chain_id
    assert only_failing(seal_checks(ledger.state, chain_id, before, DOC)) == []
    assert only_failing(seal_checks(ledger.state, chain_id, before, DOC, at_time=revoked_at - 1)) == []
    assert only_failing(seal_checks(ledger.state, chain_id, before, DOC, at_time=revoked_at)) == ["seal.signer_key"]
    assert only_failing(seal_checks(ledger.state, chain_id, after, DOC)) == ["seal.signer_key"]
    # Nobody can record it any more: not the revoked key itself, nor backdated.
    assert ledger.reject(sign(ledger, org.signer, before)).code == "tx.signer_revoked"


def test_tampered_signature_fails_only_signature(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    tampered = dataclasses.replace(sig, signing_time=sig.signing_time - 1)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, tampered, DOC)) == ["seal.signature"]
    other_chain = SealSignature.create(org.signer, "other-chain", SEAL, DOC, ledger.time)
    assert only_failing(seal_checks(ledger.state, net.genesis.chain_id, other_chain, DOC)) == ["seal.signature"]
    error = ledger.reject(sign(ledger, org.signer, tampered))
    assert (error.code, error.field) == ("seal.signature", "tx.body.seal_signature.signature")


def test_seal_of_another_org_fails_only_owner(setup, net):
    ledger, org = setup
    sig = SealSignature.create(org.signer, net.genesis.chain_id, SEAL, DOC, ledger.time)
    checks = seal_checks(ledger.state, net.genesis.chain_id, sig, DOC, owner=uscc(2))
    assert only_failing(checks) == ["seal.owner"]
    with pytest.raises(ValidationError) as info:
        require_seal_signature(TxView(ledger.state), net.genesis.chain_id, sig, DOC, uscc(2), ledger.next_time, "tx.body.seal_signature")
    assert (info.value.code, info.value.field) == ("seal.owner", "tx.body.seal_signature.seal_id")


def test_require_seal_signature_names_the_fields_it_is_given_and_the_default_for_the_rest(setup, net):
    ledger, org = setup
    chain_id, view = net.genesis.chain_id, TxView(ledger.state)
    fields = {"seal.signer_allowed": "tx.signer", "seal.signature": "tx.signature"}
    by_other = SealSignature.create(org.other, chain_id, SEAL, DOC, ledger.time)
    good = SealSignature.create(org.signer, chain_id, SEAL, DOC, ledger.time)
    cases = [
        (by_other, DOC, "seal.signer_allowed", "tx.signer"),
        (good, bytes(32), "seal.document_hash", "tx.body.seal.document_hash"),
        (dataclasses.replace(good, signing_time=good.signing_time - 1), DOC, "seal.signature", "tx.signature"),
    ]
    for sig, document_hash, check, field in cases:
        with pytest.raises(ValidationError) as info:
            require_seal_signature(view, chain_id, sig, document_hash, org.uscc, ledger.next_time, "tx.body.seal", code="licence.bad_seal", fields=fields)
        assert (info.value.code, info.value.check, info.value.field) == ("licence.bad_seal", check, field)


def test_a_signature_stating_a_kind_does_not_verify_as_one_without_it_nor_the_reverse(setup, net):
    ledger, org = setup
    chain_id = net.genesis.chain_id
    stated = SealSignature.create(org.signer, chain_id, SEAL, DOC, ledger.time, kind=ISSUE_KIND)
    plain = SealSignature.create(org.signer, chain_id, SEAL, DOC, ledger.time)
    assert (stated.kind, plain.kind) == (ISSUE_KIND, None) and stated.message() != plain.message()
    assert only_failing(seal_checks(ledger.state, chain_id, stated, DOC)) == only_failing(seal_checks(ledger.state, chain_id, plain, DOC)) == []
    assert only_failing(seal_checks(ledger.state, chain_id, dataclasses.replace(stated, kind=None), DOC)) == ["seal.signature"]
    assert only_failing(seal_checks(ledger.state, chain_id, dataclasses.replace(plain, kind=ISSUE_KIND), DOC)) == ["seal.signature"]


# -- the value ---------------------------------------------------------------------------------


def test_seal_signature_round_trips_through_json(net):
    key = PrivateKey.generate()
    sig = SealSignature.create(key, net.genesis.chain_id, SEAL, DOC, GENESIS_TIME)
    assert SealSignature.from_json(decode(encode(sig.to_json())), "sig") == sig
    assert sig.signer == key.public_key.key_id
    assert sig.message() == encode({"document_hash": DOC, "seal_id": SEAL, "signing_time": GENESIS_TIME})
    assert sig.message() == f'{{"document_hash":"{DOC_TEXT}","seal_id":"{SEAL}","signing_time":{GENESIS_TIME}}}'.encode()
    assert "kind" not in sig.to_json() and sig.kind is None
    key.public_key.verify("seal", net.genesis.chain_id, sig.message(), sig.signature)


def test_a_statement_with_a_kind_is_its_literal_canonical_bytes_and_round_trips(net):
    key = PrivateKey.generate()
    sig = SealSignature.create(key, net.genesis.chain_id, SEAL, DOC, GENESIS_TIME, kind=ISSUE_KIND)
    literal = '{"document_hash":"' + DOC_TEXT + '","kind":"licence.issue","seal_id":"BJ0000000001","signing_time":1767225600000}'
    assert sig.message() == literal.encode()
    assert sig.to_json()["kind"] == "licence.issue"
    assert SealSignature.from_json(decode(encode(sig.to_json())), "sig") == sig
    key.public_key.verify("seal", net.genesis.chain_id, literal.encode(), sig.signature)


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"seal_id": "short"}, "validation.format", "sig.seal_id"),
        ({"document_hash": b64encode(bytes(31))}, "validation.length", "sig.document_hash"),
        ({"signing_time": -1}, "validation.range", "sig.signing_time"),
        ({"signature": "x"}, "seal.bad_signature_form", "sig.signature"),
        ({"signature": {"suite": ["ecdsa-p256-sha256"], "value": b64encode(bytes(64))}}, "seal.bad_signature_form", "sig.signature"),
        ({"signature": {"suite": "ecdsa-p384", "value": b64encode(bytes(64))}}, "seal.bad_signature_form", "sig.signature"),
        ({"signature": {"suite": "ecdsa-p256-sha256", "value": b64encode(bytes(63))}}, "seal.bad_signature_form", "sig.signature"),
        ({"signature": {"suite": "ecdsa-p256-sha256", "value": b64encode(bytes(64)) + "="}}, "seal.bad_signature_form", "sig.signature"),
        ({"signature": {"suite": "ecdsa-p256-sha256", "value": 64}}, "seal.bad_signature_form", "sig.signature"),
        ({"signer": [1]}, "validation.type", "sig.signer"),
        ({"signer": b64encode(bytes(31))}, "validation.length", "sig.signer"),
        ({"signer": b64encode(bytes(32))[:-1] + "B"}, "validation.binary", "sig.signer"),
        ({"extra": 1}, "validation.unknown_field", "sig.extra"),
        ({"kind": "licence.change"}, "seal.bad_kind", "sig.kind"),
        ({"kind": "Licence.Issue"}, "seal.bad_kind", "sig.kind"),
        ({"kind": ""}, "seal.bad_kind", "sig.kind"),
        ({"kind": ["licence.issue"]}, "seal.bad_kind", "sig.kind"),
        ({"kind": 1}, "seal.bad_kind", "sig.kind"),
        ({"kind": None}, "seal.bad_kind", "sig.kind"),
    ],
)
def test_seal_signature_from_json_names_the_bad_field(net, change, code, field):
    sig = SealSignature.create(PrivateKey.generate(), net.genesis.chain_id, SEAL, DOC, GENESIS_TIME)
    with pytest.raises(ValidationError) as info:
        SealSignature.from_json(decode(encode(sig.to_json())) | change, "sig")
    assert (info.value.code, info.value.field) == (code, field)


def test_seal_signature_create_checks_its_inputs():
    key = PrivateKey.generate()
    with pytest.raises(ValidationError):
        SealSignature.create(key, "c", "bad id", DOC, 0)
    with pytest.raises(ValidationError):
        SealSignature.create(key, "c", SEAL, os.urandom(31), 0)
    with pytest.raises(ValidationError) as info:
        SealSignature.create(key, "c", SEAL, DOC, 0, kind="licence.renew")
    assert (info.value.code, info.value.field) == ("seal.bad_kind", "kind")


@settings(max_examples=200, deadline=None)
@given(
    seal_id=st.from_regex(SEAL_ID_RE, fullmatch=True) | st.text(max_size=12),
    document_hash=st.binary(min_size=0, max_size=40),
    signing_time=st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
    kind=st.sampled_from([None, ISSUE_KIND, "licence.renew", 'say "x"']),
)
def test_message_is_the_canonical_encoding_of_its_members(seal_id, document_hash, signing_time, kind):
    sig = SealSignature(seal_id, document_hash, bytes(32), signing_time, Signature(Suite.P256, bytes(64)), kind)
    statement: dict[str, object] = {"document_hash": document_hash, "seal_id": seal_id, "signing_time": signing_time}
    if kind is not None:
        statement["kind"] = kind
    try:
        expected = encode(statement)
    except EncodingError:
        with pytest.raises(EncodingError):
            sig.message()
        return
    assert sig.message() == expected
