"""GET /v1/status (api/routers/status.py), the app's error shape for framework errors and
unexpected failures (api/errors.py, api/main.py), and the OpenAPI document as a whole."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas import NodeStatus
from ledger.encoding import b64encode
from tests.api.service import LocalNodeService
from tests.ledger.conftest import make_net


@pytest.fixture(scope="module")
def net():
    return make_net(powers=(1, 2, 1, 1))


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
    for tx in held:
        assert client.post("/v1/transactions", content=tx.to_bytes()).status_code == 202
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
    assert response.json() == {"error": {"code": "api.internal", "message": "internal error; the node's log has the details"}}


def test_unknown_route_and_wrong_method_answer_in_the_error_shape(client):
    assert client.get("/docs").status_code == 404
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "api.no_route"
    response = client.get("/v1/transactions")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "api.method_not_allowed"
    assert response.headers["allow"] == "POST"


def test_openapi_lists_the_routes_and_every_reference_resolves(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/v1/transactions", "/v1/transactions/batch", "/v1/status", "/v1/blocks/{height}"}
    assert set(document["paths"]["/v1/status"]) == {"get"}
    status_schema = document["paths"]["/v1/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert status_schema == {"$ref": "#/components/schemas/NodeStatus"}
    components = document["components"]["schemas"]
    assert set(components["NodeStatus"]["required"]) == set(NodeStatus.model_fields)
    refs = {ref for ref in _refs(document)}
    assert refs and all(ref.removeprefix("#/components/schemas/") in components for ref in refs)
    assert "HTTPValidationError" not in json.dumps(document)


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
