"""GET /v1/blocks/{height} (api/routers/blocks.py): canonical block JSON with its commit."""

from __future__ import annotations

import asyncio

import pytest

from api.schemas import BlockAtHeight
from ledger.block import Block
from ledger.chain import COMMIT_PREFIX, height_key
from ledger.commit import Commit
from ledger.encoding import b64decode, decode, encode
from tests.api.service import LocalNodeService


@pytest.fixture
def service(net):
    """Blocks 1 and 2, each with two anchors."""
    service = LocalNodeService(net)
    for region in ("beijing", "tianjin"):
        for tx in (net.anchor(region), net.anchor(region, label="second")):
            asyncio.run(service.submit(tx, wait=False, timeout_s=0))
        service.produce()
    return service


def test_get_block_answers_the_stored_block_as_canonical_json(client, service):
    response = client.get("/v1/blocks/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = decode(response.content)  # raises unless the whole answer is canonical
    assert encode(body["block"]) == service.chain.block_bytes(1)
    block = Block.from_bytes(encode(body["block"]))
    assert b64decode(body["hash"]) == block.hash
    assert body["height"] == 1 and len(block.txs) == 2
    BlockAtHeight.model_validate(body)


def test_get_block_commit_verifies_against_the_validators(client, service, net):
    body = client.get("/v1/blocks/2").json()
    commit = Commit.from_json(body["commit"])
    commit.verify(net.genesis.chain_id, service.chain.validators(), 2, b64decode(body["hash"]))
    previous = client.get("/v1/blocks/1").json()
    assert body["block"]["last_commit"] == previous["commit"]


@pytest.mark.parametrize("height", [3, 2**53 - 1])
def test_get_block_above_the_tip_answers_404(client, height):
    response = client.get(f"/v1/blocks/{height}")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "api.no_block",
        "message": f"no committed block at height {height}; GET /v1/status gives the tip height",
        "field": "path.height",
    }


@pytest.mark.parametrize("height", ["0", "-1", "one", "1.5", str(2**53), "99999999999999999999999"])
def test_get_block_with_invalid_height_answers_422(client, height):
    response = client.get(f"/v1/blocks/{height}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "api.invalid_parameter" and error["field"] == "path.height"


def test_get_block_stored_without_commit_answers_500_store_error(client, service):
    service.chain.kv.write({}, [height_key(COMMIT_PREFIX, 2)])
    response = client.get("/v1/blocks/2")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "store.missing_commit"
    assert client.get("/v1/blocks/1").status_code == 200


def test_openapi_documents_get_block(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/blocks/{height}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BlockAtHeight"}
    assert {"404", "422"} <= set(operation["responses"])
    (parameter,) = operation["parameters"]
    assert parameter["in"] == "path" and parameter["schema"]["minimum"] == 1
