"""Registry reads (api/routers/registry.py, api.md §2.10): licence types, departments (all, one
with its types and seals, its seals page by page), recognition rules by asking region and region
pair, regions and validators; pages walked to the end with their cursors, and the refusals of
bad parameters naming them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.read_schemas import DepartmentDetail, DepartmentPage, LicenceTypePage, RecognitionRulePage, RegionList, SealPage, ValidatorList
from ledger.encoding import b64encode
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error
from tests.ledger.conftest import make_net
from tests.ledger.test_governance import uscc
from tests.ledger.test_registry import registry  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def net():
    """The ledger tests' network (their fixtures date blocks from its genesis time)."""
    return make_net()


def serving(ledger) -> LocalNodeService:
    """The chain `ledger` built, served as a node."""
    service = LocalNodeService(ledger.net)
    service.local, service.chain = ledger.local, ledger.local.chain
    return service


@pytest.fixture
def world(registry):  # noqa: F811
    ledger, types = registry
    with TestClient(create_app(serving(ledger))) as client:
        yield client, ledger, types


def walk(client, path: str, **params) -> list[dict]:
    """Every item of a listing, read one item per page."""
    items, after = [], None
    while True:
        query = {**params, "limit": 1, **({"after": after} if after else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.json()
        page = response.json()
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items


def test_licence_types_are_listed_by_code_and_page_by_page(world):
    client, ledger, (t1, t2, t3) = world
    body = client.get("/v1/licence-types").json()
    LicenceTypePage.model_validate(body)
    assert body["height"] == ledger.local.chain.height and body["next_cursor"] is None
    assert [t["code"] for t in body["items"]] == [t1, t2, t3]
    assert body["items"][2] == {"code": t3, "name": "type 003", "region": "tianjin", "validity_required": True}
    assert walk(client, "/v1/licence-types") == body["items"]


def test_departments_are_listed_by_uscc_and_by_region(world):
    client, _, (t1, t2, _) = world
    body = client.get("/v1/departments").json()
    DepartmentPage.model_validate(body)
    assert [d["uscc"] for d in body["items"]] == sorted([uscc(11), uscc(12), uscc(13)])
    beijing = client.get("/v1/departments", params={"region": "beijing"}).json()["items"]
    assert [d["uscc"] for d in beijing] == sorted([uscc(11), uscc(12)])
    assert {d["region"] for d in beijing} == {"beijing"} and all(d["status"] == "active" for d in beijing)
    assert [d["uscc"] for d in walk(client, "/v1/departments", region="tianjin")] == [uscc(13)]
    assert client.get("/v1/departments", params={"region": "shanghai"}).json()["items"] == []


def test_one_department_shows_its_types_by_name_and_its_seals(world):
    client, _, (t1, t2, _) = world
    body = client.get(f"/v1/departments/{uscc(11)}").json()
    DepartmentDetail.model_validate(body)
    assert body["licence_types"] == [{"code": t1, "name": "type 001"}, {"code": t2, "name": "type 002"}]
    assert [(s["seal_id"], s["status"]) for s in body["seals"]] == [("BJREGSEAL00A", "active"), ("BJREGSEAL00B", "revoked")]
    assert body["seals_next"] is None and body["region"] == "beijing"
    seals = client.get(f"/v1/departments/{uscc(11)}/seals").json()
    SealPage.model_validate(seals)
    assert seals["items"] == body["seals"]
    assert walk(client, f"/v1/departments/{uscc(11)}/seals") == body["seals"]
    assert client.get(f"/v1/departments/{uscc(99)}/seals").json()["items"] == []


def test_an_organisation_not_admitted_is_404(world):
    client, _, _ = world
    problem = expect_error(client.get(f"/v1/departments/{uscc(99)}"), 404, "api.no_department", "path.uscc")
    assert uscc(99) in problem["detail"]


@pytest.mark.parametrize("text", [uscc(11)[:-1] + ("0" if uscc(11)[-1] != "0" else "1"), uscc(11).lower(), uscc(11)[:-1], uscc(11) + "0", "%20" + uscc(11), "IOSVZ" + uscc(11)[5:]])
def test_a_malformed_uscc_is_refused_by_name(world, text):
    client, _, _ = world
    expect_error(client.get(f"/v1/departments/{text}"), 422, "api.invalid_parameter", "path.uscc")
    expect_error(client.get(f"/v1/departments/{text}/seals"), 422, "api.invalid_parameter", "path.uscc")


def test_recognition_rules_by_asking_region_and_by_region_pair(world):
    client, _, (t1, t2, t3) = world
    body = client.get("/v1/recognition-rules").json()
    RecognitionRulePage.model_validate(body)
    assert [(r["region"], r["from_region"], r["type"]) for r in body["items"]] == [("hebei", "beijing", t2), ("hebei", "tianjin", t3), ("tianjin", "beijing", t1)]
    assert body["items"][2]["as_type"] == t3 and body["items"][2]["conditions"] == "original on request"
    assert [r["type"] for r in client.get("/v1/recognition-rules", params={"region": "hebei"}).json()["items"]] == [t2, t3]
    pair = client.get("/v1/recognition-rules", params={"region": "hebei", "from_region": "tianjin"}).json()["items"]
    assert [(r["region"], r["from_region"], r["type"]) for r in pair] == [("hebei", "tianjin", t3)]
    assert [r["region"] for r in client.get("/v1/recognition-rules", params={"from_region": "beijing"}).json()["items"]] == ["hebei", "tianjin"]
    assert walk(client, "/v1/recognition-rules") == body["items"]


def test_regions_and_validators_come_whole(world):
    client, ledger, _ = world
    genesis = ledger.net.genesis
    regions = client.get("/v1/regions").json()
    RegionList.model_validate(regions)
    assert [r["name"] for r in regions["items"]] == [r.name for r in genesis.regions]
    assert regions["items"][0]["admins"] == [b64encode(ledger.net.admin_keys["beijing"].public_key.key_id)]
    validators = client.get("/v1/validators").json()
    ValidatorList.model_validate(validators)
    assert [(v["name"], v["key_id"], v["power"]) for v in validators["items"]] == [(v.name, b64encode(v.key_id), v.power) for v in genesis.validators]
    assert validators["items"][0]["public_key"] == next(iter(genesis.validators)).public_key.to_json()


@pytest.mark.parametrize("path, params, field", [
    ("/v1/licence-types", {"limit": "0"}, "query.limit"),
    ("/v1/licence-types", {"limit": "501"}, "query.limit"),
    ("/v1/licence-types", {"limit": "01"}, "query.limit"),
    ("/v1/departments", {"limit": "1.0"}, "query.limit"),
    ("/v1/departments", {"region": "Beijing"}, "query.region"),
    ("/v1/recognition-rules", {"from_region": "a/b"}, "query.from_region"),
    ("/v1/recognition-rules", {"region": ""}, "query.region"),
    ("/v1/licence-types", {"after": "not base64!"}, "query.after"),
    ("/v1/licence-types", {"after": ""}, "query.after"),
])
def test_bad_parameters_are_refused_by_name(world, path, params, field):
    client, _, _ = world
    expect_error(client.get(path, params=params), 422, "api.invalid_parameter", field)


def test_a_cursor_of_another_listing_is_refused(world):
    client, _, _ = world
    cursor = client.get("/v1/licence-types", params={"limit": 1}).json()["next_cursor"]
    problem = expect_error(client.get("/v1/departments", params={"after": cursor}), 422, "query.bad_cursor", "query.after")
    assert problem["title"] == "Invalid query"
