"""client.http: ApiClient against a real node API over HTTPS with client certificates and over
plain HTTP (tests/client/node.py), problems raised with their members, and the retry rules
(only 429 / 503 after Retry-After and connections never made, each bounded), checked with a
scripted transport and a recorded `sleep` (no test waits on the clock)."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import httpx
import pytest

from client.errors import ClientError, ProblemError
from client.http import ApiClient, Purpose, Retry, parse_retry_after
from ledger.encoding import b64encode
from tests.client.node import Node, running_node, serve


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with running_node(tmp_path_factory.mktemp("client-http") / "net") as node:
        yield node


def partner(node: Node, **kwargs) -> ApiClient:
    certificate, key = node.credential("tianjin", "partner")
    return ApiClient(node.url, cert=certificate, key=key, ca=node.ca("beijing"), **kwargs)


def department(node: Node, **kwargs) -> ApiClient:
    """A client that may submit transactions (api.md §6: issuer or region-admin)."""
    certificate, key = node.credential("beijing", "department")
    return ApiClient(node.url, cert=certificate, key=key, ca=node.ca("beijing"), **kwargs)


# -- against a real node -------------------------------------------------------------------------


def test_status_and_blocks_over_mutual_tls(node):
    with department(node) as client:
        tx = node.pki.net.anchor()
        submitted = client.submit(tx)
        status = client.status()
        block = client.block(submitted.height)
    assert status["chain_id"] == node.pki.network.genesis.chain_id and status["height"] >= submitted.height
    assert block["height"] == submitted.height and block["block"]["txs"][submitted.index]["nonce"] == b64encode(tx.nonce)


def test_submit_waits_for_the_commit_or_answers_accepted(node):
    with department(node) as client:
        committed = client.submit(node.pki.net.anchor())
        accepted = client.submit(node.pki.net.anchor(), wait=False)
    assert committed.status == "committed" and committed.height >= 1 and committed.index == 0 and committed.error is None
    assert accepted.status == "accepted" and accepted.height is None


def test_a_commit_that_does_not_come_in_time_is_held_not_refused(node):
    tx = node.pki.net.anchor()
    node.committer.pause()
    try:
        with department(node) as client:
            held = client.submit(tx, timeout_s=0.05)
    finally:
        node.committer.resume()
    assert held.status == "timeout" and held.tx_id == tx.id
    assert held.error.code == "api.commit_timeout" and held.error.status == 504


def test_a_refused_transaction_raises_its_problem(node):
    tx = node.pki.net.anchor()
    with department(node) as client:
        client.submit(tx)
        with pytest.raises(ProblemError) as info:
            client.submit(tx)
    problem = info.value
    assert (problem.code, problem.status, problem.field) == ("tx.replay", 409, "tx.nonce")
    assert problem.members["type"] == "urn:eledger:problem:tx.replay" and "already committed" in problem.detail
    assert problem.describe() == f"tx.replay: {problem.detail} (field tx.nonce)"


def test_a_batch_answers_each_entry_in_order(node):
    first, second = node.pki.net.anchor(), node.pki.net.anchor("tianjin")
    with department(node) as client:
        results = client.submit_batch([first, second, first])
    assert [r.status for r in results] == ["committed", "committed", "rejected"]
    assert [r.tx_id for r in results] == [first.id, second.id, first.id]
    assert results[2].error.code == "mempool.duplicate" and results[2].error.status == 409


def test_a_missing_block_is_a_problem_naming_the_parameter(node):
    with partner(node) as client, pytest.raises(ProblemError) as info:
        client.block(10**9)
    assert (info.value.code, info.value.status, info.value.field) == ("api.no_block", 404, "path.height")


def test_the_client_certificate_is_presented_over_https(node):
    seen = []

    async def recording(scope, receive, send):
        seen.append(scope.get("extensions", {}).get("tls", {}).get("client_cert_chain"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    from tests.client.node import server_context

    certificate, key = node.credential("tianjin", "partner")
    with serve(recording, server_context(node.pki, "beijing")) as url:
        with ApiClient(url, cert=certificate, key=key, ca=node.ca("beijing")) as client:
            client.status()
        with ApiClient(url, ca=node.ca("beijing")) as anonymous:
            anonymous.status()
    assert seen[0] == [certificate.read_text()] and seen[1] == []


def test_a_node_whose_certificate_does_not_chain_to_the_ca_fails_at_once(node):
    slept = []
    with ApiClient(node.url, ca=node.ca("tianjin"), sleep=slept.append) as client, pytest.raises(ClientError) as info:
        client.status()
    assert info.value.code == "client.tls" and str(node.ca("tianjin")) in str(info.value)
    assert slept == []  # a TLS failure is not retried


def test_over_plain_http_public_reads_work_and_what_needs_a_certificate_says_why(tmp_path):
    with running_node(tmp_path / "net", tls=False) as plain:
        assert plain.url.startswith("http://")
        certificate, key = plain.credential("beijing", "department")
        with ApiClient(plain.url, cert=certificate, key=key) as client:  # nothing to present over http
            assert client.status()["height"] >= 0
            with pytest.raises(ProblemError) as info:
                client.submit(plain.pki.net.anchor())
    assert info.value.code == "auth.certificate_required" and "plain http" in info.value.describe()


@pytest.mark.parametrize("kwargs, code", [
    ({}, "client.credentials"),  # https without a CA
    ({"ca": "missing.crt"}, "client.credentials"),
    ({"ca": "CA", "cert": "CERT"}, "client.credentials"),  # a certificate without its key
])
def test_unusable_credentials_are_refused_before_any_request(node, kwargs, code):
    certificate, _ = node.credential("tianjin", "partner")
    names = {"CA": node.ca("beijing"), "CERT": certificate}
    resolved = {k: names.get(v, v) for k, v in kwargs.items()}
    with pytest.raises(ClientError) as info:
        ApiClient(node.url, **resolved)
    assert info.value.code == code


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:1", "127.0.0.1:8101", "http://", "http://h:1/?q=1"])
def test_a_url_that_is_not_http_or_https_is_refused(url):
    with pytest.raises(ClientError) as info:
        ApiClient(url)
    assert info.value.code == "client.bad_url"


def test_an_unreachable_node_is_retried_a_bounded_number_of_times():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    slept = []
    with ApiClient(f"http://127.0.0.1:{port}", retry=Retry(attempts=3, backoff_s=0.5, max_backoff_s=0.75), sleep=slept.append) as client:
        with pytest.raises(ClientError) as info:
            client.status()
    assert info.value.code == "client.unreachable" and "3 tries" in str(info.value)
    assert slept == [0.5, 0.75]


# -- the retry rules, with a scripted transport -----------------------------------------------------


class Script:
    """A transport answering from a list: a (status, headers, body) or an exception per request."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        return httpx.Response(status, headers=headers, content=body, request=request)


