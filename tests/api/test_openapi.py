"""The OpenAPI document of the verification service (api/licence_schemas.py, api/examples.py):
every route is there with examples of its request and its answer, and every example is an
instance of its model, so the document shows what the routes really take and give."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api import examples
from api.main import create_app
from certs.roles import Role
from api.licence_schemas import (
    AsOf, CommittedReceiptJson, HistoryPage, HolderProof, LicenceAnswer, LicenceJson, LicencePage, LicenceRecordJson, PurposeJson,
    ReceiptJson, UseAnswer, UsePage, UseRecordJson, VerifyAnswer, VerifyRequest,
)
from ledger.bundle import Bundle
from ledger.document import LicenceDocument
from ledger.ids import parse_licence_id
from ledger.licences import licence_key
from ledger.qr import decode_qr
from ledger.receipt import Receipt
from tests.api.pki import presenting
from tests.api.service import LocalNodeService

ROUTES = {
    ("/v1/verify", "post"),
    ("/v1/licences", "get"),
    ("/v1/licences/{licence_id}", "get"),
    ("/v1/licences/{licence_id}/history", "get"),
    ("/v1/licences/{licence_id}/bundle", "get"),
    ("/v1/licences/{licence_id}/uses", "get"),
    ("/v1/licences/{licence_id}/uses", "post"),
    ("/v1/receipts/committed", "post"),
    ("/v1/uses/{use_id}", "get"),
}


@pytest.fixture(scope="module")
def document(net, pki):
    service = LocalNodeService(net)
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        yield client.get("/openapi.json").json()
    service.close()


@pytest.mark.parametrize("path, method", sorted(ROUTES))
def test_every_route_is_documented_with_examples_of_its_request_and_answer(document, path, method):
    operation = document["paths"][path][method]
    body = operation.get("requestBody")
    if body is not None:
        assert body["content"]["application/json"]["examples"]
        assert body["content"]["application/json"]["schema"]["additionalProperties"] is False
    for parameter in operation.get("parameters", []):
        assert parameter["schema"].get("examples") or parameter.get("examples"), (path, parameter["name"])
    answer = operation["responses"]["200"]["content"]["application/json"]
    assert answer["examples"], path
    assert {"403", "422", "500"} <= set(operation["responses"]) or path == "/v1/licences/{licence_id}/uses" and method == "post"


@pytest.mark.parametrize("model, example", [
    (VerifyRequest, examples.VERIFY_BY_ID), (VerifyRequest, examples.VERIFY_BY_QR), (VerifyRequest, examples.VERIFY_BY_DOCUMENT),
    (VerifyAnswer, examples.VERIFY_ANSWER), (PurposeJson, examples.PURPOSE), (AsOf, examples.AS_OF),
    (LicenceRecordJson, examples.RECORD), (LicenceJson, examples.LICENCE), (LicenceAnswer, examples.LICENCE_ANSWER),
    (HistoryPage, examples.HISTORY_PAGE), (LicencePage, examples.LICENCE_PAGE), (UseRecordJson, examples.USE_RECORD),
    (UsePage, examples.USE_PAGE), (UseAnswer, examples.USE_ANSWER), (ReceiptJson, examples.RECEIPT),
    (CommittedReceiptJson, examples.COMMITTED_RECEIPT), (HolderProof, {"document": examples.DOCUMENT}), (HolderProof, {"qr": examples.QR}),
], ids=lambda v: getattr(v, "__name__", ""))
def test_every_example_is_an_instance_of_its_model(model, example):
    model.model_validate(example, strict=True)


def test_the_examples_are_well_formed_ledger_values():
    assert parse_licence_id(examples.LICENCE_ID).text == examples.LICENCE_ID
    assert decode_qr(examples.QR).licence_id.text == examples.LICENCE_ID
    assert LicenceDocument.from_json(examples.DOCUMENT).licence.id == examples.LICENCE_ID
    assert Receipt.from_json(examples.COMMITTED_RECEIPT).committed and Receipt.from_json(examples.RECEIPT).id == "beijing-1:0"
    bundle = Bundle.from_json(examples.BUNDLE)
    assert bundle.header.chain_id == examples.RECEIPT["chain_id"] and licence_key(examples.LICENCE_ID) in {e.key for e in bundle.entries}


@pytest.mark.parametrize("path, name, format", [
    ("/v1/departments/{uscc}", "uscc", "uscc"),
    ("/v1/licences/{licence_id}", "licence_id", "licence-id"),
    ("/v1/licences", "holder_uscc", "uscc"),
    ("/v1/licences", "issuer", "uscc"),
    ("/v1/licences", "type", "licence-type"),
    ("/v1/licences", "commitment_due_before", "date"),
])
def test_a_parameter_with_a_check_character_has_a_pattern_and_names_its_format(document, path, name, format):
    """api.md §1.2: the pattern states the shape; the format the check no pattern can state."""
    (parameter,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
    assert parameter["schema"]["pattern"] and parameter["schema"]["format"] == format


def caller_entries(dependant) -> set[str]:
    """The ROUTES entries whose caller_for dependency `dependant` has, at any depth, that
    identify their caller (the probes' do not)."""
    found = set()
    for dependency in dependant.dependencies:
        entry = getattr(dependency.call, "route", None)
        if entry is not None and getattr(dependency.call, "identifies", False):
            found.add(entry)
        found |= caller_entries(dependency)
    return found


def test_every_operation_documents_what_any_request_and_any_identified_caller_may_get(document):
    """429 and 500 for every request (api.md §6.6, §3.4); 403 (a refused or revoked certificate,
    §6.1) and 503 (the node out of reach, §3.3) for every route that identifies its caller, which
    is every /v1 route; the probes never read a certificate (§7)."""
    from api.routers import ROOT_ROUTERS, ROUTERS

    for router, prefix in [(r, "/v1") for r in ROUTERS] + [(r, "") for r in ROOT_ROUTERS]:
        for route in router.routes:
            reads_caller = bool(caller_entries(route.dependant))
            assert reads_caller == (prefix == "/v1"), route.path
            for method in route.methods:
                statuses = set(document["paths"][prefix + route.path][method.lower()]["responses"])
                assert {"429", "500"} <= statuses and (not reads_caller or {"403", "503"} <= statuses), (method, route.path)
