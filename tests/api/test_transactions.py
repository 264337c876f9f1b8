"""POST /v1/transactions (api/routers/transactions.py, api/deps.py) and the error mapping
(api/errors.py), against a real chain: real execution, real signatures."""

from __future__ import annotations

import json
import os
import threading

import pytest
from fastapi.testclient import TestClient
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.deps import Settings, decimal_text_pattern
from api.errors import PROBLEM_MEDIA_TYPE, title_for
from api.main import create_app
from certs.roles import Role
from api.schemas import PROBLEM_TYPE_PREFIX, CommitTimeout, Problem, Submitted
from client.signing import AdminClient, DepartmentClient, KeyGrant
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, split_document_hash
from ledger.encoding import b64decode, b64encode
from ledger.kv import Prefixed
from ledger.licences import read_licence
from ledger.state import FLAT_PREFIX
from ledger.tx import MAX_TX_BYTES, Tx
from tests.api.pki import presenting
from tests.api.service import LocalNodeService
from tests.ledger.conftest import GENESIS_TIME
from tests.ledger.test_governance import YEAR_MS, type_code, uscc

URL = "/v1/transactions"


def tx_json(tx: Tx) -> dict:
    return json.loads(tx.to_bytes())


def post_tx(client: TestClient, tx: Tx, **params: object):
    return client.post(URL, content=tx.to_bytes(), params=params, headers={"content-type": "application/json"})


def check_problem(problem: dict, status: int, code: str, field: str | None = None, model: type[Problem] = Problem) -> dict:
    """`problem` is the RFC 9457 object of `code` (api.md §3), a `model`: its type and title follow
    from the code, `status` is `status`, `field` is `field` (None: absent)."""
    model.model_validate(problem)
    assert problem["code"] == code and problem["type"] == PROBLEM_TYPE_PREFIX + code
    assert problem["status"] == status and problem["title"] == title_for(code, status)
    assert problem["detail"]
    assert problem.get("field") == field
    return problem


