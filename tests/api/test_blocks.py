"""GET /v1/blocks/{height} (api/routers/blocks.py): canonical block JSON with its commit."""

from __future__ import annotations

import asyncio

import pytest

from api.deps import MAX_HEIGHT
from api.errors import PROBLEM_MEDIA_TYPE
from api.schemas import BlockAtHeight
from ledger.block import Block
from ledger.chain import COMMIT_PREFIX, height_key
from ledger.commit import Commit
from ledger.encoding import b64decode, decode, encode
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error


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
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "urn:eledger:problem:api.no_block",
        "title": "No such block",
        "status": 404,
        "detail": f"no committed block at height {height}; GET /v1/status gives the tip height",
        "code": "api.no_block",
        "field": "path.height",
    }


@pytest.mark.parametrize("height", ["0", "-1", "one", "1.5", str(2**53), "99999999999999999999999"])
def test_get_block_with_invalid_height_answers_422(client, height):
    expect_error(client.get(f"/v1/blocks/{height}"), 422, "api.invalid_parameter", "path.height")


# api.md §1.1: one spelling per integer. Each of these reads as a block height to a lenient parser.
NON_CANONICAL_HEIGHTS = ["1_0", "1.0", "+9", "0009", "01", "%099", "%209", "9%20", "9%0A", "0x1", "1e1", "%D9%A1", "%EF%BC%91", "00"]


@pytest.mark.parametrize("text", NON_CANONICAL_HEIGHTS, ids=lambda t: t.replace("%", "pct"))
def test_block_height_rejects_non_canonical_integer_text(client, service, text):
    tip = service.chain.height
    problem = expect_error(client.get(f"/v1/blocks/{text}"), 422, "api.invalid_parameter", "path.height")
    assert problem["detail"].startswith(f"path.height: must be an integer from 1 to {MAX_HEIGHT} in plain decimal digits")
    assert service.chain.height == tip and service.pending_ids() == []


def test_get_block_stored_without_commit_answers_500_store_error(client, service):
    service.chain.kv.write({}, [height_key(COMMIT_PREFIX, 2)])
    expect_error(client.get("/v1/blocks/2"), 500, "store.missing_commit", "path.height")
    assert client.get("/v1/blocks/1").status_code == 200


def test_openapi_documents_get_block(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/blocks/{height}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BlockAtHeight"}
    assert {"200", "403", "404", "422", "429", "500", "503"} == set(operation["responses"])
    assert all(set(operation["responses"][status]["content"]) == {PROBLEM_MEDIA_TYPE} for status in ("404", "422", "500"))
    (parameter,) = operation["parameters"]
    assert parameter["in"] == "path" and parameter["required"] is True
    schema = parameter["schema"]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, MAX_HEIGHT)
