"""node.http.server over real sockets on 127.0.0.1: requests, keep-alive, pipelining, bodies,
the scope, errors of the client and of the application."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl

import pytest

from node.http import HttpError, HttpLimits, HttpServer
from node.http.connection import DRAIN_LIMIT
from tests.node.http.conftest import HOST, TIMEOUT, RawClient, Recorder, echo_app, listening_socket, run, serving, until


def test_get_post_and_head_are_answered():
    async def main():
        async with serving(echo_app) as server:
            client = await RawClient.connect(server.address[1])
            get = await client.request(b"GET", b"/a/b?x=1&y=%20")
            post = await client.request(b"POST", b"/submit", body=b"hello")
            head = await client.request(b"HEAD", b"/a")
            client.close()
        assert (get.status, get.reason, get.body) == (200, b"OK", b"GET /a/b?x=1&y=%20 ")
        assert post.body == b"POST /submit? hello"
        assert head.status == 200 and head.header(b"content-length") == b"9" and head.body == b""
        assert get.header(b"date") is not None
        assert server.metrics.requests == 3 and server.metrics.connections_accepted == 1

    run(main())


def test_keep_alive_reuses_one_connection():
    async def main():
        async with serving(echo_app) as server:
            client = await RawClient.connect(server.address[1])
            bodies = [(await client.request(target=b"/%d" % i)).body for i in range(5)]
            client.close()
            await until(lambda: server.metrics.connections_open == 0)
        assert bodies == [b"GET /%d? " % i for i in range(5)]
        assert server.metrics.connections_accepted == 1

    run(main())


def test_pipelined_requests_are_answered_in_order():
    async def main():
        async with serving(echo_app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(
                b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\n"
                b"POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                b"HEAD /3 HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET /4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            answers = [await client.response(), await client.response(), await client.response(head=True),
                       await client.response()]
            assert await client.closed()
        assert [a.body for a in answers] == [b"GET /1? ", b"POST /2? abc", b"", b"GET /4? "]
        assert answers[3].header(b"connection") == b"close"

    run(main())


def test_chunked_request_body_is_streamed_to_the_app():
    recorder = Recorder()

    async def main():
        async with serving(recorder) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await until(lambda: recorder.messages)
            await client.send(b"6\r\n world\r\n0\r\n\r\n")
            response = await client.response()
            client.close()
        assert response.status == 200
        assert recorder.messages[0] == {"type": "http.request", "body": b"hello", "more_body": True}
        assert recorder.messages[-1]["more_body"] is False
        assert b"".join(m["body"] for m in recorder.messages) == b"hello world"

    run(main())


def test_expect_100_continue_is_answered_when_the_app_reads_the_body():
    async def main():
        async with serving(echo_app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            interim = await client.response()
            await client.send(b"body")
            final = await client.response()
            again = await client.request(target=b"/next")
            client.close()
        assert interim.status == 100
        assert (final.status, final.body) == (200, b"POST /e? body")
        assert again.body == b"GET /next? "

    run(main())


def test_expect_100_continue_without_reading_closes_after_the_answer():
    async def refuse(scope, receive, send):
        await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body"})

    async def main():
        async with serving(refuse) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            response = await client.response()
            assert await client.closed()
        assert response.status == 401 and response.header(b"connection") == b"close"

    run(main())


def test_unread_body_is_dropped_and_the_connection_kept():
    async def ignore_body(scope, receive, send):
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"no"})

    async def main():
        async with serving(ignore_body) as server:
            client = await RawClient.connect(server.address[1])
            first = await client.request(b"POST", b"/x", body=b"y" * 1000)
            second = await client.request(b"POST", b"/x", body=b"z" * 10)
            client.close()
        assert (first.status, second.status) == (404, 404)
        assert server.metrics.connections_accepted == 1

    run(main())


def test_scope_follows_the_asgi_http_spec():
    recorder = Recorder()

    async def main():
        async with serving(recorder) as server:
            client = await RawClient.connect(server.address[1])
            await client.request(b"GET", b"/v1/licences/a%2Fb%20c?x=%41", headers=(b"X-Custom: Value", b"x-custom: two"))
            client.close()
            return server.address

    host, port = run(main())
    scope = recorder.scopes[0]
    assert scope["type"] == "http" and scope["asgi"]["version"] == "3.0"
    assert scope["http_version"] == "1.1" and scope["method"] == "GET" and scope["scheme"] == "http"
    assert scope["path"] == "/v1/licences/a/b c" and scope["raw_path"] == b"/v1/licences/a%2Fb%20c"
    assert scope["query_string"] == b"x=%41" and scope["root_path"] == ""
    assert (b"x-custom", b"Value") in scope["headers"] and (b"x-custom", b"two") in scope["headers"]
    assert (b"host", b"test") in scope["headers"]
    assert scope["server"] == (host, port) and scope["client"][0] == "127.0.0.1"
    assert "extensions" not in scope


def test_streamed_response_without_length_is_chunked():
    async def stream(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def main():
        async with serving(stream) as server:
            client = await RawClient.connect(server.address[1])
            response = await client.request()
            client.close()
        assert response.header(b"transfer-encoding") == b"chunked"
        assert response.body == b"one two three"

    run(main())


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "http.bad_request"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400, "http.bad_request"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431, "http.headers_too_large"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "http.unsupported_transfer_coding"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413, "http.body_too_large"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nxyz\r\n\r\n", 400, "http.bad_request"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "http.bad_request"),
    ],
    ids=["request-line", "header", "too-large", "transfer-coding", "declared-length", "longer-than-declared",
         "bad-chunk"],
)
def test_protocol_errors_get_a_problem_answer_and_close(request_bytes, status, code):
    async def main():
        async with serving(echo_app, limits=HttpLimits(max_body_bytes=1 << 20)) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(request_bytes)
            if code == "http.bad_request" and request_bytes.endswith(b"xyz\r\n\r\n"):
                assert (await client.response()).status == 200  # the declared byte was the body
            response = await client.response()
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0)
        assert response.status == status
        assert response.header(b"content-type") == b"application/problem+json"
        assert response.header(b"connection") == b"close"
        problem = json.loads(response.body)
        assert problem == {"type": f"urn:eledger:problem:{code}", "title": problem["title"], "status": status,
                           "detail": problem["detail"], "code": code}
        assert server.metrics.protocol_errors == 1 and server.metrics.app_errors == 0

    run(main())


def test_chunked_body_beyond_the_limit_ends_the_request_with_413():
    recorder = Recorder()

    async def main():
        async with serving(recorder, limits=HttpLimits(max_body_bytes=10)) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"8\r\n12345678\r\n8\r\n12345678\r\n")
            response = await client.response()
            assert await client.closed()
            await until(lambda: not server._state.tasks)
            return response, server.metrics

    response, metrics = run(main())
    assert response.status == 413 and json.loads(response.body)["code"] == "http.body_too_large"
    assert recorder.messages[-1] == {"type": "http.disconnect"}
    assert metrics.protocol_errors == 1 and metrics.app_errors == 0 and metrics.client_disconnects == 0


def test_app_exception_before_the_response_is_a_500_problem_and_closes(caplog):
    async def failing(scope, receive, send):
        raise ValueError("boom")

    async def main():
        async with serving(failing) as server:
            client = await RawClient.connect(server.address[1])
            response = await client.request(target=b"/fail")
            assert await client.closed()
        return response, server.metrics

    with caplog.at_level(logging.INFO, logger="eledger.http"):
        response, metrics = run(main())
    assert response.status == 500
    problem = json.loads(response.body)
    assert problem["code"] == "api.internal" and problem["type"] == "urn:eledger:problem:api.internal"
    assert "boom" not in response.body.decode()
    assert metrics.app_errors == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


def test_app_exception_after_the_response_started_closes_the_connection(caplog):
    async def failing(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"12345", "more_body": True})
        raise ValueError("boom")

    async def main():
        async with serving(failing) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            head = await client.reader.readuntil(b"\r\n\r\n")
            rest = await client.reader.read()  # EOF after 5 of 10 bytes
            client.close()
        return head, rest, server.metrics

    with caplog.at_level(logging.INFO, logger="eledger.http"):
        head, rest, metrics = run(main())
    assert head.startswith(b"HTTP/1.1 200") and rest == b"12345"
    assert metrics.app_errors == 1


def test_app_returning_without_an_answer_is_a_500():
    async def silent(scope, receive, send):
        await receive()

    async def main():
        async with serving(silent) as server:
            client = await RawClient.connect(server.address[1])
            response = await client.request()
            client.close()
        assert response.status == 500 and json.loads(response.body)["code"] == "api.internal"

    run(main())


def test_max_requests_per_connection_closes_after_the_last():
    async def main():
        async with serving(echo_app, limits=HttpLimits(max_requests_per_connection=2)) as server:
            client = await RawClient.connect(server.address[1])
            first = await client.request()
            second = await client.request()
            assert await client.closed()
        assert first.header(b"connection") is None and second.header(b"connection") == b"close"

    run(main())


def test_two_servers_share_one_listening_socket_and_leave_it_open():
    async def main():
        sock = listening_socket()
        one, two = HttpServer(echo_app), HttpServer(echo_app)
        await one.start(sock)
        await two.start(sock)
        port = sock.getsockname()[1]
        clients = [await RawClient.connect(port) for _ in range(6)]
        answers = [await c.request() for c in clients]
        for c in clients:
            c.close()
        await one.stop(1)
        still = await RawClient.connect(port)  # `two` still accepts
        assert (await still.request()).status == 200
        still.close()
        await two.stop(1)
        assert sock.fileno() != -1  # the caller's socket is not closed
        sock.close()
        assert all(a.status == 200 for a in answers)
        assert one.metrics.connections_accepted + two.metrics.connections_accepted == 7

    run(main())


def test_start_twice_and_address_before_start_are_refused():
    async def main():
        server = HttpServer(echo_app)
        with pytest.raises(HttpError) as not_started:
            server.address
        sock = listening_socket()
        await server.start(sock)
        with pytest.raises(HttpError) as twice:
            await server.start(sock)
        await server.stop(0)
        sock.close()
        return not_started.value.code, twice.value.code

    assert run(main()) == ("http.not_started", "http.already_started")


def send_then_read(port: int, context: ssl.SSLContext | None, request: bytes) -> bytes:
    """What a blocking client does (http.client, urllib3): send the whole request, then read
    the answer until the server closes. Raises OSError if the server resets it meanwhile."""
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as raw:
        sock = context.wrap_socket(raw, server_hostname="localhost") if context else raw
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_an_answer_before_a_large_body_is_read_reaches_a_client_still_sending_it(pki, tls, chunked):
    """A route refuses (403) without reading a body larger than the server drops to keep the
    connection: a client that sends its whole body before it reads still reads the answer,
    told `Connection: close`, rather than a reset (RFC 9112 §9.6)."""

    async def refuse(scope, receive, send):
        await send({"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"no"})

    async def main():
        async with serving(refuse, context=pki.server_context() if tls else None) as server:
            body = b"x" * (DRAIN_LIMIT * 16)
            if chunked:  # of unknown length: more may come than is dropped
                framed = b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"%x\r\n%s\r\n" % (4096, body[i:i + 4096]) for i in range(0, len(body), 4096)) + b"0\r\n\r\n"
            else:
                framed = b"Content-Length: %d\r\n\r\n" % len(body) + body
            request = b"POST /batch HTTP/1.1\r\nHost: t\r\n" + framed
            return await asyncio.to_thread(send_then_read, server.address[1], pki.client_context() if tls else None, request)

    answer = run(main())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ") and b"\r\nconnection: close" in head.lower() and body == b"no"
