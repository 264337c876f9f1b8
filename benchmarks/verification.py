"""Benchmark of the verification service (issue 10). Prints numbers, writes JSON. (Named for
what it measures: a file benchmarks/api.py would hide the `api` package from every program here.)

Starts a four-validator devnet on 127.0.0.1 (node.devnet, in a temporary directory, on free
ports), seeds it and issues --licences more licences, then measures, in one run:

  - POST /v1/verify by licence id and by the holder's document, as the Tianjin partner gateway
    (mutual TLS, a purpose of use: every answer journals a use record and carries a receipt)
    against the Tianjin validator: requests/s at saturation (closed loop, --connections keep-alive
    connections from --processes niced client processes), then p50 / p99 latency at half that rate
    (open loop, latency counted from when each request was due);
  - the in-process verify_licence rate over the same licences and the same kind of state (the
    flat state of the tip), on that validator's store once the network is stopped, in this run:
    the HTTP rate divided by it is the ratio the issue asks to be >= 0.5 (HTTP, TLS,
    authentication, the use record and its receipt together cost at most the verdict itself);
  - GET /v1/licences/{id}/bundle (recorded too) requests/s at saturation;
  - consensus under an API flood: --tx-rate document anchors per second (pre-signed, batches of
    50 with wait=commit, spread over the four nodes, as a department's administrator) for
    --duration seconds, once alone and once while POST /v1/verify is saturated on two of the four
    validators (Tianjin and Xiong'an); the block interval (from the committed headers) and the
    commit latency p99 of each, and their ratios (the issue asks <= 1.25);
  - use records: every verify answered 200 carried a receipt; once the load stops, every one of
    them must be committed on the ledger (counted from the validators' stores after they stop:
    the recorded seq ranges of each node against the receipts it signed).

The load clients run on the same two cores as the four validators and their API processes, niced
(clients of a real node are elsewhere), so the numbers are a floor for a real deployment.

Usage: python benchmarks/verification.py [--licences 60] [--duration 15] [--connections 8] [--processes 2]
       [--tx-rate 500] [--quick] [--json PATH]
Never part of the test suite's pass/fail. Stops only the node processes it started and removes
its directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console  # noqa: E402
from benchlib import prepare_on_free_ports  # noqa: E402
from httpload import Outcome, Target, request_bytes, run_load  # noqa: E402

from api.limits import ClientLimits  # noqa: E402
from client.profile import read_profile  # noqa: E402
from ledger.chain import Chain  # noqa: E402
from ledger.document import read_document  # noqa: E402
from ledger.encoding import decode  # noqa: E402
from ledger.kv import Prefixed  # noqa: E402
from ledger.state import FLAT_PREFIX  # noqa: E402
from ledger.store import LevelKV  # noqa: E402
from ledger.tx import Tx  # noqa: E402
from ledger.uses import recorded_ranges  # noqa: E402
from ledger.verify import verify_licence  # noqa: E402
from node.demo import CST, issue_licence, load_departments  # noqa: E402
from node.devnet import (  # noqa: E402
    Devnet, seed_devnet, start_nodes, stop_nodes, wait_ready,
)
from node.network import GENESIS_FILE  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "verification.json"
PURPOSE = {"item_code": "TJ-SC-0012", "item_name": "食品经营许可跨省通办", "serial": "TJ2026120700017"}
#: The load clients are few certificates sending many requests: the per-client limits are raised
#: so that the benchmark measures the node, not them.
LOAD_LIMITS = ClientLimits(rate=1e6, burst=1e6, in_flight=1 << 16)
BATCH = 50


def issue_more(devnet: Devnet, count: int) -> None:
    """`count` more licences of the four demo departments, committed through the first node."""
    clock = lambda: int(time.time() * 1000)  # noqa: E731
    departments = load_departments(devnet.network, clock)
    for dept in departments:
        dept.serial = 1000  # after the seed's serials
    today = datetime.now(CST).date()
    txs = [issue_licence(departments[i % len(departments)], devnet.dir / "documents", today) for i in range(count)]
    with devnet.client(devnet.nodes[0], "admin") as client:
        for start in range(0, len(txs), BATCH):
            results = client.submit_batch(txs[start:start + BATCH], timeout_s=30)
            assert all(r.status == "committed" for r in results), [r for r in results if r.status != "committed"][:2]


def documents(devnet: Devnet) -> dict[str, dict[str, object]]:
    """Every holder document the devnet wrote, by licence id, as the JSON a clerk would send."""
    out = {}
    for path in sorted((devnet.dir / "documents").rglob("*.json")):
        document = read_document(path)
        out[document.licence.id] = decode(document.to_bytes())
    return out


def partner_target(devnet: Devnet, region: str) -> tuple[Target, str]:
    node = next(n for n in devnet.nodes if n.region == region)
    profile = read_profile(devnet.profile_path(region, "partner"))
    return Target(node.api_url, str(profile.certificate), str(profile.private_key), str(profile.ca)), region


def verify_requests(target: Target, bodies: list[dict[str, object]]) -> list[bytes]:
    return [request_bytes(target, "POST", "/v1/verify", json.dumps(body, ensure_ascii=False).encode()) for body in bodies]


def saturate_then_half(target: Target, requests: list[bytes], args: argparse.Namespace, label: str, results: dict[str, float]) -> int:
    """Measure `requests` saturated, then at half that rate; returns how many were answered 2xx."""
    full = run_load(target, requests, processes=args.processes, connections=args.connections, duration=args.duration, nice=10)
    rate = full.rate()
    half = run_load(target, requests, processes=args.processes, connections=args.connections, rate=max(rate / 2, 1), duration=args.duration, nice=10)
    results[f"{label}_rps"] = round(rate, 1)
    results[f"{label}_saturated_p50_ms"] = round(full.percentile(50), 2)
    results[f"{label}_saturated_p99_ms"] = round(full.percentile(99), 2)
    results[f"{label}_half_load_rps"] = round(half.rate(), 1)
    results[f"{label}_half_load_p50_ms"] = round(half.percentile(50), 2)
    results[f"{label}_half_load_p99_ms"] = round(half.percentile(99), 2)
    print(f"{label}: {rate:.0f} req/s saturated (p50 {full.percentile(50):.1f} ms, p99 {full.percentile(99):.1f} ms; statuses {full.statuses}, errors {full.errors});"
          f" at half ({half.rate():.0f} req/s): p50 {half.percentile(50):.1f} ms, p99 {half.percentile(99):.1f} ms", flush=True)
    return full.ok + half.ok


def signed_anchors(devnet: Devnet, count: int) -> list[Tx]:
    keys = list(devnet.network.admin_keys.values())
    return [Tx.create(devnet.chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"api benchmark {i}"}, keys[i % len(keys)], os.urandom(16)) for i in range(count)]


def tx_load(devnet: Devnet, txs: list[Tx], rate: float, duration: float) -> dict[str, float]:
    """Send `txs` at `rate` per second in batches of BATCH, spread over the nodes, for
    `duration` seconds; the commit latency (batch sent -> committed) of each transaction and
    the block interval of the blocks committed meanwhile."""
    clients = [devnet.client(n, "admin", timeout=60) for n in devnet.nodes]
    with devnet.client(devnet.nodes[0], timeout=60) as probe:
        first = probe.status()["height"]
    latencies: list[float] = []
    lock = threading.Lock()
    batches = [txs[i:i + BATCH] for i in range(0, int(rate * duration), BATCH)]
    interval = BATCH / rate

    def send(i: int, batch: list[Tx], due: float) -> None:
        results = clients[i % len(clients)].submit_batch(batch, timeout_s=30)
        done = time.perf_counter()
        with lock:
            latencies.extend((done - due) * 1000 for r in results if r.status == "committed")

    begin = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        futures = []
        for i, batch in enumerate(batches):
            due = begin + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, i, batch, due))
        for future in futures:
            future.result()
    with devnet.client(devnet.nodes[0], timeout=60) as probe:
        last = probe.status()["height"]
        times = [probe.header(h)["header"]["time"] for h in range(first + 1, last + 1)]
    for client in clients:
        client.close()
    gaps = [b - a for a, b in zip(times, times[1:])]
    latencies.sort()
    return {
        "committed": len(latencies),
        "block_interval_ms": statistics.mean(gaps) if gaps else float("nan"),
        "commit_p50_ms": latencies[len(latencies) // 2] if latencies else float("nan"),
        "commit_p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan"),
    }


class TipReader:
    """The flat state of a store's tip, with the height a verdict names (what the API reads)."""

    def __init__(self, kv: LevelKV, height: int) -> None:
        self.height = height
        self._flat = Prefixed(kv, FLAT_PREFIX)

    def get(self, key: bytes) -> bytes | None:
        return self._flat.get(key)


