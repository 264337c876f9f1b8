"""Benchmark of the licence state machine (issue: licences, seals, identities). Prints numbers, writes JSON.

Measures, in one run on this machine:
  - phase 1: the proposer signs N licence issuances (each one signature: the seal signature, which is
    also the transaction's, transactions.md §5) and executes and commits them in blocks through the
    real execution path, every signature verified inline (default N = 1,000,000); its store is then
    compacted, so it does no background work during phase 2
  - phase 2: a validator with its own store checks and commits every block, as a node does: each
    block decoded from its bytes (not timed), executed with its signature checks deferred to a pool of
    os.cpu_count() - 1 worker processes that verify while execution goes on, the checks awaited, then
    the commit. Its txs/s beside the raw P-256 verify rate measured in the same run is the execution
    ratio (median over all blocks; also over the first 20 and the last 50, to show how the rate
    changes as the state grows). One node per machine is what a deployment runs, so the proposer
    works apart, before, and not at the same time as the measured validator. The CPU time of the
    validator's executing thread and of its other threads (the store's compaction) per block is
    reported beside it (Linux).
  - bytes stored per licence: the validator's live entries, copied in key order to a new LevelDB and
    compacted, / N (LevelDB's own compaction keeps a varying part of what was deleted; its size
    after compaction is reported too)
  - verify_licence calls/s and p99 latency on the validator's ledger
  - proof bundle size and offline verification time for one licence

Usage: python benchmarks/domain.py [--licences 1000000] [--block-txs 1000] [--retain-heights R] [--quick]
       [--keep DIR | --reuse DIR] [--json PATH]. --retain-heights keeps the state of the last R + 1
       heights only (default: all). --keep DIR builds the proposer's chain in DIR and keeps it; --reuse DIR
       skips phase 1 and validates the chain kept there (same N and block size).
Never part of the test suite's pass/fail. Shows progress while it builds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from ledger.block import Block
from ledger.chain import Chain
from ledger.crypto import PrivateKey
from ledger.crypto.pool import SignaturePool, workers_beside_caller
from ledger.document import EnterpriseHolder, build_licence, seal_document
from ledger.execute import DeferredSignatures
from ledger.genesis import Genesis, Region
from ledger.ids import complete_uscc, format_licence_id
from ledger.licence_bodies import issue_tx
from ledger.store import LevelKV
from ledger.tx import Tx
from ledger.validators import Validator, ValidatorSet
from ledger.verify import StateAt, verify_licence
from node.local import LocalNetwork

from benchlib import raw_p256_verify_rate, report, say

REGIONS = ("beijing", "tianjin", "hebei", "xiongan")
GENESIS_TIME = 1_767_225_600_000  # 2026-01-01T00:00:00Z
YEAR_MS = 366 * 24 * 3600 * 1000
SEAL_ID = "BJSEAL0001"





class World:
    """A four-region chain with one Beijing department allowed to issue one licence type."""

    def __init__(self, kv: LevelKV, retain_heights: int | None = None) -> None:
        self.validator_keys = [PrivateKey.generate() for _ in REGIONS]
        self.admins = {r: PrivateKey.generate() for r in REGIONS}
        validators = ValidatorSet.of(Validator(f"{r}-1", r, k.public_key, 1) for r, k in zip(REGIONS, self.validator_keys))
        regions = tuple(Region(r, b"\x30\x00", (self.admins[r].public_key,)) for r in REGIONS)
        self.genesis = Genesis("bench-domain", GENESIS_TIME, regions, validators)
        self.local = LocalNetwork(Chain(kv, self.genesis, retain_heights=retain_heights), self.validator_keys)
        self.time = GENESIS_TIME
        self.dept_key = PrivateKey.generate()
        self.uscc = complete_uscc("11110000000000001")
        self.type = complete_uscc("11100000000013338") + "032"
        grant = {"public_key": self.dept_key.public_key.to_json(), "not_before": GENESIS_TIME, "not_after": GENESIS_TIME + 10 * YEAR_MS}
        seal = {
            "seal_id": SEAL_ID, "owner": self.uscc, "name": "行政许可专用章", "type": "licence", "image_hash": bytes(32),
            "signers": [self.dept_key.public_key.key_id], "valid_from": GENESIS_TIME, "valid_until": GENESIS_TIME + 10 * YEAR_MS,
        }
        self.commit_all([self.tx(self.admins["beijing"], "ltype.register", {"code": self.type, "name": "食品经营许可证", "validity_required": True})])
        self.commit_all([self.tx(self.admins["beijing"], "org.admit", {"uscc": self.uscc, "name": "北京市市场监督管理局", "keys": [grant], "licence_types": [self.type]})])
        rule = {"from_region": "beijing", "type": self.type, "as_type": self.type, "conditions": ""}
        self.commit_all([self.tx(self.dept_key, "seal.register", seal), self.tx(self.admins["tianjin"], "recognition.declare", rule)])

    def tx(self, key: PrivateKey, kind: str, body: dict[str, object]) -> Tx:
        return Tx.create(self.genesis.chain_id, kind, body, key, os.urandom(16))

    def next_time(self) -> int:
        self.time += 1000
        return self.time

    def commit_all(self, txs: list[Tx]) -> None:
        pending = self.local.produce(txs, self.next_time())
        if pending.rejected:
            raise RuntimeError(f"setup transaction rejected: {pending.rejected[0].error.to_dict()}")

    def issuance(self, serial: int) -> tuple[str, Tx]:
        licence_id = format_licence_id(self.type, self.uscc, str(serial), "001")
        holder = EnterpriseHolder(complete_uscc(f"91110000{serial:09d}"), f"企业{serial}")
        part = build_licence(
            id=licence_id, type_name="食品经营许可证", issuer_name="北京市市场监督管理局", holder=holder,
            issue_date=date(2026, 1, 1), valid_from=date(2026, 1, 1), valid_until=date(2031, 1, 1),
            fields={"经营场所": f"北京市东城区示例路{serial}号", "经营项目": "预包装食品销售"},
        )
        document = seal_document(part, self.dept_key, self.genesis.chain_id, SEAL_ID, self.time)
        return licence_id, issue_tx(document, self.genesis.chain_id)


class Replica:
    """A second node checking the proposer's blocks as a validator does: each block decoded from
    its bytes, executed with its signature checks deferred to a pool of worker processes, the
    checks awaited, then committed to its own store."""

    def __init__(self, path: Path, genesis: Genesis, pool: SignaturePool, retain_heights: int | None = None) -> None:
        self.kv = LevelKV(path)
        self.chain = Chain(self.kv, genesis, retain_heights=retain_heights)
        self.pool = pool

    def check(self, proposer: Chain, height: int) -> tuple[int, float]:
        """Check and commit block `height` of `proposer`; its transaction count and the seconds
        execution, signature checks and commit took (decoding the block is not counted)."""
        block = Block.from_bytes(proposer.block_bytes(height))  # type: ignore[arg-type]
        commit = proposer.commit(height)
        started = time.perf_counter()
        deferred = DeferredSignatures(self.pool)
        pending = self.chain.execute_block(block, deferred=deferred)
        deferred.verify()
        self.chain.commit_block(pending, commit)  # type: ignore[arg-type]
        return len(block.txs), time.perf_counter() - started


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def live_size(kv: LevelKV, path: Path) -> int:
    """Bytes a LevelDB at `path` takes for `kv`'s live entries alone, written there in key
    order and compacted. LevelDB's compaction of a store that deleted much leaves a varying
    part of what was deleted on disk (LevelKV.compact), so the store's own size is not a
    stable measure of what a licence needs."""
    copy = LevelKV(path)
    batch: dict[bytes, bytes] = {}
    for key, value in kv.iterate(b""):
        batch[key] = value
        if len(batch) >= 50_000:
            copy.write(batch, sync=False)
            batch = {}
    copy.write(batch)
    copy.compact()
    copy.close()
    size = dir_size(path)
    shutil.rmtree(path)
    return size


def build(world: World, kv: LevelKV, licences: int, block_txs: int) -> dict[str, float]:
    """Phase 1: sign `licences` issuances and have the proposer execute and commit them in blocks
    of `block_txs`, every signature verified inline. Returns the proposer's numbers."""
    sign_s = 0.0
    block_rates = []
    serial = 0
    started = time.perf_counter()
    while serial < licences:
        t0 = time.perf_counter()
        batch = [world.issuance(s)[1] for s in range(serial + 1, min(serial + block_txs, licences) + 1)]
        serial += len(batch)
        t1 = time.perf_counter()
        pending = world.local.produce(batch, world.next_time())
        t2 = time.perf_counter()
        if pending.rejected:
            raise RuntimeError(f"issuance rejected: {pending.rejected[0].error.to_dict()}")
        sign_s += t1 - t0
        block_rates.append(len(batch) / (t2 - t1))
        if len(block_rates) % 50 == 0 or serial == licences:
            elapsed = time.perf_counter() - started
            say(f"  {serial:,} licences, height {world.local.chain.height}, {serial / elapsed:,.0f}/s overall, proposing {statistics.median(block_rates[-50:]):,.0f} txs/s")
    say("  compacting the proposer's store, so that it does no background work while the validator is measured ...")
    kv.compact()
    return {"proposer_txs_per_s": statistics.median(block_rates), "signing_licences_per_s": licences / sign_s}


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by thread id; empty where
    /proc is not there (not Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for task in tasks:
        try:
            stat = Path(f"/proc/self/task/{task}/stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(task)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def validate(replica: Replica, proposer: Chain, issuance_blocks: int) -> list[float]:
    """Phase 2: the validator checks and commits every block of `proposer` above its tip; the
    txs/s of each of the last `issuance_blocks` blocks, those of licence issuances (the setup
    blocks before them hold a transaction or two)."""
    rates = []
    started = time.perf_counter()
    top = proposer.height
    for height in range(replica.chain.height + 1, top + 1):
        txs, seconds = replica.check(proposer, height)
        if height > top - issuance_blocks:
            rates.append(txs / seconds)
        if rates and (len(rates) % 50 == 0 or height == top):
            say(f"  height {height:,} of {top:,}, {time.perf_counter() - started:,.0f} s, validating {statistics.median(rates[-50:]):,.0f} txs/s (last 50 blocks)")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licences", type=int, default=1_000_000)
    parser.add_argument("--block-txs", type=int, default=1000)
    parser.add_argument("--verifies", type=int, default=5000)
    parser.add_argument("--retain-heights", type=int, default=None, help="prune state older than this many heights (default: keep all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the benchmark runs")
    parser.add_argument("--keep", type=Path, default=None, help="build the proposer's chain in this directory and keep it")
    parser.add_argument("--reuse", type=Path, default=None, help="skip phase 1: validate the proposer's chain kept by --keep here")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "domain.json")
    args = parser.parse_args()
    if args.quick:
        args.licences, args.block_txs, args.verifies = 600, 200, 200
    if args.keep is not None and args.reuse is not None:
        parser.error("--keep and --reuse exclude each other")

    workdir = Path(tempfile.mkdtemp(prefix="eledger-bench-domain-"))
    results: dict[str, float] = {"cpu_count": os.cpu_count() or 0}
    if args.retain_heights is not None:
        results["retain_heights"] = args.retain_heights
    pool = SignaturePool(workers_beside_caller())
    try:
        if args.reuse is not None:
            meta = json.loads((args.reuse / "bench.json").read_text())
            args.licences, args.block_txs = meta["licences"], meta["block_txs"]
            kv = LevelKV(args.reuse / "ledger", create=False)
            proposer = Chain(kv, Genesis.from_bytes(kv.get(b"meta/genesis")), retain_heights=args.retain_heights)  # type: ignore[arg-type]
            world_time, world_type, world_uscc = proposer.tip.time, meta["type"], meta["uscc"]
            say(f"phase 1 skipped: the proposer's chain of {args.licences:,} licences in {args.reuse} (height {proposer.height})")
        else:
            home = args.keep if args.keep is not None else workdir
            home.mkdir(parents=True, exist_ok=True)
            kv = LevelKV(home / "ledger")
            world = World(kv, args.retain_heights)
            say(f"phase 1: the proposer builds a ledger of {args.licences:,} licences in blocks of {args.block_txs:,} (signing, executing with every signature verified inline, committing) ...")
            results.update(build(world, kv, args.licences, args.block_txs))
            proposer = world.local.chain
            world_time, world_type, world_uscc = world.time, world.type, world.uscc
            meta = {"licences": args.licences, "block_txs": args.block_txs, "type": world.type, "uscc": world.uscc}
            (home / "bench.json").write_text(json.dumps(meta) + "\n")
        ids = [format_licence_id(world_type, world_uscc, str(serial), "001") for serial in range(1, args.licences + 1)]
        genesis = proposer.genesis

        say("raw P-256 verify rate (cryptography, one core) ...")
        raw = raw_p256_verify_rate(1.0 if args.quick else 3.0)
        results["raw_p256_verifies_per_s"] = raw
        say(f"phase 2: a validator with its own store checks and commits every block (signature checks deferred to {pool.workers} worker process(es)) ...")
        store = workdir / "replica"
        replica = Replica(store, genesis, pool, args.retain_heights)
        base_size = dir_size(store)
        before = thread_cpu_seconds()
        validator_rates = validate(replica, proposer, -(-args.licences // args.block_txs))
        after = thread_cpu_seconds()
        if after:
            # The executing thread, and the store's own threads (LevelDB's compaction) beside it,
            # per block of issuances (the few setup blocks cost next to nothing).
            blocks = len(validator_rates)
            main_thread = threading.get_native_id()
            spent = {tid: cpu - before.get(tid, 0.0) for tid, cpu in after.items()}
            results["validator_executing_thread_cpu_ms_per_block"] = spent.pop(main_thread, 0.0) * 1000 / blocks
            results["validator_other_threads_cpu_ms_per_block"] = sum(spent.values()) * 1000 / blocks
        if replica.chain.tip != proposer.tip:
            raise RuntimeError("the validator's chain differs from the proposer's")
        kv.close()
        execution = statistics.median(validator_rates)
        results.update({
            "licences": args.licences,
            "block_txs": args.block_txs,
            "validator_workers": pool.workers,
            "execution_txs_per_s": execution,
            "execution_to_raw_verify_ratio": execution / raw,
            "execution_txs_per_s_first_20_blocks": statistics.median(validator_rates[:20]),
            "execution_txs_per_s_last_50_blocks": statistics.median(validator_rates[-50:]),
        })

        chain = replica.chain
        say("verify_licence on random licences at the validator's tip ...")
        reader = StateAt(chain)
        rng = random.Random(5)
        sample = [rng.choice(ids) for _ in range(args.verifies)]
        latencies = []
        for licence_id in sample:
            t0 = time.perf_counter()
            verdict = verify_licence(reader, chain_id=genesis.chain_id, at_time=world_time, asking_region="beijing", licence_id=licence_id)
            latencies.append(time.perf_counter() - t0)
            if verdict.verdict.value != "valid":
                raise RuntimeError(f"{licence_id}: {verdict.to_json()}")
        latencies.sort()
        results["verify_licence_per_s"] = len(latencies) / sum(latencies)
        results["verify_licence_p99_ms"] = latencies[int(0.99 * (len(latencies) - 1))] * 1000

        say("proof bundles for random licences (every key the verdict reads), checked offline ...")
        from ledger.licence_bundle import build_licence_bundle, verify_licence_bundle

        for label, asking in (("same_region", "beijing"), ("cross_region", "tianjin")):
            sizes, times = [], []
            for licence_id in sample[:200]:
                raw_bundle = build_licence_bundle(chain, licence_id, asking).to_bytes()
                sizes.append(len(raw_bundle))
                t0 = time.perf_counter()
                offline = verify_licence_bundle(raw_bundle, genesis, asking_region=asking, licence_id=licence_id)
                times.append(time.perf_counter() - t0)
                if offline.verdict.verdict.value != "valid":
                    raise RuntimeError(f"offline verdict for {licence_id}: {offline.verdict.to_json()}")
            times.sort()
            results[f"bundle_{label}_bytes_max"] = max(sizes)
            results[f"bundle_{label}_offline_ms_median"] = statistics.median(times) * 1000
            results[f"bundle_{label}_offline_ms_p99"] = times[int(0.99 * (len(times) - 1))] * 1000

        say("compacting the validator's store, and copying its live entries to a new store, to measure bytes per licence ...")
        replica.kv.compact()
        results["store_bytes_after_compaction"] = dir_size(store)
        live = live_size(replica.kv, workdir / "live")
        replica.kv.close()
        results["live_store_bytes"] = live
        results["stored_bytes_per_licence"] = (live - base_size) / args.licences
    finally:
        pool.close()
        shutil.rmtree(workdir, ignore_errors=True)

    targets = {
        "execution_to_raw_verify_ratio": (">=", 0.6),
        "stored_bytes_per_licence": ("<=", 1536),
        "bundle_same_region_bytes_max": ("<=", 4096),
        "bundle_cross_region_bytes_max": ("<=", 4096),
        "bundle_same_region_offline_ms_p99": ("<=", 2.0),
        "bundle_cross_region_offline_ms_p99": ("<=", 2.0),
    }
    report(results, targets, args.json)


if __name__ == "__main__":
    main()
