"""Benchmark of node.http.HttpServer beside uvicorn's h11 server, on the same trivial ASGI app.

In one run, for each server (ours, uvicorn with http="h11"):
  - in process, no sockets: CPU µs per keep-alive request through one connection's protocol
    object (bytes in, a task runs the app, bytes out), the servers' own cost;
  - over 127.0.0.1, plain HTTP and TLS 1.3 with a client certificate: a server process serves
    the app and a client process keeps C keep-alive connections busy, one request in flight each,
    for S seconds. Printed: requests/s, wall µs per request (1e6 / rate), the server process's
    CPU µs per request (its process_time, read over the app's /cpu route before and after) and
    the client's. With 2 cores, server and client each have about one.
The listening socket is made with proto=IPPROTO_TCP so that asyncio sets TCP_NODELAY for
uvicorn too (ours sets it itself); see `measure`.

Usage: python benchmarks/http_server.py [--seconds 3] [--connections 8] [--json PATH] [--quick]
Never part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import ssl
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import report, say  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
CPU_REQUEST = b"GET /cpu HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


async def app(scope, receive, send):
    """Trivial: 200 "ok" (text/plain), or the server process's CPU seconds on /cpu."""
    if scope["type"] != "http":
        return
    body = repr(time.process_time()).encode() if scope["path"] == "/cpu" else b"ok"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# The server process.

def serve(kind: str, sock: socket.socket, pki: Path | None, ready) -> None:
    asyncio.run(_serve(kind, sock, pki, ready))


async def _serve(kind: str, sock: socket.socket, pki: Path | None, ready) -> None:
    if kind == "eledger":
        from node.http import HttpLimits, HttpServer

        context = None
        if pki is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            context.load_cert_chain(pki / "beijing/nodes/beijing-1.crt", pki / "beijing/nodes/beijing-1.key")
            context.load_verify_locations(pki / "beijing/ca.crt")
            context.verify_mode = ssl.CERT_OPTIONAL
        # Unlimited requests per connection, as uvicorn: the client keeps its 8 connections.
        server = HttpServer(app, ssl_context=context, limits=HttpLimits(max_requests_per_connection=10**9))
        await server.start(sock)
        ready.set()
        await asyncio.Event().wait()
    else:
        import uvicorn

        options = {}
        if pki is not None:
            options = dict(ssl_certfile=str(pki / "beijing/nodes/beijing-1.crt"),
                           ssl_keyfile=str(pki / "beijing/nodes/beijing-1.key"),
                           ssl_ca_certs=str(pki / "beijing/ca.crt"), ssl_cert_reqs=ssl.CERT_OPTIONAL)
        config = uvicorn.Config(app, http="h11", lifespan="off", access_log=False, log_level="warning", **options)
        server = uvicorn.Server(config)
        ready.set()
        await server.serve(sockets=[sock])


# The client process.

class Client(asyncio.Protocol):
    """One keep-alive connection: sends the next request when a whole response arrived
    (responses are all `size` bytes long)."""

    def __init__(self, size: int, counter: list[int], stop: list[bool]) -> None:
        self.size, self.counter, self.stop = size, counter, stop
        self.pending = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(REQUEST)

    def data_received(self, data):
        self.pending += len(data)
        while self.pending >= self.size:
            self.pending -= self.size
            self.counter[0] += 1
            if self.stop[0]:
                self.transport.close()
                return
            self.transport.write(REQUEST)

    def connection_lost(self, exc):
        if not self.closed.done():
            self.closed.set_result(None)


def client_context(pki: Path | None) -> ssl.SSLContext | None:
    if pki is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki / "beijing/ca.crt")
    context.load_cert_chain(pki / "beijing/partners/beijing-gateway.crt", pki / "beijing/partners/beijing-gateway.key")
    return context


async def fetch(port: int, context, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                   server_hostname="localhost" if context else None)
    writer.write(request)
    data = await reader.read()
    writer.close()
    return data


