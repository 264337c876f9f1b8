"""GET /v1/headers/{height} (api/routers/headers.py, api.md §2.7): the stored header and commit
as canonical JSON, the hash of the header, the commit verifying against the validators; 404
above the tip; heights read in their one spelling."""

from __future__ import annotations

import asyncio

import pytest

from api.deps import MAX_HEIGHT
from api.read_schemas import HeaderAtHeight
from ledger.block import Header
from ledger.chain import COMMIT_PREFIX, HEADER_PREFIX, height_key
from ledger.commit import Commit
from ledger.encoding import b64decode, decode, encode
from ledger.errors import LedgerError
from ledger.hashing import tagged_hash
from tests.api.service import LocalNodeService
from tests.api.test_blocks import NON_CANONICAL_HEIGHTS
from tests.api.test_transactions import expect_error


@pytest.fixture
def service(net):
    """Blocks 1 (two anchors) and 2 (empty)."""
    service = LocalNodeService(net)
    for _ in range(2):
        asyncio.run(service.submit(net.anchor(), wait=False, timeout_s=0))
    service.produce()
    service.produce()
    return service


@pytest.mark.parametrize("height", [1, 2])
def test_a_header_is_answered_as_stored_with_a_commit_that_verifies(client, service, height):
    response = client.get(f"/v1/headers/{height}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = decode(response.content)  # raises unless the whole answer is canonical
    HeaderAtHeight.model_validate(body)
    assert encode(body["header"]) == service.chain.kv.get(height_key(HEADER_PREFIX, height))
    assert encode(body["commit"]) == service.chain.kv.get(height_key(COMMIT_PREFIX, height))
    block_hash = b64decode(body["hash"])
    assert block_hash == tagged_hash("header", encode(body["header"])) == service.chain.block(height).hash
    header = Header.from_json(body["header"], "header")
    assert header.height == body["height"] == height
    Commit.from_json(body["commit"]).verify(service.genesis.chain_id, service.chain.validators(), height, block_hash)


def test_consecutive_headers_link(client):
    first, second = client.get("/v1/headers/1").json(), client.get("/v1/headers/2").json()
    assert second["header"]["previous_hash"] == first["hash"]
    assert b64decode(second["header"]["last_commit_hash"]) == tagged_hash("commit", encode(first["commit"]))


def test_the_commit_verifies_for_its_header_only(client, service):
    commit = Commit.from_json(client.get("/v1/headers/1").json()["commit"])
    with pytest.raises(LedgerError):
        commit.verify(service.genesis.chain_id, service.chain.validators(), 1, tagged_hash("header", b"another header"))


@pytest.mark.parametrize("height", [3, MAX_HEIGHT])
def test_a_header_above_the_tip_is_404(client, height):
    expect_error(client.get(f"/v1/headers/{height}"), 404, "api.no_block", "path.height")


@pytest.mark.parametrize("text", ["0", "-1", str(MAX_HEIGHT + 1), *NON_CANONICAL_HEIGHTS], ids=lambda t: t.replace("%", "pct"))
def test_a_height_not_in_its_one_spelling_or_range_is_422(client, text):
    expect_error(client.get(f"/v1/headers/{text}"), 422, "api.invalid_parameter", "path.height")


def test_a_header_stored_without_its_commit_is_a_store_error(client, service):
    service.chain.kv.write({}, [height_key(COMMIT_PREFIX, 2)])
    expect_error(client.get("/v1/headers/2"), 500, "store.missing_commit", "path.height")
    assert client.get("/v1/headers/1").status_code == 200
