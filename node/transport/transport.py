"""The node's peer transport: mutually authenticated TLS 1.3 connections (consensus.md §9).

A `Transport` listens for peers, dials every peer of its list, admits a connection only once its
`admit` callable accepted the peer's certificate, and moves opaque frames: bytes given to `send`
or `broadcast` wait in a bounded queue per peer, bytes received go to `on_message`. It is the
only part of the node that touches sockets. It never interprets a message, never blocks the
caller of `send`, never delivers bytes from a connection that was not admitted, and never logs
key material.

Delivery is at most once and ordered per connection only: a message can be lost when a
connection breaks or is replaced, and consensus tolerates that (it resends on timeouts).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping

from certs.identity import Identity
from certs.roles import check_name
from ledger.errors import LedgerError
from node.transport.frames import MAX_FRAME, check_frame_size, encode_frame, read_frame
from node.transport.peers import Backoff, PeerError, PeerInfo, PeerStats
from node.transport.peer_state import Connection, PeerState

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], Awaitable[None] | None]
OnPeer = Callable[[str, bool], Awaitable[None] | None]
Admit = Callable[[ssl.SSLObject], Identity]
Sleep = Callable[[float], Awaitable[None]]

#: Error codes of the transport itself (frame.* codes come from `FrameError`, refusals carry
#: the CertError / PeerError code).
HANDSHAKE_FAILED = "transport.handshake_failed"
CONNECT_FAILED = "transport.connect_failed"
CONNECTION_LOST = "transport.connection_lost"
CALLBACK_FAILED = "transport.callback_failed"

HANDSHAKE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
#: How long a connection replaced under the §9 duplicate rule is still read before it is
#: closed, so that frames the peer wrote on it before it switched are not lost.
DRAIN_GRACE = 1.0
#: How long a graceful TLS close may take before the connection is aborted.
CLOSE_TIMEOUT = 1.0
MAX_QUEUE_MESSAGES = 1024
MAX_QUEUE_BYTES = 64 * 1024 * 1024


def _describe_handshake(exc: OSError) -> str:
    return f"TLS handshake failed: {type(exc).__name__} {exc}".rstrip()


class Transport:
    """Frames between this node (`name`) and its peers over TLS 1.3 with mutual authentication.

    `server_context` / `client_context` come from `certs.tls` with the genesis roots; `admit`
    returns the identity of a handshake's peer or raises LedgerError (`PeerPolicy.admit`);
    `peers` are dialled (an entry with our own name is skipped). `on_message(peer, data)` and
    `on_peer(peer, connected)` may be plain functions or coroutines; they run in the event loop,
    and a LedgerError raised by `on_message` is counted under its code for that peer.
    `send`, `broadcast` and `add_peer` must be called from the event loop's thread.
    Raises PeerError "peer.duplicate" if a name is listed twice, CertError for a bad `name`.
    """

    def __init__(
        self,
        name: str,
        *,
        server_context: ssl.SSLContext,
        client_context: ssl.SSLContext,
        host: str,
        port: int,
        peers: Iterable[PeerInfo],
        admit: Admit,
        on_message: OnMessage,
        on_peer: OnPeer | None = None,
        backoff: Backoff = Backoff(),
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        max_queue_messages: int = MAX_QUEUE_MESSAGES,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        drain_grace: float = DRAIN_GRACE,
    ) -> None:
        self.name = check_name(name)
        self._server_context = server_context
        self._client_context = client_context
        self._host = host
        self._port = port
        self._admit = admit
        self._on_message = on_message
        self._on_peer = on_peer
        self._backoff = backoff
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self._max_messages = max_queue_messages
        self._max_bytes = max(max_queue_bytes, MAX_FRAME)
        self._handshake_timeout = handshake_timeout
        self._drain_grace = drain_grace
        self._peers: dict[str, PeerState] = {}
        self._refused: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._stopping = False
        for info in peers:
            if info.name != name:
                self.add_peer(info)

    @property
    def port(self) -> int:
        """The port listened on (the ephemeral one chosen when constructed with 0, once started)."""
        return self._port

    @property
    def connected(self) -> frozenset[str]:
        """Names of the peers with a connection in use."""
        return frozenset(name for name, peer in self._peers.items() if peer.active is not None)

    @property
    def refused(self) -> Mapping[str, int]:
        """Connections refused (failed handshake or not admitted), by error code."""
        return dict(self._refused)

    def stats(self) -> dict[str, PeerStats]:
        """Counters of every listed peer and of every unlisted peer that was ever admitted."""
        return {name: peer.stats() for name, peer in self._peers.items()}

    def add_peer(self, info: PeerInfo) -> None:
        """List `info` as a peer and dial it (at once if started). Raises PeerError
        "peer.self" for our own name and "peer.duplicate" for a name listed already."""
        if info.name == self.name:
            raise PeerError(f"{info.name} is this node itself", code="peer.self", name=info.name)
        peer = self._peers.get(info.name)
        if peer is not None and peer.info is not None:
            raise PeerError(
                f"peer {info.name} is listed twice", code="peer.duplicate", name=info.name
            )
        if peer is None:
            peer = PeerState(info.name, info, self._max_messages, self._max_bytes)
            self._peers[info.name] = peer
        peer.info = info
        if self._server is not None and not self._stopping:
            self._spawn(self._dial_loop(peer, info))

    async def start(self) -> None:
        """Listen on (host, port) and start dialling every listed peer. Raises OSError if the
        address cannot be bound, RuntimeError if started twice or after `stop`."""
        if self._server is not None or self._stopping:
            raise RuntimeError("a Transport is started once")
        self._server = await asyncio.start_server(self._accept, self._host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        for peer in self._peers.values():
            if peer.info is not None:
                self._spawn(self._dial_loop(peer, peer.info))

    async def stop(self) -> None:
        """Stop listening and dialling and abort every connection (queued frames are
        discarded); `on_peer(name, False)` runs for each peer that was connected."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
        if self._server is not None:
            await self._server.wait_closed()

    def send(self, peer: str, data: bytes) -> bool:
        """Queue `data` for `peer` without waiting; False if it is neither listed nor connected.

        When the peer's queue is full its oldest frame is dropped (and counted). Raises
        FrameError "frame.empty" / "frame.too_large" for data no peer would accept.
        """
        check_frame_size(len(data))
        target = self._peers.get(peer)
        if target is None or not target.reachable:
            return False
        target.push(data)
        return True

    def broadcast(self, data: bytes) -> int:
        """Queue `data` for every listed peer (connected or not) and every connected unlisted
        one; returns their number. Raises like `send`."""
        check_frame_size(len(data))
        targets = [target for target in self._peers.values() if target.reachable]
        for target in targets:
            target.push(data)
        return len(targets)

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._spawn(self._serve_inbound(reader, writer))

    async def _serve_inbound(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # The TLS upgrade must come before any other await: client bytes that arrived before
        # it would be read as plain data. Upgrading here (not in start_server) lets us count
        # failed handshakes.
        address = writer.get_extra_info("peername")
        if self._stopping:
            writer.transport.abort()
            return
        try:
            await writer.start_tls(
                self._server_context, ssl_handshake_timeout=self._handshake_timeout
            )
        except OSError as exc:
            writer.transport.abort()
            self._refuse(HANDSHAKE_FAILED, _describe_handshake(exc), address, None)
            return
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        identity = self._identify(writer, address, None)
        if identity is None:
            return
        peer = self._peers.get(identity.name)
        if peer is None:
            peer = PeerState(identity.name, None, self._max_messages, self._max_bytes)
            self._peers[identity.name] = peer
        await self._serve(peer, Connection(reader, writer, outbound=False))

    async def _dial_loop(self, peer: PeerState, info: PeerInfo) -> None:
        attempt = 0
        while True:
            await self._wait_dialable(peer)
            connection = await self._dial(peer, info)
            if connection is not None:
                await self._serve(peer, connection)
                if connection.frames:
                    attempt = 0
            await self._sleep(self._backoff.delay(attempt, self._rng))
            attempt += 1

    async def _wait_dialable(self, peer: PeerState) -> None:
        # §9: the node whose name sorts first dials unless its own dialled connection is in
        # use; the other one dials only when there is no connection at all.
        while True:
            active = peer.active
            if active is None or (not active.outbound and self.name < peer.name):
                return
            peer.changed.clear()
            await peer.changed.wait()

    async def _dial(self, peer: PeerState, info: PeerInfo) -> Connection | None:
        address = (info.host, info.port)
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the connection completes, and stop() would then wait forever.
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(
                    info.host,
                    info.port,
                    ssl=self._client_context,
                    server_hostname=info.service_name,
                    ssl_handshake_timeout=self._handshake_timeout,
                )
        except ssl.SSLError as exc:
            self._refuse(HANDSHAKE_FAILED, _describe_handshake(exc), address, peer)
            return None
        except OSError as exc:
            peer.errors[CONNECT_FAILED] += 1
            log.debug("cannot reach peer %s at %s: %s", info.name, address, exc)
            return None
        if self._identify(writer, address, info) is None:
            return None
        return Connection(reader, writer, outbound=True)

    def _identify(
        self, writer: asyncio.StreamWriter, address: object, expected: PeerInfo | None
    ) -> Identity | None:
        """The admitted identity of a TLS connection, or None after refusing (and aborting) it."""
        try:
            identity = self._admit(writer.get_extra_info("ssl_object"))
            if identity.name == self.name:
                raise PeerError(f"a peer presented our own name {self.name}", code="peer.self")
            listed = self._peers.get(identity.name)
            info = expected or (listed.info if listed is not None else None)
            if info is not None and (identity.name, identity.region) != (info.name, info.region):
                raise PeerError(
                    f"expected peer {info.name} of {info.region}, the certificate names "
                    f"{identity.name} of {identity.region}",
                    code="peer.unexpected",
                    name=identity.name,
                    region=identity.region,
                )
        except LedgerError as exc:
            writer.transport.abort()
            known = self._peers.get(expected.name) if expected is not None else None
            self._refuse(exc.code, str(exc), address, known)
            return None
        return identity

    def _refuse(self, code: str, reason: str, address: object, peer: PeerState | None) -> None:
        self._refused[code] += 1
        if peer is not None:
            peer.errors[code] += 1
        log.warning(
            "%s refused a peer connection with %s: [%s] %s", self.name, address, code, reason
        )

    async def _serve(self, peer: PeerState, connection: Connection) -> None:
        peer.connections.add(connection)
        peer.connects += 1
        try:
            await self._install(peer, connection)
            await self._read(peer, connection)
        finally:
            await self._release(peer, connection)

    def _prefer(self, peer: PeerState, new: Connection, old: Connection) -> bool:
        # §9: keep the connection dialled by the node whose name sorts first; between two of
        # the same direction keep the newer one (the older is likely dead).
        first_dials = self.name < peer.name
        return new.outbound == first_dials or old.outbound != first_dials

    async def _install(self, peer: PeerState, connection: Connection) -> None:
        old = peer.active
        if old is not None and not self._prefer(peer, connection, old):
            self._retire(peer, connection)
            return
        if old is not None:
            self._retire(peer, old)
        connection.active = True
        peer.active = connection
        peer.changed.set()
        connection.writer_task = self._spawn(self._write(peer, connection))
        if old is None:
            await self._notify(peer.name, True)

    def _retire(self, peer: PeerState, connection: Connection) -> None:
        """Stop writing to `connection`; keep reading it for `drain_grace`, then close it."""
        connection.active = False
        peer.wake.set()
        loop = asyncio.get_running_loop()
        connection.timers.append(loop.call_later(self._drain_grace, self._close, connection))

    def _close(self, connection: Connection) -> None:
        connection.closing = True
        connection.writer.close()
        loop = asyncio.get_running_loop()
        connection.timers.append(
            loop.call_later(CLOSE_TIMEOUT, connection.writer.transport.abort)
        )

    async def _read(self, peer: PeerState, connection: Connection) -> None:
        while True:
            try:
                data = await read_frame(connection.reader)
            except LedgerError as exc:
                if not connection.closing:
                    peer.errors[exc.code] += 1
                    log.warning("closing the connection of %s: [%s] %s", peer.name, exc.code, exc)
                return
            except OSError as exc:
                if not connection.closing:
                    peer.errors[CONNECTION_LOST] += 1
                    log.info("connection of %s lost: %s", peer.name, exc)
                return
            if data is None:
                return
            connection.frames += 1
            peer.received += 1
            await self._deliver(peer, data)

    async def _write(self, peer: PeerState, connection: Connection) -> None:
        try:
            while connection.active:
                if not peer.queue:
                    peer.wake.clear()
                    await peer.wake.wait()
                    continue
                batch = peer.pop_batch()
                connection.writer.write(b"".join(encode_frame(data) for data in batch))
                peer.sent += len(batch)
                await connection.writer.drain()
        except OSError as exc:
            log.info("writing to %s failed: %s", peer.name, exc)
            connection.writer.transport.abort()

    async def _release(self, peer: PeerState, connection: Connection) -> None:
        for timer in connection.timers:
            timer.cancel()
        if connection.writer_task is not None:
            connection.writer_task.cancel()
        connection.writer.transport.abort()
        peer.connections.discard(connection)
        if peer.active is connection:
            connection.active = False
            peer.active = None
            peer.changed.set()
            peer.wake.set()
            if not peer.reachable:
                peer.clear()
            await self._notify(peer.name, False)

    async def _deliver(self, peer: PeerState, data: bytes) -> None:
        try:
            result = self._on_message(peer.name, data)
            if inspect.isawaitable(result):
                await result
        except LedgerError as exc:
            peer.errors[exc.code] += 1
            log.info("message from %s rejected: [%s] %s", peer.name, exc.code, exc)
        except Exception:
            peer.errors[CALLBACK_FAILED] += 1
            log.exception("on_message failed for a message from %s", peer.name)

    async def _notify(self, name: str, connected: bool) -> None:
        if self._on_peer is None:
            return
        try:
            result = self._on_peer(name, connected)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_peer failed for %s", name)
