"""One client connection of the HTTP server: HTTP/1.1 over asyncio with h11, and its limits.

An `HttpConnection` is the asyncio protocol of one accepted socket. It runs the TLS handshake
(when the server has a context), feeds received bytes to h11, starts one task per request that
calls the ASGI application with an `Exchange`, frames the application's response through h11
and writes it in as few `transport.write` calls as the application allows, keeps the connection
alive for the next request (pipelined ones included, answered in order), and closes it when a
limit of `HttpLimits` is reached. Every timeout is one deadline checked by a single timer per
connection, so a request costs no timer of its own.

It must never let a client's failure look like the server's: a client that goes away is one
INFO line, a protocol error of the client is a 4xx problem document (node.http.problem), and
only an application that raises is logged as an error. It never logs per request and never
reads or logs key material.
"""

from __future__ import annotations

import asyncio
import enum
import socket

import h11

from node.http.deadlines import Deadlines
from node.http.exchange import ClientDisconnected, Exchange, build_scope
from node.http.problem import (
    BAD_REQUEST,
    BODY_TOO_LARGE,
    HEADERS_TOO_LARGE,
    INTERNAL,
    PROTOCOL_PROBLEMS,
    Problem,
    render_problem,
)
from node.http.state import ServerState
from node.http.tls import read_tls_extension

#: Request body bytes held for the application before reading from the socket pauses.
BODY_HIGH_WATER = 256 * 1024
#: Response bytes buffered in the transport above which `send()` waits for the client to read.
WRITE_HIGH_WATER = 64 * 1024
WRITE_LOW_WATER = 16 * 1024
#: An unread rest of a request body that is read and dropped to keep the connection. An answer
#: that starts with more of it to come says `Connection: close`, and the connection lingers.
DRAIN_LIMIT = 64 * 1024
#: How long a connection closed after an answer keeps reading (and dropping) what the client
#: still sends, so that a client that sends its whole request before it reads gets the answer
#: rather than a reset (RFC 9112 §9.6).
LINGER_S = 2.0
#: How long a TLS close may wait for the client's close_notify.
TLS_SHUTDOWN_S = 2.0


class Phase(enum.Enum):
    HANDSHAKE = "handshake"  # TLS handshake running
    WAITING = "waiting"  # for (the rest of) a request's headers
    ACTIVE = "active"  # a request is being answered
    DRAINING = "draining"  # answered; dropping the unread rest of its body
    CLOSING = "closing"  # closing; received bytes are dropped
    CLOSED = "closed"


