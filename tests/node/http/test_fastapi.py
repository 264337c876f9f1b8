"""node.http serving a FastAPI app, as the API process will: routes, bodies, framework errors,
streamed answers, and a client dropping mid-body (one INFO line, nothing else logged)."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from tests.node.http.conftest import RawClient, run, serving, until


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/status")
    async def status() -> dict:
        return {"height": 7}

    @app.post("/v1/echo")
    async def echo(request: Request) -> dict:
        return {"size": len(await request.body())}

    @app.get("/v1/stream")
    async def stream() -> StreamingResponse:
        async def parts():
            for i in range(3):
                yield b"part%d;" % i

        return StreamingResponse(parts(), media_type="text/plain")

    return app


def test_fastapi_routes_bodies_and_errors():
    async def main():
        async with serving(make_app()) as server:
            client = await RawClient.connect(server.address[1])
            status = await client.request(target=b"/v1/status")
            echo = await client.request(b"POST", b"/v1/echo", body=b"x" * 5000)
            missing = await client.request(target=b"/nowhere")
            head = await client.request(b"HEAD", b"/v1/status")
            stream = await client.request(target=b"/v1/stream")
            client.close()
            return status, echo, missing, head, stream, server.metrics

    status, echo, missing, head, stream, metrics = run(main())
    assert json.loads(status.body) == {"height": 7}
    assert json.loads(echo.body) == {"size": 5000}
    assert missing.status == 404
    assert head.status in (200, 405) and head.body == b""
    assert stream.body == b"part0;part1;part2;"
    assert metrics.requests == 5 and metrics.connections_accepted == 1 and metrics.app_errors == 0


def test_fastapi_client_dropping_mid_body_is_one_info_line(caplog):
    async def main():
        async with serving(make_app()) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            await until(lambda: server._state.tasks)
            client.abort()
            await until(lambda: server.metrics.client_disconnects == 1 and not server._state.tasks)
            return server.metrics

    with caplog.at_level(logging.DEBUG):
        metrics = run(main())
    lines = [r for r in caplog.records
             if r.levelno >= logging.WARNING or (r.levelno >= logging.INFO and r.name.startswith("eledger"))]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and lines[0].exc_info is None
    assert lines[0].fields["during"] == "request body"
    assert metrics.app_errors == 0
