"""GET /v1/transactions/{tx_id} (api/routers/transactions.py, api.md §2.5): a committed
transaction with its inclusion proofs at its block and at the tip, which verify with
ledger.merkle against the headers the node signs; a pending one; an unknown one (404); ids read
in their one spelling; and no transaction committed meanwhile reported unknown."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from certs.roles import Role
from api.read_schemas import TxCommitted, TxPending
from ledger.encoding import b64decode, b64encode, decode, encode
from ledger.merkle import verify_inclusion
from tests.api.pki import presenting
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error


@pytest.fixture
def service(net):
    """Blocks 1 (three anchors), 2 (empty) and 3 (two anchors)."""
    service = LocalNodeService(net)
    for count in (3, 0, 2):
        for _ in range(count):
            asyncio.run(service.submit(net.anchor(), wait=False, timeout_s=0))
        service.produce()
    return service


def committed_txs(service):
    return [(h, i, tx) for h in range(1, service.chain.height + 1) for i, tx in enumerate(service.chain.block(h).txs)]


def test_a_committed_transaction_comes_with_proofs_that_verify_against_signed_headers(client, service):
    for height, index, tx in committed_txs(service):
        response = client.get(f"/v1/transactions/{b64encode(tx.id)}")
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        body = decode(response.content)  # the whole answer is canonical JSON
        TxCommitted.model_validate(body)
        assert (body["status"], body["height"], body["index"], body["tx_id"]) == ("committed", height, index, b64encode(tx.id))
        assert encode(body["tx"]) == tx.raw  # the leaf's data
        header = client.get(f"/v1/headers/{height}").json()["header"]
        assert body["time"] == header["time"]
        block, tip = body["inclusion"]["block"], body["inclusion"]["tip"]
        assert (block["height"], block["log_size"], block["log_root"]) == (height, header["log_size"], header["log_root"])
        verify_inclusion(tx.leaf_hash, body["log_index"], block["log_size"], [b64decode(h) for h in block["proof"]], b64decode(header["log_root"]))
        tip_header = client.get(f"/v1/headers/{service.chain.height}").json()["header"]
        assert (tip["height"], tip["log_size"], tip["log_root"]) == (service.chain.height, tip_header["log_size"], tip_header["log_root"])
        verify_inclusion(tx.leaf_hash, body["log_index"], tip["log_size"], [b64decode(h) for h in tip["proof"]], b64decode(tip_header["log_root"]))


def test_a_transaction_in_the_mempool_is_pending(client, service, net):
    tx = net.anchor()
    assert client.post("/v1/transactions", content=tx.to_bytes()).status_code == 202
    response = client.get(f"/v1/transactions/{b64encode(tx.id)}")
    assert response.status_code == 200
    assert response.json() == {"tx_id": b64encode(tx.id), "status": "pending", "tip_height": 3}
    TxPending.model_validate(response.json())
    service.produce()
    assert client.get(f"/v1/transactions/{b64encode(tx.id)}").json()["status"] == "committed"


def test_an_unknown_transaction_is_404_naming_the_height_read(client, net):
    tx = net.anchor()
    problem = expect_error(client.get(f"/v1/transactions/{b64encode(tx.id)}"), 404, "api.no_transaction", "path.tx_id")
    assert "as of height 3" in problem["detail"] and b64encode(tx.id) in problem["detail"]


class CommitsWhileAsked(LocalNodeService):
    """A node that commits its mempool just as the API asks whether it holds a transaction."""

    async def pending(self, tx_id: bytes) -> bool:
        self.produce()
        return await super().pending(tx_id)


def test_a_transaction_committed_while_the_mempool_is_asked_is_committed_not_unknown(net, pki):
    service = CommitsWhileAsked(net)
    tx = net.anchor()
    asyncio.run(service.submit(tx, wait=False, timeout_s=0))
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        body = client.get(f"/v1/transactions/{b64encode(tx.id)}").json()
    assert (body["status"], body["height"], body["index"]) == ("committed", 1, 0)


TX_ID = b64encode(bytes(range(32)))


@pytest.mark.parametrize("text", [
    TX_ID + "=", TX_ID[:-1], TX_ID + "A", TX_ID[:-1] + "B", bytes(range(32)).hex(), "batches", TX_ID[:-1] + "%2B", "+" + TX_ID[1:], "%20" + TX_ID,
])
def test_an_id_not_in_its_one_spelling_is_refused(client, service, text):
    problem = expect_error(client.get(f"/v1/transactions/{text}"), 422, "api.invalid_parameter", "path.tx_id")
    assert problem["detail"].startswith("path.tx_id: must be a transaction id: 32 bytes in base64url without padding")


def test_openapi_documents_the_lookup(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/transactions/{tx_id}"]["get"]
    assert {"200", "403", "404", "422", "429", "500", "503"} == set(operation["responses"])
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert {ref["$ref"] for ref in schema["anyOf"]} == {"#/components/schemas/TxCommitted", "#/components/schemas/TxPending"}
    (parameter,) = operation["parameters"]
    assert parameter["schema"]["pattern"] == "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
