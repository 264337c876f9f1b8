"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections, over TLS with a
client certificate or plain, sending pre-built requests from worker processes.

`run_load` starts `processes` workers with `connections` each (a thread per connection, blocking
sockets: TLS reads and writes release the GIL). Closed loop (`rate` None): each connection sends
its next request as soon as the previous answer arrived; this finds the saturating rate. Open
loop: the connections together send `rate` requests per second on a schedule, and a request's
latency counts from the moment it was due, so a server that falls behind is charged for the
wait (no coordinated omission). Every run is bounded by `duration` seconds; a worker's requests
cycle through the list it was given. Results: answers by status, latencies in ms, errors.

A benchmark tool, not a client library: it parses only the status line, Content-Length and
chunked bodies, and never retries.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Target:
    """Where to send: `url` (http or https), with the client credential (`cert`, `key`) and the
    CA file that vouches for the server (`ca`) for https."""

    url: str
    cert: str | None = None
    key: str | None = None
    ca: str | None = None


@dataclass
class Outcome:
    """What a run measured."""

    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def merge(self, other: Outcome) -> None:
        self.sent += other.sent
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.latencies_ms.extend(other.latencies_ms)
        for error, n in other.errors.items():
            self.errors[error] = self.errors.get(error, 0) + n
        self.seconds = max(self.seconds, other.seconds)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def request_bytes(target: Target, method: str, path: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
    """A keep-alive HTTP/1.1 request for `target`."""
    host = urlsplit(target.url).netloc
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body or method in ("POST", "PUT"):
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode("ascii") + b"\r\n" + body


class _Connection:
    def __init__(self, target: Target, context: ssl.SSLContext | None, timeout: float) -> None:
        parts = urlsplit(target.url)
        raw = socket.create_connection((parts.hostname, parts.port or (443 if context else 80)), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(raw, server_hostname=parts.hostname) if context else raw
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        self.sock.sendall(request)
        head = self._until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                self._take(size + 2)
                if size == 0:
                    break
        else:
            self._take(length)
        return status

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buffer += chunk

    def _until(self, mark: bytes) -> bytes:
        while (at := self.buffer.find(mark)) < 0:
            self._fill()
        out, self.buffer = self.buffer[:at], self.buffer[at + len(mark):]
        return out

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _context(target: Target) -> ssl.SSLContext | None:
    if not target.url.startswith("https"):
        return None
    context = ssl.create_default_context(cafile=target.ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if target.cert:
        context.load_cert_chain(target.cert, target.key)
    return context


def _worker(target: Target, requests: list[bytes], connections: int, rate: float | None, duration: float, start_at: float, timeout: float, nice: int) -> Outcome:
    if nice:
        os.nice(nice)
    context = _context(target)
    outcome = Outcome()
    lock = threading.Lock()
    while time.time() < start_at:
        time.sleep(min(0.01, max(start_at - time.time(), 0)))
    begin = time.perf_counter()
    deadline = begin + duration
    interval = None if rate is None else connections / rate

    def run(offset: int) -> None:
        local = Outcome()
        conn: _Connection | None = None
        i = offset
        due = begin + (0 if interval is None else interval * offset / connections)
        while True:
            if interval is not None:
                if due >= deadline:
                    break
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                sent_at = due
                due += interval
            else:
                sent_at = time.perf_counter()
                if sent_at >= deadline:
                    break
            try:
                if conn is None:
                    conn = _Connection(target, context, timeout)
                status = conn.exchange(requests[i % len(requests)])
            except (OSError, ValueError, IndexError) as exc:
                name = type(exc).__name__
                local.errors[name] = local.errors.get(name, 0) + 1
                if conn is not None:
                    conn.close()
                conn = None
                i += connections
                continue
            local.sent += 1
            local.statuses[status] = local.statuses.get(status, 0) + 1
            local.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
            i += connections
        if conn is not None:
            conn.close()
        with lock:
            outcome.merge(local)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + timeout + 5)
    outcome.seconds = time.perf_counter() - begin
    return outcome


def run_load(
    target: Target, requests: list[bytes], *, processes: int = 2, connections: int = 8, rate: float | None = None,
    duration: float = 10.0, timeout: float = 30.0, nice: int = 0,
) -> Outcome:
    """Send `requests` (cycled) to `target` from `processes` x `connections` keep-alive
    connections for `duration` seconds, closed loop or at `rate` requests/s in all. `nice`
    lowers the workers' priority (clients of a real node run on other machines: on one shared
    machine, a niced client takes only the CPU the nodes leave)."""
    start_at = time.time() + 0.5
    per = None if rate is None else rate / processes
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = [pool.apply_async(_worker, (target, requests[p::processes] or requests, connections, per, duration, start_at, timeout, nice)) for p in range(processes)]
        outcome = Outcome()
        for part in parts:
            outcome.merge(part.get(duration + timeout + 60))
    return outcome
