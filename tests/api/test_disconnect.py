"""A client that goes away before its answer (api/disconnect.py, api.md §3.6), with the app served
by the node's own HTTP server (node.http) as the API process serves it: one INFO line from the
server, nothing at ERROR, no traceback, and the request counted with status 499, never 500.

Found by the end-to-end connection test (tests/e2e/test_connections.py): a client that dropped
mid-body, or whose connection the server closed for its body timeout, made the route's body read
raise Starlette's ClientDisconnect, and a client that left while the node worked made the answer's
send raise; both reached the handler of last resort, which logged "POST /v1/verify failed" with a
traceback and counted a 500."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.disconnect import ClientGoneMiddleware, client_gone
from api.main import create_app
from ledger.ids import complete_uscc, format_licence_id
from node.demo import FOOD
from tests.api.service import LocalNodeService
from tests.node.http.conftest import RawClient, run, serving, until

#: A well-formed licence id: the route reads the body only for a path that parses.
LICENCE_ID = format_licence_id(FOOD, complete_uscc("91110000000000001"), "7", "001")


def statuses(app, route: str) -> dict[str, float]:
    """The request counts of `route` in the app's latency histogram, by status."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(app.state.metrics.render().decode()):
        if family.name == "eledger_http_request_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels["route"] == route:
                    out[sample.labels["status"]] = sample.value
    return out


def logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.name.startswith("eledger")]


@pytest.fixture
def service(net):
    service = LocalNodeService(net)
    yield service
    service.close()


def test_a_client_dropping_mid_body_is_one_info_line_and_counted_499(service, caplog):
    app = create_app(service)
    path = f"/v1/licences/{LICENCE_ID}/uses"

    async def main():
        async with serving(app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n".encode() + b'{"document": {')
            await until(lambda: server._state.tasks)
            await asyncio.sleep(0.05)  # the route is reading the body
            client.abort()
            await until(lambda: server.metrics.client_disconnects == 1 and not server._state.tasks)
            return server.metrics

    with caplog.at_level(logging.INFO):
        metrics = run(main())
    records = logged(caplog)
    assert [(r.levelname, r.getMessage()) for r in records] == [("INFO", "client went away before its response was complete")]
    assert records[0].exc_info is None and records[0].fields["during"] == "request body"
    assert metrics.app_errors == 0
    assert statuses(app, "/v1/licences/{licence_id}/uses") == {"499": 1.0}


class SlowStatus(LocalNodeService):
    """Answers GET /v1/status only once `release` is set, so the client can leave meanwhile."""

    def __init__(self, net) -> None:
        super().__init__(net)
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def status(self) -> dict[str, object]:
        self.asked.set()
        await self.release.wait()
        return await super().status()


def test_a_client_leaving_while_the_node_works_is_one_info_line_and_counted_499(net, caplog):
    service = SlowStatus(net)
    app = create_app(service)

    async def main():
        async with serving(app) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"GET /v1/status HTTP/1.1\r\nHost: t\r\n\r\n")
            await service.asked.wait()
            client.abort()
            await until(lambda: server.metrics.connections_open == 0)
            service.release.set()  # the answer is sent to a connection that is gone
            await until(lambda: server.metrics.client_disconnects == 1 and not server._state.tasks)
            return server.metrics

    try:
        with caplog.at_level(logging.INFO):
            metrics = run(main())
    finally:
        service.close()
    records = logged(caplog)
    assert [(r.levelname, r.getMessage()) for r in records] == [("INFO", "client went away before its response was complete")]
    assert records[0].fields["during"] == "response"
    assert metrics.app_errors == 0
    assert statuses(app, "/v1/status") == {"499": 1.0}


def test_an_error_the_client_did_not_cause_still_reaches_the_error_handlers():
    class Boom(OSError):
        pass

    async def app(scope, receive, send):
        raise Boom("the disk is full")

    async def call():
        scope = {"type": "http"}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            pass

        await ClientGoneMiddleware(app)(scope, receive, send)

    with pytest.raises(Boom):
        asyncio.run(call())


def test_only_a_request_whose_client_left_is_marked():
    seen = {}

    async def app(scope, receive, send):
        message = await receive()
        seen["message"] = message
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def call(first_message):
        scope = {"type": "http"}

        async def receive():
            return first_message

        async def send(message):
            if first_message["type"] == "http.disconnect":
                raise ConnectionResetError("gone")

        await ClientGoneMiddleware(app)(scope, receive, send)
        return scope

    assert not client_gone(asyncio.run(call({"type": "http.request", "body": b"", "more_body": False})))
    assert client_gone(asyncio.run(call({"type": "http.disconnect"})))
