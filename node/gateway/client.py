"""The API process's end of the gateway (node.gateway.protocol): requests to the node, events
from it, and the remote snapshot reader that ChainView reads through.

`GatewayClient` multiplexes requests from any number of threads and from the event loop over one
socket: each request has an id, a reader thread settles its future when the answer comes and
hands events to a callback. `RemoteSnapshot` is a `ledger.kv.SnapshotReader` of one committed
height read through the node. Two bounded caches spare round trips: what can never change once
written (state tree node instances, blocks, headers, commits, log nodes, transaction locations)
is kept for all heights, and every other read, absences included, for its height (a snapshot
never changes), so the records many requests share — a department, its seal, a recognition
rule, a certificate's revocation — are read from the node once per committed height.

Never blocks the event loop on an answer (`acall` awaits), never caches a key that may change.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from node.gateway.protocol import ANSWER, EVENT, MAX_KEYS, REFUSAL, FrameWriter, GatewayError, error_from, read_frame

log = logging.getLogger("eledger.gateway")

DEFAULT_TIMEOUT_S = 30.0
PAGE = 256
_AT = b"\x00at/"  # cache slots of reads by height; no store key starts with a NUL byte
_ABSENT = b""  # a cached absence (a present value in these key spaces is never empty)
#: Key spaces whose present values never change (blocks.md §6; state.md §6.1; hashing.md §2.4).
IMMUTABLE_PREFIXES = (b"smt/", b"blk/", b"hdr/", b"cmt/", b"log/n", b"txi/")


class GatewayClient:
    """Requests over the connected blocking socket `sock`; `on_event(event)` is called on the
    reader thread for every event (it must be quick), `on_closed()` once when the node is gone."""

    def __init__(self, sock: socket.socket, on_event: Callable[[dict[str, object]], None], on_closed: Callable[[], None] = lambda: None) -> None:
        self._sock = sock
        self._writer = FrameWriter(sock)
        self._on_event = on_event
        self._on_closed = on_closed
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[object]] = {}
        self._lock = threading.Lock()
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="gateway-client", daemon=True)

    def start(self) -> None:
        self._reader.start()

    def send(self, op: str, args: Mapping[str, object]) -> Future[object]:
        """Send a request; its future gets the result or the LedgerError the node refused it with
        (GatewayError "gateway.closed" if the channel is gone)."""
        future: Future[object] = Future()
        request = next(self._ids)
        with self._lock:
            if self.closed.is_set():
                future.set_exception(GatewayError("the node is not reachable (gateway closed)", code="gateway.closed"))
                return future
            self._pending[request] = future
        try:
            self._writer.write([request, op, dict(args)])
        except GatewayError as exc:
            with self._lock:
                self._pending.pop(request, None)
            future.set_exception(exc)
        return future

    def call(self, op: str, args: Mapping[str, object], timeout: float = DEFAULT_TIMEOUT_S) -> object:
        """The result of `op` (blocking; not on an event loop). Raises what the node refused it
        with, GatewayError "gateway.timeout" / "gateway.closed"."""
        try:
            return self.send(op, args).result(timeout)
        except FutureTimeout:
            raise GatewayError(f"the node did not answer {op} within {timeout:g} s", code="gateway.timeout") from None

    async def acall(self, op: str, args: Mapping[str, object], timeout: float = DEFAULT_TIMEOUT_S) -> object:
        """`call` for the event loop: awaits the answer without blocking the loop."""
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.send(op, args)), timeout)
        except TimeoutError:
            raise GatewayError(f"the node did not answer {op} within {timeout:g} s", code="gateway.timeout") from None

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    message = read_frame(self._sock)
                except GatewayError as exc:
                    log.error("malformed frame from the node", extra={"fields": {"code": exc.code}})
                    break
                if message is None:
                    break
                if not (isinstance(message, list) and len(message) == 3):
                    log.error("message of the wrong form from the node")
                    break
                request, kind, body = message
                if kind == EVENT:
                    if isinstance(body, dict):
                        try:
                            self._on_event(body)
                        except Exception:
                            log.exception("handling a gateway event failed")
                    continue
                with self._lock:
                    future = self._pending.pop(request, None)
                if future is None or not future.set_running_or_notify_cancel():
                    continue  # unknown, or its asker gave up (a timeout, a cancelled request)
                if kind == ANSWER:
                    future.set_result(body)
                elif kind == REFUSAL:
                    future.set_exception(error_from(body))
                else:
                    future.set_exception(GatewayError(f"the node answered with an unknown kind {kind!r}", code="gateway.frame"))
        except OSError:
            pass
        finally:
            self._fail_all()

    def _fail_all(self) -> None:
        with self._lock:
            self.closed.set()
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if future.set_running_or_notify_cancel():
                future.set_exception(GatewayError("the node closed the gateway channel", code="gateway.closed"))
        self._on_closed()


class ImmutableCache:
    """A bounded least-recently-used cache of reads: values whose keys never change once written
    (`cacheable`), by key, and any other read, by (height, key) (`get_at` / `put_at`)."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def cacheable(key: bytes) -> bool:
        return key.startswith(IMMUTABLE_PREFIXES)

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: bytes, value: bytes) -> None:
        self._put(key, value)

    def get_at(self, height: int, key: bytes) -> tuple[bool, bytes | None]:
        """(True, the value or None for absent) if the read of `key` at `height` is cached."""
        with self._lock:
            slot = _AT + height.to_bytes(8, "big") + key
            if slot not in self._items:
                self.misses += 1
                return False, None
            self._items.move_to_end(slot)
            self.hits += 1
            value = self._items[slot]
            return True, (None if value is _ABSENT else value)

    def put_at(self, height: int, key: bytes, value: bytes | None) -> None:
        self._put(_AT + height.to_bytes(8, "big") + key, _ABSENT if value is None else value)

    def _put(self, slot: bytes, value: bytes) -> None:
        with self._lock:
            if slot in self._items:
                return
            self._items[slot] = value
            self._size += len(slot) + len(value)
            while self._size > self.max_bytes and self._items:
                old_key, old_value = self._items.popitem(last=False)
                self._size -= len(old_key) + len(old_value)


