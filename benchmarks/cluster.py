"""Benchmark of a four-validator network on this machine (issue 4). Prints numbers, writes JSON.

Starts four `eledger node start` processes on 127.0.0.1 (node.devnet, in a temporary directory,
on free ports) and measures, in one run:
  - committed tx/s at increasing offered load (default 100, 250, 500, 1000, 1500, 2000 tx/s,
    --step-duration seconds each), then a sustained step at --sustained-rate for --duration
    seconds (default 60): transactions are sent open-loop on a schedule, in batches of --batch
    (default 50) pre-signed transactions, one POST /v1/transactions/batch?wait=commit per batch,
    the batches spread over the nodes in turn; a batch is sent when its first transaction is due;
    at most --concurrency requests in flight (a batch due while all slots are busy waits for one;
    those still unsent when the step's time is up are not sent); committed tx/s = transactions
    acknowledged committed / (last acknowledgement - step start). --batch 1 sends each transaction alone to POST /v1/transactions?wait=commit
  - commit latency p50 / p99 per step, per transaction: its request (its batch) sent -> the
    answer acknowledging it committed received
  - the machine's raw P-256 verify rate, measured in the same run before the nodes start, and
    the ratio committed tx/s / (verify rate x cores / validators): every validator verifies
    every transaction once, so that denominator is what the machine could commit if nothing
    but signature checks cost anything
  - idle churn: blocks committed while nothing is submitted for --idle-intervals empty-block
    intervals (--empty-block-interval-ms, written to every node's timeouts), per interval
  - per step, the cores the client and the four nodes used (CPU seconds / wall seconds)

Transactions are document anchors signed by the region administrators, all signed before the
nodes start (by os.cpu_count() worker processes), so that only sending them competes with the
nodes; the client (one asyncio loop, httpx, spread over many small clients) runs on the same
cores as the four nodes. Between steps the client waits for its requests and for every mempool
to drain. A request that fails at the connection is counted as refused (by exception), not
retried: under load a few hit the server closing an idle keep-alive connection as it is reused.

Usage: python benchmarks/cluster.py [--rates 100,250,500,1000,1500,2000] [--step-duration 10]
       [--sustained-rate 1500] [--duration 60] [--batch 50] [--concurrency 1024] [--commit-timeout 30]
       [--empty-block-interval-ms 10000] [--idle-intervals 3] [--quick] [--json PATH]
Never part of the test suite's pass/fail. Stops only the node processes it started and removes
its directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from api.limits import ClientLimits
from ledger.tx import Tx
from node.consensus.timeouts import Timeouts
from node.devnet import Devnet, start_nodes, stop_nodes, wait_ready
from node.network import load_network

from benchlib import prepare_on_free_ports, raw_p256_verify_rate, report, say

VALIDATORS = 4
READY_S = 120.0
CONNECT_S = 30.0
DRAIN_S = 60.0
SIGN_CHUNK = 2000
#: Connections per httpx client: a client's pool does work quadratic in its connections for
#: every request (httpcore 1.0), so the load is spread over many small clients.
SHARD_CONNECTIONS = 16
JSON = {"Content-Type": "application/json"}


@dataclass
class Step:
    """What one load step saw. Times are time.perf_counter() seconds."""

    name: str
    rate: float
    duration: float
    started: float = 0.0
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    last_ack: float = 0.0
    timeouts: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    client_cpu_s: float = 0.0
    nodes_cpu_s: float = 0.0
    wall_s: float = 0.0

    def results(self) -> dict[str, float]:
        out = {
            f"{self.name}_offered_tps": self.rate,
            f"{self.name}_sent_tps": self.sent / self.duration,
            f"{self.name}_committed_tps": len(self.latencies) / (self.last_ack - self.started) if self.latencies else 0.0,
            f"{self.name}_timeouts": float(self.timeouts),
            f"{self.name}_refused": float(sum(self.refused.values())),
            f"{self.name}_client_cores": self.client_cpu_s / self.wall_s,
            f"{self.name}_nodes_cores": self.nodes_cpu_s / self.wall_s,
        }
        if self.latencies:
            ordered = sorted(self.latencies)
            out[f"{self.name}_p50_ms"] = statistics.median(ordered) * 1000
            out[f"{self.name}_p99_ms"] = ordered[int(0.99 * (len(ordered) - 1))] * 1000
        return out


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes `pids` used so far, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return total / os.sysconf("SC_CLK_TCK")


# -- transactions, signed before the nodes start -------------------------------------------------

_keys: list = []
_chain_id = ""


def _load_keys(directory: str) -> None:
    global _keys, _chain_id
    network = load_network(Path(directory))
    _keys, _chain_id = list(network.admin_keys.values()), network.genesis.chain_id


def _sign_anchors(first: int, count: int) -> list[bytes]:
    return [
        Tx.create(_chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"bench {i}"}, _keys[i % len(_keys)], os.urandom(16)).to_bytes()
        for i in range(first, first + count)
    ]


def sign_anchors(directory: Path, count: int, workers: int) -> list[bytes]:
    """`count` signed document.anchor transactions (canonical bytes), by `workers` processes."""
    chunks = [(first, min(SIGN_CHUNK, count - first)) for first in range(0, count, SIGN_CHUNK)]
    with ProcessPoolExecutor(workers, initializer=_load_keys, initargs=(str(directory),)) as pool:
        return [raw for chunk in pool.map(_sign_anchors, *zip(*chunks)) for raw in chunk] if chunks else []


# -- the network ---------------------------------------------------------------------------------


#: The load client is one department (one certificate) sending many requests at once: the
#: per-client API limits are raised so that the benchmark measures the network, not them.
LOAD_LIMITS = ClientLimits(rate=1e6, burst=1e6, in_flight=1 << 16)


async def statuses(client: httpx.AsyncClient, devnet: Devnet) -> list[dict]:
    async def one(url: str) -> dict:
        response = await client.get(f"{url}/v1/status", timeout=5.0)
        response.raise_for_status()
        return orjson.loads(response.content)

    return list(await asyncio.gather(*(one(n.api_url) for n in devnet.nodes)))


async def wait_until(client: httpx.AsyncClient, devnet: Devnet, what: str, done, timeout_s: float) -> list[dict]:
    """Poll the statuses until `done(statuses)`; raise RuntimeError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await statuses(client, devnet)
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not reached within {timeout_s:g} s: {[(s['node'], s['height'], s['mempool']) for s in found]}")
        await asyncio.sleep(0.2)


