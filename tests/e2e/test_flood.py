"""A flood of reads leaves every node committing (issue 10, "Tests"; DESIGN §8a: no client request
may hold the consensus loop for long).

Four real validators, seeded. For FLOOD_S seconds two of them take a flood of `POST /v1/verify`
from partners of their regions (benchmarks/httpload.py's `run_load`: keep-alive TLS connections
in a worker process each, at most FLOOD_RATE requests per second, so the flood is bounded in
count and in time), each verify a recorded use that the node journals and commits. Meanwhile
document anchors are submitted, one after another with `wait=commit`, to the two other nodes.
Every anchor commits, every node's height advances while the flood runs, all four agree on one
state root afterwards, every verify answered was recorded once on the ledger, and no node
logs an error. It checks behaviour under load, not speed: no bound on any latency or rate.
"""

from __future__ import annotations

import os
import threading
import time

import orjson
import pytest

from benchmarks.httpload import Outcome, Target, request_bytes, run_load
from rich.console import Console
from client.profile import read_profile
from ledger.tx import Tx
from node.devnet import seed_devnet
from tests.e2e.cluster import running_devnet, wait_for

FLOOD_S = 5.0
FLOOD_RATE = 400.0  # requests/s offered to each flooded node, at most
CONNECTIONS = 4
PURPOSE = {"item_code": "FLOOD-001", "item_name": "压力核验", "serial": "FLOOD-2026-000001"}
COMMIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_devnet(tmp_path_factory.mktemp("flood") / "devnet", 4) as cluster:
        try:
            assert seed_devnet(cluster.devnet, Console(quiet=True)) is True
        except BaseException:
            print(cluster.tails())
            raise
        yield cluster


def flood_target(cluster, node) -> tuple[Target, bytes]:
    """The partner of `node`'s region verifying one of its region's seeded licences there."""
    profile = read_profile(cluster.devnet.profile_path(node.region, "partner"))
    target = Target(node.api_url, str(profile.certificate), str(profile.private_key), str(profile.ca))
    licence_id = sorted((cluster.devnet.dir / "documents" / node.region).glob("*.json"))[0].stem
    body = orjson.dumps({"licence_id": licence_id, "purpose": PURPOSE})
    return target, request_bytes(target, "POST", "/v1/verify", body)


def heights(cluster) -> dict[str, int]:
    return {s["node"]: s["height"] for s in cluster.statuses()}


def test_a_flood_of_verifies_on_two_nodes_leaves_all_four_committing(cluster):
    flooded, quiet = cluster.nodes[:2], cluster.nodes[2:]
    outcomes: dict[str, Outcome] = {}
    licences: dict[str, str] = {}

    def flood(node) -> None:
        target, request = flood_target(cluster, node)
        licences[node.name] = orjson.loads(request.split(b"\r\n\r\n", 1)[1])["licence_id"]
        outcomes[node.name] = run_load(target, [request], processes=1, connections=CONNECTIONS, rate=FLOOD_RATE, duration=FLOOD_S, timeout=30)

    admins = cluster.devnet.network.admin_keys
    clients = {n.name: cluster.devnet.client(n, "admin", timeout=60) for n in quiet}
    floods = [threading.Thread(target=flood, args=(n,), name=f"flood {n.name}") for n in flooded]
    start = heights(cluster)
    for thread in floods:
        thread.start()
    committed, during = [], []
    try:
        time.sleep(1.0)  # run_load's workers start, then send for FLOOD_S
        begun = heights(cluster)
        i = 0
        while any(t.is_alive() for t in floods):
            node = quiet[i % len(quiet)]
            tx = Tx.create(cluster.devnet.chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"flood {i}"}, admins[node.region], os.urandom(16))
            committed.append((tx, clients[node.name].submit(tx, timeout_s=30)))
            during.append(heights(cluster))
            i += 1
        for thread in floods:
            thread.join(60)
    finally:
        for client in clients.values():
            client.close()
    assert not any(t.is_alive() for t in floods)

    for name, outcome in outcomes.items():  # the flood happened, and was answered
        assert outcome.errors == {} and set(outcome.statuses) == {200}, (name, outcome.statuses, outcome.errors)
        assert outcome.ok >= 20, (name, outcome.ok)
    assert [r.status for _, r in committed] == ["committed"] * len(committed) and len(committed) >= 3
    flood_ended = during[-2] if len(during) >= 2 else during[-1]  # sampled while the flood still ran
    advanced = {name: flood_ended[name] - begun[name] for name in begun}
    assert all(step >= 1 for step in advanced.values()), f"heights during the flood: {begun} -> {flood_ended}"
    assert all(begun[name] >= start[name] for name in start)

    top = max(r.height for _, r in committed)
    statuses = cluster.settle(at_least=top)
    assert len({s["tip_hash"] for s in statuses}) == 1
    for node in cluster.nodes:  # every anchor is in every node's chain, where its node said
        with cluster.devnet.client(node) as client:
            for tx, result in committed:
                found = client.transaction(tx.id)
                assert (found["status"], found["height"], found["index"]) == ("committed", result.height, result.index)

    with cluster.devnet.client(cluster.nodes[0], "auditor") as auditor:  # every verify answered was recorded once
        for node in flooded:
            expected = outcomes[node.name].ok
            wait_for(lambda: count_uses(auditor, licences[node.name], node.name) == expected or None, COMMIT_S,
                     lambda: f"{node.name}: {count_uses(auditor, licences[node.name], node.name)} records of {expected} verifies")
    assert cluster.errors_logged() == []


def count_uses(client, licence_id: str, node: str) -> int:
    """The committed use records of `licence_id` made by `node` (all distinct: a list names each
    node and seq once)."""
    seen, after = set(), None
    while True:
        page = client.uses(licence_id, after=after, limit=1000)
        seen |= {(r["node"], r["seq"]) for r in page["items"] if r["node"] == node}
        after = page["next_cursor"]
        if after is None:
            return len(seen)
