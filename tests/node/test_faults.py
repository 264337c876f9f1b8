"""Four validator processes on loopback under faults (issue 4, docs/node.md "The fault test").

1,000 signed anchor transactions, generated before the nodes start, are submitted across the
four nodes by a bounded concurrent client (httpx, `wait=commit`, a failed or refused attempt
retried on the next node). During the load one validator is killed with SIGKILL and restarted
on the same home, and once it has caught up another is stopped and restarted from an empty data
directory. Afterwards every transaction is acknowledged — committed (200, with its height and
index) or refused as already committed (409 `tx.replay`, the answer to a retry) — and the chain
holds each exactly once, at the height and index its acknowledgement named; all four nodes
report one height, tip hash and state root, an empty mempool, and no evidence.

The wipe deletes HOME/ledger (the block store) and HOME/wal (the consensus WAL): the node's
data. It keeps what a replacement disk is provisioned with — node.json, genesis.json,
validator.key, tls/ — and HOME/signer_state.json (consensus.md §5). Without that file a node
re-synced to the height it was voting on when it stopped would start that height with no
memory of its votes and could sign a different vote for the same (height, round, step):
equivocation. With it, the signer guard re-signs only what it signed before and refuses the
rest; the test checks that no node holds evidence of a duplicate vote afterwards.

Every wait is bounded (the whole test within BUDGET_S); only the PIDs started here are
signalled; on failure the nodes' last output lines are printed.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger.encoding import b64encode
from ledger.tx import Tx
from node.devnet import Devnet, DevnetError, DevnetNode, check_ports_free, prepare_devnet, random_port_base, start_nodes, stop_nodes, wait_ready

TXS = 1000
CONCURRENCY = 48
BUDGET_S = 180.0
READY_S = 60.0
CATCH_UP_S = 60.0
SETTLE_S = 30.0
STOP_S = 20.0
KILL_AFTER_ACKS = 150
WIPE_AFTER_ACKS = 450
HOLD_UNTIL_KILLED = 400  # transactions from this index on wait until the killed node was restarted
HOLD_UNTIL_WIPED = 700  # ... and from this one until the wiped node was restarted
COMMIT_WAIT_S = 10
ATTEMPTS = 60
STATUS_INTERVAL_MS = 500
LOG_LINES = 25
JSON = {"Content-Type": "application/json"}
#: Answers a client retries on another node (api.md §3): every 503 (the node is stopping, full,
#: or its API process lost it), a duplicate held elsewhere, a commit wait that expired.
RETRY_CODES = {(409, "mempool.duplicate"), (504, "api.commit_timeout")}


class Budget:
    """The test's one deadline; `left()` bounds every wait."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self, cap: float | None = None) -> float:
        left = max(self.deadline - time.monotonic(), 0.0)
        return left if cap is None else min(left, cap)


@dataclass(frozen=True)
class Ack:
    """The network's acknowledgement of one transaction: "committed" (200, at height/index) or
    "replayed" (409 tx.replay: committed before, the answer to a retry)."""

    status: str
    height: int | None
    index: int | None
    attempts: int


class Cluster:
    """The node processes this test started, by name; signals only these."""

    def __init__(self, devnet: Devnet, procs: dict) -> None:
        self.devnet = devnet
        self.procs = procs

    def node(self, i: int) -> DevnetNode:
        return self.devnet.nodes[i]

    def kill(self, name: str) -> int:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        return proc.wait(STOP_S)

    def stop(self, name: str) -> int:
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(STOP_S)

    def start(self, name: str) -> None:
        self.procs.update(start_nodes(self.devnet, only=[name]))

    def tails(self) -> str:
        out = []
        for n in self.devnet.nodes:
            proc = self.procs.get(n.name)
            state = "running" if proc is not None and proc.poll() is None else f"exit {proc.returncode if proc else '?'}"
            try:
                lines = (n.home / "node.out").read_text(errors="replace").splitlines()[-LOG_LINES:]
            except OSError as exc:
                lines = [f"(no output: {exc})"]
            out.append(f"--- {n.name} ({state}), last {len(lines)} lines of {n.home / 'node.out'}")
            out.extend(lines)
        return "\n".join(out)


def wipe_data(home: Path) -> None:
    """Delete the node's data (store and WAL); keep config, keys, TLS and the signer state."""
    for data in ("ledger", "wal"):
        shutil.rmtree(home / data)
    assert (home / "signer_state.json").exists() and (home / "validator.key").exists()