def connected(found: list[dict]) -> bool:
    return all(all(p["connected"] for p in s["peers"]) for s in found)


def drained(found: list[dict]) -> bool:
    return all(s["mempool"]["size"] == 0 for s in found) and len({s["height"] for s in found}) == 1


# -- load ------------------------------------------------------------------------------------------


def batch_body(raws: list[bytes]) -> bytes:
    """The body of POST /v1/transactions/batch holding the canonical transactions `raws`."""
    return b'{"txs":[' + b",".join(raws) + b"]}"


async def run_step(
    clients: list[httpx.AsyncClient], urls: list[str], txs: list[bytes], step: Step, concurrency: int, commit_timeout: float, batch: int,
) -> None:
    """Send `txs` at `step.rate` per second for `step.duration` seconds in requests of `batch`
    transactions (1: the single-transaction route), at most `concurrency` requests in flight
    (spread over `clients`), then wait for every answer (bounded by the commit timeout)."""
    slots = deque(i % len(clients) for i in range(concurrency))  # a free slot names its client
    pending: set[asyncio.Task[None]] = set()
    route = "transactions" if batch == 1 else "transactions/batch"
    targets = [f"{url}/v1/{route}?wait=commit&timeout={commit_timeout:g}" for url in urls]

    def refuse(response: httpx.Response, count: int) -> None:
        try:
            step.refused[orjson.loads(response.content)["code"]] += count  # a problem object (api.md §3)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            step.refused[f"http {response.status_code}"] += count

    def acknowledge(sent: float, count: int) -> None:
        now = time.perf_counter()
        step.latencies.extend([now - sent] * count)
        step.last_ack = max(step.last_ack, now)

    async def send(raws: list[bytes], target: str, slot: int) -> None:
        try:
            sent = time.perf_counter()
            try:
                body = raws[0] if batch == 1 else batch_body(raws)
                response = await clients[slot].post(target, content=body, headers=JSON)
            except httpx.TransportError as exc:
                step.refused[type(exc).__name__] += len(raws)
                return
            if batch == 1:
                if response.status_code == 200:
                    acknowledge(sent, 1)
                elif response.status_code == 504:
                    step.timeouts += 1
                else:
                    refuse(response, 1)
                return
            if response.status_code != 200:
                refuse(response, len(raws))
                return
            results = orjson.loads(response.content)["results"]
            acknowledge(sent, sum(1 for r in results if r["status"] == "committed"))
            for result in results:
                if result["status"] == "timeout":
                    step.timeouts += 1
                elif result["status"] != "committed":
                    step.refused[result.get("error", {}).get("code", result["status"])] += 1
        finally:
            slots.append(slot)

    step.started = time.perf_counter()
    end = step.started + step.duration
    total = min(len(txs), int(step.rate * step.duration))
    requests = 0
    while step.sent < total:
        now = time.perf_counter()
        if now >= end:
            break
        due = min(total, int((now - step.started) * step.rate) + 1)
        while step.sent < due and slots:
            count = min(batch, total - step.sent)
            task = asyncio.create_task(send(txs[step.sent : step.sent + count], targets[requests % len(targets)], slots.popleft()))
            pending.add(task)
            task.add_done_callback(pending.discard)
            step.sent += count
            requests += 1
        if step.sent < due:  # every slot busy: the due transactions wait for one
            await asyncio.sleep(0.002)
        else:
            await asyncio.sleep(max(step.started + step.sent / step.rate - time.perf_counter(), 0.001))  # until the next is due
    if pending:
        await asyncio.wait(set(pending), timeout=commit_timeout + 15)
        for task in list(pending):
            task.cancel()


