"""Audit: re-verify a whole chain from its genesis (DESIGN §1 auditor; docs/spec/blocks.md §7).

The auditor trusts nothing in the store but the genesis it is given. It replays every block
into a fresh in-memory chain: the hash link to the previous block, the tx root, each
transaction's signature and permissions, the signatures its kind relies on (a licence's seal
signature; for a sealed licence.issue that is the transaction's own, transactions.md §5), the log root and the state root by re-execution, the last commit carried in the
block and the commit stored beside it (signatures and voting power).
The first failure stops the audit with an AuditError naming the height, the check and why.
Read-only: the audited store is never written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ledger.block import Block
from ledger.chain import BLOCK_PREFIX, COMMIT_PREFIX, HEADER_PREFIX, TIP_KEY, Chain, Tip, height_key
from ledger.commit import Commit
from ledger.encoding import decode, encode
from ledger.crypto.pool import SignaturePool, workers_beside_caller
from ledger.errors import AuditError, LedgerError, StoreError, ValidationError
from ledger.execute import DeferredSignatures
from ledger.genesis import Genesis
from ledger.kv import KVReader, MemoryKV

Progress = Callable[[int, int, int], None]
"""Called after each audited block with (height, tip height, transactions so far)."""


@dataclass(frozen=True)
class AuditReport:
    height: int
    txs: int
    state_root: bytes
    log_root: bytes
    block_hash: bytes


def audit_chain(store: KVReader, genesis: Genesis, *, progress: Progress | None = None, workers: int = 1) -> AuditReport:
    """Replay every block of `store` from `genesis`; raise AuditError at the first bad height.

    `workers` is the number of cores to use: with `workers > 1`, the signatures of the
    transactions (and those their kinds rely on) are verified in `workers - 1` processes beside
    the replaying one (`workers_beside_caller`) while the replay goes on; a failure is still reported at its
    own (the first bad) height, with the code of the failed check as `reason`."""
    stored_genesis = store.get(b"meta/genesis")
    if stored_genesis is None:
        raise AuditError("the store holds no chain (no genesis record)", code="audit.empty_store", height=0)
    if stored_genesis != genesis.to_bytes():
        raise AuditError("the store was made from another genesis than the one given", code="audit.genesis_mismatch", height=0)
    raw_tip = store.get(TIP_KEY)
    if raw_tip is None:
        raise AuditError("the store has no tip record", code="audit.no_tip", height=0)
    try:
        tip = Tip.from_bytes(raw_tip)
    except LedgerError as exc:
        raise AuditError(f"the tip record is unreadable: {exc}", code="audit.bad_tip", height=0) from exc

    replay = Chain(MemoryKV(), genesis, retain_heights=0)  # only roots are compared: keep memory bounded
    txs = 0
    in_flight: deque[_Checking] = deque()
    with SignaturePool(workers_beside_caller(workers)) as pool:
        for height in range(1, tip.height + 1):
            try:
                block, commit = _read(store, height)
                deferred = DeferredSignatures(pool)
                try:
                    pending = replay.execute_block(block, deferred=deferred)
                    replay.commit_block(pending, commit)
                except LedgerError as exc:
                    raise AuditError(f"height {height}: {exc.code}: {exc}", code="audit.bad_block", height=height, reason=exc.code) from exc
            except AuditError:
                while in_flight:  # an earlier height may hold a bad signature: report that first
                    in_flight.popleft().settle()
                raise
            deferred.finish()
            in_flight.append(_Checking(height, deferred))
            while len(in_flight) > _MAX_IN_FLIGHT or (in_flight and in_flight[0].deferred.done()):
                in_flight.popleft().settle()
            txs += len(block.txs)
            if progress is not None:
                progress(height, tip.height, txs)
        while in_flight:
            in_flight.popleft().settle()
    if replay.tip != tip:
        raise AuditError("the tip record does not match the replayed chain", code="audit.tip_mismatch", height=tip.height, reason="tip")
    return AuditReport(tip.height, txs, tip.state_root, tip.log_root, tip.hash)


_MAX_IN_FLIGHT = 8


@dataclass
class _Checking:
    """A replayed block whose signatures are being verified."""

    height: int
    deferred: DeferredSignatures

    def settle(self) -> None:
        try:
            self.deferred.verify()
        except ValidationError as exc:
            raise AuditError(
                f"height {self.height}: {exc.code}: {exc}", code="audit.bad_block", height=self.height, reason=exc.code, index=exc.fields["index"],
            ) from exc


def _read(store: KVReader, height: int) -> tuple[Block, Commit]:
    try:
        raw_block = store.get(height_key(BLOCK_PREFIX, height))
        raw_commit = store.get(height_key(COMMIT_PREFIX, height))
        raw_header = store.get(height_key(HEADER_PREFIX, height))
    except StoreError as exc:
        raise AuditError(f"height {height}: the store cannot be read: {exc}", code="audit.unreadable", height=height, reason=exc.code) from exc
    if raw_block is None:
        raise AuditError(f"height {height}: block missing", code="audit.missing_block", height=height, reason="missing_block")
    if raw_commit is None:
        raise AuditError(f"height {height}: commit missing", code="audit.missing_commit", height=height, reason="missing_commit")
    try:
        block = Block.from_bytes(raw_block)
    except LedgerError as exc:
        raise AuditError(f"height {height}: block does not decode: {exc.code}: {exc}", code="audit.bad_block", height=height, reason=exc.code) from exc
    if raw_header != encode(block.header.to_json()):
        raise AuditError(f"height {height}: stored header differs from the block's header", code="audit.bad_header", height=height, reason="header_mismatch")
    try:
        commit = Commit.from_json(decode(raw_commit))
    except LedgerError as exc:
        raise AuditError(f"height {height}: commit does not decode: {exc.code}: {exc}", code="audit.bad_commit", height=height, reason=exc.code) from exc
    return block, commit
