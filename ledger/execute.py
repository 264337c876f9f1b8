"""Deterministic execution of transactions against the state (docs/spec/transactions.md §3).

For each transaction, in block order: the chain id matches; the id was never committed before
and does not repeat in the block (replay); the signer's key is registered, active and valid at
the block time; the kind is known and the signer's role may use it; the signature verifies; then
the kind's handler checks the body against state and returns its writes. A rejected transaction
changes nothing. A block is valid only if every transaction in it executes.

Pure: the only inputs are the state, the transactions, the block context and a `committed`
predicate over tx ids (the store's tx index); no clock, no I/O.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.encoding import encode
from ledger.errors import CryptoError, LedgerError, ValidationError
from ledger.identity import Identity, Role, key_state_key
from ledger.state import State
from ledger.crypto import PublicKey, Signature
from ledger.tx import SIGN_PURPOSE, Tx


@dataclass(frozen=True)
class Context:
    """What a block gives its transactions: the chain, the height and the block time (ms)."""

    chain_id: str
    height: int
    time: int


class TxView:
    """One transaction's reads and buffered writes; merged into the state only on success.

    `put`/`delete` change the authenticated state. `index` adds an entry to a secondary index
    (licences by holder, by issuer, by type, ...): kept in the store beside the state, not in the
    state tree, and derived from it, so never part of a root or a proof."""

    def __init__(self, state: State) -> None:
        self._state = state
        self.writes: dict[bytes, bytes | None] = {}
        self.indexes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self._state.get(key)

    def put(self, key: bytes, value: dict[str, object]) -> None:
        self.writes[key] = encode(value)

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def index(self, key: bytes, value: bytes = b"") -> None:
        """Add secondary-index entry `key` (docs/spec/domain.md §8)."""
        self.indexes[key] = value

    def unindex(self, key: bytes) -> None:
        self.indexes[key] = None


Handler = Callable[[TxView, Tx, Identity, Context], None]


class DeferredSignatures:
    """Collects a block's signature checks instead of verifying them during execution.

    For strict replay only (validators checking a whole block, block sync, audit): the caller
    must verify `items` (e.g. with ledger.crypto.pool) before trusting the result; item i
    belongs to the transaction at `tx_indexes[i]` in the block.
    """

    def __init__(self) -> None:
        self.items: list[tuple[PublicKey, str, str, bytes, Signature]] = []
        self.tx_indexes: list[int] = []

    def add(self, key: PublicKey, tx: Tx, index: int) -> None:
        self.items.append((key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature))
        self.tx_indexes.append(index)


@dataclass(frozen=True)
class TxKind:
    """A transaction kind: its name, the roles allowed to sign it, and its handler."""

    name: str
    roles: frozenset[Role]
    handler: Handler


_KINDS: dict[str, TxKind] = {}


def register(kind: TxKind) -> TxKind:
    """Add a kind to the registry (each domain module registers its kinds at import)."""
    if kind.name in _KINDS:
        raise ValueError(f"transaction kind {kind.name} registered twice")
    _KINDS[kind.name] = kind
    return kind


DOMAIN_MODULES = ("ledger.anchors", "ledger.governance", "ledger.seals", "ledger.licences")


def _load_domain() -> None:
    """Import the modules that register transaction kinds (once; later calls are cheap)."""
    if not _loaded:
        for name in DOMAIN_MODULES:
            importlib.import_module(name)
        _loaded.append(True)


_loaded: list[bool] = []


def execute_tx(
    state: State, tx: Tx, ctx: Context, committed: Callable[[bytes], bool], in_block: set[bytes],
    deferred: DeferredSignatures | None = None, index: int = 0,
) -> None:
    """Execute one transaction into `state` or raise ValidationError (state unchanged).

    With `deferred`, the signature check (step 5) is recorded there instead of done here."""
    _load_domain()
    if tx.chain_id != ctx.chain_id:
        raise ValidationError(f"transaction is for chain {tx.chain_id!r}, not {ctx.chain_id!r}", code="tx.wrong_chain", field="tx.chain_id")
    if tx.id in in_block or committed(tx.id):
        raise ValidationError(f"transaction {tx.id.hex()} was already committed", code="tx.replay", field="tx.nonce")
    raw_identity = state.get(key_state_key(tx.signer))
    if raw_identity is None:
        raise ValidationError(f"signer {tx.signer.hex()[:16]} is not a registered key", code="tx.unknown_signer", field="tx.signer")
    signer = Identity.from_bytes(raw_identity)
    signer.check_usable(ctx.time)
    kind = _KINDS.get(tx.kind)
    if kind is None:
        raise ValidationError(f"unknown transaction kind {tx.kind!r}", code="tx.unknown_kind", field="tx.kind")
    if signer.role not in kind.roles:
        raise ValidationError(f"role {signer.role.value} may not submit {tx.kind}", code="tx.forbidden", field="tx.signer")
    if deferred is not None:
        deferred.add(signer.public_key, tx, index)
    else:
        try:
            tx.verify_signature(signer.public_key)
        except CryptoError as exc:
            raise ValidationError(f"signature does not verify: {exc}", code="tx.bad_signature", field="tx.signature") from exc
    view = TxView(state)
    kind.handler(view, tx, signer, ctx)
    state.apply(view.writes)
    state.apply_indexes(view.indexes)
    in_block.add(tx.id)


@dataclass(frozen=True)
class Rejected:
    """A transaction that could not be executed, with the reason."""

    tx: Tx
    error: LedgerError


def execute_txs(
    state: State, txs: Iterable[Tx], ctx: Context, committed: Callable[[bytes], bool], *, strict: bool,
    deferred: DeferredSignatures | None = None,
) -> tuple[list[Tx], list[Rejected]]:
    """Execute `txs` in order. With `strict`, the first failure raises (validating a block);
    otherwise failures are collected and skipped (a proposer building a block). `deferred`
    (strict only) collects signature checks for the caller to verify."""
    if deferred is not None and not strict:
        raise ValueError("deferred signature checks need strict execution")
    accepted: list[Tx] = []
    rejected: list[Rejected] = []
    in_block: set[bytes] = set()
    for i, tx in enumerate(txs):
        try:
            execute_tx(state, tx, ctx, committed, in_block, deferred, i)
        except ValidationError as exc:
            if strict:
                raise ValidationError(f"block.txs[{i}]: {exc}", code=exc.code, field=f"block.txs[{i}]", index=i) from exc
            rejected.append(Rejected(tx, exc))
            continue
        accepted.append(tx)
    return accepted, rejected
