"""node.transport: real TLS 1.3 between nodes on 127.0.0.1 (consensus.md §9, pki.md §7).

The PKI and genesis are made with the devnet's own `create_network`. Every test runs its event
loop under `asyncio.wait_for`, and waits for conditions, never for durations.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509

from certs.identity import read_identity
from certs.keys import read_certificate
from certs.layout import init_pki, issue_credential
from certs.roles import Role
from certs.tls import create_client_context, create_server_context
from ledger.errors import ValidationError
from ledger.genesis import Genesis, Region
from node.network import create_network
from node.transport.frames import MAX_FRAME, FrameError, encode_frame
from node.transport.peers import Backoff, PeerError, PeerInfo, PeerPolicy, read_genesis_roots
from node.transport.transport import Transport

TIMEOUT = 8.0
HOST = "127.0.0.1"
# OpenSSL checks certificate validity against the system clock, so the certificates are made
# valid now. Nothing asserts on the time.
NOW = datetime.now(timezone.utc)


@dataclass(frozen=True)
class World:
    pki: Path
    genesis: Genesis
    extra: Path  # credentials made for these tests: observer, unlisted validator, strangers

    def files(self, region: str, name: str) -> tuple[Path, Path]:
        prefix = self.pki / region / "nodes" / name
        return prefix.with_suffix(".crt"), prefix.with_suffix(".key")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("network")
    network = create_network(base, NOW, regions=("beijing", "tianjin", "hebei"))
    extra = tmp_path_factory.mktemp("extra")
    window = dict(not_before=NOW - timedelta(minutes=5), not_after=NOW + timedelta(days=1))
    issue_credential(base / "pki" / "beijing", role=Role.OBSERVER, name="beijing-observer",
                     out_prefix=extra / "observer", **window)
    issue_credential(base / "pki" / "beijing", role=Role.VALIDATOR, name="beijing-9",
                     out_prefix=extra / "unlisted", **window)
    init_pki(extra / "stranger", ["beijing"], NOW)
    return World(base / "pki", network.genesis, extra)


def run(coroutine) -> None:
    asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.005)


class Node:
    """A Transport with an inbox and a log of on_peer events."""

    def __init__(self, world: World, name: str, region: str, *, files=None, on_message=None,
                 **options):
        cert, key = files or world.files(region, name)
        roots = read_genesis_roots(world.genesis)
        self.region = region
        self.inbox: list[tuple[str, bytes]] = []
        self.events: list[tuple[str, bool]] = []
        self.transport = Transport(
            name,
            server_context=create_server_context(cert, key, roots),
            client_context=create_client_context(cert, key, roots),
            host=HOST,
            port=options.pop("port", 0),
            peers=options.pop("peers", ()),
            admit=PeerPolicy.from_genesis(world.genesis).admit,
            on_message=on_message or self.receive,
            on_peer=self.peer_event,
            rng=random.Random(1),
            **options,
        )

    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def info(self) -> PeerInfo:
        return PeerInfo(self.name, self.region, HOST, self.transport.port)

    async def receive(self, peer: str, data: bytes) -> None:
        self.inbox.append((peer, data))

    def peer_event(self, peer: str, connected: bool) -> None:
        self.events.append((peer, connected))

    def received_from(self, peer: str) -> list[bytes]:
        return [data for sender, data in self.inbox if sender == peer]


async def start_mesh(*nodes: Node) -> None:
    for node in nodes:
        await node.transport.start()
    for node in nodes:
        for other in nodes:
            if other is not node:
                node.transport.add_peer(other.info)
    await until(lambda: all(len(n.transport.connected) == len(nodes) - 1 for n in nodes))


async def stop_all(*nodes: Node) -> None:
    await asyncio.gather(*(node.transport.stop() for node in nodes))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


async def raw_client(world: World, cert: Path, key: Path, port: int):
    """A bare TLS client with the given credentials, speaking to a node at `port`."""
    context = create_client_context(cert, key, read_genesis_roots(world.genesis))
    return await asyncio.open_connection(HOST, port, ssl=context, server_hostname="localhost")


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(1) == b""
    except (OSError, asyncio.IncompleteReadError):
        return True


# -- exchanging messages --------------------------------------------------------------------


def test_two_nodes_exchange_messages_both_ways_and_keep_one_connection(world):
    async def main():
        a = Node(world, "beijing-1", "beijing")
        b = Node(world, "tianjin-1", "tianjin")
        await start_mesh(a, b)
        sent_ab = [f"a{i}".encode() * 100 for i in range(50)]
        sent_ba = [f"b{i}".encode() for i in range(50)]
        for data in sent_ab:
            assert a.transport.send("tianjin-1", data)
        for data in sent_ba:
            assert b.transport.send("beijing-1", data)
        await until(lambda: len(b.inbox) == 50 and len(a.inbox) == 50)
        assert sorted(b.received_from("beijing-1")) == sorted(sent_ab)
        assert sorted(a.received_from("tianjin-1")) == sorted(sent_ba)
        # §9: the connection dialled by beijing-1 (whose name sorts first) is the one kept.
        await until(lambda: a.transport.stats()["tianjin-1"].outbound is True)
        await until(lambda: b.transport.stats()["beijing-1"].outbound is False)
        stats = a.transport.stats()["tianjin-1"]
        assert (stats.sent, stats.received, stats.dropped, stats.queued) == (50, 50, 0, 0)
        assert a.events[0] == ("tianjin-1", True)
        await stop_all(a, b)

    run(main())


def test_three_nodes_broadcast_reaches_every_peer(world):
    async def main():
        nodes = [
            Node(world, "beijing-1", "beijing"),
            Node(world, "tianjin-1", "tianjin"),
            Node(world, "hebei-1", "hebei"),
        ]
        await start_mesh(*nodes)
        for node in nodes:
            assert node.transport.broadcast(f"from {node.name}".encode()) == 2
        await until(lambda: all(len(n.inbox) == 2 for n in nodes))
        for node in nodes:
            others = {n.name for n in nodes if n is not node}
            assert sorted(node.inbox) == sorted((o, f"from {o}".encode()) for o in others)
            assert node.transport.connected == others
        await stop_all(*nodes)

    run(main())


def test_an_unlisted_observer_is_admitted_and_reached_by_broadcast(world):
    async def main():
        a = Node(world, "beijing-1", "beijing")
        await a.transport.start()
        files = (world.extra / "observer.crt", world.extra / "observer.key")
        observer = Node(world, "beijing-observer", "beijing", files=files, peers=[a.info])
        await observer.transport.start()
        await until(lambda: "beijing-observer" in a.transport.connected)
        assert a.transport.broadcast(b"block") == 1
        assert observer.transport.send("beijing-1", b"status")
        await until(lambda: observer.inbox and a.inbox)
        assert observer.inbox == [("beijing-1", b"block")]
        assert a.inbox == [("beijing-observer", b"status")]
        await observer.transport.stop()
        await until(lambda: ("beijing-observer", False) in a.events)
        # An unlisted peer that left is no longer sent to; its counters are kept.
        assert not a.transport.send("beijing-observer", b"late")
        assert a.transport.broadcast(b"late") == 0
        assert a.transport.stats()["beijing-observer"].received == 1
        await a.transport.stop()

    run(main())


def test_messages_rejected_by_on_message_are_counted_and_the_connection_stays(world):
    def on_message(peer, data):
        if data == b"bad":
            raise ValidationError("not a message", code="message.invalid")
        b.inbox.append((peer, data))

    async def main():
        await start_mesh(a, b)
        a.transport.send("tianjin-1", b"bad")
        a.transport.send("tianjin-1", b"good")
        await until(lambda: b.inbox)
        assert b.inbox == [("beijing-1", b"good")]
        assert b.transport.stats()["beijing-1"].errors == {"message.invalid": 1}
        await stop_all(a, b)

    a = Node(world, "beijing-1", "beijing")
    b = Node(world, "tianjin-1", "tianjin", on_message=on_message)
    run(main())


# -- queues -----------------------------------------------------------------------------------


def test_a_full_queue_drops_its_oldest_frames_and_counts_them(world):
    async def main():
        b = Node(world, "tianjin-1", "tianjin")
        await b.transport.start()
        a = Node(world, "beijing-1", "beijing", max_queue_messages=3, peers=[b.info])
        for i in range(5):
            assert a.transport.send("tianjin-1", bytes([i]))
        stats = a.transport.stats()["tianjin-1"]
        assert (stats.queued, stats.dropped, stats.connected) == (3, 2, False)
        await a.transport.start()
        await until(lambda: len(b.inbox) == 3)
        assert b.inbox == [("beijing-1", bytes([i])) for i in (2, 3, 4)]
        await stop_all(a, b)

    run(main())


def test_send_refuses_bad_sizes_and_unknown_peers(world):
    a = Node(world, "beijing-1", "beijing")
    assert not a.transport.send("nobody", b"x")
    with pytest.raises(FrameError) as info:
        a.transport.send("nobody", bytes(MAX_FRAME + 1))
    assert info.value.code == "frame.too_large"
    with pytest.raises(FrameError):
        a.transport.broadcast(b"")


def test_a_peer_listed_twice_or_our_own_name_is_refused(world):
    a = Node(world, "beijing-1", "beijing")
    peer = PeerInfo("tianjin-1", "tianjin", HOST, 1)
    a.transport.add_peer(peer)
    with pytest.raises(PeerError) as twice:
        a.transport.add_peer(peer)
    assert twice.value.code == "peer.duplicate"
    with pytest.raises(PeerError) as itself:
        a.transport.add_peer(PeerInfo("beijing-1", "beijing", HOST, 1))
    assert itself.value.code == "peer.self"


# -- who is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "code"),
    [
        ("stranger", "transport.handshake_failed"),  # a CA that is not in the genesis
        ("staff", "peer.wrong_role"),
        ("unlisted", "peer.unknown_validator"),
    ],
)
def test_an_impostor_is_refused_and_counted(world, credential, code):
    files = {
        "stranger": (world.extra / "stranger/beijing/nodes/beijing-1.crt",
                     world.extra / "stranger/beijing/nodes/beijing-1.key"),
        "staff": (world.pki / "beijing/staff/beijing-window-1.crt",
                  world.pki / "beijing/staff/beijing-window-1.key"),
        "unlisted": (world.extra / "unlisted.crt", world.extra / "unlisted.key"),
    }[credential]

    async def main():
        a = Node(world, "tianjin-1", "tianjin")
        await a.transport.start()
        reader, writer = await raw_client(world, *files, a.transport.port)
        writer.write(encode_frame(b"forged vote"))
        assert await closed_by_server(reader)
        writer.close()
        await until(lambda: a.transport.refused == {code: 1})
        assert a.inbox == [] and a.events == [] and a.transport.connected == frozenset()
        await a.transport.stop()

    run(main())


def test_a_dialled_server_with_another_identity_is_refused(world):
    async def main():
        a = Node(world, "beijing-1", "beijing")
        await a.transport.start()
        # tianjin-1 believes hebei-1 listens where beijing-1 does.
        wrong = PeerInfo("hebei-1", "hebei", HOST, a.transport.port)
        b = Node(world, "tianjin-1", "tianjin", peers=[wrong])
        await b.transport.start()
        await until(lambda: b.transport.stats()["hebei-1"].errors.get("transport.handshake_failed"))
        assert b.transport.connected == frozenset() and a.inbox == []
        await stop_all(a, b)

    run(main())


def test_peer_policy_admits_genesis_validators_and_observers_only(world):
    policy = PeerPolicy.from_genesis(world.genesis)
    observer = read_identity(read_certificate(world.extra / "observer.crt"))
    policy.check_identity(observer)
    policy.check_identity(read_identity(read_certificate(world.files("hebei", "hebei-1")[0])))
    for path, code in [
        (world.extra / "unlisted.crt", "peer.unknown_validator"),
        (world.pki / "beijing/partners/beijing-gateway.crt", "peer.wrong_role"),
    ]:
        with pytest.raises(PeerError) as info:
            policy.check_identity(read_identity(read_certificate(path)))
        assert info.value.code == code
    narrowed = PeerPolicy.from_peers(world.genesis, [PeerInfo("beijing-9", "beijing", HOST, 1)])
    narrowed.check_identity(read_identity(read_certificate(world.extra / "unlisted.crt")))
    with pytest.raises(PeerError) as info:
        narrowed.check_identity(read_identity(read_certificate(world.files("hebei", "hebei-1")[0])))
    assert info.value.code == "peer.unknown_validator"


def test_read_genesis_roots_refuses_a_ca_listed_under_another_region(world):
    regions = list(world.genesis.regions)
    swapped = Region("beijing", regions[1].ca_cert, regions[0].admins)
    genesis = Genesis(world.genesis.chain_id, world.genesis.genesis_time,
                      (swapped, *regions[1:]), world.genesis.validators)
    with pytest.raises(PeerError) as info:
        read_genesis_roots(genesis)
    assert info.value.code == "peer.bad_genesis_ca"
    roots = read_genesis_roots(world.genesis)
    assert [isinstance(r, x509.Certificate) for r in roots] == [True, True, True]


# -- malformed frames -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "code"),
    [
        ((MAX_FRAME + 1).to_bytes(4, "big"), "frame.too_large"),
        (b"\x00\x00\x00\x00", "frame.empty"),
        (b"\x00\x00\x00\x64" + b"x" * 10, "frame.truncated"),
    ],
)
def test_a_malformed_frame_closes_that_connection_only(world, stream, code):
    async def main():
        a = Node(world, "beijing-1", "beijing")
        b = Node(world, "tianjin-1", "tianjin")
        await start_mesh(a, b)
        # hebei-1 is a listed validator of a that never accepts connections.
        a.transport.add_peer(PeerInfo("hebei-1", "hebei", HOST, free_port()))
        reader, writer = await raw_client(world, *world.files("hebei", "hebei-1"), a.transport.port)
        writer.write(encode_frame(b"fine") + stream)
        if code == "frame.truncated":
            writer.close()
        assert await closed_by_server(reader)
        await until(lambda: a.transport.stats()["hebei-1"].errors.get(code) == 1)
        assert a.received_from("hebei-1") == [b"fine"]
        assert "hebei-1" not in a.transport.connected
        a.transport.send("tianjin-1", b"still here")
        b.transport.send("beijing-1", b"me too")
        await until(lambda: b.inbox and a.received_from("tianjin-1"))
        assert b.inbox == [("beijing-1", b"still here")]
        assert a.received_from("tianjin-1") == [b"me too"]
        await stop_all(a, b)

    run(main())


# -- reconnecting and stopping ----------------------------------------------------------------


def test_backoff_doubles_from_200ms_to_10s_with_bounded_jitter():
    backoff = Backoff()
    rng = random.Random(3)
    for attempt, nominal in [(0, 0.2), (1, 0.4), (2, 0.8), (5, 6.4), (6, 10.0), (500, 10.0)]:
        for _ in range(50):
            assert 0.8 * nominal <= backoff.delay(attempt, rng) <= 1.2 * nominal
    assert Backoff(jitter=0).delay(3, rng) == pytest.approx(1.6)


def test_a_peer_that_goes_away_is_redialled_with_backoff_until_it_returns(world):
    delays: list[float] = []

    async def fast_sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(delay / 50)

    async def main():
        a = Node(world, "beijing-1", "beijing", sleep=fast_sleep)
        b = Node(world, "tianjin-1", "tianjin")
        await start_mesh(a, b)
        port = b.transport.port
        await b.transport.stop()
        await until(lambda: ("tianjin-1", False) in a.events)
        await until(lambda: len(delays) >= 4)
        rng = random.Random(1)
        assert delays[:4] == [Backoff().delay(i, rng) for i in range(4)]
        assert a.transport.stats()["tianjin-1"].errors.get("transport.connect_failed", 0) >= 3
        back = Node(world, "tianjin-1", "tianjin", port=port, peers=[a.info])
        await back.transport.start()
        await until(lambda: a.events.count(("tianjin-1", True)) == 2)
        a.transport.send("tianjin-1", b"welcome back")
        await until(lambda: back.inbox)
        assert back.inbox == [("beijing-1", b"welcome back")]
        assert a.transport.stats()["tianjin-1"].connects >= 2
        await stop_all(a, back)

    run(main())


def inbound_tasks() -> int:
    """Inbound connections being served (or handshaked) by any Transport of this loop."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == "Transport._serve_inbound"
    )


def test_stop_is_prompt_with_connections_handshakes_and_backoff_pending(world):
    async def main():
        b = Node(world, "tianjin-1", "tianjin")
        await b.transport.start()
        unreachable = PeerInfo("hebei-1", "hebei", HOST, free_port())
        a = Node(world, "beijing-1", "beijing", peers=[unreachable, b.info])
        await a.transport.start()
        await until(lambda: "beijing-1" in b.transport.connected)
        assert inbound_tasks() == 1  # b serving a's connection
        # A client that connects but never starts its TLS handshake (timeout: 5 s).
        _, silent = await asyncio.open_connection(HOST, a.transport.port)
        await until(lambda: inbound_tasks() == 2)
        await asyncio.wait_for(a.transport.stop(), 2.0)
        assert ("tianjin-1", False) in a.events and a.transport.connected == frozenset()
        await until(lambda: ("beijing-1", False) in b.events)
        await until(lambda: inbound_tasks() == 0)
        with pytest.raises(OSError):
            await asyncio.open_connection(HOST, a.info.port)
        silent.close()
        await b.transport.stop()

    run(main())