class HttpConnection(asyncio.Protocol):
    """The protocol of one accepted connection (see the module docstring)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = state.loop
        self.limits = state.limits
        self.metrics = state.metrics
        self.phase = Phase.CLOSED
        self.transport: asyncio.Transport | None = None
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=state.limits.max_header_bytes)
        self.exchange: Exchange | None = None
        self.requests = 0
        self.scheme = "https" if state.ssl_context is not None else "http"
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.extensions: dict[str, object] | None = None
        self.handshake: asyncio.Task[None] | None = None
        self.wait_start = 0.0  # when the current wait for a request began
        self.got_byte = False  # a byte of the awaited request arrived
        self.after_body = 0  # bytes received since the current request's body was complete
        self.received = 0  # bytes received since the current request started
        self.reading_paused = False
        self.write_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.close_reason: str | None = None  # why the server closed (None: open, or the client)
        self.deadlines = Deadlines(self.loop, self._expired)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        state = self.state
        if state.stopping or len(state.connections) >= self.limits.max_connections:
            self.metrics.connections_refused += 1
            transport.abort()
            return
        state.connections.add(self)
        self.metrics.connections_accepted += 1
        self.metrics.connections_open += 1
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP, and those
            # accepted from `socket.create_server` have 0: without it a response written in two
            # segments waits for the client's delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.server = (local[0], local[1]) if isinstance(local, tuple) else None
        if state.ssl_context is None:
            self.transport = transport  # type: ignore[assignment]
            self._ready()
            return
        self.phase = Phase.HANDSHAKE
        transport.pause_reading()  # type: ignore[attr-defined]
        self.handshake = self.loop.create_task(self._start_tls(transport))

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        phase = self.phase
        if phase is Phase.WAITING:
            self.h11.receive_data(data)
            if not self.got_byte:
                self.got_byte = True
                self.deadlines.set_read(self.wait_start + self.limits.header_timeout, "header")
            self._next_request()
        elif phase is Phase.ACTIVE:
            self.h11.receive_data(data)
            exchange = self.exchange
            if exchange is None or exchange.failed is not None:
                return
            if not exchange.body_done:
                self._pull_body(exchange)
            else:
                self.after_body += len(data)
                if self.after_body > self.limits.max_header_bytes:
                    self._pause_reading()
        elif phase is Phase.DRAINING:
            self.h11.receive_data(data)
            self._drain()
        elif phase is Phase.HANDSHAKE:
            # Application data can arrive with the end of the handshake, before `_ready`.
            self.h11.receive_data(data)
            self.got_byte = True

    def eof_received(self) -> bool | None:
        # A client's FIN, even after a complete request, ends the connection: HTTP clients close
        # when they give up, and a half-close cannot be told from that (as nginx and uvicorn).
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.phase is Phase.CLOSED:
            return  # refused at accept, or already counted
        self.phase = Phase.CLOSED
        self.deadlines.cancel()
        state = self.state
        state.connections.discard(self)
        self.metrics.connections_open -= 1
        if state.stopping and not state.connections:
            state.drained.set()
        self._lose_exchange()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.deadlines.set_write(self.loop.time() + self.limits.write_timeout)

    def resume_writing(self) -> None:
        self.write_paused = False
        self.deadlines.write = None
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.phase is Phase.WAITING:
            # The keep-alive and header clocks start once the last answer is nearly sent.
            self._restart_wait()

    # TLS

    async def _start_tls(self, raw: asyncio.BaseTransport) -> None:
        assert self.state.ssl_context is not None
        limit = self.limits.tls_handshake_timeout
        try:
            async with asyncio.timeout(limit):
                transport = await self.loop.start_tls(
                    raw,  # type: ignore[arg-type]
                    self,
                    self.state.ssl_context,
                    server_side=True,
                    ssl_handshake_timeout=limit + 1.0,  # ours fires first, and is counted
                    ssl_shutdown_timeout=TLS_SHUTDOWN_S,
                )
        except TimeoutError:
            self.metrics.tls_handshake_timeouts += 1
            self._handshake_failed(raw)
            return
        except asyncio.CancelledError:
            self._handshake_failed(raw)
            raise
        except Exception:  # noqa: BLE001 - ssl.SSLError, resets, EOF: the client's failure, counted
            self.metrics.tls_handshake_failures += 1
            self._handshake_failed(raw)
            return
        finally:
            self.handshake = None
        if self.phase is not Phase.HANDSHAKE:  # closed by the client right after the handshake
            transport.abort()
            return
        self.extensions = {"tls": read_tls_extension(transport.get_extra_info("ssl_object"), self.state.cipher_ids)}
        self.transport = transport  # type: ignore[assignment]
        self._ready()

    def _handshake_failed(self, raw: asyncio.BaseTransport) -> None:
        raw.abort()  # type: ignore[attr-defined]
        self.close_reason = "handshake"
        self.connection_lost(None)

    # Waiting for a request

    def _ready(self) -> None:
        assert self.transport is not None
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)
        self.phase = Phase.WAITING
        self._restart_wait()
        if self.got_byte:
            self._next_request()

    def _restart_wait(self) -> None:
        """Start the clocks of the awaited request again, keeping whether a byte of it came."""
        got_byte = self.got_byte
        self._wait_for_request()
        if got_byte:
            self.got_byte = True
            self.deadlines.set_read(self.wait_start + self.limits.header_timeout, "header")

    def _wait_for_request(self) -> None:
        """Start the keep-alive and header clocks for the next request."""
        self.wait_start = self.loop.time()
        self.got_byte = False
        self.deadlines.set_read(self.wait_start + self.limits.keepalive_timeout, "keepalive")

    def _next_request(self) -> None:
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            self._refuse(PROTOCOL_PROBLEMS.get(exc.error_status_hint, BAD_REQUEST))
            return
        if type(event) is h11.Request:
            self._start_exchange(event)
        elif type(event) is h11.ConnectionClosed:
            self._close()
        elif event is not h11.NEED_DATA:
            self._close()

    def _start_exchange(self, request: h11.Request) -> None:
        limits = self.limits
        self.requests += 1
        self.phase = Phase.ACTIVE
        self.after_body = 0
        headers = [(name.lower(), value) for name, value in request.headers.raw_items()]
        # h11 bounds the head only while it is incomplete: one read can bring a larger one.
        if self.received > limits.max_header_bytes and _head_size(request, headers) > limits.max_header_bytes:
            self._refuse(HEADERS_TOO_LARGE)
            return
        self.received = 0
        body_length: int | None = 0
        for name, value in headers:
            if name == b"content-length":
                body_length = int(value)
                if body_length > limits.max_body_bytes:
                    self._refuse(BODY_TOO_LARGE, head=request.method == b"HEAD")
                    return
            elif name == b"transfer-encoding":
                body_length = None  # chunked (h11 accepts no other coding)
        scope = build_scope(
            request, headers, scheme=self.scheme, client=self.client, server=self.server,
            extensions=self.extensions,
        )
        exchange = self.exchange = Exchange(self, scope, expect_100=self.h11.they_are_waiting_for_100_continue, body_length=body_length)
        self.deadlines.set_read(self.loop.time() + limits.body_timeout, "body")
        self._pull_body(exchange)
        task = self.loop.create_task(self._run(exchange), context=self.state.context.copy())
        self.state.tasks.add(task)
        task.add_done_callback(self.state.tasks.discard)

    # The request body

    def _pull_body(self, exchange: Exchange) -> None:
        conn = self.h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                self._fail(exchange, BAD_REQUEST)
                return
            kind = type(event)
            if kind is h11.Data:
                exchange.add_body(event.data)  # type: ignore[union-attr]
                if exchange.body_size > self.limits.max_body_bytes:
                    self._fail(exchange, BODY_TOO_LARGE)
                    return
            elif kind is h11.EndOfMessage:
                exchange.body_done = True
                self.deadlines.read = None
                break
            else:
                break  # NEED_DATA
        exchange.wake()
        if exchange.buffered > BODY_HIGH_WATER:
            self._pause_reading()

    def body_taken(self) -> None:
        """The application took the buffered body: read again."""
        if self.reading_paused and self.phase is Phase.ACTIVE:
            self._resume_reading()

    def send_continue(self) -> None:
        """Answer `Expect: 100-continue`: the application asks for the body."""
        if self.phase is Phase.ACTIVE and self.transport is not None:
            self.transport.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=())))

    def _fail(self, exchange: Exchange, problem: Problem) -> None:
        """A protocol error of the client inside the body: the application sees a disconnect,
        the client gets `problem` (if no answer started) once the application returns."""
        exchange.failed = problem
        self.deadlines.read = None
        self._pause_reading()
        exchange.wake()

    # The response

    async def write_body(self, exchange: Exchange, body: bytes, more: bool) -> None:
        """Frame and write one `http.response.body` (with the status line and headers before
        the first); wait while the client is not reading. Raises ClientDisconnected when the
        connection closes meanwhile, h11.LocalProtocolError for an invalid response."""
        if self.phase is not Phase.ACTIVE or self.exchange is not exchange:
            raise ClientDisconnected("the connection is closing")
        conn = self.h11
        out: list[bytes] = []
        if not exchange.head_sent:
            close = self.state.stopping or self.requests >= self.limits.max_requests_per_connection or (
                exchange.expect_100 and not exchange.sent_100 and not exchange.body_done
            ) or exchange.unread() > DRAIN_LIMIT  # the last one, a client waiting for a 100 it will not get, or more body than is dropped
            out.append(conn.send(exchange.response(body, more, close=close)))
            exchange.head_sent = True
        if body and not exchange.head_only:
            out.append(conn.send(h11.Data(data=body)))
        if not more:
            out.append(conn.send(h11.EndOfMessage()))
        transport = self.transport
        assert transport is not None
        transport.write(out[0] if len(out) == 1 else b"".join(out))
        exchange.wrote = True
        if not more:
            self._response_complete(exchange)
        elif self.write_paused:
            while self.write_paused and self.phase is Phase.ACTIVE:
                self.drain_waiter = self.loop.create_future()
                await self.drain_waiter
            if self.phase is not Phase.ACTIVE:
                raise ClientDisconnected("the connection closed while the response was sent")

    def _response_complete(self, exchange: Exchange) -> None:
        exchange.complete = True
        self.metrics.requests += 1
        exchange.wake()
        if self.phase is not Phase.ACTIVE or self.exchange is not exchange:
            return
        conn = self.h11
        if conn.our_state is h11.MUST_CLOSE or self.state.stopping:
            self._close(linger=conn.their_state is not h11.DONE)  # a client still sending reads the answer
        elif conn.their_state is h11.DONE:
            self._next_cycle()
        elif exchange.expect_100 and not exchange.sent_100:
            self._close()  # the client waits for a 100 it will not get: it sends no body
        else:  # at most DRAIN_LIMIT bytes of body to come: the answer did not say close
            self.phase = Phase.DRAINING
            self._resume_reading()
            self._drain()

    def _next_cycle(self) -> None:
        self.h11.start_next_cycle()
        self.exchange = None
        self.phase = Phase.WAITING
        if self.write_paused:
            self.got_byte = False
            self.deadlines.read = None  # the clocks start at resume_writing
        else:
            self._wait_for_request()
        if self.reading_paused:
            self._resume_reading()
        # A pipelined request may wait in h11's buffer (NEED_DATA otherwise: cheap).
        self._next_request()

    def _drain(self) -> None:
        """Drop the rest of a body the application did not read (at most DRAIN_LIMIT bytes, by
        its Content-Length), then take the next request."""
        conn = self.h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                self._close()
                return
            kind = type(event)
            if kind is h11.Data:
                continue
            if kind is h11.EndOfMessage:
                self._next_cycle()
                return
            else:
                return  # NEED_DATA; the body deadline still runs

    # The application

    async def _run(self, exchange: Exchange) -> None:
        error: BaseException | None = None
        try:
            await self.state.app(exchange.scope, exchange.receive, exchange.send)
        except ClientDisconnected:
            pass
        except BaseException as exc:  # noqa: BLE001 - every failure of the app is answered
            error = exc
        self._app_returned(exchange, error)
        if isinstance(error, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
            raise error

    def _app_returned(self, exchange: Exchange, error: BaseException | None) -> None:
        scope = exchange.scope
        if exchange.disconnected:
            if exchange.lost_reason is None:
                self.metrics.client_disconnects += 1
                phase = "response" if exchange.body_done else "request body"
                fields: dict[str, object] = {"method": scope["method"], "path": scope["path"], "during": phase}
                if error is not None and not isinstance(error, asyncio.CancelledError):
                    fields["app_error"] = type(error).__name__
                self.state.log.info("client went away before its response was complete", extra={"fields": fields})
            return
        if exchange.failed is not None:
            self.metrics.protocol_errors += 1
            if exchange.wrote:
                self._close(abort=True)
            else:
                self._refuse(exchange.failed, head=exchange.head_only, count=False)
            return
        if error is None and exchange.complete:
            return
        self.metrics.app_errors += 1
        if isinstance(error, asyncio.CancelledError):
            pass  # the server is stopping and its grace period ended
        elif error is not None:
            self.state.log.error(
                "the application failed on %s %s", scope["method"], scope["path"], exc_info=error,
                extra={"fields": {"method": scope["method"], "path": scope["path"], "answered": exchange.complete}},
            )
        else:
            self.state.log.error(
                "the application returned without completing its response to %s %s", scope["method"], scope["path"],
                extra={"fields": {"method": scope["method"], "path": scope["path"]}},
            )
        if exchange.complete or self.exchange is not exchange or self.phase is not Phase.ACTIVE:
            return
        if exchange.wrote:
            self._close(abort=True)  # the client sees a truncated answer
        else:
            self._refuse(INTERNAL, head=exchange.head_only, count=False)

    # Closing

    def _refuse(self, problem: Problem, *, head: bool = False, count: bool = True) -> None:
        """Answer `problem` and close, reading what the client still sends for a moment."""
        if count:
            self.metrics.protocol_errors += 1
        if self.transport is None or self.phase in (Phase.CLOSING, Phase.CLOSED):
            return
        self.transport.write(render_problem(problem, head=head))
        self._close(linger=True)

    def _close(self, *, abort: bool = False, linger: bool = False, reason: str | None = "server") -> None:
        """Close the connection: at once (`abort`), or after writing what is buffered. With
        `linger`, drop what the client still sends for LINGER_S first (plain TCP half-closes
        meanwhile; TLS cannot, and closes when the client does or LINGER_S ends)."""
        transport = self.transport
        if self.phase is Phase.CLOSED or transport is None:
            return
        if self.close_reason is None:
            self.close_reason = reason
        self.phase = Phase.CLOSING
        self.deadlines.read = None
        self._lose_exchange()
        if abort:
            transport.abort()
            return
        now = self.loop.time()
        if linger:
            if transport.can_write_eof():
                transport.write_eof()
            self._resume_reading()
            self.deadlines.set_read(now + LINGER_S, "linger")
        else:
            transport.close()
        # Bounded: a client that reads nothing cannot hold a closing connection.
        self.deadlines.set_write(now + self.limits.write_timeout, keep=False)

    def _lose_exchange(self) -> None:
        """The connection is going: a request in flight learns it (`close_reason` None: the
        client went away)."""
        exchange = self.exchange
        if exchange is not None and not exchange.complete and not exchange.disconnected:
            exchange.disconnected = True
            exchange.lost_reason = self.close_reason
            exchange.wake()
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def shutdown(self) -> None:
        """The server stops: close now if nothing is in flight; otherwise answer the request in
        flight (with `Connection: close`) and close after it."""
        if self.phase is Phase.HANDSHAKE:
            if self.handshake is not None:
                self.handshake.cancel()
        elif (self.phase is Phase.WAITING and not self.got_byte) or self.phase is Phase.DRAINING:
            self._close()

    def abort(self) -> None:
        """Close at once (the server's grace period is over)."""
        self.close_reason = self.close_reason or "stopped"
        if self.handshake is not None:
            self.handshake.cancel()
        elif self.phase is not Phase.CLOSED:
            self._close(abort=True, reason="stopped")

    # Flow control and deadlines

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def _expired(self, reason: str) -> None:
        if reason == "write":
            self.metrics.write_timeouts += 1
        elif self.write_paused and self.phase is Phase.WAITING:
            return  # still sending the last answer: the clocks restart at resume_writing
        elif reason == "keepalive":
            self.metrics.keepalive_timeouts += 1
        elif reason == "header":
            self.metrics.header_timeouts += 1
        elif reason == "body":
            self.metrics.body_timeouts += 1
        self._timed_out(reason)

    def _timed_out(self, reason: str) -> None:
        self.close_reason = reason
        if reason == "keepalive":
            self._close(reason=reason)
        else:
            self._close(abort=True, reason=reason)


def _head_size(request: h11.Request, headers: list[tuple[bytes, bytes]]) -> int:
    """The bytes of `request`'s request line and header lines, as sent (CRLFs included)."""
    return len(request.method) + len(request.target) + 13 + sum(len(n) + len(v) + 4 for n, v in headers)