async def response_size(port: int, context) -> int:
    """The length of one keep-alive answer to REQUEST (status line to the end of the body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                   server_hostname="localhost" if context else None)
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    writer.close()
    return len(head) + length


async def load(port: int, pki: Path | None, connections: int, seconds: float) -> dict[str, float]:
    context = client_context(pki)
    loop = asyncio.get_running_loop()
    size = await response_size(port, context)
    counter, stop = [0], [False]

    async def cpu() -> float:
        return float((await fetch(port, context, CPU_REQUEST)).split(b"\r\n\r\n", 1)[1])

    clients = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(lambda: Client(size, counter, stop), "127.0.0.1", port,
                                                   ssl=context, server_hostname="localhost" if context else None)
        clients.append(protocol)
    await asyncio.sleep(min(0.5, seconds / 4))  # warm-up
    cpu_before, count_before, start, own = await cpu(), counter[0], time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    cpu_after, count_after, end, own = await cpu(), counter[0], time.perf_counter(), time.process_time() - own
    stop[0] = True
    await asyncio.wait([c.closed for c in clients], timeout=5)
    done = count_after - count_before
    rate = done / (end - start)
    return {"requests_per_s": rate, "wall_us_per_request": 1e6 / rate,
            "server_cpu_us_per_request": (cpu_after - cpu_before) * 1e6 / done,
            "client_cpu_us_per_request": own * 1e6 / done}


def run_client(port, pki, connections, seconds, queue) -> None:
    queue.put(asyncio.run(load(port, pki, connections, seconds)))


def measure(kind: str, pki: Path | None, connections: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    # proto=IPPROTO_TCP, so that asyncio sets TCP_NODELAY on accepted sockets for uvicorn too
    # (with socket.create_server's proto 0 it does not, and uvicorn answers in 40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    ready = ctx.Event()
    server = ctx.Process(target=serve, args=(kind, sock, pki, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError(f"the {kind} server did not start")
        time.sleep(0.2)
        queue = ctx.Queue()
        client = ctx.Process(target=run_client, args=(port, pki, connections, seconds, queue))
        client.start()
        result = queue.get(timeout=seconds + 60)
        client.join(10)
        return result
    finally:
        server.terminate()
        server.join(10)
        sock.close()


# In process, without sockets: the servers' own cost per request.

class NullTransport(asyncio.Transport):
    """Takes what a server writes and counts whole responses of `size` bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.written = 0
        self.responses = 0
        self._extra = {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000), "socket": None}

    def write(self, data) -> None:
        self.written += len(data)
        if self.size:
            self.responses, self.written = self.responses + self.written // self.size, self.written % self.size

    def get_extra_info(self, name, default=None):
        return self._extra.get(name, default)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def set_write_buffer_limits(self, high=None, low=None) -> None: ...
    def get_write_buffer_size(self) -> int:
        return 0
    def close(self) -> None: ...
    def abort(self) -> None: ...


async def protocol_cost(kind: str, requests: int) -> float:
    """µs per keep-alive request through one connection's protocol object (no sockets)."""
    loop = asyncio.get_running_loop()
    if kind == "eledger":
        import contextvars

        from node.http import HttpLimits, HttpMetrics
        from node.http.connection import HttpConnection
        from node.http.state import ServerState

        state = ServerState(app=app, limits=HttpLimits(max_requests_per_connection=10**9), metrics=HttpMetrics(), log=__import__("logging").getLogger("bench"),
                            ssl_context=None, cipher_ids={}, loop=loop, context=contextvars.copy_context())
        protocol = HttpConnection(state)
    else:
        from email.utils import formatdate

        import uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol
        from uvicorn.server import ServerState as UvicornState

        config = uvicorn.Config(app, http="h11", lifespan="off", access_log=False, log_level="warning")
        config.load()
        server_state = UvicornState()
        server_state.default_headers = [(b"date", formatdate(usegmt=True).encode()), (b"server", b"uvicorn")]
        protocol = H11Protocol(config=config, server_state=server_state, app_state={})
    transport = NullTransport()
    protocol.connection_made(transport)

    async def one() -> None:
        before = transport.responses
        protocol.data_received(REQUEST)
        while transport.responses == before:
            await asyncio.sleep(0)

    protocol.data_received(REQUEST)
    for _ in range(20):  # the first answer, however many writes it takes
        await asyncio.sleep(0)
    transport.size, transport.written = transport.written, 0
    for _ in range(200):
        await one()
    start = time.process_time()
    for _ in range(requests):
        await one()
    return (time.process_time() - start) * 1e6 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "http_server.json")
    parser.add_argument("--quick", action="store_true", help="1 s per case")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else args.seconds

    from certs.layout import init_pki

    results: dict[str, float] = {}
    requests = 5_000 if args.quick else 50_000
    for kind in ("eledger", "uvicorn"):
        say(f"{kind}: {requests:,} keep-alive requests through the protocol object, no sockets ...")
        results[f"{kind}_protocol_cpu_us_per_request"] = asyncio.run(protocol_cost(kind, requests))
    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp) / "pki"
        init_pki(pki, ["beijing"], datetime.now(timezone.utc))
        for transport, pki_dir in (("plain", None), ("tls", pki)):
            for kind in ("eledger", "uvicorn"):
                say(f"{kind} {transport}: {args.connections} keep-alive connections for {seconds:g} s ...")
                numbers = measure(kind, pki_dir, args.connections, seconds)
                for name, value in numbers.items():
                    results[f"{kind}_{transport}_{name}"] = value
            results[f"{transport}_rate_ratio_eledger_to_uvicorn"] = (
                results[f"eledger_{transport}_requests_per_s"] / results[f"uvicorn_{transport}_requests_per_s"])
    report(results, {}, args.json)


if __name__ == "__main__":
    main()
