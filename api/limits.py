"""Per-client limits of the API: request rate and requests in flight (docs/spec/api.md §5).

A client is its TLS client certificate when it presents one, else its IP address. Each client
has a token bucket (`rate` requests per second, bursts of `burst`) and a count of its requests
in flight; a request over either is answered 429 `api.rate_limited` with `Retry-After` (whole
seconds until a token is due) before the app sees it, so an eager client slows itself, not the
others. Buckets of clients idle for a minute are forgotten (at most `max_clients` are kept).

An ASGI middleware: it reads nothing of the request but its TLS extension and client address.
Never blocks, never reads the clock but through `clock`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from api.errors import problem, problem_response

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

IDLE_S = 60.0


@dataclass(frozen=True)
class ClientLimits:
    """`rate` requests per second with bursts of `burst` and at most `in_flight` at once, for
    a client with a certificate; `anonymous_*` for one without (per IP address)."""

    rate: float = 2000.0
    burst: float = 4000.0
    in_flight: int = 128
    anonymous_rate: float = 200.0
    anonymous_burst: float = 400.0
    anonymous_in_flight: int = 32
    max_clients: int = 10_000

    def __post_init__(self) -> None:
        for name in ("rate", "burst", "anonymous_rate", "anonymous_burst"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.in_flight < 1 or self.anonymous_in_flight < 1 or self.max_clients < 1:
            raise ValueError("in_flight, anonymous_in_flight and max_clients must be at least 1")


class _Client:
    __slots__ = ("tokens", "stamp", "busy")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp
        self.busy = 0


class Limiter:
    """The buckets and in-flight counts of every client under `limits`."""

    def __init__(self, limits: ClientLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._clients: OrderedDict[bytes, _Client] = OrderedDict()
        self.refused = 0

    def acquire(self, key: bytes, certified: bool) -> float | None:
        """Take a request for client `key`: None if it may go on (call `release` when it ends),
        else the seconds until it may try again."""
        limits = self.limits
        rate, burst, cap = (limits.rate, limits.burst, limits.in_flight) if certified else (limits.anonymous_rate, limits.anonymous_burst, limits.anonymous_in_flight)
        now = self.clock()
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = _Client(burst, now)
            self._forget(now)
        else:
            self._clients.move_to_end(key)
            client.tokens = min(burst, client.tokens + (now - client.stamp) * rate)
            client.stamp = now
        if client.busy >= cap:
            self.refused += 1
            return 1.0
        if client.tokens < 1:
            self.refused += 1
            return (1 - client.tokens) / rate
        client.tokens -= 1
        client.busy += 1
        return None

    def release(self, key: bytes) -> None:
        client = self._clients.get(key)
        if client is not None and client.busy > 0:
            client.busy -= 1

    def _forget(self, now: float) -> None:
        """Drop the least recently seen clients that are idle, or beyond `max_clients`."""
        while self._clients:
            key, oldest = next(iter(self._clients.items()))
            over = len(self._clients) > self.limits.max_clients
            if not over and (oldest.busy or now - oldest.stamp < IDLE_S):
                return
            del self._clients[key]

_KEYS: OrderedDict[str, bytes] = OrderedDict()
_MAX_KEYS = 4096


def client_key(scope: Scope) -> tuple[bytes, bool]:
    """The client of a request: a hash of its certificate (True), or of its IP address (False).
    The hashes of the last texts seen are kept (a connection's requests share one certificate)."""
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if chain and isinstance(chain[0], str):
        return _hashed(chain[0]), True
    client = scope.get("client") or ("", 0)
    return _hashed(str(client[0])), False


def _hashed(text: str) -> bytes:
    key = _KEYS.get(text)
    if key is None:
        key = _KEYS[text] = hashlib.sha256(text.encode("utf-8", "replace")).digest()[:16]
        if len(_KEYS) > _MAX_KEYS:
            _KEYS.popitem(last=False)
    return key


class LimitMiddleware:
    """Applies a Limiter to every http request of `app`."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key, certified = client_key(scope)
        wait = self.limiter.acquire(key, certified)
        if wait is not None:
            retry = max(1, math.ceil(wait))
            body = problem(429, "api.rate_limited", f"too many requests from this client; retry after {retry} s")
            await problem_response(body, {"Retry-After": str(retry)})(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release(key)
