"""Four real node processes on loopback (node.runtime through `eledger node start`, launched by
node.devnet): transactions submitted across the nodes commit everywhere with one state root,
SIGTERM stops a node cleanly with its store intact, the other three go on, and the stopped node
catches up when it comes back. Every wait is bounded; only the PIDs started here are signalled.
In-process tests cover what needs an equivocating validator (the evidence transaction) and the
signature cache the mempool shares with block building.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rich.console import Console
from client.errors import ProblemError
from client.http import Submitted
from ledger.chain import Chain
from ledger.commit import VOTE_PURPOSE, VoteType, vote_sign_bytes
from ledger.crypto import PublicKey
from ledger.encoding import b64decode
from ledger.errors import LedgerError
from ledger.genesis import Genesis
from ledger.merkle import verify_inclusion
from ledger.store import LevelKV
from ledger.tx import Tx
from node.config import read_config
from node.consensus import Evidence, Vote, decode_message
from node.demo import scenarios_of
from node.devnet import (
    Devnet, DevnetError, DevnetNode, check_ports_free, prepare_devnet, random_port_base, seed_devnet, start_nodes, stop_nodes, wait_ready,
)
from node.local import LocalNetwork
from node.network import GENESIS_FILE
from node.runtime import Node

READY_S = 120.0
SETTLE_S = 30.0


def _free_bases(rng: random.Random) -> tuple[int, int]:
    return (base := random_port_base(rng)), base + 10


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A started 4-node devnet on non-default ports; stopped (only its own PIDs) at the end."""
    directory = tmp_path_factory.mktemp("runtime") / "devnet"
    rng = random.Random()
    for _ in range(20):
        p2p, api = _free_bases(rng)
        devnet = prepare_devnet(directory, 4, p2p_base=p2p, api_base=api)
        try:
            check_ports_free(devnet)
            break
        except DevnetError:
            continue
    procs = start_nodes(devnet)
    try:
        wait_ready(devnet, procs, READY_S)
        yield devnet, procs
    finally:
        stop_nodes(procs, grace_s=15)


def anchor(devnet, i: int) -> Tx:
    keys = list(devnet.network.admin_keys.values())
    return Tx.create(devnet.chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"runtime {i}"}, keys[i % len(keys)], os.urandom(16))


def get_status(devnet: Devnet, node: DevnetNode) -> dict:
    with devnet.client(node) as client:
        return client.status()


def post_transaction(devnet: Devnet, node: DevnetNode, tx: Tx) -> Submitted:
    """`tx` submitted to `node` with wait=commit, by the region administrator of the node's
    region; a refusal raises its ProblemError."""
    with devnet.client(node, "admin") as client:
        return client.submit(tx, timeout_s=30)