def problem(code: str, status: int) -> bytes:
    return b'{"type":"urn:eledger:problem:%s","title":"t","status":%d,"detail":"d","code":"%s"}' % (code.encode(), status, code.encode())


OK = (200, {"content-type": "application/json"}, b'{"height": 7}')
BUSY = (503, {"retry-after": "1", "content-type": "application/problem+json"}, problem("mempool.full", 503))


def scripted(script: Script, slept: list, **retry) -> ApiClient:
    return ApiClient("http://node.test", transport=httpx.MockTransport(script), retry=Retry(**retry), sleep=slept.append)


def test_503_and_429_are_retried_after_retry_after():
    slept: list[float] = []
    script = Script(BUSY, (429, {"retry-after": "2"}, problem("api.rate_limited", 429)), OK)
    assert scripted(script, slept).status() == {"height": 7}
    assert slept == [1.0, 2.0] and len(script.requests) == 3


def test_retries_end_after_the_attempts_and_raise_the_last_problem():
    slept: list[float] = []
    script = Script(BUSY, BUSY, BUSY)
    with pytest.raises(ProblemError) as info:
        scripted(script, slept, attempts=3).status()
    assert (info.value.code, info.value.status, info.value.retry_after, info.value.attempt) == ("mempool.full", 503, 1.0, 3)
    assert slept == [1.0, 1.0]


@pytest.mark.parametrize("answer", [
    (503, {"retry-after": "120"}, problem("node.stopping", 503)),  # longer than max_wait_s
    (503, {}, problem("node.stopping", 503)),  # the node did not say when
    (422, {}, problem("validation.type", 422)),
    (409, {}, problem("tx.replay", 409)),
    (500, {}, problem("api.internal", 500)),
])
def test_other_answers_are_raised_at_once(answer):
    slept: list[float] = []
    script = Script(answer, OK)
    with pytest.raises(ProblemError):
        scripted(script, slept).status()
    assert slept == [] and len(script.requests) == 1


def test_a_connection_never_made_is_retried_with_backoff():
    slept: list[float] = []
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), OK)
    assert scripted(script, slept, backoff_s=0.1).status() == {"height": 7}
    assert slept == [0.1, 0.2]


@pytest.mark.parametrize("error, code", [
    (httpx.ReadTimeout("no answer"), "client.timeout"),
    (httpx.RemoteProtocolError("closed"), "client.unreachable"),
    (httpx.ReadError("reset"), "client.unreachable"),
])
def test_a_request_that_was_sent_is_never_sent_again(error, code):
    slept: list[float] = []
    script = Script(error, OK)
    with pytest.raises(ClientError) as info:
        scripted(script, slept).submit_batch([_anchor()])
    assert info.value.code == code and "may have been acted on" in str(info.value)
    assert slept == [] and len(script.requests) == 1


