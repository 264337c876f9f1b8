"""The limits of the HTTP server: connection count, timeouts and sizes (one validated value).

Every limit exists so that a slow, idle or hostile client cannot hold a connection, memory or
the event loop for longer than the operator allows (issue 10, item 1). `HttpLimits` is a frozen
dataclass checked when it is built; a bad value raises `HttpError` "http.bad_limit" naming the
field. This module never opens a socket and never reads the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from node.errors import NodeError


class HttpError(NodeError):
    """Base of the errors of `node.http`. Codes: "http.bad_limit" (an `HttpLimits` member out
    of range; `field` names it), "http.already_started" / "http.not_started" (a server used out
    of order)."""

    code = "http.error"


@dataclass(frozen=True)
class HttpLimits:
    """What one `HttpServer` allows. Times are seconds (> 0, finite), sizes bytes.

    - `max_connections` (512): open connections, TLS handshakes included; a connection accepted
      beyond it is closed at once and counted as refused. Below the usual soft limit of 1024
      file descriptors, leaving room for the process's own files and channels.
    - `tls_handshake_timeout` (5): from accept to a completed TLS handshake.
    - `header_timeout` (10): the request line and headers complete within it, counted from the
      moment the connection is ready (accepted, TLS done) or from the end of the previous
      response on the connection.
    - `keepalive_timeout` (5): a connection on which no byte of a next request arrived is closed
      this long after the end of the previous response (or after it became ready). It counts
      from the same moment as `header_timeout`, so it may not exceed it.
    - `body_timeout` (30): the whole request body, counted from the end of its headers.
    - `write_timeout` (15): a response whose bytes the client does not read (the send buffer stays
      above its high-water mark) for this long closes the connection.
    - `max_header_bytes` (16 KiB): request line and headers; more is answered 431.
    - `max_body_bytes` (16 MiB): a request body; a larger declared length is answered 413 before
      the application runs, a chunked body that grows beyond it ends the request (413 if the
      application has not answered yet). Routes keep their own, smaller limits.
    - `max_requests_per_connection` (1000): the response to the last one says `Connection: close`.
    - `backlog` (1024): the listen queue asked of the kernel (capped by net.core.somaxconn).
    """

    max_connections: int = 512
    tls_handshake_timeout: float = 5.0
    header_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    body_timeout: float = 30.0
    write_timeout: float = 15.0
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    max_requests_per_connection: int = 1000
    backlog: int = 1024

    def __post_init__(self) -> None:
        for member in fields(self):
            value = getattr(self, member.name)
            if member.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise HttpError(
                        f"HttpLimits.{member.name} must be an integer >= 1, got {value!r}",
                        code="http.bad_limit",
                        field=member.name,
                    )
            elif (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise HttpError(
                    f"HttpLimits.{member.name} must be a finite number of seconds > 0, got {value!r}",
                    code="http.bad_limit",
                    field=member.name,
                )
        if self.keepalive_timeout > self.header_timeout:
            raise HttpError(
                f"HttpLimits.keepalive_timeout ({self.keepalive_timeout} s) exceeds header_timeout "
                f"({self.header_timeout} s), which counts from the same moment; lower it or raise "
                "header_timeout",
                code="http.bad_limit",
                field="keepalive_timeout",
            )
        if self.max_header_bytes < 1024:
            raise HttpError(
                f"HttpLimits.max_header_bytes must be at least 1024, got {self.max_header_bytes}",
                code="http.bad_limit",
                field="max_header_bytes",
            )