def settle(devnet: Devnet, nodes, *, at_least: int) -> list[dict]:
    """Statuses of `nodes` once they report one height >= at_least and one state root."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        statuses = [get_status(devnet, n) for n in nodes]
        if len({s["height"] for s in statuses}) == 1 and len({s["state_root"] for s in statuses}) == 1 and statuses[0]["height"] >= at_least:
            return statuses
        assert time.monotonic() < deadline, f"nodes did not agree within {SETTLE_S} s: {[(s['node'], s['height'], s['state_root']) for s in statuses]}"
        time.sleep(0.2)


def test_transactions_submitted_across_four_nodes_commit_with_one_state_root(net):
    devnet, _ = net
    txs = [anchor(devnet, i) for i in range(48)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: post_transaction(devnet, devnet.nodes[i % 4], txs[i]), range(len(txs))))
    assert {r.status for r in results} == {"committed"}
    top = max(r.height for r in results)
    statuses = settle(devnet, devnet.nodes, at_least=top)
    assert statuses[0]["log_size"] >= len(txs)
    assert all(s["syncing"] is False and s["mempool"]["size"] == 0 for s in statuses)
    assert {p["name"] for p in statuses[0]["peers"] if p["connected"]} == {n.name for n in devnet.nodes[1:]}


def test_a_committed_transaction_is_in_the_block_the_api_names(net):
    devnet, _ = net
    tx = anchor(devnet, 1000)
    committed = post_transaction(devnet, devnet.nodes[2], tx)
    assert committed.status == "committed"
    settle(devnet, devnet.nodes, at_least=committed.height)  # node 0 may commit the block a moment later
    with devnet.client(devnet.nodes[0]) as client:
        block = client.block(committed.height)
    assert Tx.from_json(block["block"]["txs"][committed.index]).id == tx.id
    with pytest.raises(ProblemError) as again:
        post_transaction(devnet, devnet.nodes[1], tx)
    assert again.value.code == "tx.replay" and again.value.status == 409


def test_a_running_node_proves_a_transaction_and_reports_ready_with_its_metrics(net):
    devnet, _ = net
    node = devnet.nodes[0]
    tx = anchor(devnet, 1100)
    committed = post_transaction(devnet, node, tx)
    assert committed.status == "committed"
    with devnet.client(node) as client:
        found = client.transaction(tx.id)  # read through the gateway
        assert (found["status"], found["height"], found["index"]) == ("committed", committed.height, committed.index)
        tip = found["inclusion"]["tip"]
        header = client.header(tip["height"])
        assert header["header"]["log_root"] == tip["log_root"]
        verify_inclusion(tx.leaf_hash, found["log_index"], tip["log_size"], [b64decode(h) for h in tip["proof"]], b64decode(tip["log_root"]))
        ready = client.ready()
        assert ready["status"] == "ready" and ready["height"] >= committed.height
        deadline = time.monotonic() + SETTLE_S
        while True:  # the node reports its counters every status interval
            families = {f.name: f for f in text_string_to_metric_families(client.metrics())}
            admitted = {s.labels["source"]: s.value for s in families["eledger_txs_admitted"].samples if s.name.endswith("_total")}
            height = families["eledger_height"].samples[0].value
            if admitted.get("api", 0) >= 1 and height >= committed.height and families["eledger_block_interval_seconds"].samples:
                break
            assert time.monotonic() < deadline, f"the node never reported its admissions: {admitted}, height {height}"
            time.sleep(0.2)
    assert families["eledger_peers_connected"].samples[0].value == 3 and families["eledger_node_reachable"].samples[0].value == 1


def test_seeding_through_the_apis_happens_once(net):
    devnet, _ = net

    assert seed_devnet(devnet, Console(quiet=True)) is True
    assert json.loads((devnet.dir / "seeded.json").read_text())["licences"] == 12
    with devnet.client(devnet.nodes[0]) as client:
        listed = client.get_json("/v1/scenarios", region="tianjin")["scenarios"]
    assert [(s["code"], s["name"]) for s in listed] == [(s["code"], s["name"]) for s in scenarios_of("tianjin")]
    assert ("TJ-KH-001", "企业开户核验") in [(s["code"], s["name"]) for s in listed]  # the purpose the printed example states
    assert seed_devnet(devnet, Console(quiet=True)) is False
    settle(devnet, devnet.nodes, at_least=1)


def test_a_batch_commits_every_admitted_tx_and_rejects_the_repeated_one(net):
    devnet, _ = net
    txs = [anchor(devnet, 4000 + i) for i in range(30)]
    with devnet.client(devnet.nodes[1], "admin") as client:
        results = client.submit_batch([*txs, txs[0]], timeout_s=30)
    assert [r.status for r in results] == ["committed"] * len(txs) + ["rejected"]
    assert results[-1].error.code == "mempool.duplicate"
    top = max(r.height for r in results[:-1])
    settle(devnet, devnet.nodes, at_least=top)
    with devnet.client(devnet.nodes[3]) as client:
        block = client.block(results[7].height)
    assert Tx.from_json(block["block"]["txs"][results[7].index]).id == txs[7].id


def test_sigterm_stops_a_node_cleanly_and_it_catches_up_after_a_restart(net):
    devnet, procs = net
    stopped = devnet.nodes[3]
    procs[stopped.name].send_signal(signal.SIGTERM)
    assert procs[stopped.name].wait(20) == 0
    lines = [json.loads(line) for line in (stopped.home / "node.log").read_text().splitlines()]
    assert lines[-1]["message"] == "stopped" and {"height", "round", "step", "node"} <= set(lines[-1])
    with LevelKV(stopped.home / "ledger") as kv:  # the store was closed: it opens, and is whole
        tip = Chain(kv, Genesis.read(stopped.home / GENESIS_FILE)).height
    assert tip == lines[-1]["tip"]

    results = [post_transaction(devnet, devnet.nodes[i % 3], anchor(devnet, 2000 + i)) for i in range(6)]
    assert {r.status for r in results} == {"committed"}
    top = max(r.height for r in results)
    assert top >= tip + 2  # the three others went on without it, far enough for block sync

    procs.update(start_nodes(devnet, only=[stopped.name]))
    wait_ready(devnet, procs, READY_S)
    settle(devnet, devnet.nodes, at_least=top)


class _Wire:
    """The transport as the node uses it, recording what it would send (no sockets)."""

    def __init__(self, peers) -> None:
        self.peers = list(peers)
        self.sent: list[tuple[str, bytes]] = []

    @property
    def connected(self) -> frozenset[str]:
        return frozenset(self.peers)

    def stats(self) -> dict[str, object]:
        return {name: None for name in self.peers}

    def send(self, peer: str, data: bytes) -> bool:
        self.sent.append((peer, data))
        return True

    def broadcast(self, data: bytes) -> int:
        for peer in self.peers:
            self.send(peer, data)
        return len(self.peers)


@pytest.fixture
def opened(tmp_path):
    """Node 0 of a fresh devnet, opened (store, signer, WAL) with a recording transport."""
    devnet = prepare_devnet(tmp_path / "devnet", 4, p2p_base=43000, api_base=43100)
    node = Node(read_config(devnet.nodes[0].home))
    node._open()
    node.transport = _Wire(n.name for n in devnet.nodes[1:])
    try:
        yield devnet, node
    finally:
        node.snapshots.close()
        node._resources.close()


def test_a_signature_verified_at_admission_is_not_verified_again_when_the_node_builds_its_block(opened, monkeypatch):
    devnet, node = opened
    tx = anchor(devnet, 3000)
    node.admit(tx, None)
    assert node.app._cache is node.mempool.cache and len(node.mempool.cache) >= 1

    def refuse(*args, **kwargs):
        raise AssertionError("a signature the mempool verified was verified again")

    monkeypatch.setattr(PublicKey, "verify", refuse)
    key_id = devnet.network.validator_keys[devnet.nodes[0].name].public_key.key_id
    block = node.app.propose(1, 0, node.chain.tip.time + 1, key_id, None)
    assert [t.id for t in block.txs] == [tx.id]


def test_a_duplicate_vote_is_kept_and_submitted_as_an_evidence_transaction_the_ledger_accepts(opened):
    devnet, node = opened
    culprit = devnet.network.validator_keys[devnet.nodes[2].name]

    def vote(block: bytes) -> Vote:
        signature = culprit.sign(VOTE_PURPOSE, devnet.chain_id, vote_sign_bytes(VoteType.PREVOTE, 1, 0, block))
        return Vote(VoteType.PREVOTE, 1, 0, block, culprit.public_key.key_id, signature)

    node.keep_evidence(Evidence(vote(b"\x01" * 32), vote(b"\x02" * 32)))
    assert len(node.evidence) == 1 and len(node.mempool) == 1  # admitted: it executes against the tip
    [tx] = node.mempool.reap(10, 1 << 20)
    assert tx.kind == "evidence.duplicate_vote" and tx.signer == devnet.network.validator_keys[devnet.nodes[0].name].public_key.key_id
    assert sorted(peer for peer, _ in node.transport.sent) == sorted(n.name for n in devnet.nodes[1:])
    assert decode_message(node.transport.sent[0][1]).tx.id == tx.id


def test_a_batch_is_admitted_tx_by_tx_and_only_the_admitted_ones_are_gossiped(opened):
    devnet, node = opened
    first, second = anchor(devnet, 5000), anchor(devnet, 5001)
    refusals = node.gateway_admit([first, first, second], [])
    assert refusals[0] is None and refusals[2] is None and refusals[1].code == "mempool.duplicate"
    assert [t.id for t in node.mempool.reap(10, 1 << 20)] == [first.id, second.id]
    gossiped = [(peer, decode_message(data).tx.id) for peer, data in node.transport.sent]
    assert sorted(gossiped) == sorted((n.name, tx.id) for n in devnet.nodes[1:] for tx in (first, second))


def test_a_transaction_from_a_peer_is_admitted_but_not_sent_on(opened):
    devnet, node = opened
    tx = anchor(devnet, 5002)
    before = len(node.transport.sent)
    node.admit(tx, devnet.nodes[1].name)
    assert node.mempool.contains(tx.id)
    assert len(node.transport.sent) == before  # the sender reached every peer itself (§7)


def test_admissions_are_counted_by_source_and_code_in_the_status_event(opened):
    devnet, node = opened
    first, second, third = anchor(devnet, 6000), anchor(devnet, 6001), anchor(devnet, 6002)
    node.gateway_admit([first, first], [])
    node.admit(second, devnet.nodes[1].name)
    with pytest.raises(LedgerError):
        node.admit(second, devnet.nodes[2].name)
    node.admit_many([third], source="node")
    event = node._status_event()
    assert event["admitted"] == {"api": 1, "peer": 1, "node": 1}
    assert event["refused"] == [["api", "mempool.duplicate", 1], ["peer", "mempool.duplicate", 1]]
    assert event["mempool"] == [3, node.mempool.size_bytes]
    assert event["peers"] == [3, 3] and event["round"] == 0 and event["syncing"] is False
    assert node.gateway_pending(first.id) and not node.gateway_pending(b"\x00" * 32)


def test_a_committed_block_counts_its_interval_and_commit_latency(opened):
    devnet, node = opened
    keys = [devnet.network.validator_keys[v.name] for v in node.genesis.validators]
    time = node.chain.tip.time + 1500
    pending = LocalNetwork(node.chain, keys).produce([], time)
    node.committed(pending.block, node.chain.commit(1), time + 250)
    event = node._status_event()
    assert event["block_interval"]["counts"][event["block_interval"]["bounds"].index(2000)] == 1
    assert event["block_interval"]["sum"] == 1500
    assert event["commit_latency"]["counts"][event["commit_latency"]["bounds"].index(250)] == 1
    assert sum(event["commit_latency"]["counts"]) == 1 and event["commit_latency"]["sum"] == 250
