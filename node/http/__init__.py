"""The node's HTTP/1.1 server for ASGI applications (asyncio + h11), with TLS client certificates
in the scope and limits on every connection. See node.http.server for the entry point."""

from node.http.exchange import ClientDisconnected
from node.http.limits import HttpError, HttpLimits
from node.http.metrics import HttpMetrics
from node.http.server import HttpServer

__all__ = ["ClientDisconnected", "HttpError", "HttpLimits", "HttpMetrics", "HttpServer"]