class Load:
    """Delivers `txs` with at most CONCURRENCY requests in flight, each to node (i + attempt) % 4."""

    def __init__(self, client: httpx.AsyncClient, urls: list[str], txs: list[Tx], budget: Budget) -> None:
        self.client = client
        self.urls = urls
        self.txs = txs
        self.budget = budget
        self.acks: dict[int, Ack] = {}
        self.failures: dict[int, str] = {}
        self.retries: Counter[str] = Counter()
        self.killed = asyncio.Event()
        self.wiped = asyncio.Event()

    async def run(self) -> None:
        indices = iter(range(len(self.txs)))

        async def worker() -> None:
            for i in indices:  # one shared iterator: each index is taken once
                if i >= HOLD_UNTIL_WIPED:
                    await asyncio.wait_for(self.wiped.wait(), self.budget.left())
                elif i >= HOLD_UNTIL_KILLED:
                    await asyncio.wait_for(self.killed.wait(), self.budget.left())
                await self.deliver(i)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    async def deliver(self, i: int) -> None:
        tx = self.txs[i]
        reason = ""
        for attempt in range(1, ATTEMPTS + 1):
            url = self.urls[(i + attempt) % len(self.urls)]
            try:
                response = await self.client.post(
                    f"{url}/v1/transactions", params={"wait": "commit", "timeout": COMMIT_WAIT_S}, content=tx.to_bytes(), headers=JSON,
                )
            except httpx.TransportError as exc:  # refused, reset by a killed node, or no answer in time
                reason = type(exc).__name__
            else:
                body = response.json()
                code = body.get("code", "") if isinstance(body, dict) else ""  # a problem (api.md §3) unless 200
                if response.status_code == 200:
                    assert body["tx_id"] == b64encode(tx.id) and body["status"] == "committed", body
                    self.acks[i] = Ack("committed", body["height"], body["index"], attempt)
                    return
                if response.status_code == 409 and code == "tx.replay":
                    self.acks[i] = Ack("replayed", None, None, attempt)
                    return
                if response.status_code != 503 and (response.status_code, code) not in RETRY_CODES:
                    self.failures[i] = f"HTTP {response.status_code} {code} from {url}: {body}"
                    return
                reason = code
            self.retries[reason] += 1
            if self.budget.left() == 0:
                break
            await asyncio.sleep(min(0.1 * attempt, 1.0))
        self.failures[i] = f"not acknowledged after {attempt} attempts (last: {reason})"

    async def acked(self, count: int) -> None:
        while len(self.acks) + len(self.failures) < count:
            assert self.budget.left() > 0, f"only {len(self.acks)} of {count} acknowledgements within the budget"
            await asyncio.sleep(0.05)


async def statuses(client: httpx.AsyncClient, nodes) -> list[dict | None]:
    async def one(n: DevnetNode) -> dict | None:
        try:
            response = await client.get(f"{n.api_url}/v1/status", timeout=2.0)
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    return list(await asyncio.gather(*(one(n) for n in nodes)))


async def caught_up(client: httpx.AsyncClient, devnet: Devnet, node: DevnetNode, budget: Budget) -> int:
    """Wait until `node` answers, is not syncing and is within one height of the others; its height."""
    deadline = time.monotonic() + budget.left(CATCH_UP_S)
    others = [n for n in devnet.nodes if n.name != node.name]
    while True:
        mine, *theirs = await statuses(client, [node, *others])
        top = max((s["height"] for s in theirs if s is not None), default=0)
        if mine is not None and not mine["syncing"] and mine["height"] >= max(top - 1, 1):
            return mine["height"]
        assert time.monotonic() < deadline, f"{node.name} did not catch up: {mine and mine['height']} vs {top}"
        await asyncio.sleep(0.2)


async def inject_faults(cluster: Cluster, client: httpx.AsyncClient, load: Load, budget: Budget) -> dict[str, object]:
    """SIGKILL + restart node 1; once it has caught up, SIGTERM node 3, wipe its data, restart it."""
    killed, wiped = cluster.node(1), cluster.node(3)
    await load.acked(KILL_AFTER_ACKS)
    assert cluster.kill(killed.name) == -signal.SIGKILL
    cluster.start(killed.name)
    load.killed.set()
    killed_height = await caught_up(client, cluster.devnet, killed, budget)
    await load.acked(WIPE_AFTER_ACKS)
    assert await asyncio.to_thread(cluster.stop, wiped.name) == 0  # a clean shutdown
    wipe_data(wiped.home)
    assert not (wiped.home / "ledger").exists()
    cluster.start(wiped.name)
    load.wiped.set()
    wiped_height = await caught_up(client, cluster.devnet, wiped, budget)
    return {"killed": killed.name, "caught_up_at": killed_height, "wiped": wiped.name, "resynced_to": wiped_height}


