"""Block headers and blocks (docs/spec/blocks.md §1–2).

The header commits to everything a light client needs: the chain, the height and time, the
previous block, this block's transactions (`tx_root`), the global transaction log after it
(`log_size`, `log_root`), the state after executing it (`state_root`, immediate execution), the
validator sets for this and the next height, the proposer, and the previous block's commit.
A block's hash is its header's hash. This module checks form; ledger.chain checks meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.commit import Commit
from ledger.encoding import decode, encode
from ledger.errors import ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list, get_str
from ledger.hashing import hash_object
from ledger.kv import MemoryKV
from ledger.merkle import MerkleLog
from ledger.tx import CHAIN_ID_RE, Tx

HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)
MAX_BLOCK_TXS = 10_000
MAX_BLOCK_BYTES = 16 * 1024 * 1024
MAX_TIME_MS = 253402300799999  # 9999-12-31T23:59:59.999Z

_HEADER_FIELDS = (
    "chain_id", "height", "time", "previous_hash", "tx_root", "log_size", "log_root",
    "state_root", "validators_hash", "next_validators_hash", "proposer", "last_commit_hash",
)


@dataclass(frozen=True)
class Header:
    chain_id: str
    height: int
    time: int  # milliseconds since 1970-01-01T00:00:00Z
    previous_hash: bytes
    tx_root: bytes
    log_size: int
    log_root: bytes
    state_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    proposer: bytes
    last_commit_hash: bytes

    def to_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _HEADER_FIELDS}

    def hash(self) -> bytes:
        return hash_object("header", self.to_json())

    @classmethod
    def from_json(cls, obj: object, where: str = "header") -> Header:
        obj = expect_object(obj, where)
        expect_keys(obj, where, _HEADER_FIELDS)
        values: dict[str, object] = {
            "chain_id": get_str(obj, "chain_id", where, pattern=CHAIN_ID_RE, max_len=50),
            "height": get_int(obj, "height", where, minimum=1),
            "time": get_int(obj, "time", where, maximum=MAX_TIME_MS),
            "log_size": get_int(obj, "log_size", where),
        }
        for name in _HEADER_FIELDS:
            if name not in values:
                values[name] = get_bytes(obj, name, where, size=HASH_SIZE)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Block:
    header: Header
    txs: tuple[Tx, ...]
    last_commit: Commit | None
    hash: bytes = field(init=False, repr=False, compare=False)
    raw: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", self.header.hash())

    def to_json(self) -> dict[str, object]:
        return {
            "header": self.header.to_json(),
            "txs": [tx.to_json() for tx in self.txs],
            "last_commit": None if self.last_commit is None else self.last_commit.to_json(),
        }

    def to_bytes(self) -> bytes:
        if not self.raw:
            object.__setattr__(self, "raw", encode(self.to_json()))
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> Block:
        """Parse canonical block bytes (at most MAX_BLOCK_BYTES); raises naming the field."""
        if len(data) > MAX_BLOCK_BYTES:
            raise ValidationError(f"block is {len(data)} bytes; at most {MAX_BLOCK_BYTES}", code="block.too_large", field="block")
        obj = expect_object(decode(data, max_bytes=MAX_BLOCK_BYTES), "block")
        expect_keys(obj, "block", ("header", "txs", "last_commit"))
        header = Header.from_json(obj["header"], "block.header")
        txs = tuple(Tx.from_json(item, f"block.txs[{i}]", decoded=True) for i, item in enumerate(get_list(obj, "txs", "block", max_items=MAX_BLOCK_TXS)))
        last_commit = None if obj["last_commit"] is None else Commit.from_json(obj["last_commit"], "block.last_commit")
        return cls(header, txs, last_commit, bytes(data))

    def check_form(self) -> None:
        """Checks that need no state: tx root, chain ids, last-commit presence and hash."""
        h = self.header
        for i, tx in enumerate(self.txs):
            if tx.chain_id != h.chain_id:
                raise ValidationError(f"block.txs[{i}] is for chain {tx.chain_id!r}, block for {h.chain_id!r}", code="block.wrong_chain", field=f"block.txs[{i}].chain_id")
        calculated = tx_root(self.txs)
        if calculated != h.tx_root:
            raise ValidationError("tx_root does not match the block's transactions", code="block.tx_root_mismatch", field="block.header.tx_root", expected=h.tx_root.hex(), calculated=calculated.hex())
        if h.height == 1:
            if self.last_commit is not None or h.last_commit_hash != ZERO_HASH:
                raise ValidationError("block 1 carries no last commit", code="block.unexpected_last_commit", field="block.last_commit")
        else:
            if self.last_commit is None:
                raise ValidationError(f"block {h.height} must carry the commit of block {h.height - 1}", code="block.missing_last_commit", field="block.last_commit")
            if self.last_commit.hash() != h.last_commit_hash:
                raise ValidationError("last_commit_hash does not match last_commit", code="block.last_commit_hash_mismatch", field="block.header.last_commit_hash")


def tx_root(txs: tuple[Tx, ...] | list[Tx]) -> bytes:
    """RFC 9162 root over the canonical bytes of `txs` in block order (docs/spec/blocks.md §2)."""
    log = MerkleLog(MemoryKV(), 0)
    for tx in txs:
        log.append_leaf_hash(tx.leaf_hash)
    return log.root()

