"""POST /v1/verify (api/routers/verify.py, api.md §2.11): a Tianjin partner verifies Beijing
licences by id, document and QR over a real chain and gets the verdict with a receipt that
verifies offline; every status, a lapsed, absent, superseded and tampered licence, a region
without a recognition rule; callers of the wrong region or role, a missing or malformed purpose
and malformed bodies are refused with their precise code and record nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from api.licence_schemas import VerifyAnswer
from api.main import create_app
from api.metrics import VERIFY_REQUESTS
from certs.roles import Role
from ledger.calendar import LAST_DATED_MS
from ledger.crypto import PublicKey
from ledger.encoding import b64encode, decode
from ledger.receipt import verify_receipt
from ledger.verify import CHECK_NAMES
from node.errors import NodeError
from tests.api.pki import presenting
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error
from tests.api.world import OTHER_TYPE, PERSON, PURPOSE, World, day_of, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("verify") / "net")
    yield world
    world.close()


SERIALS = iter(range(100, 10_000))


def fresh(world: World, **kw):
    """A new first-version document of its own serial, issued."""
    doc = world.document(next(SERIALS), **kw)
    world.issue(doc)
    return doc


def as_json(doc) -> dict:
    return decode(doc.to_bytes())


def recorded(world: World) -> int:
    """How many use records the node has numbered so far."""
    return world.service.journal.next_seq


def verify(world: World, body: dict, region: str = "tianjin", role: Role = Role.PARTNER):
    return world.client(region, role).post("/v1/verify", json=body)


def judged(response) -> dict:
    assert response.status_code == 200, response.text
    answer = response.json()
    VerifyAnswer.model_validate(answer, strict=True)
    return answer


def outcomes(answer: dict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in answer["checks"]}


def failed(answer: dict) -> list[str]:
    return [c["name"] for c in answer["checks"] if c["outcome"] == "failed"]


# -- a valid licence, three ways ------------------------------------------------------------------


@pytest.mark.parametrize("presented", ["id", "document", "qr"])
def test_a_tianjin_partner_verifies_a_beijing_licence_and_gets_a_receipt(world, presented):
    doc = fresh(world)
    body = {"id": {"licence_id": doc.licence.id}, "document": {"document": as_json(doc)}, "qr": {"qr": world.qr(doc)}}[presented]
    before = recorded(world)
    answer = judged(verify(world, {**body, "purpose": PURPOSE}))
    assert answer["verdict"] == "valid" and answer["presented"] == presented and answer["asking_region"] == "tianjin"
    assert [c["name"] for c in answer["checks"]] == list(CHECK_NAMES)
    assert answer["recognition"]["as_type"] and outcomes(answer)["recognised"] == "passed"
    expected_document = "not_applicable" if presented == "id" else "passed"
    assert outcomes(answer)["document_matches"] == outcomes(answer)["holder_matches"] == expected_document
    tip = world.service.chain.tip
    assert answer["as_of"] == {"height": tip.height, "block_hash": b64encode(tip.hash), "state_root": b64encode(tip.state_root), "time": tip.time}
    assert answer["height"] == tip.height and answer["at_time"] == world.now
    assert answer["licence"]["id"] == doc.licence.id and answer["licence"]["holder"] == {"kind": "enterprise", "uscc": doc.licence.holder.uscc}
    assert answer["licence"]["issuer"] == {"uscc": world.dept_uscc, "name": "北京市市场监督管理局", "region": "beijing"}
    assert answer["licence"]["status"]["code"] == "valid" and answer["licence"]["validity"]["in_force"] is True
    proven = verify_receipt(answer["receipt"], world.service.genesis)
    assert proven.signer == world.service.node and not proven.committed
    record = proven.record
    assert recorded(world) == before + 1 and record["seq"] == before
    assert record["licence_id"] == doc.licence.id and record["presented"] == presented and record["verdict"] == "valid"
    assert record["asking_region"] == "tianjin" and record["height"] == tip.height and record["time"] == world.now
    assert record["purpose"] == PURPOSE
    assert {k: record["caller"][k] for k in ("region", "role", "name")} == {"region": "tianjin", "role": "partner", "name": "tianjin-gateway"}


def test_a_seal_signature_verified_once_is_not_verified_again_and_the_verdict_is_the_same(world, monkeypatch):
    doc = fresh(world)
    first = judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    calls = []
    real = PublicKey.verify
    monkeypatch.setattr(PublicKey, "verify", lambda self, *args: (calls.append(args[0]), real(self, *args))[1])
    second = judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    assert "seal" not in calls  # the seal signature check came from the app's cache
    assert first["checks"] == second["checks"] and first["seal_checks"] == second["seal_checks"]


def test_window_staff_of_beijing_verify_in_their_own_region_without_recognition(world):
    doc = fresh(world)
    answer = judged(verify(world, {"document": as_json(doc), "purpose": PURPOSE}, "beijing", Role.STAFF))
    assert answer["verdict"] == "valid" and answer["recognition"] is None
    assert verify_receipt(answer["receipt"], world.service.genesis).record["caller"]["role"] == "staff"


def test_a_person_holders_licence_is_verified_by_document_and_nothing_of_the_person_leaves(world):
    doc = fresh(world, holder=PERSON)
    for body in ({"document": as_json(doc)}, {"qr": world.qr(doc)}, {"licence_id": doc.licence.id}):
        response = verify(world, {**body, "purpose": PURPOSE})
        answer = judged(response)
        assert answer["verdict"] == "valid" and answer["licence"]["holder"] == {"kind": "person"}
        for secret in (PERSON.name, PERSON.id_number, b64encode(PERSON.salt)):
            assert secret not in response.text
            assert secret not in json.dumps(answer["receipt"], ensure_ascii=False)


# -- every way a licence fails --------------------------------------------------------------------


@pytest.mark.parametrize("kind, status", [("licence.revoke", "revoked"), ("licence.suspend", "suspended"), ("licence.cancel", "cancelled"), ("licence.annul", "annulled")])
def test_a_licence_that_is_not_valid_is_judged_invalid_and_recorded_so(world, kind, status):
    doc = fresh(world)
    world.act(kind, doc.licence.id)
    answer = judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    assert (answer["verdict"], failed(answer)) == ("invalid", ["status"])
    assert answer["licence"]["status"]["code"] == status and answer["licence"]["status"]["reason"]["code"] == "inspection"
    assert verify_receipt(answer["receipt"], world.service.genesis).record["verdict"] == "invalid"


def test_a_superseded_version_is_invalid_and_the_new_one_valid(world):
    old = fresh(world)
    new = world.document(int(old.licence.id.split(".")[7]), version="002")
    world.renew(old, new)
    stale = judged(verify(world, {"document": as_json(old), "purpose": PURPOSE}))
    assert (stale["verdict"], failed(stale)) == ("invalid", ["latest_version"])
    assert stale["licence"]["superseded_by"] == new.licence.id
    assert judged(verify(world, {"qr": world.qr(new), "purpose": PURPOSE}))["verdict"] == "valid"


def test_a_lapsed_licence_is_invalid_now_and_valid_when_asked_about_a_time_it_was_in_force(world):
    start = day_of(world.service.genesis.genesis_time) - dt.timedelta(days=30)
    doc = fresh(world, valid_until=start + dt.timedelta(days=10))
    lapsed = judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    assert (lapsed["verdict"], failed(lapsed)) == ("invalid", ["within_validity"])
    assert lapsed["licence"]["status"]["code"] == "lapsed" and lapsed["licence"]["validity"]["in_force"] is False
    then = world.service.genesis.genesis_time - 25 * 86_400_000
    earlier = judged(verify(world, {"licence_id": doc.licence.id, "at_time": then, "purpose": PURPOSE}))
    assert earlier["verdict"] == "valid" and earlier["at_time"] == then and earlier["licence"]["at_time"] == then


def test_an_absent_licence_is_invalid_with_no_metadata_and_is_recorded(world):
    doc = world.document(next(SERIALS))  # sealed, never issued
    before = recorded(world)
    answer = judged(verify(world, {"qr": world.qr(doc), "purpose": PURPOSE}))
    assert answer["verdict"] == "invalid" and failed(answer) == ["on_ledger"]
    assert answer["record"] is None and answer["licence"] is None
    assert outcomes(answer)["document_matches"] == "undecided"
    assert recorded(world) == before + 1 and answer["receipt"]["record"]["verdict"] == "invalid"


def test_a_tampered_document_fails_document_matches(world):
    doc = fresh(world)
    tampered = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, fields=(("经营场所", "北京市西城区"),)))
    answer = judged(verify(world, {"document": as_json(tampered), "purpose": PURPOSE}))
    assert (answer["verdict"], failed(answer)) == ("invalid", ["document_matches"])


def test_a_type_tianjin_has_no_recognition_rule_for_is_not_recognised_there(world):
    doc = fresh(world, type=OTHER_TYPE)
    answer = judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    assert (answer["verdict"], failed(answer), answer["recognition"]) == ("invalid", ["recognised"], None)
    assert judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}, "beijing", Role.STAFF))["verdict"] == "valid"


# -- who may ask, for where, and why ---------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PARTNER, Role.STAFF, Role.REGION_ADMIN])
def test_a_region_bound_caller_asking_for_another_region_is_refused_and_nothing_is_recorded(world, role):
    doc = fresh(world)
    before = recorded(world)
    response = verify(world, {"licence_id": doc.licence.id, "asking_region": "beijing", "purpose": PURPOSE}, "tianjin", role)
    expect_error(response, 403, "auth.wrong_region", "asking_region")
    assert recorded(world) == before


@pytest.mark.parametrize("role", [Role.ISSUER, Role.AUDITOR])
def test_issuers_and_auditors_may_ask_for_any_region_and_are_recorded_only_with_a_purpose(world, role):
    doc = fresh(world)
    before = recorded(world)
    answer = judged(verify(world, {"licence_id": doc.licence.id, "asking_region": "tianjin"}, "hebei", role))
    assert answer["verdict"] == "valid" and answer["asking_region"] == "tianjin" and answer["receipt"] is None
    assert recorded(world) == before
    answer = judged(verify(world, {"licence_id": doc.licence.id, "asking_region": "tianjin", "purpose": PURPOSE}, "hebei", role))
    assert verify_receipt(answer["receipt"], world.service.genesis).record["caller"]["role"] == role.value
    assert recorded(world) == before + 1
    unknown = verify(world, {"licence_id": doc.licence.id, "asking_region": "macau"}, "hebei", role)
    expect_error(unknown, 422, "verify.unknown_region", "asking_region")


@pytest.mark.parametrize("role, code", [(None, "auth.certificate_required"), (Role.VALIDATOR, "auth.forbidden")])
def test_callers_without_a_verifying_role_are_refused_and_nothing_is_recorded(world, role, code):
    doc = fresh(world)
    before = recorded(world)
    response = verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}, "tianjin", role)
    expect_error(response, 403, code)
    assert recorded(world) == before


@pytest.mark.parametrize("role", [Role.PARTNER, Role.STAFF])
def test_a_partner_or_staff_caller_must_state_a_purpose(world, role):
    doc = fresh(world)
    before = recorded(world)
    response = verify(world, {"licence_id": doc.licence.id}, "tianjin", role)
    problem = expect_error(response, 422, "auth.purpose_required", "purpose")
    assert "事项编码" in problem["detail"]
    assert recorded(world) == before


@pytest.mark.parametrize("purpose, field, code", [
    ({**PURPOSE, "item_code": "TJ SC"}, "purpose.item_code", "validation.format"),
    ({**PURPOSE, "item_name": "食品\n经营"}, "purpose.item_name", "validation.format"),
    ({**PURPOSE, "item_name": "许" * 129}, "purpose.item_name", "validation.format"),
    ({**PURPOSE, "serial": "9" * 65}, "purpose.serial", "validation.format"),
    ({"item_code": "TJ-SC-0012", "item_name": "食品经营"}, "purpose.serial", "validation.missing_field"),
    ({**PURPOSE, "note": "x"}, "purpose.note", "validation.unknown_field"),
    ({**PURPOSE, "serial": 17}, "purpose.serial", "validation.type"),
])
def test_a_malformed_purpose_is_refused_naming_its_member_and_nothing_is_recorded(world, purpose, field, code):
    doc = fresh(world)
    before = recorded(world)
    expect_error(verify(world, {"licence_id": doc.licence.id, "purpose": purpose}), 422, code, field)
    assert recorded(world) == before


def test_a_malformed_body_is_refused_before_anything_is_judged_or_recorded(world):
    doc = fresh(world)
    other = fresh(world)
    before = recorded(world)
    client = world.client("tianjin", Role.PARTNER)
    cases = [
        (client.post("/v1/verify", content=b"{"), 400, "api.bad_json", "body"),
        (client.post("/v1/verify", content=b'{"licence_id": "a", "licence_id": "b"}'), 400, "api.bad_json", "body"),
        (client.post("/v1/verify", content=b"[]"), 422, "validation.type", "body"),
        (client.post("/v1/verify", content=b" " * (256 * 1024 + 1)), 413, "api.too_large", "body"),
        (verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE, "extra": 1}), 422, "validation.unknown_field", "extra"),
        (verify(world, {"licence_id": None, "qr": world.qr(doc), "purpose": PURPOSE}), 422, "validation.type", "licence_id"),
        (verify(world, {"licence_id": doc.licence.id, "at_time": "now", "purpose": PURPOSE}), 422, "validation.type", "at_time"),
        (verify(world, {"licence_id": doc.licence.id, "at_time": -1, "purpose": PURPOSE}), 422, "validation.range", "at_time"),
        (verify(world, {"licence_id": doc.licence.id, "at_time": LAST_DATED_MS + 1, "purpose": PURPOSE}), 422, "validation.range", "at_time"),
        (verify(world, {"document": as_json(doc), "at_time": 2**53 - 1, "purpose": PURPOSE}), 422, "validation.range", "at_time"),
        (verify(world, {"purpose": PURPOSE}), 422, "verify.nothing_presented", "licence_id"),
        (verify(world, {"document": as_json(doc), "qr": world.qr(doc), "purpose": PURPOSE}), 422, "verify.two_presentations", "claim"),
        (verify(world, {"licence_id": other.licence.id, "qr": world.qr(doc), "purpose": PURPOSE}), 422, "verify.id_mismatch", "licence_id"),
        (verify(world, {"licence_id": doc.licence.id[:-1] + ("A" if doc.licence.id[-1] != "A" else "B"), "purpose": PURPOSE}), 422, "ids.bad_check_character", "licence_id"),
        (verify(world, {"qr": "EL1:" + "A" * 10, "purpose": PURPOSE}), 422, "qr.base45", "qr"),
        (verify(world, {"qr": "EL1:" + "A" * 700, "purpose": PURPOSE}), 422, "qr.too_large", "qr"),
        (verify(world, {"document": {**as_json(doc), "format": "other"}, "purpose": PURPOSE}), 422, "document.format", "document.format"),
    ]
    for response, status, code, field in cases:
        expect_error(response, status, code, field)
    assert recorded(world) == before


def test_a_recorded_caller_gets_no_verdict_when_the_node_cannot_record_it(world, monkeypatch):
    doc = fresh(world)

    async def unavailable(records):
        raise NodeError("this node is not a validator and keeps no use records; ask a validator", code="node.uses_unavailable")

    monkeypatch.setattr(world.service, "record_uses", unavailable)
    response = verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE})
    expect_error(response, 503, "node.uses_unavailable")
    assert response.headers["retry-after"] == "1" and "verdict" not in response.json()
    assert judged(verify(world, {"licence_id": doc.licence.id, "asking_region": "tianjin"}, "hebei", Role.AUDITOR))["receipt"] is None


def test_before_the_first_block_there_is_nothing_to_judge(world):
    service = LocalNodeService(world.pki.net)
    with TestClient(presenting(create_app(service), world.pki.pem("hebei", Role.AUDITOR))) as client:
        response = client.post("/v1/verify", json={"licence_id": world.document(1).licence.id})
        expect_error(response, 503, "node.starting")
    service.close()


def test_each_verdict_answered_is_counted_by_verdict_and_asking_region(world):
    doc = fresh(world)
    world.act("licence.revoke", doc.licence.id)
    series = ("invalid", "tianjin")
    before = VERIFY_REQUESTS.labels(*series)._value.get()
    judged(verify(world, {"licence_id": doc.licence.id, "purpose": PURPOSE}))
    expect_error(verify(world, {"licence_id": doc.licence.id}), 422, "auth.purpose_required", "purpose")
    assert VERIFY_REQUESTS.labels(*series)._value.get() == before + 1
    scraped = world.client().get("/metrics").text
    assert 'eledger_verify_requests_total{asking_region="tianjin",verdict="invalid"}' in scraped
