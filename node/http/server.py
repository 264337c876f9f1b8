"""An HTTP/1.1 server for one ASGI 3 application: `HttpServer.start(sock)`, `stop(grace_s)`.

It serves the API process: HTTPS with the caller's TLS client certificate in the ASGI scope
(`scope["extensions"]["tls"]`), and the limits of `HttpLimits` on every connection (count,
handshake, header, body, keep-alive and write timeouts, header and body sizes), which uvicorn
does not offer. The protocol work is node.http.connection's; this module owns the listening
socket, the set of connections and the way down. It never runs the application's lifespan
protocol, never logs per request, and never closes the caller's socket.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
import ssl

from node.http.connection import HttpConnection
from node.http.limits import HttpError, HttpLimits
from node.http.metrics import HttpMetrics
from node.http.state import App, ServerState
from node.http.tls import read_cipher_ids

#: How long cancelled application tasks may take to unwind once the grace period is over.
CANCEL_WAIT_S = 1.0


class HttpServer:
    """Serves `app` on listening sockets given to `start`.

    `ssl_context` (server side) makes it HTTPS; its `verify_mode` decides whether a client
    certificate is optional or required, and OpenSSL checks it against the context's roots.
    `metrics` counts what happened (node.http.metrics). Use from one event loop.
    """

    def __init__(
        self,
        app: App,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: HttpLimits = HttpLimits(),
        log: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.metrics = HttpMetrics()
        self.log = log if log is not None else logging.getLogger("eledger.http")
        self._ssl_context = ssl_context
        self._state: ServerState | None = None
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) listened on. Raises HttpError "http.not_started" before `start`."""
        if self._server is None:
            raise HttpError("the HTTP server is not started", code="http.not_started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on `sock`, an already bound and listening TCP socket. The server
        works on a duplicate of it: the caller keeps `sock` (and closes it), and several servers,
        in this process or others, may accept from the same socket.

        Raises HttpError "http.already_started" if called twice, OSError if `sock` cannot listen.
        """
        if self._state is not None:
            raise HttpError("the HTTP server is already started", code="http.already_started")
        loop = asyncio.get_running_loop()
        context = self._ssl_context
        self._state = state = ServerState(
            app=self.app,
            limits=self.limits,
            metrics=self.metrics,
            log=self.log,
            ssl_context=context,
            cipher_ids=read_cipher_ids(context) if context is not None else {},
            loop=loop,
            context=contextvars.copy_context(),
        )
        listener = sock.dup()
        listener.setblocking(False)
        try:
            self._server = await loop.create_server(
                lambda: HttpConnection(state), sock=listener, backlog=self.limits.backlog
            )
        except BaseException:
            listener.close()
            raise

    async def stop(self, grace_s: float) -> None:
        """Stop accepting; close idle keep-alive connections and TLS handshakes at once; let
        requests in flight finish within `grace_s` seconds (their responses say
        `Connection: close`); then close every connection left and cancel its application.
        Returns when every connection is closed. Does nothing if not started or already stopped.
        """
        state, server = self._state, self._server
        if state is None or server is None or state.stopping:
            return
        state.stopping = True
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(grace_s, 0.0)
        if state.connections:
            await _wait_event(state.drained, deadline - loop.time())
        if state.tasks:
            await asyncio.wait(list(state.tasks), timeout=max(deadline - loop.time(), 0.0))
        left = len(state.connections)
        for connection in list(state.connections):
            connection.abort()
        tasks = list(state.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)
        if state.connections:
            await _wait_event(state.drained, CANCEL_WAIT_S)
        if left or tasks:
            self.log.info(
                "HTTP server stopped; what was still running at the end of the grace period was closed",
                extra={"fields": {"connections": left, "requests": len(tasks), "grace_s": grace_s}},
            )


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        async with asyncio.timeout(max(timeout, 0.0)):
            await event.wait()
    except TimeoutError:
        pass