def in_process_rate(home: Path, genesis_path: Path, make: Callable[[int], dict[str, object]], seconds: float) -> float:
    """verify_licence calls per second over the tip of the store in `home` (one process)."""
    from ledger.genesis import Genesis

    genesis = Genesis.read(genesis_path)
    with LevelKV(home / "ledger") as kv:
        chain = Chain(kv, genesis)
        reader = TipReader(kv, chain.height)
        now = int(time.time() * 1000)
        count, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            verify_licence(reader, chain_id=genesis.chain_id, at_time=now, asking_region="tianjin", **make(count))
            count += 1
        return count / (time.perf_counter() - begin)


def journal_seqs(home: Path) -> set[int]:
    """The seqs of the use records a validator journaled (the file is append-only, readable while
    the node runs)."""
    from node.usejournal import JOURNAL_FILE
    from node.wal import scan_records

    journal = home / JOURNAL_FILE
    if not journal.exists():
        return set()
    return {decode(p)["seq"] for p in scan_records(journal.read_bytes())[0] if not decode(p).get("placeholder")}  # type: ignore[misc]


def wait_for_uses(devnet: Devnet, timeout_s: float) -> None:
    """Until each validator's highest journaled record is committed (bounded); the exact count is
    taken from the stores once the network stopped."""
    from client.errors import ProblemError

    deadline = time.monotonic() + timeout_s
    for node in devnet.nodes:
        seqs = journal_seqs(node.home)
        if not seqs:
            continue
        with devnet.client(node, "auditor") as client:
            while time.monotonic() < deadline:
                try:
                    client.use(f"{node.name}:{max(seqs)}")
                    break
                except ProblemError:
                    time.sleep(0.5)


