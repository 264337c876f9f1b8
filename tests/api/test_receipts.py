"""Receipts and committed use records (api/routers/receipts.py, api.md §2.17–§2.18): a receipt
comes back with its place and proof once its record is committed (404 with Retry-After before),
checkable offline against the genesis; a forged receipt is refused; a record is shown to the
caller it was made for, auditors, the department and the region, and to no one else."""

from __future__ import annotations

import pytest

from api.licence_schemas import CommittedReceiptJson, UseAnswer
from certs.roles import Role
from ledger.encoding import decode
from ledger.receipt import verify_receipt
from tests.api.test_transactions import expect_error
from tests.api.world import PURPOSE, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("receipts") / "net")
    yield world
    world.close()


SERIALS = iter(range(100, 10_000))


def receipt_of(world: World, region: str = "tianjin", role: Role = Role.PARTNER) -> dict:
    """The receipt of a new verification by the first `role` certificate of `region`."""
    doc = world.document(next(SERIALS))
    world.issue(doc)
    response = world.client(region, role).post("/v1/verify", json={"licence_id": doc.licence.id, "purpose": PURPOSE})
    assert response.status_code == 200, response.text
    return response.json()["receipt"]


def use_id(receipt: dict) -> str:
    return f"{receipt['record']['node']}:{receipt['record']['seq']}"


def test_a_receipt_comes_back_committed_with_its_place_and_proof(world):
    receipt = receipt_of(world)
    partner = world.client("tianjin", Role.PARTNER)
    pending = partner.post("/v1/receipts/committed", json=receipt)
    problem = expect_error(pending, 404, "receipt.not_committed", "receipt.record")
    assert pending.headers["retry-after"] == "2" and "ask again" in problem["detail"]
    expect_error(partner.get(f"/v1/uses/{use_id(receipt)}"), 404, "use.not_found", "path.use_id")
    world.service.produce()
    response = partner.post("/v1/receipts/committed", json=receipt)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    committed = decode(response.content)  # canonical bytes
    CommittedReceiptJson.model_validate(committed, strict=True)
    proven = verify_receipt(response.content, world.service.genesis)
    assert proven.committed and proven.record == receipt["record"] and proven.place.height == world.service.chain.height
    again = partner.post("/v1/receipts/committed", json=committed)  # the committed form is accepted too
    assert again.content == response.content
    use = partner.get(f"/v1/uses/{use_id(receipt)}").json()
    UseAnswer.model_validate(use, strict=True)
    assert use["id"] == use_id(receipt) and use["record"] == receipt["record"]
    assert use["place"] == committed["place"] and use["block_time"] == proven.time


def test_a_forged_or_foreign_receipt_is_refused_before_anything_is_read(world):
    receipt = receipt_of(world)
    world.service.produce()
    partner = world.client("tianjin", Role.PARTNER)
    forged = {**receipt, "record": {**receipt["record"], "verdict": "invalid"}}
    expect_error(partner.post("/v1/receipts/committed", json=forged), 422, "receipt.bad_signature", "receipt.signature")
    expect_error(partner.post("/v1/receipts/committed", json={**receipt, "chain_id": "other"}), 422, "receipt.wrong_chain", "receipt.chain_id")
    expect_error(partner.post("/v1/receipts/committed", json={**receipt, "format": "x"}), 422, "receipt.unsupported_format", "receipt.format")
    expect_error(partner.post("/v1/receipts/committed", content=b"{"), 400, "api.bad_json", "body")


@pytest.mark.parametrize("by, allowed", [
    (("tianjin", Role.PARTNER), True),  # the caller it was made for
    (("hebei", Role.AUDITOR), True),
    (("beijing", Role.ISSUER), True),  # the licence's department
    (("beijing", Role.REGION_ADMIN), True),  # the licence's region
    (("tianjin", Role.REGION_ADMIN), True),  # the caller's region
    (("hebei", Role.PARTNER), False),
    (("tianjin", Role.STAFF), False),
    (("tianjin", Role.ISSUER), False),
    (("hebei", Role.REGION_ADMIN), False),
])
def test_a_record_is_shown_only_to_those_it_concerns(world, by, allowed):
    receipt = receipt_of(world)
    world.service.produce()
    client = world.client(*by)
    committed = client.post("/v1/receipts/committed", json=receipt)
    use = client.get(f"/v1/uses/{use_id(receipt)}")
    if allowed:
        assert committed.status_code == 200 and use.status_code == 200
    else:
        code = "auth.wrong_region" if by[1] == Role.REGION_ADMIN else "auth.not_concerned"
        expect_error(committed, 403, code, "receipt.record")
        expect_error(use, 403, code, "path.use_id")


def test_a_malformed_use_id_or_a_caller_without_a_certificate_is_refused(world):
    auditor = world.client("hebei", Role.AUDITOR)
    expect_error(auditor.get("/v1/uses/beijing-1:007"), 422, "api.invalid_parameter", "path.use_id")
    expect_error(auditor.get("/v1/uses/Beijing:1"), 422, "api.invalid_parameter", "path.use_id")
    expect_error(auditor.get("/v1/uses/beijing-1:99999"), 404, "use.not_found", "path.use_id")
    expect_error(world.client().get("/v1/uses/beijing-1:0"), 403, "auth.certificate_required")