def expect_error(response, status: int, code: str, field: str | None = None, model: type[Problem] = Problem) -> dict:
    """`response` is an application/problem+json answer of `status` for `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    return check_problem(response.json(), status, code, field, model)


# -- accepted, committed, timed out --------------------------------------------------------


def test_submit_transaction_without_wait_answers_202_and_holds_it(client, service, net):
    tx = net.anchor()
    response = post_tx(client, tx)
    assert response.status_code == 202
    assert response.json() == {"tx_id": b64encode(tx.id), "status": "accepted"}
    assert service.pending_ids() == [tx.id]
    assert service.chain.height == 0


def test_submit_transaction_accepts_any_json_formatting(client, service, net):
    tx = net.anchor(label="有效 licence")
    obj = tx_json(tx)
    pretty = json.dumps(dict(reversed(list(obj.items()))), indent=4, ensure_ascii=True)
    response = client.post(URL, content=pretty.encode())
    assert response.status_code == 202, response.text
    assert b64decode(response.json()["tx_id"]) == tx.id
    service.produce()
    assert service.chain.block(1).txs[0].to_bytes() == tx.to_bytes()


def test_submit_transaction_with_wait_commit_answers_200_with_height_and_index(client, service, net):
    earlier = [net.anchor(), net.anchor("tianjin")]
    for tx in earlier:
        assert post_tx(client, tx).status_code == 202
    tx = net.anchor("hebei")
    answers = []
    request = threading.Thread(target=lambda: answers.append(post_tx(client, tx, wait="commit", timeout=60)))
    request.start()
    service.wait_held(tx.id)
    service.produce()
    request.join()
    response = answers[0]
    assert response.status_code == 200, response.text
    assert response.json() == {"tx_id": b64encode(tx.id), "status": "committed", "height": 1, "index": 2}
    assert Submitted.model_validate(response.json()).index == 2
    assert service.chain.tx_location(tx.id) == (1, 2)


def test_submit_transaction_wait_expiry_answers_504_and_keeps_the_tx(client, service, net):
    tx = net.anchor()
    response = post_tx(client, tx, wait="commit", timeout=0)
    problem = expect_error(response, 504, "api.commit_timeout", model=CommitTimeout)
    assert problem["tx_id"] == b64encode(tx.id)
    assert set(problem) == {"type", "title", "status", "detail", "code", "tx_id"}
    assert service.pending_ids() == [tx.id]
    service.produce()
    assert service.chain.tx_location(tx.id) == (1, 0)


# -- refusals by the mempool and by execution ----------------------------------------------


def test_submit_transaction_twice_answers_409_duplicate(client, net):
    tx = net.anchor()
    assert post_tx(client, tx).status_code == 202
    expect_error(post_tx(client, tx), 409, "mempool.duplicate", "tx")


def test_submit_committed_transaction_answers_409_replay(client, service, net):
    tx = net.anchor()
    assert post_tx(client, tx).status_code == 202
    service.produce()
    expect_error(post_tx(client, tx, wait="commit"), 409, "tx.replay", "tx.nonce")


def test_submit_transaction_conflicting_with_state_answers_409(client, service, net):
    document = os.urandom(32)
    assert post_tx(client, net.anchor(document=document)).status_code == 202
    service.produce()
    expect_error(post_tx(client, net.anchor("tianjin", document=document)), 409, "anchor.exists", "tx.body.document_hash")


def test_submit_transaction_to_full_mempool_answers_503_with_retry_after(net, pki):
    service = LocalNodeService(net, max_txs=2)
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        for _ in range(2):
            assert post_tx(client, net.anchor()).status_code == 202
        response = post_tx(client, net.anchor())
        expect_error(response, 503, "mempool.full")
        assert int(response.headers["retry-after"]) >= 1
        assert len(service.pending_ids()) == 2


def test_submit_transaction_rejected_by_execution_answers_422_and_holds_nothing(client, service, net):
    stranger = PrivateKey.generate()
    tx = Tx.create(net.genesis.chain_id, "document.anchor", {"document_hash": os.urandom(32)}, stranger, os.urandom(16))
    expect_error(post_tx(client, tx), 422, "tx.unknown_signer", "tx.signer")
    other_chain = Tx.create("other-chain", "document.anchor", {"document_hash": os.urandom(32)}, net.admin_keys["beijing"], os.urandom(16))
    expect_error(post_tx(client, other_chain), 422, "tx.wrong_chain", "tx.chain_id")
    assert service.pending_ids() == []


def test_submit_transaction_with_tampered_body_answers_422_bad_signature(client, service, net):
    obj = tx_json(net.anchor(label="original"))
    obj["body"]["label"] = "forged"
    expect_error(client.post(URL, json=obj), 422, "tx.bad_signature", "tx.signature")
    assert service.pending_ids() == []


# -- a sealed licence.issue (transactions.md §5) ----------------------------------------------


def issuing_department(client: TestClient, service: LocalNodeService, net) -> tuple[DepartmentClient, str]:
    """A Beijing department admitted with one type and one seal, through the API; its client
    and the type code."""
    chain_id, code, key = net.genesis.chain_id, type_code(301), PrivateKey.generate()
    admin = AdminClient(net.admin_keys["beijing"], chain_id)
    dept = DepartmentClient(key, chain_id, uscc(301), "BJAPISEAL001", issuer_name="北京市某区市场监督管理局", clock=lambda: service.chain.tip.time)
    for batch in (
        [admin.register_type(code, "食品经营许可证", validity_required=False)],
        [admin.admit_org(dept.uscc, "北京市某区市场监督管理局", [KeyGrant(key.public_key, GENESIS_TIME, GENESIS_TIME + YEAR_MS)], [code])],
        [dept.register_seal("BJAPISEAL001", name="licence seal", type="licence", image_hash=bytes(32), valid_from=GENESIS_TIME, valid_until=GENESIS_TIME + YEAR_MS)],
    ):
        for tx in batch:
            assert post_tx(client, tx).status_code == 202
        assert len(service.produce().block.txs) == len(batch)
    return dept, code


def sealed_issue(dept: DepartmentClient, code: str, serial: str) -> tuple[Tx, LicenceDocument]:
    return dept.issue_licence(
        type=code, serial=serial, holder=EnterpriseHolder(uscc(900), "北京某某餐饮有限公司"), type_name="食品经营许可证",
        issue_date="2026-01-01", valid_from="2026-01-01",
    )


def test_submit_sealed_licence_issue_commits_and_a_forged_one_answers_422_naming_the_envelope(client, service, net):
    dept, code = issuing_department(client, service, net)
    tx, document = sealed_issue(dept, code, "1")
    assert post_tx(client, tx).status_code == 202
    assert service.produce().block.txs == (tx,)
    assert read_licence(Prefixed(service.chain.kv, FLAT_PREFIX), document.licence.id)["document_hash"] == b64encode(document.hash)
    forged, other = sealed_issue(dept, code, "2")
    holder = tx_json(forged)
    holder["body"]["holder"]["uscc"] = uscc(901)  # the nonce no longer matches the document hash
    expect_error(client.post(URL, json=holder), 422, "tx.bad_nonce", "tx.nonce")
    private = tx_json(forged)  # another private part, and the nonce of the hash it gives
    private["body"]["private"] = b64encode(bytes(32))
    private["nonce"] = b64encode(split_document_hash(other.licence.to_ledger(), bytes(32))[:16])
    expect_error(client.post(URL, json=private), 422, "licence.bad_seal", "tx.signature")
    assert service.pending_ids() == []


# -- malformed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate, code, field",
    [
        (lambda o: o.pop("nonce"), "validation.missing_field", "tx.nonce"),
        (lambda o: o.update(extra=1), "validation.unknown_field", "tx.extra"),
        (lambda o: o.update(kind=7), "validation.type", "tx.kind"),
        (lambda o: o.update(signer="not base64url!"), "validation.binary", "tx.signer"),
        (lambda o: o.update(nonce=b64encode(bytes(15))), "validation.length", "tx.nonce"),
        (lambda o: o["signature"].update(suite="rot13"), "tx.bad_signature_form", "tx.signature"),
    ],
)
def test_submit_transaction_with_bad_field_answers_422_naming_it(client, net, mutate, code, field):
    obj = tx_json(net.anchor())
    mutate(obj)
    expect_error(client.post(URL, json=obj), 422, code, field)


def test_submit_transaction_with_fraction_answers_422_encoding_error(client, net):
    obj = tx_json(net.anchor())
    obj["body"]["label"] = 1.5
    problem = expect_error(client.post(URL, json=obj), 422, "encoding.float")
    assert "label" in problem["detail"]


def test_submit_non_object_answers_422(client):
    expect_error(client.post(URL, json=[1, 2]), 422, "validation.type", "tx")


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"chain_id": NaN}', b"\xff\xfe{}", b'{"kind": "a", "kind": "b"}', b"[" * 100_000, b'{"a": ' + b"1" * 5000 + b"}"],
    ids=["empty", "truncated", "nan", "not-utf8", "repeated-member", "too-deep", "huge-integer"],
)
def test_submit_body_that_is_not_json_answers_400(client, body):
    expect_error(client.post(URL, content=body), 400, "api.bad_json", "body")


def test_submit_body_above_limit_answers_413_before_reading_it(net, pki):
    service = LocalNodeService(net)
    with TestClient(presenting(create_app(service, Settings(max_tx_body_bytes=MAX_TX_BYTES)), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        body = json.dumps(tx_json(net.anchor()), indent=MAX_TX_BYTES // 8).encode()
        assert len(body) > MAX_TX_BYTES
        expect_error(client.post(URL, content=body), 413, "api.too_large", "body")

        def chunks():  # no Content-Length: counted while streaming
            yield body[:1000]
            yield body[1000:]

        expect_error(client.post(URL, content=chunks()), 413, "api.too_large", "body")
        assert service.pending_ids() == []


def test_submit_transaction_above_max_tx_bytes_answers_413(client, net):
    obj = tx_json(net.anchor())
    obj["body"]["label"] = "x" * MAX_TX_BYTES
    expect_error(client.post(URL, json=obj), 413, "tx.too_large", "tx")


@pytest.mark.parametrize(
    "params, field",
    [({"wait": "commit", "timeout": 61}, "query.timeout"), ({"timeout": -1}, "query.timeout"), ({"wait": "soon"}, "query.wait")],
)
def test_submit_with_bad_query_answers_422(client, service, net, params, field):
    expect_error(post_tx(client, net.anchor(), **params), 422, "api.invalid_parameter", field)
    assert service.pending_ids() == []


@pytest.mark.parametrize(
    "text",
    ["1e1", "+1", "-0", "010", ".5", "5.", "1_0", "1,5", " 1", "1 ", "0x10", "inf", "nan", "١", "60.0000000001", "60.000000001", "", "0.1234567891"],
)
def test_submit_timeout_rejects_non_plain_decimal_text(client, service, net, text):
    problem = expect_error(post_tx(client, net.anchor(), wait="commit", timeout=text), 422, "api.invalid_parameter", "query.timeout")
    assert problem["detail"].startswith("query.timeout: must be a number from 0 to 60")
    assert json.dumps(text, ensure_ascii=False) in problem["detail"]
    assert service.pending_ids() == []


@pytest.mark.parametrize("text, seconds", [("0", 0), ("0.0", 0), ("0.25", 0.25), ("60", 60), ("60.000000000", 60)])
def test_submit_timeout_accepts_plain_decimals_up_to_60(client, service, net, text, seconds):
    tx = net.anchor()
    response = post_tx(client, tx, wait="commit", timeout=text) if seconds == 0 else post_tx(client, tx, timeout=text)
    assert response.status_code == (504 if seconds == 0 else 202), response.text
    assert service.pending_ids() == [tx.id]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
TX_MEMBERS = ("chain_id", "kind", "body", "signer", "nonce", "signature")


def test_submit_arbitrary_json_answers_a_client_error_never_a_server_error(net, pki):
    service = LocalNodeService(net)
    valid = tx_json(net.anchor())
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:

        @settings(max_examples=150, deadline=None)
        @given(member=st.sampled_from(TX_MEMBERS + ("body.label", "signature.value", "extra")), value=JSON_VALUES)
        def check(member: str, value: object) -> None:
            obj = json.loads(json.dumps(valid))
            target = obj
            *parents, name = member.split(".")
            for parent in parents:
                target = target[parent]
            target[name] = value
            assume(obj != valid)
            response = client.post(URL, content=json.dumps(obj).encode())
            assert response.status_code in (400, 409, 413, 422), response.text
            problem = response.json()
            expect_error(response, response.status_code, problem["code"], problem.get("field"))

        check()
        assert service.pending_ids() == []


def test_openapi_documents_post_transactions(client):
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    assert {"200", "202", "400", "403", "409", "413", "422", "429", "500", "503", "504"} == set(operation["responses"])
    assert operation["responses"]["504"]["content"] == {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/CommitTimeout"}}}
    assert operation["responses"]["409"]["content"] == {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    timeout = next(p for p in operation["parameters"] if p["name"] == "timeout")
    assert (timeout["schema"]["type"], timeout["schema"]["pattern"]) == ("string", decimal_text_pattern(60))  # api.md §1.1
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"chain_id", "kind", "body", "signer", "nonce", "signature"}
    assert "$ref" not in json.dumps(schema)
    assert {p["name"] for p in operation["parameters"]} == {"wait", "timeout"}
