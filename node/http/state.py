"""What the connections of one HTTP server share: the application, the limits, the counters,
the log, the TLS context, the open connections and running requests, and whether it stops.

A plain record, written by `HttpServer` and read and updated by its connections on one event
loop; it holds no logic.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from node.http.limits import HttpLimits
from node.http.metrics import HttpMetrics

if TYPE_CHECKING:
    from node.http.connection import HttpConnection

#: An ASGI 3 application: app(scope, receive, send).
App = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


@dataclass
class ServerState:
    """What the connections of one `HttpServer` share. `context` is copied for each request's
    task, so that context variables an application sets never reach the next request."""

    app: App
    limits: HttpLimits
    metrics: HttpMetrics
    log: logging.Logger
    ssl_context: ssl.SSLContext | None
    cipher_ids: dict[str, int]
    loop: asyncio.AbstractEventLoop
    context: contextvars.Context
    connections: set[HttpConnection] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stopping: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)
