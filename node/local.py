"""A single-process network: one chain, every validator's key in hand.

Used where all validators are one party: the local demo ledger of `make run` before the BFT
network exists, tests and benchmarks that need real committed blocks. It goes through the same
path a real network does (build block, sign precommits over the canonical vote, verify the commit,
commit in one synced batch); only the rounds of voting between processes are absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.chain import Chain, Pending
from ledger.commit import Commit, make_commit, sign_precommit
from ledger.crypto import PrivateKey
from ledger.tx import Tx


@dataclass
class LocalNetwork:
    chain: Chain
    validator_keys: list[PrivateKey]

    def __post_init__(self) -> None:
        validators = self.chain.validators()
        for key in self.validator_keys:
            if validators.get(key.public_key.key_id) is None:
                raise ValueError("a key given to LocalNetwork is not a validator of its chain")
        self._last_commit: Commit | None = self.chain.commit(self.chain.height) if self.chain.height else None

    def proposer(self, height: int) -> PrivateKey:
        """Round-robin over the validators in set order (all powers equal in the demo)."""
        order = [v.key_id for v in self.chain.validators()]
        key_id = order[height % len(order)]
        return next(k for k in self.validator_keys if k.public_key.key_id == key_id)

    def produce(self, txs: Iterable[Tx], time: int) -> Pending:
        """Build, sign and commit the next block; returns it with the transactions left out."""
        height = self.chain.height + 1
        pending = self.chain.build_block(txs, time, self.proposer(height).public_key.key_id, self._last_commit)
        sigs = [sign_precommit(k, self.chain.genesis.chain_id, height, 0, pending.block.hash) for k in self.validator_keys]
        commit = make_commit(height, 0, pending.block.hash, sigs)
        self.chain.commit_block(pending, commit)
        self._last_commit = commit
        return pending
