"""The request shapes of a licence document, a seal signature and a receipt (api/document_schemas.py,
api/licence_schemas.py; api.md §1.3): what the ledger makes fits them, what the node refuses for
its form does not, and the OpenAPI document states them in the request bodies that carry them,
with which members go together."""

from __future__ import annotations

import pydantic
import pytest
from fastapi.testclient import TestClient

from api.document_schemas import LicenceDocumentJson
from api.licence_schemas import ReceiptJson
from api.main import create_app
from api.read_schemas import SealedHash
from certs.roles import Role
from ledger.document import LicenceDocument
from ledger.errors import LedgerError
from tests.api.pki import presenting
from tests.api.world import PERSON, PURPOSE, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("documents") / "net")
    yield world
    world.close()


@pytest.fixture(scope="module")
def document(world):
    service = world.service
    with TestClient(presenting(create_app(service), world.pki.pem("beijing", Role.AUDITOR))) as client:
        yield client.get("/openapi.json").json()


def body_schema(document: dict, path: str) -> dict:
    return document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("holder", ["enterprise", "person"])
def test_a_document_the_ledger_seals_fits_the_schema(world, holder):
    doc = world.document(7, **({"holder": PERSON} if holder == "person" else {}))
    LicenceDocumentJson.model_validate(doc.to_json(), strict=True)


@pytest.mark.parametrize("change", [
    lambda d: d["licence"].pop("commitment_deadline"),  # a member that may be null, never left out
    lambda d: d["licence"].update({"note": "x"}),
    lambda d: d["seal_signature"].update({"document_hash": "AAAA"}),  # 3 bytes, not 32
    lambda d: d["seal_signature"]["signature"].update({"suite": "p256"}),
    lambda d: d["licence"]["issuer"].update({"uscc": "1111000096296095OK"}),  # O: not of the USCC alphabet
])
def test_a_document_the_ledger_refuses_for_its_form_does_not_fit_the_schema(world, change):
    obj = world.document(8).to_json()
    change(obj)
    with pytest.raises(LedgerError):
        LicenceDocument.from_json(obj)
    with pytest.raises(pydantic.ValidationError):
        LicenceDocumentJson.model_validate(obj, strict=True)


def test_a_sealed_hash_states_its_hash_and_owner_exactly(world):
    doc = world.document(9)
    sealed = {"document_hash": doc.to_json()["seal_signature"]["document_hash"], "seal_signature": doc.to_json()["seal_signature"]}
    SealedHash.model_validate(sealed, strict=True)
    for wrong in ({"document_hash": "AAAA"}, {"owner": "1111000096296095OK"}, {"at_time": 2**53}):
        with pytest.raises(pydantic.ValidationError):
            SealedHash.model_validate({**sealed, **wrong}, strict=True)


def test_a_receipt_the_node_signs_fits_the_schema_and_a_foreign_chain_id_form_does_not(world):
    answer = world.client("tianjin", Role.PARTNER).post("/v1/verify", json={"licence_id": world.document(10).licence.id, "purpose": PURPOSE}).json()
    ReceiptJson.model_validate(answer["receipt"], strict=True)
    with pytest.raises(pydantic.ValidationError):
        ReceiptJson.model_validate({**answer["receipt"], "chain_id": "a" * 51}, strict=True)


def test_the_request_bodies_state_the_document_and_which_members_go_together(document):
    verify = body_schema(document, "/v1/verify")
    assert verify["properties"]["document"]["properties"]["format"]["const"] == "eledger-licence/2"
    assert verify["properties"]["document"]["additionalProperties"] is False
    assert verify["anyOf"] == [{"required": ["licence_id"]}, {"required": ["document"]}, {"required": ["qr"]}]
    assert verify["not"] == {"required": ["document", "qr"]}
    assert verify["properties"]["qr"]["pattern"].startswith("^EL1:")
    holder = body_schema(document, "/v1/licences/{licence_id}/uses")
    assert holder["oneOf"] == [{"required": ["document"]}, {"required": ["qr"]}]
    assert body_schema(document, "/v1/receipts/committed")["dependentRequired"] == {"place": ["proof"], "proof": ["place"]}
    sealed_hash, sealed_document = body_schema(document, "/v1/seals/verify")["oneOf"]
    assert sealed_hash["properties"]["document_hash"]["pattern"] == "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
    assert sealed_document["properties"]["document"]["properties"]["licence"]["additionalProperties"] is False
    assert "$defs" not in str(verify) and "discriminator" not in str(verify)  # inlined: every reference resolves here
