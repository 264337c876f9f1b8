"""Tests of node.gateway: the node's end answering reads from snapshots and admissions on its
loop, the API process's end multiplexing requests, over a real socketpair and a real LevelDB
chain. The host is a small real object (a list of admitted transactions), not a mock of the node."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cbor2
import pytest

from api.service import NodeReport
from ledger.errors import LedgerError, ValidationError
from ledger.store import LevelKV
from ledger.view import ChainView
from node.gateway.client import GatewayClient, ImmutableCache, RemoteSnapshot
from node.gateway.protocol import MAX_FRAME, GatewayError, RemoteError
from node.gateway.server import GatewayServer
from node.gateway.service import GatewayService, report_of
from node.gateway.snapshots import Snapshots
from node.metrics import NodeMetrics
from tests.ledger.conftest import GENESIS_TIME, make_net


@pytest.fixture(scope="module")
def net():
    return make_net()

WAIT_S = 30


class Host:
    """Admits anchors it has not seen; refuses repeats; records uses with increasing seqs."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.admitted: list[bytes] = []
        self.verified: list[bytes] = []
        self.threads: set[str] = set()
        self.closed = threading.Event()
        self.seq = 0
        self.idle = 0
        self.gate = threading.Event()  # cleared: use records wait until it is set
        self.gate.set()

    def gateway_admit(self, txs, verified):
        self.threads.add(threading.current_thread().name)
        self.verified.extend(verified)
        out = []
        for tx in txs:
            if tx.id in self.admitted:
                out.append(ValidationError("already held", code="mempool.duplicate", field="tx"))
            else:
                self.admitted.append(tx.id)
                out.append(None)
        return out

    def gateway_status(self):
        self.threads.add(threading.current_thread().name)
        return {"height": 7, "syncing": False}

    def gateway_pending(self, tx_id):
        self.threads.add(threading.current_thread().name)
        return tx_id in self.admitted

    def gateway_record_uses(self, batches):
        assert self.gate.wait(WAIT_S)
        out = []
        for records in batches:
            if any(r.get("licence_id") == "refused" for r in records):
                out.append(ValidationError("refused", code="use.bad_record", field="records[0]"))
                continue
            out.append([])
            for record in records:
                out[-1].append({**record, "seq": self.seq})
                self.seq += 1
        return out

    def gateway_idle(self):
        self.idle += 1

    def gateway_closed(self):
        self.closed.set()


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="consensus-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT_S)
    loop.close()


@pytest.fixture
def chain_store(net, tmp_path):
    kv = LevelKV(tmp_path / "db")
    local = net.local(kv)
    for h in range(1, 4):
        local.produce([net.anchor() for _ in range(3)], GENESIS_TIME + 1000 * h)
    yield local, kv
    kv.close()


@pytest.fixture
def channel(loop, chain_store):
    local, kv = chain_store
    snapshots = Snapshots()
    snapshots.publish(local.chain.height, kv.snapshot())
    node_end, api_end = socket.socketpair()
    host = Host(loop)
    server = GatewayServer(node_end, host, snapshots, loop)
    server.start()
    events: list[dict] = []
    client = GatewayClient(api_end, events.append)
    client.start()
    yield local, kv, snapshots, server, client, host, events
    client.close()
    server.close()
    server.join()
    snapshots.close()
    api_end.close()


def test_reads_through_the_gateway_equal_the_store(net, channel):
    local, kv, _, _, client, _, _ = channel
    view = ChainView(RemoteSnapshot(client, local.chain.height, ImmutableCache()), net.genesis, local.chain.tip)
    for h in (1, 2, 3):
        assert view.block_bytes(h) == local.chain.block_bytes(h)
        assert view.commit(h) == local.chain.commit(h)
    assert view.validators().hash() == local.chain.validators().hash()
    assert list(view.kv.iterate(b"txi/")) == list(kv.iterate(b"txi/"))
    assert [k for k, _ in view.iterate_state(b"region/", b"region/t")] == [b"region/tianjin", b"region/xiongan"]