class RemoteSnapshot:
    """The node's store as committed at `height`, read through `client` (a SnapshotReader)."""

    __slots__ = ("client", "height", "cache")

    def __init__(self, client: GatewayClient, height: int, cache: ImmutableCache) -> None:
        self.client = client
        self.height = height
        self.cache = cache

    def get(self, key: bytes) -> bytes | None:
        return self.get_many([key])[0]

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """The values of `keys` in one round trip (cached ones are not asked for)."""
        out: list[bytes | None] = [None] * len(keys)
        missing: list[int] = []
        cache = self.cache
        for i, key in enumerate(keys):
            if cache.cacheable(key):
                value = cache.get(key)
                if value is None:
                    missing.append(i)
                else:
                    out[i] = value
                continue
            found, value = cache.get_at(self.height, key)
            if found:
                out[i] = value
            else:
                missing.append(i)
        for chunk in range(0, len(missing), MAX_KEYS):
            part = missing[chunk:chunk + MAX_KEYS]
            values = self.client.call("get", {"height": self.height, "keys": [keys[i] for i in part]})
            if not isinstance(values, list) or len(values) != len(part):
                raise GatewayError("the node answered a read with the wrong number of values", code="gateway.frame")
            for i, value in zip(part, values):
                if value is not None and not isinstance(value, bytes):
                    raise GatewayError("the node answered a read with a value that is not bytes", code="gateway.frame")
                out[i] = value
                if not cache.cacheable(keys[i]):
                    cache.put_at(self.height, keys[i], value)
                elif value is not None:
                    cache.put(keys[i], value)
        return out

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Pairs whose key starts with `prefix` (from `start` on), fetched a page at a time."""
        position = start
        while True:
            page = self.client.call("iterate", {"height": self.height, "prefix": prefix, "start": position, "limit": PAGE})
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise GatewayError("the node answered an iteration of the wrong form", code="gateway.frame")
            items = page["items"]
            for item in items:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], bytes) and isinstance(item[1], bytes)):
                    raise GatewayError("the node answered an iteration with an item of the wrong form", code="gateway.frame")
                yield item[0], item[1]
            if not page.get("more") or not items:
                return
            position = items[-1][0] + b"\x00"

