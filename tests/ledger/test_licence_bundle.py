"""ledger.licence_bundle: the keys a licence verdict needs proven (domain.md §9.3), the bundle
proving them, and the offline verdict over it (proofs.md §7), whose every check must have the
outcome it has over the full state (the record certifying what execution checked before writing
it), for licences issued through real blocks in one region and judged in each region."""

from __future__ import annotations

import dataclasses

import pytest

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
from ledger.bundle import build_bundle
from ledger.crypto import PrivateKey
from ledger.encoding import decode, encode
from ledger.errors import LedgerError, ValidationError
from ledger.licence_bundle import build_licence_bundle, licence_bundle_keys, verify_licence_bundle
from ledger.licences import licence_key
from ledger.verify import CHECK_NAMES, Outcome, StateAt, Verdict

from .test_governance import Ledger, grant, uscc
from .test_seals import seal_body
from .test_verify import HOLDER, PERSON, T, T_TJ, Dept, Recording, act, failed, issue, make_doc, verify


@dataclasses.dataclass
class Scene:
    ledger: Ledger
    dept: Dept
    doc: object  # an enterprise licence, valid
    person: object  # a person's licence, later revoked
    missing: object  # a document never issued


@pytest.fixture(scope="module")
def scene(net) -> Scene:
    """A Beijing department issues two licences; Tianjin recognises the type, Hebei does not."""
    ledger = Ledger(net)
    ledger.accept(
        ledger.admin("beijing", "ltype.register", {"code": T, "name": "食品经营许可证", "validity_required": False}),
        ledger.admin("tianjin", "ltype.register", {"code": T_TJ, "name": "食品经营许可证(津)", "validity_required": False}),
    )
    dept = Dept(uscc(811), PrivateKey.generate(), "BJBUNDLE0001")
    ledger.accept(ledger.admin("beijing", "org.admit", {"uscc": dept.uscc, "name": "北京市某区市场监督管理局", "keys": [grant(dept.key)], "licence_types": [T]}))
    ledger.accept(ledger.signed(dept.key, "seal.register", seal_body(dept.seal_id, dept.uscc, dept.key)))
    ledger.accept(ledger.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": T, "as_type": T_TJ, "conditions": "原件备查"}))
    doc, person, missing = make_doc(ledger, dept, 1, holder=HOLDER), make_doc(ledger, dept, 2, holder=PERSON), make_doc(ledger, dept, 3)
    issue(ledger, dept, doc, person)
    act(ledger, dept, "licence.revoke", person.licence.id)
    return Scene(ledger, dept, doc, person, missing)


#: Checks the licence record certifies over a bundle (domain.md §9.3): same outcome, other detail.
CERTIFIED = ("issuer_authorised", "seal_valid", "signature_valid")
#: Key prefixes a verification reads that a licence bundle does not carry: regions come from the
#: genesis; the issuer, the seal and the signer key are certified by the record (which names
#: the issuer's region, domain.md §5).
NOT_CARRIED = (b"region/", b"org/", b"seal/", b"id/key/")


def recorded_keys(scene: Scene, region: str, **presented) -> list[bytes]:
    """The keys verify_licence actually reads over the full state."""
    recording = Recording(StateAt(scene.ledger.local.chain))
    verify(scene.ledger, region=region, reader=recording, **presented)
    return sorted(recording.keys)


def certified(height: int, record) -> str:
    return f"checked by the validators when the record was made at {record['issued_at']} (the commit of height {height} certifies the record)"


def assert_same_outcomes(offline: Verdict, direct: Verdict) -> None:
    """Every check has the outcome it has over the full state; details differ only where the
    record certifies the check, and then say so."""
    shown, full = offline.to_json(), direct.to_json()
    assert {k: v for k, v in shown.items() if k not in ("checks", "seal_checks")} == {k: v for k, v in full.items() if k not in ("checks", "seal_checks")}
    assert [(c["name"], c["ok"], c["outcome"]) for c in shown["checks"]] == [(c["name"], c["ok"], c["outcome"]) for c in full["checks"]]
    assert [(c["name"], c["ok"]) for c in shown["seal_checks"]] == [(c["name"], c["ok"]) for c in full["seal_checks"]]
    for mine, theirs in zip(shown["checks"], full["checks"]):
        assert (mine["detail"] == theirs["detail"]) is (mine["name"] not in CERTIFIED or offline.record is None), mine["name"]
    if offline.record is not None:
        assert all(c.detail.endswith(certified(offline.height, offline.record)) for c in offline.checks if c.name in CERTIFIED)
        assert [c.detail == certified(offline.height, offline.record) for c in offline.seal_checks] == [c.name != "seal.document_hash" for c in offline.seal_checks]


@pytest.mark.parametrize("region", ["beijing", "tianjin", "hebei"])
@pytest.mark.parametrize("which", ["doc", "person", "missing"])
def test_licence_bundle_keys_are_the_keys_read_less_regions_issuers_seals_and_signer_keys(scene, region, which):
    doc = getattr(scene, which)
    keys = licence_bundle_keys(StateAt(scene.ledger.local.chain), doc.licence.id, region)
    read = recorded_keys(scene, region, licence_id=doc.licence.id)
    assert read == recorded_keys(scene, region, document=doc)
    assert keys == [k for k in read if not k.startswith(NOT_CARRIED)] and keys == sorted(keys)
    assert keys[0] == licence_key(doc.licence.id)
    expected = 1 if which == "missing" or region == "beijing" else 2
    assert len(keys) == expected
    if expected == 2:
        assert keys[1] == f"recog/{region}/beijing/{T}".encode()


def test_licence_bundle_keys_include_an_absent_recognition_rule(scene):
    state = StateAt(scene.ledger.local.chain)
    keys = licence_bundle_keys(state, scene.doc.licence.id, "hebei")
    rule = f"recog/hebei/beijing/{T}".encode()
    assert rule in keys and state.get(rule) is None


def test_licence_bundle_keys_refuse_misuse(scene):
    state, licence_id = StateAt(scene.ledger.local.chain), scene.doc.licence.id
    cases = [
        ((licence_id[:-1] + ("A" if licence_id[-1] != "A" else "B"), "beijing"), "ids.bad_check_character"),
        (("lic/../x", "beijing"), "ids.bad_licence_id"),
        ((licence_id, "Beijing"), "verify.bad_region"),
        ((licence_id, "shanghai"), "verify.unknown_region"),
    ]
    for args, code in cases:
        with pytest.raises(ValidationError) as err:
            licence_bundle_keys(state, *args)
        assert err.value.code == code, args


@pytest.mark.parametrize("region", ["beijing", "tianjin", "hebei"])
def test_the_offline_verdict_has_the_outcomes_of_the_verdict_over_the_full_state(net, scene, region):
    ledger = scene.ledger
    for doc in (scene.doc, scene.person, scene.missing):
        bundle = build_licence_bundle(ledger.local.chain, doc.licence.id, region)
        assert [e.key for e in bundle.entries] == licence_bundle_keys(StateAt(ledger.local.chain), doc.licence.id, region)
        for presented in ({"licence_id": doc.licence.id}, {"document": doc}):
            result = verify_licence_bundle(bundle.to_bytes(), net.genesis, asking_region=region, **presented)
            assert_same_outcomes(result.verdict, verify(ledger, region=region, **presented))
            assert (result.proven.height, result.proven.time) == (ledger.local.chain.height, ledger.time)


def test_the_record_certifies_the_issuer_seal_and_signer_checks(net, scene):
    chain = scene.ledger.local.chain
    verdict = verify_licence_bundle(build_licence_bundle(chain, scene.doc.licence.id, "beijing"), net.genesis, asking_region="beijing").verdict
    assert verdict.verdict is Outcome.VALID and [c.name for c in verdict.checks if c.ok] == [n for n in CHECK_NAMES if n not in verdict.not_applicable]
    sig = verdict.record["seal_signature"]
    assert verdict.check("seal_valid").detail == f"seal {sig['seal_id']} of {scene.dept.uscc} at signing time {sig['signing_time']}: {certified(chain.height, verdict.record)}"
    assert verdict.check("signature_valid").detail == certified(chain.height, verdict.record)
    assert verdict.check("seal_valid").detail.startswith(f"seal {scene.dept.seal_id} of ")
    assert verdict.check("issuer_authorised").detail == f"{scene.dept.uscc} active and holding type {T}: {certified(chain.height, verdict.record)}"
    assert verdict.check("recognised").detail == "issued in beijing, the asking region" and verdict.record["region"] == "beijing"
    assert next(c for c in verdict.seal_checks if c.name == "seal.document_hash").detail == "the signature is over the presented document"


def test_offline_verdicts_by_region_and_status(net, scene):
    chain = scene.ledger.local.chain

    def offline(doc, region):
        return verify_licence_bundle(build_licence_bundle(chain, doc.licence.id, region), net.genesis, asking_region=region, document=doc).verdict

    assert offline(scene.doc, "beijing").verdict is Outcome.VALID
    tianjin = offline(scene.doc, "tianjin")
    assert tianjin.verdict is Outcome.VALID and tianjin.recognition["as_type"] == T_TJ
    hebei = offline(scene.doc, "hebei")
    assert (hebei.verdict, failed(hebei)) == (Outcome.INVALID, ["recognised"])
    rule = f"recog/hebei/beijing/{T}".encode()
    proven = verify_licence_bundle(build_licence_bundle(chain, scene.doc.licence.id, "hebei"), net.genesis, asking_region="hebei").proven
    assert rule in proven.entries and proven.get(rule) is None  # the rule's absence is proven, not assumed
    revoked = offline(scene.person, "beijing")
    assert (revoked.verdict, failed(revoked)) == (Outcome.INVALID, ["status"]) and revoked.check("holder_matches").ok
    assert failed(offline(scene.missing, "beijing")) == ["on_ledger"]


def test_a_bundle_for_one_region_is_indeterminate_for_another_that_needs_a_rule(net, scene):
    bundle = build_licence_bundle(scene.ledger.local.chain, scene.doc.licence.id, "beijing")
    verdict = verify_licence_bundle(bundle, net.genesis, asking_region="tianjin").verdict
    assert (verdict.verdict, failed(verdict)) == (Outcome.INDETERMINATE, [])
    assert verdict.check("recognised").detail == f"cannot be decided: the state at hand does not prove recog/tianjin/beijing/{T}"


def test_a_record_whose_region_is_rewritten_to_evade_recognition_fails_its_proof(net, scene):
    """The record's `region` decides `recognised`, and the state root binds it like every member."""
    bundle = build_licence_bundle(scene.ledger.local.chain, scene.doc.licence.id, "hebei")
    assert failed(verify_licence_bundle(bundle, net.genesis, asking_region="hebei").verdict) == ["recognised"]
    obj = decode(bundle.to_bytes())
    record = next(e["value"] for e in obj["entries"] if e["value"] is not None and "id" in e["value"])
    record["region"] = "hebei"
    with pytest.raises(LedgerError) as err:
        verify_licence_bundle(encode(obj), net.genesis, asking_region="hebei")
    assert err.value.code == "proof.root_mismatch"


def test_verify_licence_bundle_judges_the_only_licence_at_the_block_time_by_default(net, scene):
    chain = scene.ledger.local.chain
    bundle = build_licence_bundle(chain, scene.doc.licence.id, "beijing", height=chain.height - 1)
    result = verify_licence_bundle(bundle, net.genesis, asking_region="beijing")
    assert result.verdict.licence_id == scene.doc.licence.id and result.verdict.at_time == result.proven.time == scene.ledger.time - 1000
    assert result.verdict.height == chain.height - 1
    later = verify_licence_bundle(bundle, net.genesis, asking_region="beijing", at_time=4_102_444_800_000)  # 2100: lapsed
    assert failed(later.verdict) == ["within_validity"]


def test_verify_licence_bundle_needs_a_name_when_the_bundle_holds_no_single_licence(net, scene):
    chain = scene.ledger.local.chain
    two = build_bundle(chain, [b"region/beijing", licence_key(scene.doc.licence.id), licence_key(scene.person.licence.id)])
    none = build_bundle(chain, [b"region/beijing"])
    for bundle in (two, none):
        with pytest.raises(ValidationError) as err:
            verify_licence_bundle(bundle, net.genesis, asking_region="beijing")
        assert err.value.code == "verify.nothing_presented"
    assert verify_licence_bundle(two, net.genesis, asking_region="beijing", licence_id=scene.person.licence.id).verdict.check("status").ok is False


def test_verify_licence_bundle_checks_the_region_against_the_genesis_first(net, scene):
    for region, code in (("shanghai", "verify.unknown_region"), ("Beijing", "verify.bad_region"), (None, "verify.bad_region")):
        with pytest.raises(ValidationError) as err:
            verify_licence_bundle(b"not a bundle", net.genesis, asking_region=region)
        assert err.value.code == code


def test_verify_licence_bundle_refuses_a_forged_bundle_and_a_mismatched_document(net, scene):
    bundle = build_licence_bundle(scene.ledger.local.chain, scene.person.licence.id, "beijing")
    obj = decode(bundle.to_bytes())
    entry = next(e for e in obj["entries"] if e["value"] is not None and e["value"].get("status") == "revoked")
    entry["value"]["status"] = "valid"
    with pytest.raises(LedgerError) as err:
        verify_licence_bundle(encode(obj), net.genesis, asking_region="beijing")
    assert err.value.code == "proof.root_mismatch"
    with pytest.raises(ValidationError) as err:
        verify_licence_bundle(bundle, net.genesis, asking_region="beijing", document=scene.doc, licence_id=scene.person.licence.id)
    assert err.value.code == "verify.id_mismatch"


@pytest.mark.parametrize("height", [0, -1, True, "1", 10_000])
def test_build_licence_bundle_refuses_an_uncommitted_height(scene, height):
    with pytest.raises(ValidationError) as err:
        build_licence_bundle(scene.ledger.local.chain, scene.doc.licence.id, "beijing", height)
    assert err.value.code == "bundle.unknown_height"


def test_build_licence_bundle_at_a_height_before_the_issue_proves_the_licence_absent(net, scene):
    bundle = build_licence_bundle(scene.ledger.local.chain, scene.doc.licence.id, "beijing", height=1)
    assert [e.key for e in bundle.entries] == [b"lic/" + scene.doc.licence.id.encode()]
    assert bundle.entries[0].value is None
    assert failed(verify_licence_bundle(bundle, net.genesis, asking_region="beijing").verdict) == ["on_ledger"]