def test_iteration_pages_through_many_entries(net, channel):
    local, kv, snapshots, _, client, _, _ = channel
    kv.write({b"zz/%05d" % i: b"v" * (i % 7) for i in range(700)})
    snapshots.publish(local.chain.height, kv.snapshot())
    remote = RemoteSnapshot(client, local.chain.height, ImmutableCache())
    everything = list(kv.iterate(b""))
    assert len(everything) > 800  # several pages of 256
    assert list(remote.iterate(b"")) == everything
    assert [k for k, _ in remote.iterate(b"zz/", b"zz/00600")] == [b"zz/%05d" % i for i in range(600, 700)]


def test_a_snapshot_does_not_see_blocks_committed_after_it(net, channel):
    local, kv, snapshots, _, client, _, _ = channel
    old = local.chain.height
    local.produce([net.anchor()], GENESIS_TIME + 10_000)
    snapshots.publish(local.chain.height, kv.snapshot())
    before = ChainView(RemoteSnapshot(client, old, ImmutableCache()), net.genesis, None)
    after = ChainView(RemoteSnapshot(client, old + 1, ImmutableCache()), net.genesis, None)
    assert before.height == old and after.height == old + 1
    assert before.block_bytes(old + 1) is None and after.block_bytes(old + 1) == local.chain.block_bytes(old + 1)


def test_a_released_height_is_refused_by_name(channel):
    _, _, _, _, client, _, _ = channel
    with pytest.raises(LedgerError) as err:
        client.call("get", {"height": 99, "keys": [b"meta/tip"]}, timeout=WAIT_S)
    assert err.value.code == "gateway.snapshot_gone" and isinstance(err.value, RemoteError)


@pytest.mark.parametrize("args, field", [
    ({"height": "3", "keys": [b"k"]}, "height"),
    ({"height": 3, "keys": []}, "keys"),
    ({"height": 3, "keys": ["text"]}, "keys[0]"),
    ({"height": 3, "keys": [b"k" * 1025]}, "keys[0]"),
    ({"height": 3, "keys": [b"k"] * 257}, "keys"),
])
def test_malformed_reads_are_refused_with_the_field(channel, args, field):
    _, _, _, _, client, _, _ = channel
    with pytest.raises(LedgerError) as err:
        client.call("get", args, timeout=WAIT_S)
    assert err.value.code == "gateway.bad_request" and err.value.fields["field"] == field


def test_an_unknown_operation_is_refused_and_the_channel_stays_up(channel):
    local, _, _, _, client, _, _ = channel
    with pytest.raises(LedgerError) as err:
        client.call("drop_everything", {}, timeout=WAIT_S)
    assert err.value.code == "gateway.unknown_op"
    assert client.call("get", {"height": local.chain.height, "keys": [b"meta/tip"]}, timeout=WAIT_S)[0] is not None


def test_admissions_run_on_the_loop_and_answer_each_transaction(net, channel):
    _, _, _, _, client, host, _ = channel
    tx = net.anchor()
    result = client.call("admit", {"txs": [tx.to_bytes(), tx.to_bytes(), b"{not json"], "verified": [b"e" * 129]}, timeout=WAIT_S)
    assert result[0] is None
    assert result[1]["code"] == "mempool.duplicate"
    assert result[2]["code"].startswith("encoding.")
    assert host.admitted == [tx.id] and host.verified == [b"e" * 129]
    assert host.threads == {"consensus-loop"}


def test_status_and_use_records_are_answered(channel):
    _, _, _, _, client, host, _ = channel
    assert client.call("status", {}, timeout=WAIT_S) == {"height": 7, "syncing": False}
    receipts = client.call("uses", {"records": [{"licence_id": "x"}, {"licence_id": "y"}]}, timeout=WAIT_S)
    assert [r["seq"] for r in receipts] == [0, 1]
    with pytest.raises(LedgerError) as err:
        client.call("uses", {"records": [{"licence_id": "refused"}]}, timeout=WAIT_S)
    assert err.value.code == "use.bad_record"


def test_a_mempool_lookup_is_answered_on_the_loop(net, channel):
    _, _, _, _, client, host, _ = channel
    tx = net.anchor()
    assert client.call("pending", {"tx_id": tx.id}, timeout=WAIT_S) is False
    client.call("admit", {"txs": [tx.raw], "verified": []}, timeout=WAIT_S)
    assert client.call("pending", {"tx_id": tx.id}, timeout=WAIT_S) is True
    assert host.threads == {"consensus-loop"}


