"""Shared helpers of the node.http tests: a running server on 127.0.0.1 (port chosen by the
kernel), a raw client that sends exact bytes and parses answers, test ASGI apps, and TLS
contexts from a PKI made with certs.layout.

Every test runs its event loop under `asyncio.wait_for(…, TIMEOUT)` and waits for conditions,
never for durations; no test asserts on speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from certs.layout import init_pki, issue_credential
from certs.roles import Role
from node.http import HttpLimits, HttpServer

TIMEOUT = 15.0
HOST = "127.0.0.1"
# OpenSSL checks validity against the system clock, so the certificates are made valid now.
NOW = datetime.now(timezone.utc)


def run(coroutine) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.005)


@dataclass
class Response:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class RawClient:
    """One connection: send exact bytes, read answers (Content-Length or chunked framing)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, context: ssl.SSLContext | None = None) -> RawClient:
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=context, server_hostname="localhost" if context else None
        )
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, *, head: bool = False) -> Response:
        start = await self.reader.readuntil(b"\r\n\r\n")
        lines = start[:-4].split(b"\r\n")
        _, status, reason = (lines[0].split(b" ", 2) + [b""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
        response = Response(int(status), reason, headers, b"")
        if head or int(status) < 200 or int(status) in (204, 304):
            return response
        length = response.header(b"content-length")
        if length is not None:
            response.body = await self.reader.readexactly(int(length))
        elif response.header(b"transfer-encoding") == b"chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            response.body = b"".join(parts)
        else:
            response.body = await self.reader.read()
        return response

    async def request(self, method: bytes = b"GET", target: bytes = b"/", body: bytes = b"",
                      headers: tuple[bytes, ...] = ()) -> Response:
        head = [method + b" " + target + b" HTTP/1.1", b"Host: test", *headers]
        if body:
            head.append(b"Content-Length: " + str(len(body)).encode())
        await self.send(b"\r\n".join(head) + b"\r\n\r\n" + body)
        return await self.response(head=method == b"HEAD")

    async def closed(self) -> bool:
        """Wait until the server closes the connection (EOF or reset); True then. Bytes that
        arrive first are read and dropped."""
        try:
            while await self.reader.read(65536):
                pass
        except (ConnectionError, ssl.SSLError):
            pass
        self.writer.close()
        return True

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        """Reset the connection (RST), as a client that crashes."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.writer.transport.abort()


def listening_socket() -> socket.socket:
    sock = socket.create_server((HOST, 0))
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serving(app, *, limits: HttpLimits = HttpLimits(), context: ssl.SSLContext | None = None,
                  grace_s: float = 1.0, log=None) -> AsyncIterator[HttpServer]:
    """A started HttpServer on a kernel-chosen port; stopped (and its socket closed) after."""
    sock = listening_socket()
    server = HttpServer(app, ssl_context=context, limits=limits, log=log)
    await server.start(sock)
    try:
        yield server
    finally:
        await server.stop(grace_s)
        sock.close()


# Apps

async def echo_app(scope, receive, send):
    """Answers with the request's method, path, query and body (text/plain)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    text = b"%s %s?%s %s" % (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


@dataclass
class Recorder:
    """An app that records the scopes and messages it saw, and answers 200 "ok"."""

    scopes: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        while True:
            message = await receive()
            self.messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


# TLS

@dataclass(frozen=True)
class Pki:
    root: Path
    partner: tuple[Path, Path]
    stranger_partner: tuple[Path, Path]  # from a CA the server does not trust

    def server_context(self, verify_mode: ssl.VerifyMode = ssl.CERT_OPTIONAL) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_cert_chain(self.root / "beijing/nodes/beijing-1.crt", self.root / "beijing/nodes/beijing-1.key")
        context.load_verify_locations(self.root / "beijing/ca.crt")
        context.verify_mode = verify_mode
        return context

    def client_context(self, credential: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.root / "beijing/ca.crt")
        if credential is not None:
            context.load_cert_chain(*credential)
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    base = tmp_path_factory.mktemp("http-pki")
    init_pki(base / "pki", ["beijing"], NOW)
    init_pki(base / "other", ["tianjin"], NOW)
    window = dict(not_before=NOW - timedelta(minutes=5), not_after=NOW + timedelta(days=1))
    issue_credential(base / "pki" / "beijing", role=Role.PARTNER, name="tianjin-bank",
                     out_prefix=base / "partner", **window)
    other = base / "other" / "tianjin" / "partners" / "tianjin-gateway"
    return Pki(
        root=base / "pki",
        partner=(base / "partner.crt", base / "partner.key"),
        stranger_partner=(other.with_suffix(".crt"), other.with_suffix(".key")),
    )
