"""GET /v1/seals/{seal_id} and POST /v1/seals/verify (api/routers/seals.py, api.md §2.8, §2.9):
a seal with its owner; a sealed document (hash and seal signature, or a licence document)
judged with every GB/T 38540 step; who may ask; and the refusals of bodies, each naming the
member at fault. The chain is the real PKI's (callers present certificates of its regions)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.read_schemas import SealAnswer, SealVerdictJson
from certs.roles import Role
from ledger.crypto import PrivateKey
from ledger.encoding import b64encode
from ledger.seals import SealSignature
from tests.api.pki import make_pki, presenting
from tests.api.test_registry import serving
from tests.api.test_transactions import expect_error
from tests.ledger.test_governance import YEAR_MS, Ledger, grant, type_code, uscc
from tests.ledger.test_seals import seal_body
from tests.ledger.test_verify import Dept, issue, make_doc

T = type_code(41)
DOCUMENT = bytes(range(32))
CHECKS = ["seal.registered", "seal.valid_at_signing", "seal.signer_allowed", "seal.document_hash", "seal.signer_key", "seal.signature"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("seals") / "net")


@pytest.fixture(scope="module")
def world(pki):
    """A Beijing department with a seal, on the PKI's chain (times from its genesis); a licence
    issued under the seal; and an app serving that chain."""
    ledger = Ledger(pki.net)
    ledger.time = start = pki.net.genesis.genesis_time
    dept = Dept(uscc(801), PrivateKey.generate(), "BJSEALAPI001")
    ledger.accept(ledger.admin("beijing", "ltype.register", {"code": T, "name": "食品经营许可证", "validity_required": False}))
    ledger.accept(ledger.admin("beijing", "org.admit", {
        "uscc": dept.uscc, "name": "北京市某区市场监督管理局", "keys": [grant(dept.key, start, start + YEAR_MS)], "licence_types": [T],
    }))
    ledger.accept(ledger.signed(dept.key, "seal.register", seal_body(dept.seal_id, dept.uscc, dept.key, valid_from=start, valid_until=start + YEAR_MS)))
    document = make_doc(ledger, dept, 9001)
    issue(ledger, dept, document)
    return ledger, dept, document, create_app(serving(ledger))


def client_of(app, pki, role: Role | None = Role.STAFF, region: str = "tianjin") -> TestClient:
    return TestClient(presenting(app, None if role is None else pki.pem(region, role)))


def sealed_hash(ledger, dept, document_hash: bytes = DOCUMENT, **extra) -> dict:
    signature = SealSignature.create(dept.key, ledger.net.genesis.chain_id, dept.seal_id, document_hash, ledger.time)
    return {"document_hash": b64encode(document_hash), "seal_signature": json.loads(json.dumps(signature.to_json(), default=b64encode)), **extra}


def test_a_seal_is_answered_with_its_owner_to_anyone(pki, world):
    ledger, dept, _, app = world
    with client_of(app, pki, None) as client:
        response = client.get(f"/v1/seals/{dept.seal_id}")
    assert response.status_code == 200
    body = response.json()
    SealAnswer.model_validate(body)
    assert body["height"] == ledger.local.chain.height
    assert (body["seal"]["seal_id"], body["seal"]["owner"], body["seal"]["status"]) == (dept.seal_id, dept.uscc, "active")
    assert body["seal"]["signers"] == [b64encode(dept.key.public_key.key_id)]
    assert (body["owner"]["uscc"], body["owner"]["region"]) == (dept.uscc, "beijing")


def test_an_unknown_seal_is_404_and_a_malformed_id_422(pki, world):
    _, _, _, app = world
    with client_of(app, pki, None) as client:
        expect_error(client.get("/v1/seals/BJNOSUCH0001"), 404, "api.no_seal", "path.seal_id")
        for text in ("bjsealapi001", "SHORT", "A" * 33, "BJSEAL%20API1"):
            expect_error(client.get(f"/v1/seals/{text}"), 422, "api.invalid_parameter", "path.seal_id")


def test_a_sealed_hash_is_judged_step_by_step(pki, world):
    ledger, dept, _, app = world
    with client_of(app, pki) as client:
        response = client.post("/v1/seals/verify", json=sealed_hash(ledger, dept, owner=dept.uscc))
    assert response.status_code == 200, response.json()
    body = response.json()
    SealVerdictJson.model_validate(body)
    assert body["verdict"] == "valid" and body["height"] == ledger.local.chain.height
    assert [c["name"] for c in body["checks"]] == CHECKS[:1] + ["seal.owner"] + CHECKS[1:]
    assert all(c["outcome"] == "passed" for c in body["checks"])
    assert (body["owner"], body["seal_id"], body["recorded"], body["at_time"]) == (dept.uscc, dept.seal_id, None, None)


def test_a_seal_signature_over_another_document_is_an_invalid_verdict_not_an_error(pki, world):
    ledger, dept, _, app = world
    request = sealed_hash(ledger, dept)
    request["document_hash"] = b64encode(bytes(32))
    with client_of(app, pki, Role.PARTNER) as client:
        body = client.post("/v1/seals/verify", json=request).json()
    assert body["verdict"] == "invalid"
    assert [c["name"] for c in body["checks"] if c["outcome"] != "passed"] == ["seal.document_hash"]


def test_a_licence_document_is_judged_as_its_issuers_seal_at_the_time_it_was_recorded(pki, world):
    ledger, dept, document, app = world
    with client_of(app, pki, Role.AUDITOR, "beijing") as client:
        body = client.post("/v1/seals/verify", json={"document": json.loads(document.to_bytes())}).json()
    assert body["verdict"] == "valid" and body["owner"] == dept.uscc and body["document_hash"] == b64encode(document.hash)
    assert body["recorded"]["kind"] == "licence" and body["recorded"]["licence_id"] == document.licence.id
    assert body["at_time"] == body["recorded"]["at"]


@pytest.mark.parametrize("role, code", [(None, "auth.certificate_required"), (Role.VALIDATOR, "auth.forbidden")])
def test_only_the_roles_of_the_table_may_verify_a_seal(pki, world, role, code):
    ledger, dept, _, app = world
    with client_of(app, pki, role) as client:
        expect_error(client.post("/v1/seals/verify", json=sealed_hash(ledger, dept)), 403, code)


def bodies(ledger, dept, document):
    good = sealed_hash(ledger, dept)
    doc = json.loads(document.to_bytes())
    return [
        ({**good, "extra": 1}, "validation.unknown_field", "extra"),
        ({"document_hash": good["document_hash"]}, "validation.missing_field", "seal_signature"),
        ({**good, "document_hash": b64encode(bytes(31))}, "validation.length", "document_hash"),
        ({**good, "document_hash": "not base64!"}, "validation.binary", "document_hash"),
        ({**good, "document_hash": 7}, "validation.type", "document_hash"),
        ({**good, "at_time": -1}, "validation.range", "at_time"),
        ({**good, "at_time": 1.5}, "validation.range", "at_time"),
        ({**good, "owner": uscc(801)[:-1] + "0"}, "ids.bad_uscc", "owner"),
        ({**good, "seal_signature": {**good["seal_signature"], "seal_id": "lower"}}, "validation.format", "seal_signature.seal_id"),
        ({**good, "seal_signature": {**good["seal_signature"], "kind": "licence.change"}}, "seal.bad_kind", "seal_signature.kind"),
        ({"document": {**doc, "format": "eledger-licence/1"}}, "document.format", "document.format"),
        ({"document": doc, "document_hash": good["document_hash"]}, "validation.unknown_field", "document_hash"),
        ([good], "validation.type", "body"),
    ]


def test_every_bad_body_is_refused_naming_the_member(pki, world):
    ledger, dept, document, app = world
    with client_of(app, pki) as client:
        for body, code, field in bodies(ledger, dept, document):
            expect_error(client.post("/v1/seals/verify", json=body), 422, code, field)
        expect_error(client.post("/v1/seals/verify", content=b'{"document_hash": '), 400, "api.bad_json", "body")
        expect_error(client.post("/v1/seals/verify", content=b" " * (256 * 1024 + 1)), 413, "api.too_large", "body")


def test_openapi_documents_both_forms_of_a_sealed_document(pki, world):
    _, _, _, app = world
    with client_of(app, pki, None) as client:
        operation = client.get("/openapi.json").json()["paths"]["/v1/seals/verify"]["post"]
    forms = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert [set(form["required"]) for form in forms] == [{"document_hash", "seal_signature"}, {"document"}]
    assert "$ref" not in json.dumps(forms)
    assert {"200", "400", "403", "413", "422", "429", "500", "503"} == set(operation["responses"])
