"""A node's API for the client tests, reached over a real socket: the FastAPI app (api/) over a
LocalNodeService (tests/api/service.py) of a network with a real PKI (tests/api/pki.py), served
by the node's own HTTP server (node/http) on 127.0.0.1, over HTTPS with optional client
certificates as the API process serves it, or over plain HTTP. A committer thread commits
whatever the mempool holds, so `wait=commit` requests are answered as on a running network.

Profiles for every region and role are written as the devnet writes them (node.devnet).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from api.main import create_app
from certs.layout import read_pki_manifest
from certs.roles import Role
from client.http import ApiClient
from client.profile import Profile, write_profile
from client.signing import wall_clock_ms
from client.submit import Submitter
from ledger.store import LevelKV
from node.demo import Department, load_departments, seed_network
from node.devnet import PROFILE_ROLES
from node.http import HttpServer
from tests.api.pki import Pki, make_pki
from tests.api.service import LocalNodeService

HOST = "127.0.0.1"
STOP_GRACE_S = 1.0
START_TIMEOUT_S = 10.0


class Committer:
    """Commits the held transactions of `service` in a block as soon as there are any, and the
    use records its journal took since the last block (a service that keeps a journal commits
    them in `produce`), on its own thread, until stopped. `pause()` / `resume()` hold it back
    (to test commit timeouts and pending receipts)."""

    def __init__(self, service: LocalNodeService) -> None:
        self.service = service
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._journaled = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._running.wait()
            journaled = self._journal_seq()
            if self.service.pending_ids() or journaled != self._journaled:
                self._journaled = journaled
                self.service.produce()
            else:
                self._stop.wait(0.002)

    def _journal_seq(self) -> int:
        """The next seq of the service's use journal (0 for a service without one)."""
        if not isinstance(getattr(type(self.service), "journal", None), property):
            return 0
        return self.service.journal.next_seq

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until the mempool is empty and the journal's records are in a block (a safety
        bound, not a measurement)."""
        deadline = time.monotonic() + timeout_s
        while self.service.pending_ids() or self._journal_seq() != self._journaled:
            if time.monotonic() > deadline:
                raise AssertionError("the committer did not empty the mempool")
            time.sleep(0.002)

    def __enter__(self) -> Committer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._running.set()
        self._thread.join()


@contextlib.contextmanager
def serve(app, context: ssl.SSLContext | None = None, port: int = 0) -> Iterator[str]:
    """`app` served on `port` (0: one the kernel chooses) of 127.0.0.1 from a thread; its base URL."""
    sock = socket.create_server((HOST, port))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-server", daemon=True)
    thread.start()
    server = HttpServer(app, ssl_context=context)
    try:
        asyncio.run_coroutine_threadsafe(server.start(sock), loop).result(START_TIMEOUT_S)
        port = sock.getsockname()[1]
        yield f"{'https' if context is not None else 'http'}://{HOST}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(STOP_GRACE_S), loop).result(START_TIMEOUT_S + STOP_GRACE_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        sock.close()


@dataclass
class Node:
    """A served node: its URL, the network and PKI, the service and its committer."""

    url: str
    pki: Pki
    service: LocalNodeService
    committer: Committer

    @property
    def dir(self) -> Path:
        return self.pki.network.dir

    @property
    def genesis_path(self) -> Path:
        return self.dir / "genesis.json"

    def credential(self, region: str, role: str) -> tuple[Path, Path]:
        entry = read_pki_manifest(self.pki.dir, aggregate=True).find(region, PROFILE_ROLES[role])[0]
        return self.pki.dir / entry.certificate, self.pki.dir / entry.private_key

    def ca(self, region: str) -> Path:
        return self.pki.dir / region / "ca.crt"

    def seed(self) -> list[Department]:
        """node.demo's governance (licence types, a department per region with its seal,
        recognition rules) submitted through the API as the devnet does; the departments, whose
        seals are valid from the tip's time (block times here are genesis time + 1 s a block)."""
        clock = lambda: self.service.chain.tip.time  # noqa: E731
        departments = load_departments(self.pki.network, clock)
        certificate, key = self.credential(self.service.region, "admin")
        with ApiClient(self.url, cert=certificate, key=key, ca=self.ca(self.service.region)) as client:
            def submit(txs):
                report = Submitter(client, timeout_s=10).submit((str(i), tx) for i, tx in enumerate(txs))
                assert report.ok, (report.refused, report.stopped)

            seed_network(self.pki.network, departments, submit, clock)
        return departments

    def profile(self, region: str, role: str, *, url: str | None = None) -> Path:
        """Write (once) and return DIR/profiles/<region>-<role>.json for this node."""
        path = self.dir / "profiles" / f"{region}-{role}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            certificate, private_key = self.credential(region, role)
            write_profile(path, Profile(url or self.url, certificate, private_key, self.ca(self.service.region), self.genesis_path))
        return path


def server_context(pki: Pki, region: str) -> ssl.SSLContext:
    """The TLS context of the API of `region`'s first validator (`tls_context`)."""
    entry = read_pki_manifest(pki.dir, aggregate=True).find(region, Role.VALIDATOR)[0]
    return tls_context(pki.dir / entry.certificate, pki.dir / entry.private_key, pki.dir)


def tls_context(certificate: Path, key: Path, pki_dir: Path) -> ssl.SSLContext:
    """A node API's TLS context: its node certificate; client certificates optional (anonymous
    callers reach public routes), checked against every region CA under `pki_dir` (pki.md §7)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(certificate, key)
    for region_dir in sorted(p for p in pki_dir.iterdir() if (p / "ca.crt").is_file()):
        context.load_verify_locations(region_dir / "ca.crt")
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


class WallClockNodeService(LocalNodeService):
    """A LocalNodeService whose blocks take the wall-clock time (strictly increasing), as a
    running network's do: what is signed now (seal signing times) is not after the next block."""

    def _next_time(self) -> int:
        return max(wall_clock_ms(), self.chain.tip.time + 1)


class StoredNodeService(LocalNodeService):
    """A LocalNodeService whose chain is a LevelDB store, HOME/ledger: with HOME/genesis.json, a
    node home as `eledger prove --home` reads it once `close()` released it."""

    def __init__(self, net, home: Path, **kwargs) -> None:
        super().__init__(net, **kwargs)
        self.kv = LevelKV(home / "ledger")
        self.local = net.local(self.kv)
        self.chain = self.local.chain
        net.genesis.write(home / "genesis.json")

    def close(self) -> None:
        super().close()
        gc.collect()  # the snapshots of views no longer referenced
        self.kv.close()


@contextlib.contextmanager
def running_node(directory: Path, *, tls: bool = True, home: Path | None = None) -> Iterator[Node]:
    """A new network in `directory` and its first validator's API, served and committing; its
    chain in a LevelDB store in `home` (see StoredNodeService) if given, else in memory."""
    pki = make_pki(directory)
    service = LocalNodeService(pki.net, max_txs=2000) if home is None else StoredNodeService(pki.net, home, max_txs=2000)
    app = create_app(service)
    try:
        with Committer(service) as committer, serve(app, server_context(pki, service.region) if tls else None) as url:
            yield Node(url, pki, service, committer)
    finally:
        service.close()
