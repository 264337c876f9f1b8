"""Counters of one HTTP server, for the process's metrics endpoint to read.

The server increments plain integers on its event loop (no lock, no logging, no per-request
allocation); a reader on the same loop, or one content with a value a moment old, calls
`snapshot()`. Nothing here formats Prometheus text: the metrics route does that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class HttpMetrics:
    """What an `HttpServer` counted since it was built. All counters only grow, except
    `connections_open` (a gauge: connections now open, TLS handshakes included)."""

    connections_open: int = 0
    #: connections accepted within the limit (refused ones are not in it)
    connections_accepted: int = 0
    #: connections closed at once because `max_connections` were open
    connections_refused: int = 0
    #: TLS handshakes that did not complete within `tls_handshake_timeout`
    tls_handshake_timeouts: int = 0
    #: TLS handshakes that failed (bad or missing client certificate, not TLS, reset)
    tls_handshake_failures: int = 0
    #: connections closed because a request's headers were not complete in time
    header_timeouts: int = 0
    #: connections closed because a request body was not complete in time
    body_timeouts: int = 0
    #: keep-alive connections closed after `keepalive_timeout` without a new request
    keepalive_timeouts: int = 0
    #: connections closed because the client did not read its response in time
    write_timeouts: int = 0
    #: requests whose response was sent completely
    requests: int = 0
    #: requests whose client went away before its response was complete
    client_disconnects: int = 0
    #: requests refused for a protocol error of the client (400, 413, 431, 501)
    protocol_errors: int = 0
    #: requests whose application raised, or returned without a complete response
    app_errors: int = 0

    def snapshot(self) -> dict[str, int]:
        """The counters as a new dict (name -> value)."""
        return asdict(self)
