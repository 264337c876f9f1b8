"""The API process of a node: serves the HTTP API (api/) for the node whose home it is given,
reading the ledger and submitting through the gateway its node opened for it (DESIGN §8a).

Started by the node (node.apiproc.supervisor) with two inherited descriptors: its end of the
gateway socketpair and the API's listening socket, on which it serves HTTPS with the node's TLS
credential, asking callers for a certificate from a genesis region's CA (certs.tls), within the
connection limits of node.json's `http_limits`. It lowers its own scheduling priority so
that, on a loaded machine, the kernel runs consensus first; waits for the node to announce its
tip; then serves until SIGTERM or until the gateway closes (the node stopped or died: the
process then exits at once, freeing the listening socket). Logs go to HOME/api.log as JSON lines.

Never opens the store, never reads the validator key, never outlives its node.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import ssl
from pathlib import Path

from api.deps import DEFAULT_MAX_BLOCK_AGE_S, Settings
from api.main import create_app
from certs.keys import read_certificate
from certs.tls import create_api_server_context
from ledger.genesis import Genesis
from node.config import read_config
from node.errors import NodeError
from node.gateway.client import GatewayClient
from node.gateway.service import GatewayService
from node.http.limits import HttpLimits
from node.http.server import HttpServer
from node.logs import configure_logging

log = logging.getLogger("eledger.api")

#: How much the API process gives way to consensus when both want the CPU (nice increment).
NICE = 5
TIP_WAIT_S = 60.0
#: How long requests in flight may finish when the API process stops.
STOP_GRACE_S = 3.0
#: /readyz calls a node stalled after this many empty-block intervals without a block (api.md §7).
STALLED_INTERVALS = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m node.apiproc", description="a node's API process (started by the node)")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--channel-fd", required=True, type=int)
    parser.add_argument("--listen-fd", required=True, type=int)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the API process; 0 after SIGTERM or the node's end, 2 for unusable arguments."""
    args = parse_args(argv)
    try:
        os.nice(NICE)
    except OSError:
        pass
    config = read_config(args.home)
    channel = socket.socket(fileno=args.channel_fd)
    channel.setblocking(True)
    listen = socket.socket(fileno=args.listen_fd)
    listen.setblocking(False)
    tip_height = [0]
    handlers = configure_logging(config.home / "api.log", config.name, lambda: (tip_height[0], 0, "api"))
    try:
        genesis = Genesis.read(config.resolve(config.genesis))
        settings = Settings(
            max_block_age_s=max(DEFAULT_MAX_BLOCK_AGE_S, STALLED_INTERVALS * config.timeouts.empty_block_interval_ms / 1000),
            client_limits=config.api_limits,
        )
        roots = [read_certificate(config.resolve(path)) for path in config.tls_ca]
        tls = create_api_server_context(config.resolve(config.tls_cert), config.resolve(config.tls_key), roots)
        return asyncio.run(_serve(config.name, config.region, genesis, channel, listen, tip_height, settings, tls, config.http_limits))
    finally:
        for handler in handlers:
            handler.close()


async def _serve(
    name: str, region: str, genesis: Genesis, channel: socket.socket, listen: socket.socket, tip_height: list[int], settings: Settings, tls: ssl.SSLContext,
    http_limits: HttpLimits,
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    service = GatewayService(None, genesis, name, region)  # type: ignore[arg-type]
    service.loop = loop

    def on_event(event: dict[str, object]) -> None:
        service.on_event(event)
        if event.get("event") == "tip":
            tip_height[0] = int(event["height"])  # type: ignore[arg-type]

    def on_closed() -> None:
        service.on_closed()
        loop.call_soon_threadsafe(stop.set)

    client = GatewayClient(channel, on_event, on_closed)
    service.client = client
    client.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not await asyncio.to_thread(service.wait_for_tip, TIP_WAIT_S):
        log.error("the node announced no tip; exiting")
        return 1
    server = HttpServer(create_app(service, settings), ssl_context=tls, limits=http_limits, log=logging.getLogger("eledger.http"))
    await server.start(listen)
    log.info("serving", extra={"fields": {"pid": os.getpid()}})
    await stop.wait()
    # Requests waiting for commits are answered first, so that none is cut off by the shutdown:
    # the client retries on another node (api.md §3: node.stopping is 503 with Retry-After).
    service.waiters.fail_all(NodeError("the node is shutting down; the transaction may still be committed by the network", code="node.stopping"))
    await server.stop(STOP_GRACE_S)
    client.close()
    log.info("stopped")
    return 0

