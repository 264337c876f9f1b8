"""The answers the HTTP server gives by itself: RFC 9457 problem documents, and the Date header.

When the client breaks HTTP/1.1 (a bad request line or header, headers too large, a transfer
coding other than chunked, a body over the limit) or the application fails before it answered,
the server writes a complete `application/problem+json` response with `Connection: close` and
closes the connection. Those bytes are built here without h11, so they can be written whatever
state h11 is in. A problem body never carries a client's bytes, an exception's text or a
traceback: `detail` is one of the fixed sentences below. The members are those of every API error
(docs/spec/api.md §3): `type` ("urn:eledger:problem:<code>"), `title`, `status`, `detail`, `code`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate

import orjson

PROBLEM_TYPE_PREFIX = "urn:eledger:problem:"
PROBLEM_CONTENT_TYPE = b"application/problem+json"


@dataclass(frozen=True)
class Problem:
    """One kind of answer the server gives by itself."""

    status: int
    code: str
    title: str
    detail: str

    def to_json(self) -> bytes:
        """The RFC 9457 body: type, title, status, detail and code."""
        return orjson.dumps(
            {
                "type": PROBLEM_TYPE_PREFIX + self.code,
                "title": self.title,
                "status": self.status,
                "detail": self.detail,
                "code": self.code,
            }
        )


BAD_REQUEST = Problem(
    400,
    "http.bad_request",
    "Bad Request",
    "the request is not valid HTTP/1.1 (request line, header syntax or message framing); "
    "the connection is closed",
)
BODY_TOO_LARGE = Problem(
    413,
    "http.body_too_large",
    "Content Too Large",
    "the request body exceeds the server's limit; the connection is closed",
)
HEADERS_TOO_LARGE = Problem(
    431,
    "http.headers_too_large",
    "Request Header Fields Too Large",
    "the request line and headers exceed the server's limit; the connection is closed",
)
UNSUPPORTED_TRANSFER_CODING = Problem(
    501,
    "http.unsupported_transfer_coding",
    "Not Implemented",
    "the only transfer coding accepted for a request body is a single 'chunked'; "
    "the connection is closed",
)
INTERNAL = Problem(
    500,
    "api.internal",
    "Internal Server Error",
    "the server failed to answer this request; its log has the details",
)

#: The problem for each status h11 suggests for a client's protocol error.
PROTOCOL_PROBLEMS = {p.status: p for p in (BAD_REQUEST, HEADERS_TOO_LARGE, UNSUPPORTED_TRANSFER_CODING)}


def render_problem(problem: Problem, *, head: bool = False) -> bytes:
    """A complete HTTP/1.1 response for `problem` with `Connection: close` (the body left out
    when answering a HEAD request, `Content-Length` kept). Not on the hot path: built each time."""
    body = problem.to_json()
    start = (
        f"HTTP/1.1 {problem.status} {problem.title}\r\n"
        f"content-type: {PROBLEM_CONTENT_TYPE.decode()}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n"
        "date: "
    ).encode("ascii") + http_date() + b"\r\n\r\n"
    return start if head else start + body


_date_second = -1
_date_value = b""


def http_date() -> bytes:
    """The current time as an IMF-fixdate (RFC 9110 §5.6.7), computed at most once a second."""
    global _date_second, _date_value
    now = int(time.time())
    if now != _date_second:
        _date_value = formatdate(now, usegmt=True).encode("ascii")
        _date_second = now
    return _date_value
