"""Test support for consensus and the simulator: fixed keys, a genesis, a guarded test signer,
a pending-tx list, and builders of signed proposals and votes.

Keys are derived from labels, so the proposer order (by key id) is the same in every run and a
pinned simulator seed replays the same schedule. The signer here is the minimal guard the tests
need (one signature per (height, round, step)); node.signer is tested on its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.block import Block
from ledger.chain import Chain
from ledger.commit import VOTE_PURPOSE, Commit, VoteType, vote_sign_bytes
from ledger.crypto import PrivateKey, Signature, Suite
from ledger.crypto.p256 import N
from ledger.errors import LedgerError
from ledger.genesis import Genesis, Region
from ledger.kv import MemoryKV
from ledger.tx import Tx
from ledger.validators import Validator, ValidatorSet
from node.consensus.messages import PROPOSAL_PURPOSE, Proposal, Vote, proposal_sign_bytes
from tests.ledger.conftest import GENESIS_TIME, REGIONS, ca_cert_der

CHAIN_ID = "sim-chain"


def fixed_key(label: str) -> PrivateKey:
    """A P-256 key derived from `label` (tests only: the same key in every run)."""
    scalar = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (N - 1) + 1
    return PrivateKey(Suite.P256, ec.derive_private_key(scalar, ec.SECP256R1()))


@dataclass(frozen=True)
class TestNet:
    __test__ = False

    genesis: Genesis
    keys: tuple[PrivateKey, ...]  # validator keys, in genesis order
    admin_keys: dict[str, PrivateKey] = field(hash=False)

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    @property
    def validators(self) -> ValidatorSet:
        return self.genesis.validators

    def key_of(self, key_id: bytes) -> PrivateKey:
        return next(k for k in self.keys if k.public_key.key_id == key_id)

    def chain(self) -> Chain:
        return Chain(MemoryKV(), self.genesis)

    def anchor(self, document: bytes, nonce: bytes, region: str = "beijing") -> Tx:
        """A real signed document anchor transaction (ledger.anchors)."""
        return Tx.create(self.chain_id, "document.anchor", {"document_hash": document, "label": ""}, self.admin_keys[region], nonce)


def make_test_net(powers: tuple[int, ...] = (1, 1, 1, 1), label: str = "net") -> TestNet:
    keys = tuple(fixed_key(f"{label}/validator/{i}") for i in range(len(powers)))
    admin_keys = {r: fixed_key(f"{label}/admin/{r}") for r in REGIONS}
    validators = ValidatorSet.of(
        Validator(f"{REGIONS[i % 4]}-{i + 1}", REGIONS[i % 4], k.public_key, p) for i, (k, p) in enumerate(zip(keys, powers))
    )
    regions = tuple(Region(r, ca_cert_der(r), (admin_keys[r].public_key,)) for r in REGIONS)
    return TestNet(Genesis(CHAIN_ID, GENESIS_TIME, regions, validators), keys, admin_keys)


class GuardError(LedgerError):
    code = "signer.conflict"


class TestSigner:
    """Signs with `key`; the same request again gets the same signature, a different one at a
    (height, round, step) already signed is refused (GuardError "signer.conflict")."""

    __test__ = False

    def __init__(self, key: PrivateKey, chain_id: str = CHAIN_ID) -> None:
        self._key = key
        self._chain_id = chain_id
        self.signed: dict[tuple[int, int, int], tuple[bytes, Signature]] = {}

    @property
    def key_id(self) -> bytes:
        return self._key.public_key.key_id

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes) -> Signature:
        at = (height, round, int(step))
        done = self.signed.get(at)
        if done is not None:
            if done[0] != message:
                raise GuardError(f"already signed other bytes at {at}", code="signer.conflict")
            return done[1]
        signature = self._key.sign(purpose, self._chain_id, message)
        self.signed[at] = (message, signature)
        return signature


class TxPool:
    """The simplest real pending-transaction list: arrival order, one copy per tx id."""

    def __init__(self) -> None:
        self._txs: dict[bytes, Tx] = {}

    def __len__(self) -> int:
        return len(self._txs)

    def add(self, tx: Tx) -> bool:
        """Hold `tx` unless held already; True if it is new."""
        if tx.id in self._txs:
            return False
        self._txs[tx.id] = tx
        return True

    def reap(self, max_txs: int, max_bytes: int) -> list[Tx]:
        out: list[Tx] = []
        size = 0
        for tx in self._txs.values():
            if len(out) >= max_txs or size + len(tx.raw) > max_bytes:
                break
            out.append(tx)
            size += len(tx.raw)
        return out

    def has_txs(self) -> bool:
        return bool(self._txs)

    def remove(self, tx_ids: list[bytes]) -> None:
        for tx_id in tx_ids:
            self._txs.pop(tx_id, None)


def sign_proposal(key: PrivateKey, height: int, round_: int, block: Block, pol_round: int = -1, chain_id: str = CHAIN_ID) -> Proposal:
    signature = key.sign(PROPOSAL_PURPOSE, chain_id, proposal_sign_bytes(height, round_, pol_round, block.hash))
    return Proposal(height, round_, pol_round, block, signature)


def sign_vote(key: PrivateKey, vote_type: VoteType, height: int, round_: int, block_hash: bytes | None, chain_id: str = CHAIN_ID) -> Vote:
    signature = key.sign(VOTE_PURPOSE, chain_id, vote_sign_bytes(vote_type, height, round_, block_hash))
    return Vote(vote_type, height, round_, block_hash, key.public_key.key_id, signature)


def build_block(chain: Chain, proposer: PrivateKey, time: int, txs: list[Tx] | None = None, last_commit: Commit | None = None) -> Block:
    """A valid next block of `chain` built by `proposer` (nothing is committed)."""
    return chain.build_block(txs or [], time, proposer.public_key.key_id, last_commit).block
