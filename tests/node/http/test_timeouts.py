"""Each limit of HttpLimits on real sockets: slowloris headers, half-sent bodies, idle keep-alive
connections, a TLS handshake that never starts and a client that reads nothing are closed and
counted; connections beyond the limit are closed at once. Bounds are generous: the tests check
that a connection is closed and counted, never how fast."""

from __future__ import annotations

import asyncio
import socket

from node.http import HttpLimits
from tests.node.http.conftest import RawClient, Recorder, echo_app, run, serving, until

FAST = dict(tls_handshake_timeout=0.3, header_timeout=0.4, keepalive_timeout=0.3, body_timeout=0.4,
            write_timeout=0.4)


def test_slowloris_headers_are_closed_after_the_header_timeout():
    async def main():
        async with serving(echo_app, limits=HttpLimits(**FAST)) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n")
            for _ in range(3):  # a byte now and then does not extend the header deadline
                await asyncio.sleep(0.1)
                await client.send(b"X")
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0)
            return server.metrics

    metrics = run(main())
    assert metrics.header_timeouts == 1 and metrics.requests == 0


def test_half_sent_body_is_closed_after_the_body_timeout():
    recorder = Recorder()

    async def main():
        async with serving(recorder, limits=HttpLimits(**FAST)) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part")
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0 and not server._state.tasks)
            return server.metrics

    metrics = run(main())
    assert metrics.body_timeouts == 1
    assert recorder.messages[-1] == {"type": "http.disconnect"}
    assert metrics.client_disconnects == 0 and metrics.app_errors == 0


def test_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout():
    async def main():
        async with serving(echo_app, limits=HttpLimits(**FAST)) as server:
            client = await RawClient.connect(server.address[1])
            assert (await client.request()).status == 200
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0)
            silent = await RawClient.connect(server.address[1])  # never sends a byte
            assert await silent.closed()
            await until(lambda: server.metrics.connections_open == 0)
            return server.metrics

    metrics = run(main())
    assert metrics.keepalive_timeouts == 2 and metrics.requests == 1


def test_tls_handshake_that_never_starts_is_closed(pki):
    async def main():
        async with serving(echo_app, limits=HttpLimits(**FAST), context=pki.server_context()) as server:
            client = await RawClient.connect(server.address[1])  # plain TCP, no ClientHello
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0)
            return server.metrics

    metrics = run(main())
    assert metrics.tls_handshake_timeouts == 1 and metrics.tls_handshake_failures == 0


def test_client_that_does_not_read_its_answer_is_closed_after_the_write_timeout():
    chunk = b"x" * (1 << 20)

    async def flood(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def main():
        async with serving(flood, limits=HttpLimits(**FAST)) as server:
            sock = socket.create_connection(server.address)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            await until(lambda: server.metrics.write_timeouts == 1)
            await until(lambda: server.metrics.connections_open == 0 and not server._state.tasks)
            sock.close()
            return server.metrics

    metrics = run(main())
    assert metrics.app_errors == 0 and metrics.client_disconnects == 0


def test_connections_over_the_limit_are_closed_at_once_and_counted():
    async def main():
        async with serving(echo_app, limits=HttpLimits(max_connections=2)) as server:
            kept = [await RawClient.connect(server.address[1]) for _ in range(2)]
            await until(lambda: server.metrics.connections_open == 2)
            extra = await RawClient.connect(server.address[1])
            assert await extra.closed()
            assert server.metrics.connections_refused == 1
            answers = [await c.request() for c in kept]  # the admitted ones are still served
            kept[0].close()
            await until(lambda: server.metrics.connections_open == 1)
            again = await RawClient.connect(server.address[1])
            assert (await again.request()).status == 200
            for c in (kept[1], again):
                c.close()
            return answers, server.metrics

    answers, metrics = run(main())
    assert [a.status for a in answers] == [200, 200]
    assert metrics.connections_accepted == 3 and metrics.connections_refused == 1
