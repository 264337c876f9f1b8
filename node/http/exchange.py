"""One HTTP request and its response, as the ASGI application sees them (ASGI HTTP spec 2.4).

An `Exchange` holds the request's scope, the body bytes received but not yet handed to the
application, and where its response stands. `receive()` hands out the body as `http.request`
events (`more_body` while more is coming) and `http.disconnect` once the client went away or
the response is complete; `send()` takes `http.response.start` and `http.response.body` and
passes them to the connection, which frames and writes them. After the client went away,
`send()` raises `ClientDisconnected` (an OSError, as the spec asks) and the server logs one INFO
line for the request, never a traceback.

Nothing here touches a socket or h11; the connection (node.http.connection) feeds the body in
with `add_body` / `end_body` and calls `wake()` when something the application waits for changed.
"""

from __future__ import annotations

import asyncio
import math
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import h11

from node.http.problem import Problem, http_date

if TYPE_CHECKING:
    from node.http.connection import HttpConnection

ASGI = {"version": "3.0", "spec_version": "2.4"}
REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
_DISCONNECT = {"type": "http.disconnect"}


class ClientDisconnected(OSError):
    """Raised by `send()` when the connection of the request is gone (ASGI HTTP spec 2.4)."""


def build_scope(
    request: h11.Request,
    headers: list[tuple[bytes, bytes]],
    *,
    scheme: str,
    client: tuple[str, int] | None,
    server: tuple[str, int] | None,
    extensions: dict[str, object] | None,
) -> dict[str, Any]:
    """The ASGI `http` scope of `request`: path percent-decoded, header names lower-cased (h11
    gives them so), `extensions` only over TLS."""
    raw_path, _, query_string = request.target.partition(b"?")
    path = raw_path.decode("ascii")
    if "%" in path:
        path = unquote(path)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": ASGI,
        "http_version": "1.1" if request.http_version == b"1.1" else request.http_version.decode("ascii"),
        "method": request.method.decode("ascii"),
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": server,
    }
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


class Exchange:
    """The state of one request/response on a connection. Created by the connection when a
    request's headers are complete; lives until its application call returns."""

    __slots__ = (
        "conn", "scope", "head_only", "chunks", "buffered", "body_length", "body_size", "body_done",
        "body_given", "expect_100", "sent_100", "waiter", "status", "headers", "started",
        "head_sent", "wrote", "complete", "disconnected", "lost_reason", "failed",
    )

    def __init__(self, conn: HttpConnection, scope: dict[str, Any], *, expect_100: bool, body_length: int | None) -> None:
        self.conn = conn
        self.scope = scope
        self.head_only = scope["method"] == "HEAD"
        self.chunks: list[bytes] = []
        self.buffered = 0  # bytes in `chunks`
        self.body_length = body_length  # as its Content-Length declares (None: chunked)
        self.body_size = 0  # body bytes received so far
        self.body_done = False  # the whole body was received
        self.body_given = False  # ... and handed to the application
        self.expect_100 = expect_100
        self.sent_100 = False
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: Any = ()
        self.started = False  # http.response.start received
        self.head_sent = False  # the status line and headers went through h11
        self.wrote = False  # bytes of the response reached the transport
        self.complete = False  # the response is complete
        self.disconnected = False  # the connection closed before `complete`
        self.lost_reason: str | None = None  # why, when the server closed it (None: the client)
        self.failed: Problem | None = None  # a protocol error of the client in the body

    # Fed by the connection.

    def unread(self) -> float:
        """Bytes of the request body still to come: 0 once complete, infinite when chunked."""
        if self.body_done:
            return 0
        return math.inf if self.body_length is None else self.body_length - self.body_size

    def add_body(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        self.body_size += len(data)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # The ASGI callables.

    async def receive(self) -> dict[str, Any]:
        """The next `http.request` event, or `http.disconnect` when the client went away (before
        the body was complete), the body was refused, or the response is complete."""
        while True:
            if not self.body_given:
                if self.body_done:
                    self.body_given = True
                    return {"type": "http.request", "body": self._take(), "more_body": False}
                if self.disconnected or self.failed is not None:
                    return _DISCONNECT
                if self.chunks:
                    return {"type": "http.request", "body": self._take(), "more_body": True}
                if self.expect_100 and not self.sent_100 and not self.head_sent:
                    self.sent_100 = True
                    self.conn.send_continue()
            elif self.disconnected or self.complete or self.failed is not None:
                return _DISCONNECT
            self.waiter = self.conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    async def send(self, message: dict[str, Any]) -> None:
        """Take `http.response.start` then `http.response.body` messages. Raises
        ClientDisconnected once the connection is gone, RuntimeError for a message out of order
        or of an unknown type."""
        if self.disconnected or self.failed is not None:
            raise ClientDisconnected("the client closed the connection")
        kind = message["type"]
        if kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body sent before http.response.start")
            if self.complete:
                return
            await self.conn.write_body(self, message.get("body", b""), message.get("more_body", False))
        elif kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self.status = message["status"]
            self.headers = message.get("headers", ())
        else:
            raise RuntimeError(f"unexpected ASGI message type {kind!r} for an http scope")

    def response(self, body: bytes, more: bool, *, close: bool) -> h11.Response:
        """The h11 event for the status line and headers, from `http.response.start` and the
        first body: `Content-Length` added when the whole body came in one message and the
        application gave none, `Date` always, `Connection: close` if `close`."""
        status = self.status
        headers = list(self.headers)
        has_length = False
        for name, _ in headers:
            if name == b"content-length":
                has_length = True
                break
        if not has_length and not more and status >= 200 and status not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode("ascii")))
        headers.append((b"date", http_date()))
        if close:
            headers.append((b"connection", b"close"))
        return h11.Response(status_code=status, headers=headers, reason=REASONS.get(status, b""))

    def _take(self) -> bytes:
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        self.conn.body_taken()
        return body
