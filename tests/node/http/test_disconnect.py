"""Clients that go away mid-request: one INFO line per request, no traceback, no error answer;
the application sees `http.disconnect` and `send()` raises ClientDisconnected (an OSError)."""

from __future__ import annotations

import asyncio
import logging

from node.http import ClientDisconnected
from tests.node.http.conftest import RawClient, run, serving, until


def _records(caplog) -> list[logging.LogRecord]:
    """Our lines, and anything at WARNING or above from anyone (asyncio's debug mode says more
    at INFO)."""
    return [r for r in caplog.records
            if r.levelno >= logging.WARNING or (r.levelno >= logging.INFO and r.name.startswith("eledger"))]


def test_client_aborting_mid_body_is_one_info_line_without_traceback(caplog):
    seen: list[dict] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "http.disconnect":
                # As Starlette does: the body could not be read; the app answers anyway.
                await send({"type": "http.response.start", "status": 400, "headers": []})
                return
            if not message.get("more_body"):
                break

    async def main():
        async with serving(app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST /v1/transactions HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\npart")
            await until(lambda: seen)
            client.abort()
            await until(lambda: server.metrics.client_disconnects == 1)
            await until(lambda: not server._state.tasks)
            return server.metrics

    with caplog.at_level(logging.DEBUG):
        metrics = run(main())
    assert seen[-1] == {"type": "http.disconnect"}
    records = _records(caplog)
    assert len(records) == 1
    [line] = records
    assert line.levelno == logging.INFO and line.exc_info is None
    assert line.fields == {"method": "POST", "path": "/v1/transactions", "during": "request body"}
    assert metrics.app_errors == 0 and metrics.requests == 0


def test_client_leaving_while_the_app_works_is_one_info_line(caplog):
    raised: list[BaseException] = []

    async def main():
        started, gone = asyncio.Event(), asyncio.Event()

        async def app(scope, receive, send):
            await receive()
            started.set()
            await gone.wait()  # a long computation that notices nothing until it answers
            try:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            except ClientDisconnected as exc:
                raised.append(exc)
                raise

        async with serving(app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"GET /v1/verify HTTP/1.1\r\nHost: t\r\n\r\n")
            await started.wait()
            client.close()
            await until(lambda: server.metrics.connections_open == 0)
            gone.set()
            await until(lambda: server.metrics.client_disconnects == 1 and not server._state.tasks)
            return server.metrics

    with caplog.at_level(logging.DEBUG):
        metrics = run(main())
    assert len(raised) == 1 and isinstance(raised[0], OSError)
    records = _records(caplog)
    assert len(records) == 1 and records[0].levelno == logging.INFO and records[0].exc_info is None
    assert records[0].fields["during"] == "response"
    assert metrics.app_errors == 0


def test_receive_after_the_response_returns_disconnect():
    messages: list[dict] = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})
        messages.append(await receive())

    async def main():
        async with serving(app) as server:
            client = await RawClient.connect(server.address[1])
            response = await client.request()
            await until(lambda: messages)
            client.close()
        return response

    assert run(main()).status == 204
    assert messages == [{"type": "http.disconnect"}]
