"""Benchmark of the verifiable core (issue: foundation). Prints numbers and writes JSON.

Measures, in one run on this machine:
  - sparse Merkle state: batched updates/s over LevelDB at N keys, state proof bytes, prove/verify rate
  - Merkle log: appends/s and inclusion proofs/s at M leaves
  - blocks of B transactions executed and committed to LevelDB per second (signatures verified)
  - audit speed in txs/s beside the raw P-256 verify rate of this machine (their ratio)

Usage: python benchmarks/core.py [--keys 1000000] [--leaves 1000000] [--blocks 20] [--block-txs 1000]
       [--quick] [--json PATH]. Never part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ledger.audit import audit_chain
from ledger.chain import Chain
from ledger.crypto import PrivateKey
from ledger.genesis import Genesis, Region
from ledger.kv import Overlay, Prefixed
from ledger.merkle import MerkleLog, leaf_hash, verify_inclusion
from ledger.smt import EMPTY_ROOT, NodeCache, SparseMerkleTree, verify_proof
from ledger.store import LevelKV
from ledger.tx import Tx
from ledger.validators import Validator, ValidatorSet
from node.local import LocalNetwork

from benchlib import raw_p256_verify_rate, report, say


def bench_state(workdir: Path, keys: int, batch: int, measured_batches: int) -> dict[str, float]:
    kv = LevelKV(workdir / "smt")
    cache = NodeCache()  # one per chain, as ledger.chain keeps it
    root = EMPTY_ROOT
    rng = random.Random(7)
    fill_batch = 10_000
    say(f"state: inserting {keys:,} keys into LevelDB in batches of {fill_batch:,} ...")
    start = time.perf_counter()
    for base in range(0, keys, fill_batch):
        overlay = Overlay(kv)
        tree = SparseMerkleTree(Prefixed(overlay, b"smt/"), cache=cache)
        root = tree.update(root, {f"key-{i}".encode(): rng.randbytes(100) for i in range(base, min(keys, base + fill_batch))})
        overlay.commit_to(kv, sync=False)
        if (base // fill_batch) % 10 == 9:
            done = base + fill_batch
            say(f"  {done:,} keys, {done / (time.perf_counter() - start):,.0f} inserts/s")
    fill_rate = keys / (time.perf_counter() - start)

    say(f"state: {measured_batches} batches of {batch:,} updates at {keys:,} keys (half new, half changed), synced ...")
    times = []
    next_key = keys
    for _ in range(measured_batches):
        changes = {f"key-{rng.randrange(keys)}".encode(): rng.randbytes(100) for _ in range(batch // 2)}
        for _ in range(batch - len(changes)):
            changes[f"key-{next_key}".encode()] = rng.randbytes(100)
            next_key += 1
        t0 = time.perf_counter()
        overlay = Overlay(kv)
        tree = SparseMerkleTree(Prefixed(overlay, b"smt/"), cache=cache)
        root = tree.update(root, changes)
        overlay.commit_to(kv, sync=True)
        times.append(time.perf_counter() - t0)
        total_keys = next_key
    updates_per_s = batch / statistics.median(times)

    tree = SparseMerkleTree(Prefixed(kv, b"smt/"), cache=cache)
    sample = [f"key-{rng.randrange(total_keys)}".encode() for _ in range(1000)]
    t0 = time.perf_counter()
    proofs = [tree.prove(root, k) for k in sample]
    prove_rate = len(sample) / (time.perf_counter() - t0)
    sizes = [len(p.to_bytes()) for p in proofs]
    values = [tree.get(root, k) for k in sample]
    t0 = time.perf_counter()
    for k, v, p in zip(sample, values, proofs):
        verify_proof(root, k, v, p)
    verify_rate = len(sample) / (time.perf_counter() - t0)
    absent = [tree.prove(root, f"absent-{i}".encode()) for i in range(1000)]
    kv.close()
    return {
        "state_keys": total_keys,
        "state_fill_inserts_per_s": fill_rate,
        "state_updates_per_s": updates_per_s,
        "state_proof_bytes_mean": statistics.mean(sizes),
        "state_proof_bytes_max": max(sizes),
        "state_nonmembership_proof_bytes_mean": statistics.mean(len(p.to_bytes()) for p in absent),
        "state_proofs_per_s": prove_rate,
        "state_proof_verifies_per_s": verify_rate,
    }


def bench_log(workdir: Path, leaves: int) -> dict[str, float]:
    kv = LevelKV(workdir / "log")
    say(f"log: appending {leaves:,} leaves to LevelDB in blocks of 1,000 ...")
    size = 0
    start = time.perf_counter()
    while size < leaves:
        overlay = Overlay(kv)
        log = MerkleLog(Prefixed(overlay, b"log/"), size)
        for i in range(min(1000, leaves - size)):
            log.append(b"leaf %d" % (size + i))
        log.root()
        overlay.commit_to(kv, sync=False)
        size = log.size
    append_rate = leaves / (time.perf_counter() - start)
    log = MerkleLog(Prefixed(kv, b"log/"), size)
    root = log.root()
    rng = random.Random(3)
    idx = [rng.randrange(size) for _ in range(5000)]
    t0 = time.perf_counter()
    proofs = [log.prove_inclusion(i, size) for i in idx]
    prove_rate = len(idx) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i, p in zip(idx, proofs):
        verify_inclusion(leaf_hash(b"leaf %d" % i), i, size, p, root)
    verify_rate = len(idx) / (time.perf_counter() - t0)
    kv.close()
    return {"log_leaves": leaves, "log_appends_per_s": append_rate, "log_inclusion_proofs_per_s": prove_rate, "log_inclusion_verifies_per_s": verify_rate, "log_proof_bytes": 32 * len(proofs[0])}


def make_genesis() -> tuple[Genesis, list[PrivateKey], PrivateKey]:
    vkeys = [PrivateKey.generate() for _ in range(4)]
    admin = PrivateKey.generate()
    regions = ("beijing", "tianjin", "hebei", "xiongan")
    validators = ValidatorSet.of(Validator(f"{r}-1", r, k.public_key, 1) for r, k in zip(regions, vkeys))
    genesis = Genesis("bench", 1_767_225_600_000, tuple(Region(r, b"\x30\x00", (admin.public_key,) if r == "beijing" else (PrivateKey.generate().public_key,)) for r in regions), validators)
    return genesis, vkeys, admin


def bench_blocks_and_audit(workdir: Path, blocks: int, block_txs: int, raw_rate: float) -> dict[str, float]:
    genesis, vkeys, admin = make_genesis()
    say(f"blocks: signing {blocks * block_txs:,} transactions ...")
    batches = [
        [Tx.create(genesis.chain_id, "document.anchor", {"document_hash": os.urandom(32), "label": f"doc {b}/{i}"}, admin, os.urandom(16)) for i in range(block_txs)]
        for b in range(blocks)
    ]
    kv = LevelKV(workdir / "chain")
    local = LocalNetwork(Chain(kv, genesis), vkeys)
    say(f"blocks: executing and committing {blocks} blocks of {block_txs:,} txs (signatures verified, synced batch) ...")
    times = []
    for b, txs in enumerate(batches):
        t0 = time.perf_counter()
        local.produce(txs, genesis.genesis_time + 1000 * (b + 1))
        times.append(time.perf_counter() - t0)
    blocks_per_s = 1 / statistics.median(times)
    say("audit: replaying the chain from genesis, signatures checked in this process ...")
    t0 = time.perf_counter()
    report = audit_chain(kv, genesis, workers=1)
    audit_inline_rate = report.txs / (time.perf_counter() - t0)
    workers = os.cpu_count() or 1
    say(f"audit: replaying again with {workers} signature-verifying processes (eledger audit's default) ...")
    t0 = time.perf_counter()
    report = audit_chain(kv, genesis, workers=workers)
    audit_rate = report.txs / (time.perf_counter() - t0)
    kv.close()
    return {
        "block_txs": block_txs,
        "blocks_committed_per_s": blocks_per_s,
        "block_txs_committed_per_s": blocks_per_s * block_txs,
        "audit_txs": report.txs,
        "audit_inline_txs_per_s": audit_inline_rate,
        "audit_inline_to_raw_verify_ratio": audit_inline_rate / raw_rate,
        "audit_workers": workers,
        "audit_txs_per_s": audit_rate,
        "raw_p256_verifies_per_s": raw_rate,
        "audit_to_raw_verify_ratio": audit_rate / raw_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block-txs", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the benchmark runs")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "core.json")
    args = parser.parse_args()
    if args.quick:
        args.keys, args.batches, args.leaves, args.blocks, args.block_txs = 5000, 3, 5000, 3, 50

    workdir = Path(tempfile.mkdtemp(prefix="eledger-bench-"))
    try:
        say("raw P-256 verify rate (cryptography, one core) ...")
        raw = raw_p256_verify_rate(1.0 if args.quick else 3.0)
        results: dict[str, float] = {"cpu_count": os.cpu_count() or 0}
        results.update(bench_blocks_and_audit(workdir, args.blocks, args.block_txs, raw))
        results.update(bench_log(workdir, args.leaves))
        results.update(bench_state(workdir, args.keys, args.batch, args.batches))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    targets = {
        "state_updates_per_s": (">=", 10_000),
        "state_proof_bytes_max": ("<=", 1024),
        "log_appends_per_s": (">=", 100_000),
        "audit_to_raw_verify_ratio": (">=", 0.5),
    }
    report(results, targets, args.json)


if __name__ == "__main__":
    main()