@pytest.mark.parametrize("args", [{}, {"tx_id": b"x" * 31}, {"tx_id": b"x" * 33}, {"tx_id": "text"}])
def test_a_malformed_mempool_lookup_is_refused_with_the_field(channel, args):
    _, _, _, _, client, host, _ = channel
    with pytest.raises(LedgerError) as err:
        client.call("pending", args, timeout=WAIT_S)
    assert (err.value.code, err.value.fields["field"]) == ("gateway.bad_request", "tx_id")
    assert host.threads == set()


def test_use_requests_from_many_threads_are_each_answered(channel):
    _, _, _, _, client, host, _ = channel
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: client.call("uses", {"records": [{"licence_id": str(i)}]}, timeout=WAIT_S), range(200)))
    assert sorted(a[0]["seq"] for a in answers) == list(range(200))
    assert all(a[0]["licence_id"] == str(i) for i, a in enumerate(answers))


def test_an_answer_to_a_request_its_asker_gave_up_on_is_dropped_and_the_channel_stays_up(channel):
    # Found by a fresh-clone run: acall's timeout cancels the request's future, and the reader
    # thread died of InvalidStateError when the late answer came, taking the channel with it.
    _, _, _, _, client, host, _ = channel
    host.gate.clear()

    async def impatient():
        await client.acall("uses", {"records": [{"licence_id": "late"}]}, timeout=0.05)

    with pytest.raises(LedgerError) as err:
        asyncio.run(impatient())
    assert err.value.code == "gateway.timeout"
    host.gate.set()  # the late answer reaches a cancelled future
    assert client.call("uses", {"records": [{"licence_id": "next"}]}, timeout=WAIT_S)[0]["licence_id"] == "next"
    assert client.call("status", {}, timeout=WAIT_S)["height"] == 7 and not client.closed.is_set()


def test_the_journal_thread_tells_the_host_when_it_is_idle(channel):
    _, _, _, _, _, host, _ = channel
    deadline = time.monotonic() + WAIT_S
    while host.idle < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host.idle >= 2


def test_events_reach_the_client_in_order(channel):
    _, _, _, server, client, _, events = channel
    for h in range(5):
        server.publish({"event": "tip", "height": h})
    client.call("status", {}, timeout=WAIT_S)  # answered after the events were sent
    assert [e["height"] for e in events] == [0, 1, 2, 3, 4]


def test_many_threads_share_one_channel(net, channel):
    local, _, _, _, client, _, _ = channel
    remote = RemoteSnapshot(client, local.chain.height, ImmutableCache(max_bytes=0))
    expected = [local.chain.block_bytes(h) for h in (1, 2, 3)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: remote.get(b"blk/" + (1 + i % 3).to_bytes(8, "big")), range(300)))
    assert results == [expected[i % 3] for i in range(300)]


def test_acall_awaits_without_blocking_the_loop(channel):
    local, _, _, _, client, _, _ = channel

    async def both():
        ticks = 0

        async def tick():
            nonlocal ticks
            for _ in range(3):
                ticks += 1
                await asyncio.sleep(0)

        answer, _ = await asyncio.gather(client.acall("get", {"height": local.chain.height, "keys": [b"meta/tip"]}), tick())
        return answer, ticks

    answer, ticks = asyncio.run(both())
    assert answer[0] is not None and ticks == 3


def test_the_cache_spares_repeated_reads(net, channel):
    local, kv, snapshots, server, client, _, _ = channel
    cache = ImmutableCache()
    remote = RemoteSnapshot(client, local.chain.height, cache)
    key = b"blk/" + (2).to_bytes(8, "big")
    first = remote.get(key)
    before = server.requests
    assert remote.get(key) == first and server.requests == before
    old_tip = remote.get(b"meta/tip")
    assert remote.get(b"meta/tip") == old_tip
    assert server.requests == before + 1  # another key is read once per height
    RemoteSnapshot(client, local.chain.height, ImmutableCache()).get(b"meta/tip")
    assert server.requests == before + 2  # a cache belongs to one reader
    local.produce([net.anchor()], GENESIS_TIME + 20_000)
    snapshots.publish(local.chain.height, kv.snapshot())
    assert RemoteSnapshot(client, local.chain.height, cache).get(b"meta/tip") != old_tip
    assert server.requests == before + 3  # and a new height reads again
    assert RemoteSnapshot(client, local.chain.height, cache).get(b"no/such/key") is None
    assert RemoteSnapshot(client, local.chain.height, cache).get(b"no/such/key") is None
    assert server.requests == before + 4  # an absence is cached too