def test_an_answer_that_is_not_json_is_a_bad_answer():
    script = Script((502, {"content-type": "text/html"}, b"<html>bad gateway</html>"), (200, {}, b"<html>"))
    client = scripted(script, [])
    with pytest.raises(ProblemError) as info:
        client.status()
    assert (info.value.code, info.value.status) == ("api.http_502", 502)
    with pytest.raises(ClientError) as info:
        client.status()
    assert info.value.code == "client.bad_answer"


def test_a_batch_answer_without_a_result_per_transaction_is_a_bad_answer():
    script = Script((200, {}, b'{"results": []}'))
    with pytest.raises(ClientError) as info:
        scripted(script, []).submit_batch([_anchor()])
    assert info.value.code == "client.bad_answer"


def test_requests_carry_what_the_spec_names():
    script = Script(OK, OK, (200, {"eledger-receipt": "AAEC"}, b"raw bundle bytes"), OK, OK)
    client = scripted(script, [])
    client.verify(licence_id="1.2.156/x", purpose=Purpose("A1", "开户", "S-1"), asking_region="tianjin")
    client.licence("1.2.156.x", version=2)
    fetched = client.bundle("1.2.156.x", "tianjin", height=5, purpose=Purpose("A1", "开户", "S-1"))
    assert (fetched.raw, fetched.receipt) == (b"raw bundle bytes", b"\x00\x01\x02")
    client.uses("1.2.156.x", after="beijing-1:3", limit=10)
    client.holder_uses("1.2.156.x", qr="EL1:X")
    verify, licence, bundle, uses, holder = script.requests
    assert verify.method == "POST" and verify.url.path == "/v1/verify" and verify.headers["content-type"] == "application/json"
    import json

    assert json.loads(verify.content) == {"licence_id": "1.2.156/x", "purpose": {"item_code": "A1", "item_name": "开户", "serial": "S-1"}, "asking_region": "tianjin"}
    assert licence.url.path == "/v1/licences/1.2.156.x" and licence.url.params["version"] == "2"
    assert bundle.url.path == "/v1/licences/1.2.156.x/bundle"
    assert dict(bundle.url.params) == {"region": "tianjin", "height": "5", "item_code": "A1", "item_name": "开户", "serial": "S-1"}
    assert uses.url.path == "/v1/licences/1.2.156.x/uses" and dict(uses.url.params) == {"after": "beijing-1:3", "limit": "10"}
    assert holder.method == "POST" and json.loads(holder.content) == {"qr": "EL1:X"}


def test_verify_names_the_licence_exactly_one_way():
    client = scripted(Script(), [])
    with pytest.raises(ValueError):
        client.verify(licence_id="a", qr="EL1:x")
    with pytest.raises(ValueError):
        client.verify()


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Fri, 01 May 2026 12:00:05 GMT", now=lambda: now) == 5.0
    assert parse_retry_after("Fri, 01 May 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None and parse_retry_after("-1") is None


def _anchor():
    from tests.ledger.conftest import make_net

    return make_net().anchor()


def test_a_certificate_that_plain_http_cannot_present_is_named_in_the_refusal(tmp_path):
    script = Script((403, {}, problem("auth.certificate_required", 403)), (403, {}, problem("auth.certificate_required", 403)))
    with ApiClient("http://node.test", cert=tmp_path / "p.crt", key=tmp_path / "p.key", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ProblemError) as info:
            client.status()
    assert "over http://node.test (plain http) none can be presented: use the node's https:// URL" in info.value.describe()
    with ApiClient("http://node.test", transport=httpx.MockTransport(script)) as anonymous, pytest.raises(ProblemError) as info:
        anonymous.status()
    assert info.value.describe() == "auth.certificate_required: d"


def test_reads_of_headers_seals_the_log_and_the_registry_carry_their_parameters():
    script = Script(OK, OK, OK, OK, (200, {"content-type": "text/plain"}, b"# HELP eledger_height\n"))
    client = scripted(script, [])
    client.header(5)
    client.consistency(3)
    client.seal("BEIJING0SEAL01")
    client.get_json("/v1/departments", region="beijing", after=None, limit=10)
    assert client.metrics().startswith("# HELP")
    header, log, seal, departments, metrics = script.requests
    assert header.url.path == "/v1/headers/5" and seal.url.path == "/v1/seals/BEIJING0SEAL01" and metrics.url.path == "/metrics"
    assert log.url.path == "/v1/log/consistency" and dict(log.url.params) == {"from": "3"}
    assert departments.url.path == "/v1/departments" and dict(departments.url.params) == {"region": "beijing", "limit": "10"}


def test_a_readiness_probe_is_asked_once():
    slept: list[float] = []
    script = Script((503, {"retry-after": "1"}, problem("node.syncing", 503)), OK)
    with pytest.raises(ProblemError) as info:
        scripted(script, slept).ready()
    assert info.value.code == "node.syncing" and slept == [] and len(script.requests) == 1
