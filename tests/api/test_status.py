"""GET /v1/status (api/routers/status.py), the problem answers for framework errors and
unexpected failures (api/errors.py, api/main.py), and the OpenAPI document as a whole."""

from __future__ import annotations

import asyncio

import json

import pytest
from fastapi.testclient import TestClient

from api.errors import PROBLEM_MEDIA_TYPE
from api.main import create_app
from api.schemas import NodeStatus
from ledger.encoding import b64encode
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error
from tests.ledger.conftest import make_net


@pytest.fixture(scope="module")
def net():
    return make_net(powers=(1, 2, 1, 1))


@pytest.fixture
def client(service):
    """An anonymous caller: the status is open to anyone, and this module's network has no PKI
    (a certificate of another network's CA would be refused, api.md §6.1)."""
    with TestClient(create_app(service)) as client:
        yield client


def test_status_at_genesis_reports_the_genesis_tip(client, net):
    response = client.get("/v1/status")
    assert response.status_code == 200
    status = response.json()
    NodeStatus.model_validate(status)
    assert status["chain_id"] == net.genesis.chain_id
    assert status["height"] == 0 and status["log_size"] == 0
    assert status["tip_hash"] == b64encode(net.genesis.hash)
    assert status["time"] == net.genesis.genesis_time
    assert status["mempool"] == {"size": 0, "bytes": 0}
    assert status["evidence"] == 0 and status["syncing"] is False


def test_status_lists_validators_and_peers(client, net):
    status = client.get("/v1/status").json()
    assert status["validators"] == [
        {"name": v.name, "region": v.region, "key_id": b64encode(v.key_id), "power": v.power} for v in net.genesis.validators
    ]
    me = status["node"]
    assert me == status["validators"][0]["name"] and status["region"] == status["validators"][0]["region"]
    assert [p["name"] for p in status["peers"]] == [v["name"] for v in status["validators"][1:]]
    assert all(p["connected"] for p in status["peers"])


def test_status_follows_the_mempool_and_the_tip(client, service, net):
    held = [net.anchor(), net.anchor("xiongan")]
    for tx in held:  # submitted as a department would (the route of submissions is tested apart)
        asyncio.run(service.submit(tx, wait=False, timeout_s=0))
    status = client.get("/v1/status").json()
    assert status["mempool"] == {"size": 2, "bytes": sum(len(tx.to_bytes()) for tx in held)}
    pending = service.produce()
    status = client.get("/v1/status").json()
    header = pending.block.header
    assert status["height"] == 1 and status["log_size"] == 2
    assert status["tip_hash"] == b64encode(pending.block.hash)
    assert status["state_root"] == b64encode(header.state_root)
    assert status["time"] == header.time
    assert status["mempool"] == {"size": 0, "bytes": 0}


class StatusWithoutSyncing(LocalNodeService):
    """A service that breaks the protocol: its status lacks a member."""

    def status(self) -> dict[str, object]:
        status = super().status()
        del status["syncing"]
        return status


def test_status_from_a_service_breaking_the_protocol_answers_500_without_details(net):
    with TestClient(create_app(StatusWithoutSyncing(net)), raise_server_exceptions=False) as client:
        response = client.get("/v1/status")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "urn:eledger:problem:api.internal",
        "title": "Internal error",
        "status": 500,
        "detail": "internal error; the node's log has the details",
        "code": "api.internal",
    }


@pytest.mark.parametrize("path", ["/v1/nothing", "/docs", "/v1", "/v1/", "/v1/blocks/", "/v1/blocks/1/2"])  # / is the window page (api.web)
def test_unknown_route_answers_problem_json_404(client, path):
    problem = expect_error(client.get(path), 404, "api.no_route")
    assert problem["detail"] == f"no route GET {path}; /openapi.json lists the routes"


def test_unknown_route_problem_shows_at_most_200_characters_of_the_path(client):
    problem = expect_error(client.get("/v1/" + "x" * 5000), 404, "api.no_route")
    assert len(problem["detail"]) < 300


@pytest.mark.parametrize("method, path, allow", [("GET", "/v1/transactions", "POST"), ("DELETE", "/v1/transactions/batch", "POST"), ("POST", "/v1/status", "GET")])
def test_wrong_method_answers_problem_json_405_with_allow(client, service, method, path, allow):
    response = client.request(method, path)
    problem = expect_error(response, 405, "api.method_not_allowed")
    assert response.headers["allow"] == allow
    assert problem["detail"] == f"{method} is not allowed on {path}; allowed: {allow}"
    assert service.pending_ids() == []


def test_every_literal_path_answers_405_to_another_method_though_a_templated_route_would_match_it(client, service):
    """GET /v1/seals/verify is not the seal "verify" nor GET /v1/transactions/batch a transaction
    "batch": the path is the literal route's (api/routing.py), so another method is 405."""
    paths = {route.path: route.methods for route in create_app(service).routes if getattr(route, "methods", None) and "{" not in route.path}
    for path, methods in paths.items():
        for method in {"GET", "POST", "DELETE"} - methods - {"HEAD"}:
            response = client.request(method, path)
            expect_error(response, 405, "api.method_not_allowed")
            assert set(response.headers["allow"].split(", ")) - {"HEAD"} == methods - {"HEAD"}, (method, path)
    assert service.pending_ids() == []


def test_a_templated_route_still_serves_what_only_it_matches(service):
    with TestClient(create_app(service)) as anonymous:
        expect_error(anonymous.get("/v1/seals/VERIFY01"), 404, "api.no_seal", "path.seal_id")
        expect_error(anonymous.get("/v1/seals/verify1"), 422, "api.invalid_parameter", "path.seal_id")
        expect_error(anonymous.get("/v1/transactions/batch"), 405, "api.method_not_allowed")


def test_openapi_lists_the_routes_and_every_reference_resolves(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/v1/transactions", "/v1/transactions/batch", "/v1/transactions/{tx_id}", "/v1/status", "/v1/blocks/{height}", "/v1/headers/{height}",
        "/v1/log/consistency", "/v1/seals/{seal_id}", "/v1/seals/verify", "/v1/licence-types", "/v1/departments", "/v1/departments/{uscc}",
        "/v1/departments/{uscc}/seals", "/v1/recognition-rules", "/v1/regions", "/v1/validators", "/healthz", "/readyz", "/metrics",
    }
    assert set(document["paths"]["/v1/status"]) == {"get"}
    status_schema = document["paths"]["/v1/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert status_schema == {"$ref": "#/components/schemas/NodeStatus"}
    components = document["components"]["schemas"]
    assert set(components["NodeStatus"]["required"]) == set(NodeStatus.model_fields)
    refs = {ref for ref in _refs(document)}
    assert refs and all(ref.removeprefix("#/components/schemas/") in components for ref in refs)
    assert "HTTPValidationError" not in json.dumps(document)


def test_openapi_describes_every_error_answer_as_problem_json(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(schemas["Problem"]["properties"]) == {"type", "title", "status", "detail", "code", "field"}
    assert schemas["Problem"]["properties"]["field"]["type"] == "string"  # absent when none, never null
    assert set(schemas["CommitTimeout"]["required"]) == {"type", "title", "status", "detail", "code", "tx_id"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {status: answer for status, answer in operation["responses"].items() if int(status) >= 400}
            assert "500" in errors, (path, method)
            for status, answer in errors.items():
                (media_type,) = answer["content"]
                assert media_type == PROBLEM_MEDIA_TYPE, (path, method, status)
                assert answer["content"][media_type]["schema"]["$ref"] in {"#/components/schemas/Problem", "#/components/schemas/CommitTimeout"}


def _refs(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