def test_closing_the_api_end_tells_the_host(channel):
    _, _, _, _, client, host, _ = channel
    client.close()
    assert host.closed.wait(WAIT_S)


def test_closing_the_node_end_fails_pending_and_later_requests(channel):
    local, _, _, server, client, _, _ = channel
    server.close()
    assert client.closed.wait(WAIT_S)
    with pytest.raises(GatewayError) as err:
        client.call("status", {}, timeout=WAIT_S)
    assert err.value.code == "gateway.closed"


def test_a_frame_too_large_or_not_cbor_closes_the_channel(loop, chain_store):
    local, kv = chain_store
    for payload in (struct.pack(">I", MAX_FRAME + 1), struct.pack(">I", 3) + b"\xff\xff\xff", struct.pack(">I", 0)):
        snapshots = Snapshots()
        node_end, api_end = socket.socketpair()
        host = Host(loop)
        server = GatewayServer(node_end, host, snapshots, loop)
        server.start()
        api_end.sendall(payload)
        assert host.closed.wait(WAIT_S)
        api_end.settimeout(WAIT_S)
        assert api_end.recv(10) == b""
        server.join()
        api_end.close()


def test_a_request_of_the_wrong_shape_closes_the_channel(loop):
    node_end, api_end = socket.socketpair()
    host = Host(loop)
    server = GatewayServer(node_end, host, Snapshots(), loop)
    server.start()
    body = cbor2.dumps({"not": "an array"})
    api_end.sendall(struct.pack(">I", len(body)) + body)
    assert host.closed.wait(WAIT_S)
    server.join()
    api_end.close()


def test_the_service_reports_the_last_status_event_and_tip_without_asking_the_node(net, channel):
    local, _, _, server, client, host, _ = channel
    service = GatewayService(client, net.genesis, "beijing-1", "beijing")
    assert service.report() == NodeReport(reachable=True, started=False)
    tip = local.chain.tip
    service.on_event({"event": "tip", "height": tip.height, "hash": tip.hash, "time": tip.time, "state_root": tip.state_root, "log_size": tip.log_size, "log_root": tip.log_root})
    metrics = NodeMetrics()
    metrics.count_admissions("api", [None, None, LedgerError("held", code="mempool.duplicate")])
    metrics.block_interval.observe(1500)
    service.on_event({"event": "status", "syncing": True, "height": tip.height, "round": 2, "mempool": [4, 900], "peers": [2, 3], **metrics.to_event()})
    report = service.report()
    assert (report.reachable, report.started, report.syncing, report.height, report.round, report.block_time) == (True, True, True, tip.height, 2, tip.time)
    assert (report.mempool_txs, report.mempool_bytes, report.peers_connected, report.peers) == (4, 900, 2, 3)
    assert report.admitted == (("api", 2),) and report.refused == (("api", "mempool.duplicate", 1),)
    assert report.block_interval.bounds[0] == 0.25 and report.block_interval.total == 1.5 and sum(report.block_interval.counts) == 1
    assert sum(report.commit_latency.counts) == 0
    assert host.threads == set()  # nothing was asked of the node
    client.close()
    assert client.closed.wait(WAIT_S) and service.report().reachable is False


@pytest.mark.parametrize("event", [
    {"round": "2", "mempool": [1], "peers": "x", "admitted": [1], "refused": {"a": 1}, "block_interval": {"bounds": [1], "counts": [1]}},
    {"round": True, "mempool": [-1, 2.5], "refused": [["api", 3, 1], "x"], "commit_latency": {"bounds": [1, 2], "counts": [1], "sum": 0}},
])
def test_a_report_reads_malformed_members_as_zero_or_none(event):
    report = report_of({"event": "status", **event}, None, reachable=True)
    assert report == NodeReport(reachable=True, started=False)


def test_the_service_asks_the_node_whether_its_mempool_holds_a_transaction(net, channel):
    _, _, _, _, client, _, _ = channel
    service = GatewayService(client, net.genesis, "beijing-1", "beijing")
    tx = net.anchor()
    assert asyncio.run(service.pending(tx.id)) is False
    client.call("admit", {"txs": [tx.raw], "verified": []}, timeout=WAIT_S)
    assert asyncio.run(service.pending(tx.id)) is True
