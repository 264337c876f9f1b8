"""The demo of `make run` until the BFT network exists: a four-region network and a local ledger.

Creates (or reuses) the network material under DIR (node.network), opens the local ledger at
DIR/local/ledger, and commits blocks of real signed transactions: each region's administrator
anchors the hashes of demo licence documents, blocks are signed by all four validators and
committed through the same path a validator takes. A second run resumes on top.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ledger.chain import Chain
from ledger.store import LevelKV
from ledger.tx import Tx
from node.local import LocalNetwork
from node.network import GENESIS_FILE, create_network

DOCUMENT_TYPES = ("营业执照", "食品经营许可证", "道路运输经营许可证", "建筑业企业资质证书", "药品经营许可证")


def demo_document(region: str, serial: int) -> bytes:
    """The bytes of one demo licence document (its hash is what gets anchored)."""
    kind = DOCUMENT_TYPES[serial % len(DOCUMENT_TYPES)]
    return f"{region} {kind} No.{serial:08d}".encode()


def run_demo(dir: Path, blocks: int, txs_per_block: int, now: datetime, console: Console, progress: Callable[[], Progress]) -> None:
    network = create_network(dir, now)
    genesis = network.genesis
    home = dir / "local"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / GENESIS_FILE).exists():
        shutil.copyfile(dir / GENESIS_FILE, home / GENESIS_FILE)
    regions = [r.name for r in genesis.regions]
    keys = [network.validator_keys[v.name] for v in genesis.validators]

    table = Table(title=f"network {genesis.chain_id} in {dir}")
    for column in ("validator", "region", "key id"):
        table.add_column(column)
    for v in genesis.validators:
        table.add_row(v.name, v.region, v.key_id.hex()[:16])
    console.print(table)

    with LevelKV(home / "ledger") as kv:
        local = LocalNetwork(Chain(kv, genesis), keys)
        start = local.chain.height
        console.print(f"local ledger at {home / 'ledger'}: resuming at height {start}" if start else f"local ledger at {home / 'ledger'}: new chain")
        now_ms = int(now.timestamp() * 1000)
        with progress() as bar:
            task = bar.add_task("committing blocks", total=blocks, detail="")
            for i in range(blocks):
                height = local.chain.height + 1
                txs = []
                for j in range(txs_per_block):
                    region = regions[j % len(regions)]
                    serial = height * 10_000 + j
                    body = {"document_hash": hashlib.sha256(demo_document(region, serial)).digest(), "label": f"{region}/{serial}"}
                    txs.append(Tx.create(genesis.chain_id, "document.anchor", body, network.admin_keys[region], os.urandom(16)))
                block_time = max(now_ms + i, local.chain.tip.time + 1)
                pending = local.produce(txs, block_time)
                bar.update(task, advance=1, detail=f"height {height}, {len(pending.block.txs)} txs")
        tip = local.chain.tip
        console.print(f"committed heights {start + 1}..{tip.height}; log holds {tip.log_size} transactions")
