"""Child process for test_store: commits blocks to a LevelDB store until it is killed.

argv: DIR (holding genesis.bin, validators.pem, admin.pem) STORE_PATH [RETAIN_HEIGHTS]. Prints
each committed height on stdout, flushed, so the parent knows how far it got.
"""

import os
import sys
from pathlib import Path

from ledger.chain import Chain
from ledger.crypto import PrivateKey
from ledger.genesis import Genesis
from ledger.store import LevelKV
from ledger.tx import Tx
from node.local import LocalNetwork


def main() -> None:
    home, store_path = Path(sys.argv[1]), sys.argv[2]
    retain = int(sys.argv[3]) if len(sys.argv) > 3 else None
    genesis = Genesis.from_bytes((home / "genesis.bin").read_bytes())
    validators = [PrivateKey.from_pem(p.encode()) for p in (home / "validators.pem").read_text().split("\n\n") if p.strip()]
    admin = PrivateKey.from_pem((home / "admin.pem").read_bytes())
    kv = LevelKV(store_path)
    local = LocalNetwork(Chain(kv, genesis, retain_heights=retain), validators)
    while True:
        height = local.chain.height + 1
        txs = [Tx.create(genesis.chain_id, "document.anchor", {"document_hash": os.urandom(32)}, admin, os.urandom(16)) for _ in range(200)]
        local.produce(txs, genesis.genesis_time + 1000 * height)
        print(height, flush=True)


if __name__ == "__main__":
    main()