def count_recorded(devnet: Devnet) -> dict[str, tuple[int, int]]:
    """Per validator: (records it numbered, records its state holds as committed), from the
    stores and journals after the network stopped."""
    from ledger.genesis import Genesis

    genesis = Genesis.read(devnet.dir / GENESIS_FILE)
    out = {}
    for node in devnet.nodes:
        seqs = journal_seqs(node.home)
        with LevelKV(node.home / "ledger") as kv:
            Chain(kv, genesis)
            ranges = recorded_ranges(Prefixed(kv, FLAT_PREFIX), node.name)
        committed = sum(last - first + 1 for first, last in ranges)
        numbered = max([last + 1 for _, last in ranges] + [max(seqs) + 1 if seqs else 0])
        out[node.name] = (numbered, committed)
    return out


def measure(args: argparse.Namespace, results: dict[str, float]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="eledger-api-bench-"))
    procs: dict = {}
    try:
        devnet = prepare_on_free_ports(directory / "devnet", api_limits=LOAD_LIMITS)
        procs = start_nodes(devnet)
        wait_ready(devnet, procs)
        seed_devnet(devnet, Console(quiet=True))
        issue_more(devnet, args.licences)
        docs = documents(devnet)
        ids = sorted(docs)
        print(f"devnet of 4 validators in {directory}, {len(ids)} licences", flush=True)

        target, region = partner_target(devnet, "tianjin")
        by_id = verify_requests(target, [{"licence_id": i, "purpose": PURPOSE} for i in ids])
        by_document = verify_requests(target, [{"document": docs[i], "purpose": PURPOSE} for i in ids])
        answered = saturate_then_half(target, by_id, args, "verify_by_id", results)
        answered += saturate_then_half(target, by_document, args, "verify_by_document", results)
        bundles = [request_bytes(target, "GET", f"/v1/licences/{i}/bundle?region={region}&item_code={PURPOSE['item_code']}&serial={PURPOSE['serial']}&item_name=%E6%A0%B8%E9%AA%8C") for i in ids]
        bundle = run_load(target, bundles, processes=args.processes, connections=args.connections, duration=args.duration, nice=10)
        answered += bundle.ok  # a partner's bundle is recorded too (api.md §2.15)
        results["bundle_rps"] = round(bundle.rate(), 1)
        results["bundle_p99_ms"] = round(bundle.percentile(99), 2)
        print(f"bundle: {bundle.rate():.0f} req/s (p99 {bundle.percentile(99):.1f} ms; statuses {bundle.statuses})", flush=True)

        anchors = signed_anchors(devnet, int(args.tx_rate * args.duration) * 2 + BATCH)
        alone = tx_load(devnet, anchors[: len(anchors) // 2], args.tx_rate, args.duration)
        print(f"consensus alone at {args.tx_rate:g} tx/s: block interval {alone['block_interval_ms']:.0f} ms, commit p50 {alone['commit_p50_ms']:.0f} ms, p99 {alone['commit_p99_ms']:.0f} ms ({alone['committed']} committed)", flush=True)
        flood_targets = [partner_target(devnet, r)[0] for r in ("tianjin", "xiongan")]
        flood: dict[str, Outcome] = {}

        def flood_one(t: Target) -> None:
            flood[t.url] = run_load(t, verify_requests(t, [{"licence_id": i, "purpose": PURPOSE} for i in ids]),
                                    processes=1, connections=args.connections, duration=args.duration + 4, nice=10)

        threads = [threading.Thread(target=flood_one, args=(t,)) for t in flood_targets]
        for thread in threads:
            thread.start()
        time.sleep(2)
        flooded = tx_load(devnet, anchors[len(anchors) // 2:], args.tx_rate, args.duration)
        for thread in threads:
            thread.join()
        flood_rps = sum(o.rate() for o in flood.values())
        answered += sum(o.ok for o in flood.values())
        print(f"consensus with POST /v1/verify saturated on 2 of 4 ({flood_rps:.0f} verify/s): block interval {flooded['block_interval_ms']:.0f} ms, commit p50 {flooded['commit_p50_ms']:.0f} ms, p99 {flooded['commit_p99_ms']:.0f} ms", flush=True)
        results.update({
            "consensus_alone_block_interval_ms": round(alone["block_interval_ms"], 1), "consensus_alone_commit_p99_ms": round(alone["commit_p99_ms"], 1),
            "consensus_flood_block_interval_ms": round(flooded["block_interval_ms"], 1), "consensus_flood_commit_p99_ms": round(flooded["commit_p99_ms"], 1),
            "flood_verify_rps": round(flood_rps, 1),
            "flood_block_interval_ratio": round(flooded["block_interval_ms"] / alone["block_interval_ms"], 3),
            "flood_commit_p99_ratio": round(flooded["commit_p99_ms"] / alone["commit_p99_ms"], 3),
        })
        wait_for_uses(devnet, 120.0)
        time.sleep(args.settle)  # the journals' last batches commit
        stop_nodes(procs, grace_s=20)
        procs = {}
        counts = count_recorded(devnet)
        numbered = sum(n for n, _ in counts.values())
        committed = sum(c for _, c in counts.values())
        results.update({"use_records_receipted": answered, "use_records_numbered": numbered, "use_records_committed": committed,
                        "use_records_lost": numbered - committed})
        print(f"use records: {answered} verify answers with a receipt, {numbered} records numbered by the validators, {committed} committed on the ledger", flush=True)

        tianjin = next(n for n in devnet.nodes if n.region == "tianjin")
        parsed = {i: read_document_json(docs[i]) for i in ids}
        by_id_rate = in_process_rate(tianjin.home, devnet.dir / GENESIS_FILE, lambda k: {"licence_id": ids[k % len(ids)]}, args.in_process_s)
        by_doc_rate = in_process_rate(tianjin.home, devnet.dir / GENESIS_FILE, lambda k: {"document": parsed[ids[k % len(ids)]]}, args.in_process_s)
        results["in_process_verify_by_id_per_s"] = round(by_id_rate, 1)
        results["in_process_verify_by_document_per_s"] = round(by_doc_rate, 1)
        results["verify_by_id_to_in_process_ratio"] = round(results["verify_by_id_rps"] / by_id_rate, 3)
        results["verify_by_document_to_in_process_ratio"] = round(results["verify_by_document_rps"] / by_doc_rate, 3)
        print(f"in process over the same store: {by_id_rate:.0f} verdicts/s by id, {by_doc_rate:.0f} by document;"
              f" HTTP / in-process: {results['verify_by_id_to_in_process_ratio']:.2f} by id, {results['verify_by_document_to_in_process_ratio']:.2f} by document", flush=True)
    finally:
        if procs:
            stop_nodes(procs, grace_s=20)
        shutil.rmtree(directory, ignore_errors=True)


def read_document_json(obj: dict[str, object]):
    from ledger.document import LicenceDocument

    return LicenceDocument.from_json(obj)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--licences", type=int, default=60, help="licences issued beyond the demo seed")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each measured step")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--tx-rate", type=float, default=500.0, help="transactions per second offered in the consensus steps")
    parser.add_argument("--in-process-s", type=float, default=5.0, help="seconds of the in-process verdict measurement")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to let the last use records commit before stopping")
    parser.add_argument("--quick", action="store_true", help="a short run that only checks the program works")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.licences, args.duration, args.connections, args.processes, args.tx_rate, args.in_process_s, args.settle = 8, 2.0, 2, 1, 100.0, 1.0, 6.0
    return args


def main() -> None:
    args = parse_args()
    results: dict[str, float] = {"cores": os.cpu_count() or 1}
    measure(args, results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
