"""HttpServer.stop(grace_s): no new connections, idle ones closed at once, requests in flight
finish within the grace period (answered with `Connection: close`), the rest closed after it."""

from __future__ import annotations

import asyncio
import logging

from node.http import HttpServer
from tests.node.http.conftest import RawClient, listening_socket, run, until


def test_stop_lets_a_request_in_flight_finish_and_closes_idle_connections():
    async def main():
        release = asyncio.Event()
        started = asyncio.Event()

        async def app(scope, receive, send):
            await receive()
            if scope["path"] == "/slow":
                started.set()
                await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"done"})

        sock = listening_socket()
        server = HttpServer(app)
        await server.start(sock)
        port = server.address[1]
        idle = await RawClient.connect(port)
        assert (await idle.request()).status == 200  # now idle, kept alive
        busy = await RawClient.connect(port)
        await busy.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        await started.wait()

        stopping = asyncio.create_task(server.stop(30))
        assert await idle.closed()  # at once, long before the grace period ends
        # The caller's socket still listens (the kernel queues the connection), but this server
        # no longer accepts: the connection is never taken.
        late = await RawClient.connect(port)
        assert not stopping.done()
        release.set()
        answer = await busy.response()
        assert await busy.closed()
        await stopping
        accepted = server.metrics.connections_accepted
        sock.close()
        assert await late.closed()
        return answer, accepted

    answer, accepted = run(main())
    assert (answer.status, answer.body) == (200, b"done")
    assert answer.header(b"connection") == b"close"
    assert accepted == 2


def test_stop_closes_what_is_still_running_after_the_grace_period(caplog):
    cancelled: list[bool] = []

    async def main():
        started = asyncio.Event()

        async def hang(scope, receive, send):
            await receive()
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        sock = listening_socket()
        server = HttpServer(hang)
        await server.start(sock)
        client = await RawClient.connect(server.address[1])
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await started.wait()
        await server.stop(0.2)
        assert await client.closed()
        sock.close()
        await until(lambda: server.metrics.connections_open == 0)
        return server.metrics

    with caplog.at_level(logging.INFO, logger="eledger.http"):
        metrics = run(main())
    assert cancelled == [True]
    assert metrics.client_disconnects == 0 and metrics.app_errors == 0
    [line] = [r for r in caplog.records if r.name == "eledger.http"]
    assert line.levelno == logging.INFO and line.fields["connections"] == 1


def test_stop_twice_and_before_start_do_nothing():
    async def main():
        server = HttpServer(lambda scope, receive, send: None)
        await server.stop(1)
        sock = listening_socket()
        await server.start(sock)
        await server.stop(1)
        await server.stop(1)
        sock.close()

    run(main())
