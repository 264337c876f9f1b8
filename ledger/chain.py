"""A chain over one key-value store: genesis, blocks, commits, state, log and indexes.

`Chain` builds blocks (for a proposer), validates and executes blocks (for every validator,
block sync and audit), and commits a block with its commit certificate as one atomic, synced
write batch (DESIGN §8): block, commit, transaction index, log nodes, state nodes, flat state and
the new tip; with a retention window, also the block's stale list and the pruning of the state
that left the window (blocks.md §6, state.md §6.4). Execution is immediate: the header carries
the roots after its own transactions. Layout of the keys: docs/spec/blocks.md §6. Never writes
anything outside `commit_block` and the one-time genesis initialisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.block import ZERO_HASH, Block, Header, tx_root
from ledger.commit import Commit
from ledger.encoding import decode, encode
from ledger.errors import StoreError, ValidationError
from ledger.execute import Context, DeferredSignatures, Rejected, execute_txs
from ledger.fields import expect_keys, expect_object, get_bytes, get_int
from ledger.genesis import Genesis
from ledger.identity import NO_EXPIRY, Identity, Role, key_state_key
from ledger.kv import KVStore, Overlay, Prefixed
from ledger.merkle import MerkleLog
from ledger.sigcache import SignatureCache
from ledger.smt import EMPTY_ROOT, NodeCache, SparseMerkleTree
from ledger.state import FLAT_PREFIX, STATE_PREFIX, State
from ledger.tx import Tx
from ledger.validators import ValidatorSet

GENESIS_KEY = b"meta/genesis"
TIP_KEY = b"meta/tip"
PRUNED_KEY = b"meta/pruned"
STALE_PREFIX = b"stale/"
BLOCK_PREFIX = b"blk/"
HEADER_PREFIX = b"hdr/"
COMMIT_PREFIX = b"cmt/"
TX_INDEX_PREFIX = b"txi/"
LOG_PREFIX = b"log/"
VALIDATORS_KEY = b"sys/validators"
PARAMS_KEY = b"sys/params"
REGION_PREFIX = b"region/"


def height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


@dataclass(frozen=True)
class Tip:
    """The last committed block (height 0: genesis)."""

    height: int
    hash: bytes
    time: int
    state_root: bytes
    log_size: int
    log_root: bytes

    def to_bytes(self) -> bytes:
        return encode({"height": self.height, "hash": self.hash, "time": self.time, "state_root": self.state_root, "log_size": self.log_size, "log_root": self.log_root})

    @classmethod
    def from_bytes(cls, data: bytes) -> Tip:
        obj = expect_object(decode(data), "tip")
        expect_keys(obj, "tip", ("height", "hash", "time", "state_root", "log_size", "log_root"))
        return cls(
            get_int(obj, "height", "tip"), get_bytes(obj, "hash", "tip", size=32), get_int(obj, "time", "tip"),
            get_bytes(obj, "state_root", "tip", size=32), get_int(obj, "log_size", "tip"), get_bytes(obj, "log_root", "tip", size=32),
        )


@dataclass
class Pending:
    """An executed, not yet committed block and the writes it produces."""

    block: Block
    overlay: Overlay
    rejected: list[Rejected]
    stale: bytes = b""


class Chain:
    """The ledger of one node. Opening an empty store initialises it from `genesis`; opening a
    store made from another genesis raises StoreError "store.genesis_mismatch".

    `retain_heights` (blocks.md §6.1): None keeps the state of every height (audit replays,
    archives); an integer R >= 0 keeps the states of the last R + 1 heights, tip included: when
    height h is committed, the state nodes that only heights below h - R used are deleted in
    the same batch, and reading those states raises StoreError "state.pruned". Raises
    ValidationError "store.retain_heights_invalid" for anything else."""

    def __init__(self, kv: KVStore, genesis: Genesis, *, retain_heights: int | None = None) -> None:
        if retain_heights is not None and (isinstance(retain_heights, bool) or not isinstance(retain_heights, int) or retain_heights < 0):
            raise ValidationError(
                f"retain_heights must be None or an integer >= 0, not {retain_heights!r}",
                code="store.retain_heights_invalid", field="retain_heights",
            )
        self.kv = kv
        self.genesis = genesis
        self.retain_heights = retain_heights
        stored = kv.get(GENESIS_KEY)
        if stored is None:
            self._initialise()
        elif stored != genesis.to_bytes():
            raise StoreError("this store belongs to another genesis; refusing to open it", code="store.genesis_mismatch")
        raw_tip = kv.get(TIP_KEY)
        if raw_tip is None:
            raise StoreError("store has a genesis but no tip record", code="store.no_tip")
        self.tip = Tip.from_bytes(raw_tip)
        raw_pruned = kv.get(PRUNED_KEY)
        self._oldest_state = 0 if raw_pruned is None else int.from_bytes(raw_pruned, "big")
        self._validators: ValidatorSet | None = None
        self._nodes = NodeCache()

    # -- reading ---------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.tip.height

    @property
    def oldest_state_height(self) -> int:
        """The lowest height whose state can still be read and proven (0 until pruning starts;
        every height from it to the tip is retained). Reads below it raise "state.pruned"."""
        return self._oldest_state

    def validators(self) -> ValidatorSet:
        """The validator set for the next block (from state)."""
        if self._validators is None:
            raw = self.kv.get(FLAT_PREFIX + VALIDATORS_KEY)
            if raw is None:
                raise StoreError("state has no validator set", code="store.no_validators")
            self._validators = ValidatorSet.from_json(decode(raw))
        return self._validators

    def committed(self, tx_id: bytes) -> bool:
        return self.kv.get(TX_INDEX_PREFIX + tx_id) is not None

    def tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        """(height, index in block) of a committed transaction, or None."""
        raw = self.kv.get(TX_INDEX_PREFIX + tx_id)
        if raw is None:
            return None
        return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:12], "big")

    def block_bytes(self, height: int) -> bytes | None:
        return self.kv.get(height_key(BLOCK_PREFIX, height))

    def block(self, height: int) -> Block | None:
        raw = self.block_bytes(height)
        return None if raw is None else Block.from_bytes(raw)

    def header(self, height: int) -> Header | None:
        """The header of committed block `height` (stored apart from the block: light reads)."""
        raw = self.kv.get(height_key(HEADER_PREFIX, height))
        return None if raw is None else Header.from_json(decode(raw), "header")

    def commit(self, height: int) -> Commit | None:
        raw = self.kv.get(height_key(COMMIT_PREFIX, height))
        return None if raw is None else Commit.from_json(decode(raw))

    def log(self, overlay: Overlay | None = None) -> MerkleLog:
        return MerkleLog(Prefixed(overlay if overlay is not None else self.kv, LOG_PREFIX), self.tip.log_size)

    # -- building and checking blocks ------------------------------------------------------

    def build_block(
        self, txs: Iterable[Tx], time: int, proposer: bytes, last_commit: Commit | None, *, cache: SignatureCache | None = None,
    ) -> Pending:
        """Execute `txs` (skipping those that fail) and make the next block. For a proposer.
        `cache`: signatures already verified (e.g. by the mempool) are not verified again."""
        self._check_time(time)
        overlay = Overlay(self.kv)
        state = State(overlay, self.tip.state_root, self._nodes, version=self.tip.height + 1)
        ctx = Context(self.genesis.chain_id, self.tip.height + 1, time)
        limit = self.genesis.params.max_block_txs
        accepted, rejected = execute_txs(state, list(txs)[:limit], ctx, self.committed, strict=False, cache=cache)
        log = self.log(overlay)
        for tx in accepted:
            log.append_leaf_hash(tx.leaf_hash)
        validators = self.validators()
        header = Header(
            chain_id=self.genesis.chain_id,
            height=ctx.height,
            time=time,
            previous_hash=self.tip.hash,
            tx_root=tx_root(accepted),
            log_size=log.size,
            log_root=log.root(),
            state_root=state.commit(),
            validators_hash=validators.hash(),
            next_validators_hash=validators.hash(),
            proposer=proposer,
            last_commit_hash=ZERO_HASH if last_commit is None else last_commit.hash(),
        )
        return Pending(Block(header, tuple(accepted), last_commit), overlay, rejected, state.stale)

    def execute_block(self, block: Block, *, deferred: DeferredSignatures | None = None, cache: SignatureCache | None = None) -> Pending:
        """Check `block` as the next block and re-execute it; raises ValidationError naming the
        first field or transaction that is wrong. For validators, block sync and audit.

        With `deferred`, every signature check of the block (transaction signatures and those the
        handlers ask for through TxView.verify_signature, such as seal signatures) is collected
        there, not done: the caller must verify them before committing or trusting the block.
        With `cache`, checks it holds are skipped, deferred or not (consensus.md §7)."""
        h = block.header
        tip = self.tip
        if h.chain_id != self.genesis.chain_id:
            raise ValidationError(f"block is for chain {h.chain_id!r}", code="block.wrong_chain", field="block.header.chain_id")
        if h.height != tip.height + 1:
            raise ValidationError(f"expected height {tip.height + 1}, got {h.height}", code="block.wrong_height", field="block.header.height")
        if h.previous_hash != tip.hash:
            raise ValidationError("previous_hash does not link to the last committed block", code="block.broken_link", field="block.header.previous_hash", expected=tip.hash.hex(), got=h.previous_hash.hex())
        self._check_time(h.time)
        validators = self.validators()
        if validators.get(h.proposer) is None:
            raise ValidationError("proposer is not a validator", code="block.unknown_proposer", field="block.header.proposer")
        if h.validators_hash != validators.hash() or h.next_validators_hash != validators.hash():
            raise ValidationError("validators_hash does not match the validator set", code="block.validators_mismatch", field="block.header.validators_hash")
        if len(block.txs) > self.genesis.params.max_block_txs:
            raise ValidationError(f"block has {len(block.txs)} txs; at most {self.genesis.params.max_block_txs}", code="block.too_many_txs", field="block.txs")
        block.check_form()
        if block.last_commit is not None:
            block.last_commit.verify(self.genesis.chain_id, validators, tip.height, tip.hash)
        overlay = Overlay(self.kv)
        state = State(overlay, tip.state_root, self._nodes, version=h.height)
        execute_txs(state, block.txs, Context(self.genesis.chain_id, h.height, h.time), self.committed, strict=True, deferred=deferred, cache=cache)
        log = self.log(overlay)
        for tx in block.txs:
            log.append_leaf_hash(tx.leaf_hash)
        _expect_equal("log_size", h.log_size, log.size)
        _expect_equal("log_root", h.log_root, log.root())
        _expect_equal("state_root", h.state_root, state.commit())
        return Pending(block, overlay, [], state.stale)

    def commit_block(self, pending: Pending, commit: Commit) -> None:
        """Verify `commit` for the pending block and write everything as one synced batch."""
        block = pending.block
        h = block.header
        if h.height != self.tip.height + 1 or h.previous_hash != self.tip.hash:
            raise StoreError("pending block no longer extends the tip", code="store.stale_pending")
        commit.verify(self.genesis.chain_id, self.validators(), h.height, block.hash)
        overlay = pending.overlay
        overlay.put(height_key(BLOCK_PREFIX, h.height), block.to_bytes())
        overlay.put(height_key(HEADER_PREFIX, h.height), encode(h.to_json()))
        overlay.put(height_key(COMMIT_PREFIX, h.height), commit.to_bytes())
        for index, tx in enumerate(block.txs):
            overlay.put(TX_INDEX_PREFIX + tx.id, h.height.to_bytes(8, "big") + index.to_bytes(4, "big"))
        tip = Tip(h.height, block.hash, h.time, h.state_root, h.log_size, h.log_root)
        overlay.put(TIP_KEY, tip.to_bytes())
        oldest = self._prune(overlay, h.height, pending.stale)
        overlay.commit_to(self.kv, sync=True)
        self.tip = tip
        self._oldest_state = oldest
        self._validators = None

    # -- internals -------------------------------------------------------------------------

    def _prune(self, overlay: Overlay, height: int, stale: bytes) -> int:
        """Record the stale list of `height` and prune every list that left the retention
        window (blocks.md §6.1, state.md §6.4), into `overlay`; returns the new oldest state
        height. Raises StoreError "smt.corrupt_stale_list" for a damaged stored list."""
        if self.retain_heights is None:
            return self._oldest_state
        floor = height - self.retain_heights
        if stale and floor < height:
            overlay.put(height_key(STALE_PREFIX, height), stale)
        if floor <= self._oldest_state:
            return self._oldest_state
        tree = SparseMerkleTree(Prefixed(overlay, STATE_PREFIX), cache=self._nodes)
        for pruned in range(self._oldest_state + 1, floor + 1):
            if pruned == height:
                tree.prune(stale)
                continue
            raw = overlay.get(height_key(STALE_PREFIX, pruned))
            if raw is not None:
                tree.prune(raw)
                overlay.delete(height_key(STALE_PREFIX, pruned))
        overlay.put(PRUNED_KEY, floor.to_bytes(8, "big"))
        return floor

    def _check_time(self, time: int) -> None:
        if time <= self.tip.time:
            raise ValidationError(f"block time {time} is not after the previous block's {self.tip.time}", code="block.time_not_increasing", field="block.header.time")

    def _initialise(self) -> None:
        g = self.genesis
        overlay = Overlay(self.kv)
        state = State(overlay, EMPTY_ROOT, version=0)
        writes: dict[bytes, bytes | None] = {
            VALIDATORS_KEY: encode(g.validators.to_json()),
            PARAMS_KEY: encode(g.params.to_json()),
        }
        for region in g.regions:
            writes[REGION_PREFIX + region.name.encode()] = encode({"ca_cert": region.ca_cert, "admins": [k.key_id for k in region.admins]})
            for i, key in enumerate(region.admins):
                ident = Identity(key, Role.REGION_ADMIN, region.name, f"{region.name}-admin-{i + 1}", g.genesis_time, NO_EXPIRY)
                writes[key_state_key(key.key_id)] = ident.to_bytes()
        for v in g.validators:
            ident = Identity(v.public_key, Role.VALIDATOR, v.region, v.name, g.genesis_time, NO_EXPIRY)
            writes[key_state_key(v.key_id)] = ident.to_bytes()
        state.apply(writes)
        root = state.commit()
        empty_log = MerkleLog(Prefixed(overlay, LOG_PREFIX), 0)
        tip = Tip(0, g.hash, g.genesis_time, root, 0, empty_log.root())
        overlay.put(GENESIS_KEY, g.to_bytes())
        overlay.put(TIP_KEY, tip.to_bytes())
        overlay.commit_to(self.kv, sync=True)


def _expect_equal(name: str, header_value: object, calculated: object) -> None:
    if header_value != calculated:
        shown = (lambda v: v.hex() if isinstance(v, bytes) else v)
        raise ValidationError(
            f"header {name} does not match re-execution", code=f"block.{name}_mismatch", field=f"block.header.{name}",
            expected=shown(header_value), calculated=shown(calculated),
        )
