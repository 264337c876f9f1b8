"""POST /v1/transactions/batch (api/routers/transactions.py, api.md §2.4) against a real chain:
every entry is parsed and admitted on its own, results come back in input order, and the body's
limits are enforced before the transactions are looked at."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from certs.roles import Role
from api.errors import PROBLEM_MEDIA_TYPE
from api.routers.transactions import MAX_BATCH_BODY_BYTES, MAX_BATCH_TXS
from api.schemas import BatchSubmitted
from ledger.encoding import b64encode
from tests.api.pki import presenting
from tests.api.service import LocalNodeService
from tests.api.test_transactions import check_problem, expect_error, tx_json

URL = "/v1/transactions/batch"


def post_batch(client: TestClient, entries: list[object], **params: object):
    return client.post(URL, content=json.dumps({"txs": entries}).encode(), params=params)


def results_of(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    BatchSubmitted.model_validate(response.json())
    return response.json()["results"]


# -- each entry on its own, in order -------------------------------------------------------


def test_batch_with_bad_entries_admits_the_good_ones_and_reports_each_in_order(client, service, net):
    first, second = net.anchor(), net.anchor("tianjin")
    missing_nonce = tx_json(net.anchor())
    del missing_nonce["nonce"]
    forged = tx_json(net.anchor(label="original"))
    forged["body"]["label"] = "forged"
    results = results_of(post_batch(client, [tx_json(first), missing_nonce, forged, tx_json(second), [1, 2]]))
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "accepted", "rejected"]
    assert results[0] == {"tx_id": b64encode(first.id), "status": "accepted"}
    assert results[3] == {"tx_id": b64encode(second.id), "status": "accepted"}
    check_problem(results[1]["error"], 422, "validation.missing_field", "tx.nonce")
    assert "tx_id" not in results[1]
    check_problem(results[2]["error"], 422, "tx.bad_signature", "tx.signature")
    assert results[2]["tx_id"]
    check_problem(results[4]["error"], 422, "validation.type", "tx")
    assert service.pending_ids() == [first.id, second.id]


def test_batch_repeating_a_transaction_rejects_the_second_as_duplicate(client, service, net):
    tx = net.anchor()
    results = results_of(post_batch(client, [tx_json(tx), tx_json(tx)]))
    assert results[0] == {"tx_id": b64encode(tx.id), "status": "accepted"}
    assert results[1]["tx_id"] == b64encode(tx.id)
    assert results[1]["status"] == "rejected"
    check_problem(results[1]["error"], 409, "mempool.duplicate", "tx")
    assert service.pending_ids() == [tx.id]


def test_batch_reports_replay_and_a_full_mempool_per_entry(net, pki):
    service = LocalNodeService(net, max_txs=2)
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        committed = net.anchor()
        assert results_of(post_batch(client, [tx_json(committed)]))[0]["status"] == "accepted"
        service.produce()
        txs = [net.anchor() for _ in range(3)]
        results = results_of(post_batch(client, [tx_json(committed), *map(tx_json, txs)]))
    assert [r["status"] for r in results] == ["rejected", "accepted", "accepted", "rejected"]
    assert [r.get("error", {}).get("code") for r in results] == ["tx.replay", None, None, "mempool.full"]
    assert [results[0]["error"]["status"], results[3]["error"]["status"]] == [409, 503]
    assert service.pending_ids() == [txs[0].id, txs[1].id]


# -- waiting for the commit ----------------------------------------------------------------


def test_batch_with_wait_commit_answers_heights_and_indexes_of_every_admitted_tx(client, service, net):
    earlier = net.anchor("hebei")
    assert results_of(post_batch(client, [tx_json(earlier)]))[0]["status"] == "accepted"
    txs = [net.anchor(), net.anchor("tianjin"), net.anchor("hebei")]
    bad = tx_json(net.anchor())
    bad["kind"] = 7
    answers = []
    entries = [tx_json(txs[0]), bad, tx_json(txs[1]), tx_json(txs[2])]
    request = threading.Thread(target=lambda: answers.append(post_batch(client, entries, wait="commit", timeout=60)))
    request.start()
    service.wait_held(txs[2].id)
    service.produce()
    request.join()
    results = results_of(answers[0])
    assert results[1]["status"] == "rejected" and results[1]["error"]["field"] == "tx.kind"
    committed = [results[0], results[2], results[3]]
    assert committed == [
        {"tx_id": b64encode(tx.id), "status": "committed", "height": 1, "index": index} for index, tx in enumerate(txs, start=1)
    ]
    assert [service.chain.tx_location(tx.id) for tx in txs] == [(1, 1), (1, 2), (1, 3)]


def test_batch_wait_expiry_reports_timeout_and_keeps_the_txs(client, service, net):
    txs = [net.anchor(), net.anchor("tianjin")]
    results = results_of(post_batch(client, [tx_json(tx) for tx in txs], wait="commit", timeout=0))
    assert [r["status"] for r in results] == ["timeout", "timeout"]
    for result in results:
        check_problem(result["error"], 504, "api.commit_timeout")
    assert [r["tx_id"] for r in results] == [b64encode(tx.id) for tx in txs]
    assert service.pending_ids() == [tx.id for tx in txs]
    service.produce()
    assert service.chain.tx_location(txs[1].id) == (1, 1)


# -- limits and the shape of the body ------------------------------------------------------


def test_batch_of_no_transactions_answers_422(client):
    expect_error(post_batch(client, []), 422, "api.batch_empty", "txs")


def test_batch_above_the_count_limit_answers_413_before_parsing_any(client, service):
    expect_error(post_batch(client, [{}] * (MAX_BATCH_TXS + 1)), 413, "api.too_large", "txs")
    assert service.pending_ids() == []


def test_batch_body_above_the_size_limit_answers_413(client, service, net):
    head = json.dumps({"txs": [tx_json(net.anchor())]}).encode()
    body = head + b" " * (MAX_BATCH_BODY_BYTES + 1 - len(head))
    expect_error(client.post(URL, content=body), 413, "api.too_large", "body")

    def chunks():  # no Content-Length: counted while streaming
        yield body[: len(head)]
        yield body[len(head) :]

    expect_error(client.post(URL, content=chunks()), 413, "api.too_large", "body")
    assert service.pending_ids() == []


@pytest.mark.parametrize(
    "body, code, field",
    [
        ([{"chain_id": "x"}], "validation.type", "body"),
        ({}, "validation.missing_field", "txs"),
        ({"txs": {"0": {}}}, "validation.type", "txs"),
        ({"txs": [], "extra": 1}, "validation.unknown_field", "extra"),
    ],
)
def test_batch_body_of_the_wrong_shape_answers_422(client, body, code, field):
    expect_error(client.post(URL, content=json.dumps(body).encode()), 422, code, field)


def test_batch_body_that_is_not_json_answers_400(client):
    expect_error(client.post(URL, content=b'{"txs": ['), 400, "api.bad_json", "body")


def test_batch_with_bad_query_answers_422_and_admits_nothing(client, service, net):
    expect_error(post_batch(client, [tx_json(net.anchor())], wait="soon"), 422, "api.invalid_parameter", "query.wait")
    assert service.pending_ids() == []


def test_openapi_documents_post_transactions_batch(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"][URL]["post"]
    assert {"200", "400", "403", "413", "422", "429", "500", "503"} == set(operation["responses"])
    assert set(operation["responses"]["422"]["content"]) == {PROBLEM_MEDIA_TYPE}
    entry = document["components"]["schemas"]["BatchEntry"]["properties"]
    assert entry["error"]["$ref"] == "#/components/schemas/Problem" and "anyOf" not in entry["error"]  # absent, never null
    assert document["components"]["schemas"]["BatchEntry"]["required"] == ["status"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["txs"] and schema["properties"]["txs"]["maxItems"] == MAX_BATCH_TXS
    assert "$ref" not in json.dumps(schema)
    # Any entry: one not of a transaction's form is rejected in its result, the batch is answered 200 (api.md §2.4).
    assert set(schema["properties"]["txs"]["items"]) == {"description"}


def test_a_batch_entry_of_any_form_is_rejected_in_its_result_not_the_batch(client, service, net):
    entries = [{**tx_json(net.anchor()), "x-unknown": 42}, 7, "tx", None, [], tx_json(net.anchor("tianjin"))]
    results = results_of(post_batch(client, entries))
    assert [r["status"] for r in results] == ["rejected"] * 5 + ["accepted"]
    assert results[0]["error"]["code"] == "validation.unknown_field" and all(r["error"]["code"] == "validation.type" for r in results[1:5])
    assert len(service.pending_ids()) == 1