async def measure(devnet: Devnet, pids: list[int], txs: list[bytes], args: argparse.Namespace, results: dict[str, float]) -> None:
    urls = [n.api_url for n in devnet.nodes]
    timeout = httpx.Timeout(args.commit_timeout + 15, connect=5.0, pool=None)
    # no client-side keep-alive expiry: httpcore 1.0 may close an expired connection it has just
    # handed to a request (seen as ReadError(ClosedResourceError)); the server closes idle ones
    shard = httpx.Limits(max_connections=SHARD_CONNECTIONS, max_keepalive_connections=SHARD_CONNECTIONS, keepalive_expiry=None)
    async with contextlib.AsyncExitStack() as stack:
        tls = devnet.tls_context("admin")
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, verify=tls))
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(limits=shard, timeout=timeout, verify=tls))
            for _ in range(-(-args.concurrency // SHARD_CONNECTIONS))
        ]
        await wait_until(client, devnet, "all peers connected", connected, CONNECT_S)
        plan = [Step(f"step_{rate:g}", rate, args.step_duration) for rate in args.rates]
        plan.append(Step("sustained", args.sustained_rate, args.duration))
        used = 0
        for step in plan:
            say(f"{step.name}: {step.rate:g} tx/s offered for {step.duration:g} s ...")
            wall, client_cpu, nodes_cpu = time.perf_counter(), time.process_time(), cpu_seconds(pids)
            await run_step(clients, urls, txs[used:], step, args.concurrency, args.commit_timeout, args.batch)
            step.wall_s, step.client_cpu_s = time.perf_counter() - wall, time.process_time() - client_cpu
            step.nodes_cpu_s = cpu_seconds(pids) - nodes_cpu
            used += step.sent
            found = await wait_until(client, devnet, "mempools drained", drained, DRAIN_S)
            values = step.results()
            results.update(values)
            latency = f"p50 {values[f'{step.name}_p50_ms']:,.0f} ms, p99 {values[f'{step.name}_p99_ms']:,.0f} ms" if step.latencies else "no commits"
            say(
                f"  sent {values[f'{step.name}_sent_tps']:,.0f}/s, committed {values[f'{step.name}_committed_tps']:,.0f}/s, {latency}, "
                f"timeouts {step.timeouts}, refused {dict(step.refused)}; cores used: client {values[f'{step.name}_client_cores']:.2f}, "
                f"nodes {values[f'{step.name}_nodes_cores']:.2f}; height {found[0]['height']}, log {found[0]['log_size']:,}"
            )

        interval_s = args.empty_block_interval_ms / 1000
        idle_s = args.idle_intervals * interval_s
        say(f"idle for {idle_s:g} s ({args.idle_intervals} empty-block intervals of {interval_s:g} s) ...")
        before = (await statuses(client, devnet))[0]["height"]
        await asyncio.sleep(idle_s)
        after = (await statuses(client, devnet))[0]["height"]
        results.update({
            "empty_block_interval_ms": float(args.empty_block_interval_ms),
            "idle_s": idle_s,
            "idle_blocks": float(after - before),
            "idle_blocks_per_interval": (after - before) / args.idle_intervals,
        })
        say(f"  {after - before} blocks while idle")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda text: [float(r) for r in text.split(",")], default=[100, 250, 500, 1000, 1500, 2000])
    parser.add_argument("--step-duration", type=float, default=10.0)
    parser.add_argument("--sustained-rate", type=float, default=1500.0)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the sustained step")
    parser.add_argument("--batch", type=int, default=50, help="transactions per request (1: POST /v1/transactions, one each)")
    parser.add_argument("--concurrency", type=int, default=1024, help="requests in flight at most")
    parser.add_argument("--commit-timeout", type=float, default=30.0, help="the wait=commit timeout of each request, s")
    parser.add_argument("--empty-block-interval-ms", type=int, default=Timeouts().empty_block_interval_ms)
    parser.add_argument("--idle-intervals", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the benchmark runs")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "cluster.json")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.step_duration, args.sustained_rate, args.duration = [20.0, 50.0], 2.0, 50.0, 3.0
        args.concurrency, args.empty_block_interval_ms, args.idle_intervals = 64, 1000, 3
    if not args.rates or min(args.rates) <= 0 or args.sustained_rate <= 0 or args.step_duration <= 0 or args.duration <= 0:
        parser.error("rates and durations must be positive")
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1 to 1000 (the API's batch limit)")
    if args.concurrency < 1 or args.idle_intervals < 1 or args.empty_block_interval_ms < 1:
        parser.error("--concurrency, --idle-intervals and --empty-block-interval-ms must be positive")
    return args


def main() -> None:
    args = parse_args()
    cores = os.cpu_count() or 1
    results: dict[str, float] = {"cpu_count": float(cores), "validators": float(VALIDATORS), "concurrency": float(args.concurrency), "batch": float(args.batch)}
    workdir = Path(tempfile.mkdtemp(prefix="eledger-bench-cluster-"))
    procs: dict = {}
    try:
        say("raw P-256 verify rate (cryptography, one core) ...")
        raw = raw_p256_verify_rate(1.0 if args.quick else 3.0)
        results["raw_p256_verifies_per_s"] = raw
        devnet = prepare_on_free_ports(workdir / "devnet", VALIDATORS, timeouts=Timeouts(empty_block_interval_ms=args.empty_block_interval_ms), api_limits=LOAD_LIMITS)
        count = int(sum(rate * args.step_duration for rate in args.rates) + args.sustained_rate * args.duration)
        say(f"signing {count:,} anchor transactions with {cores} processes ...")
        started = time.perf_counter()
        txs = sign_anchors(devnet.dir, count, cores)
        results["signing_txs_per_s"] = count / (time.perf_counter() - started)
        say(f"starting {VALIDATORS} validators in {devnet.dir} ...")
        procs = start_nodes(devnet)
        wait_ready(devnet, procs, READY_S)
        asyncio.run(measure(devnet, [p.pid for p in procs.values()], txs, args, results))
        budget = raw * cores / VALIDATORS
        results["verify_budget_tps"] = budget
        results["sustained_to_verify_budget_ratio"] = results["sustained_committed_tps"] / budget
    finally:
        codes = stop_nodes(procs) if procs else {}
        if any(code != 0 for code in codes.values()):
            say(f"node exit codes: {codes}")
        shutil.rmtree(workdir, ignore_errors=True)

    targets = {
        "sustained_committed_tps": (">=", 1200),
        "step_500_p99_ms": ("<=", 2000),
        "idle_blocks_per_interval": ("<=", 1),
    }
    report(results, targets, args.json)


if __name__ == "__main__":
    main()
