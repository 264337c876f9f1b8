"""GET /v1/scenarios (api/routers/scenarios.py, api.md §2.19): a region's use scenarios by code,
withdrawn ones only when asked, open to anyone, and the refusals of bad parameters naming
them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.read_schemas import ScenarioList
from ledger.scenarios import KIND
from tests.api.test_registry import serving
from tests.api.test_transactions import expect_error
from tests.ledger.conftest import make_net
from tests.ledger.test_governance import Ledger


@pytest.fixture(scope="module")
def net():
    """The ledger tests' network (their fixtures date blocks from its genesis time)."""
    return make_net()


@pytest.fixture(scope="module")
def world(net):
    """Beijing declared BJ-SP-001 (types 1, 2), BJ-KH-001 (type 1) and withdrew BJ-YS-001;
    Tianjin declared TJ-KH-001 (type 2)."""
    ledger = Ledger(net)
    t1, t2 = ledger.register_types("beijing", 1, 2)

    def declare(region: str, code: str, name: str, types: list[str], **more: object):
        return ledger.admin(region, KIND, {"code": code, "name": name, "region": region, "licence_types": types, **more})

    ledger.accept(
        declare("beijing", "BJ-SP-001", "食品经营许可核查", [t2, t1], name_en="Food business licence check"),
        declare("beijing", "BJ-KH-001", "企业开户核验", [t1]),
        declare("beijing", "BJ-YS-001", "道路运输经营许可变更", [t2]),
        declare("tianjin", "TJ-KH-001", "企业开户核验", [t2]),
    )
    ledger.accept(declare("beijing", "BJ-YS-001", "道路运输经营许可变更", [t2], withdrawn=True))
    with TestClient(create_app(serving(ledger))) as client:
        yield client, ledger, (t1, t2)


def test_a_regions_scenarios_in_force_are_listed_by_code(world):
    client, ledger, (t1, t2) = world
    response = client.get("/v1/scenarios", params={"region": "beijing"})
    assert response.status_code == 200, response.text
    body = response.json()
    ScenarioList.model_validate(body)
    assert (body["height"], body["region"]) == (ledger.local.chain.height, "beijing")
    assert [s["code"] for s in body["scenarios"]] == ["BJ-KH-001", "BJ-SP-001"]
    assert body["scenarios"][1] == {
        "code": "BJ-SP-001", "name": "食品经营许可核查", "name_en": "Food business licence check", "region": "beijing",
        "licence_types": [t1, t2], "withdrawn": False, "declared_at": body["scenarios"][1]["declared_at"],
    }
    assert body["scenarios"][0]["name_en"] is None


def test_withdrawn_scenarios_are_listed_only_when_asked(world):
    client, _, _ = world
    body = client.get("/v1/scenarios", params={"region": "beijing", "withdrawn": "include"}).json()
    assert [(s["code"], s["withdrawn"]) for s in body["scenarios"]] == [("BJ-KH-001", False), ("BJ-SP-001", False), ("BJ-YS-001", True)]
    assert [s["code"] for s in client.get("/v1/scenarios", params={"region": "beijing", "withdrawn": "exclude"}).json()["scenarios"]] == ["BJ-KH-001", "BJ-SP-001"]


def test_each_region_sees_its_own_list_and_a_region_without_scenarios_an_empty_one(world):
    client, _, (_, t2) = world
    tianjin = client.get("/v1/scenarios", params={"region": "tianjin"}).json()["scenarios"]
    assert [(s["code"], s["region"], s["licence_types"]) for s in tianjin] == [("TJ-KH-001", "tianjin", [t2])]
    assert client.get("/v1/scenarios", params={"region": "hebei"}).json()["scenarios"] == []
    assert client.get("/v1/scenarios", params={"region": "shanghai"}).json()["scenarios"] == []


@pytest.mark.parametrize("params, field", [
    ({"region": "Bei Jing"}, "query.region"),
    ({"region": "x" * 33}, "query.region"),
    ({}, "query.region"),
    ({"region": "beijing", "withdrawn": "yes"}, "query.withdrawn"),
])
def test_a_bad_parameter_is_refused_naming_it(world, params, field):
    client, _, _ = world
    expect_error(client.get("/v1/scenarios", params=params), 422, "api.invalid_parameter", field)


def test_the_route_is_in_the_openapi_document_with_its_example(world):
    client, _, _ = world
    operation = client.get("/openapi.json").json()["paths"]["/v1/scenarios"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"region", "withdrawn"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ScenarioList"}