async def settle(client: httpx.AsyncClient, devnet: Devnet, budget: Budget) -> list[dict]:
    """Statuses once all nodes agree on height, tip and state root with empty mempools."""
    deadline = time.monotonic() + budget.left(SETTLE_S)
    while True:
        found = await statuses(client, devnet.nodes)
        if all(s is not None for s in found):
            same = {(s["height"], s["tip_hash"], s["state_root"]) for s in found}
            if len(same) == 1 and all(s["mempool"]["size"] == 0 and not s["syncing"] for s in found):
                return found  # type: ignore[return-value]
        assert time.monotonic() < deadline, f"nodes did not agree: {[s and (s['node'], s['height'], s['state_root'], s['mempool']) for s in found]}"
        await asyncio.sleep(0.2)


async def committed_ids(client: httpx.AsyncClient, devnet: Devnet, height: int) -> tuple[Counter[bytes], dict[tuple[int, int], bytes]]:
    """Every tx id in blocks 1..height of the wiped (re-synced) node, counted, and by position;
    each block's hash checked against node 0's."""
    reader, reference = devnet.nodes[3], devnet.nodes[0]
    limit = asyncio.Semaphore(8)

    async def block(h: int) -> tuple[int, list[bytes]]:
        async with limit:
            mine = await client.get(f"{reader.api_url}/v1/blocks/{h}")
            theirs = await client.get(f"{reference.api_url}/v1/blocks/{h}")
        assert mine.status_code == theirs.status_code == 200, (h, mine.status_code, theirs.status_code)
        assert mine.json()["hash"] == theirs.json()["hash"], f"block {h} differs between {reader.name} and {reference.name}"
        return h, [Tx.from_json(t).id for t in mine.json()["block"]["txs"]]

    counts: Counter[bytes] = Counter()
    positions: dict[tuple[int, int], bytes] = {}
    for h, ids in await asyncio.gather(*(block(h) for h in range(1, height + 1))):
        counts.update(ids)
        positions.update(((h, i), tx_id) for i, tx_id in enumerate(ids))
    return counts, positions


def prepare_on_free_ports(directory: Path) -> Devnet:
    rng = random.Random()
    for _ in range(20):
        base = random_port_base(rng)
        devnet = prepare_devnet(directory, 4, p2p_base=base, api_base=base + 10, status_interval_ms=STATUS_INTERVAL_MS)
        try:
            check_ports_free(devnet)
        except DevnetError:
            continue
        return devnet
    raise AssertionError("no free ports for the devnet after 20 tries")


async def exercise(cluster: Cluster, txs: list[Tx], budget: Budget) -> None:
    devnet = cluster.devnet
    limits = httpx.Limits(max_connections=CONCURRENCY + 16, max_keepalive_connections=CONCURRENCY + 16)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(COMMIT_WAIT_S + 10, connect=2.0), verify=devnet.tls_context("admin")) as client:
        load = Load(client, [n.api_url for n in devnet.nodes], txs, budget)
        async with asyncio.timeout(budget.left()):
            async with asyncio.TaskGroup() as group:
                faults = group.create_task(inject_faults(cluster, client, load, budget))
                group.create_task(load.run())
        assert not load.failures, dict(list(load.failures.items())[:5])
        assert len(load.acks) == len(txs)
        found = await settle(client, devnet, budget)
        assert all(s["evidence"] == 0 for s in found)  # nobody double-signed, the wiped node included
        counts, positions = await committed_ids(client, devnet, found[0]["height"])
    ids = [tx.id for tx in txs]
    assert counts == Counter(ids), f"{len(set(ids) - set(counts))} missing, {sum(c > 1 for c in counts.values())} more than once, {len(set(counts) - set(ids))} foreign"
    for i, ack in load.acks.items():
        if ack.status == "committed":
            assert positions[(ack.height, ack.index)] == txs[i].id, (i, ack)
    print(f"faults {faults.result()}; acks {Counter(a.status for a in load.acks.values())}; retries {dict(load.retries)}; height {found[0]['height']}")


def test_acknowledged_transactions_commit_exactly_once_through_a_kill_and_a_wipe(tmp_path):
    budget = Budget(BUDGET_S)
    devnet = prepare_on_free_ports(tmp_path / "devnet")
    keys = list(devnet.network.admin_keys.values())
    txs = [
        Tx.create(devnet.chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"fault {i}"}, keys[i % len(keys)], os.urandom(16))
        for i in range(TXS)
    ]
    cluster = Cluster(devnet, start_nodes(devnet))
    try:
        wait_ready(devnet, cluster.procs, budget.left(READY_S))
        asyncio.run(exercise(cluster, txs, budget))
    except BaseException:
        print(cluster.tails())
        raise
    finally:
        stop_nodes(cluster.procs, grace_s=15)
