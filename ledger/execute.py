"""Deterministic execution of transactions against the state (docs/spec/transactions.md §3).

For each transaction, in block order: the chain id matches; the id was never committed before
and does not repeat in the block (replay); the signer's key is registered, active and valid at
the block time; the kind is known and the signer's role may use it; the signature verifies (for
a sealed kind, as the seal signature the handler rebuilds, §5); then the kind's handler checks
the body against state and returns its writes. A rejected transaction
changes nothing. A block is valid only if every transaction in it executes.

Checking a whole block (a validator, block sync, audit) may defer every signature check of the
block, the transactions' own and those a handler asks for (a licence's seal signature), to a
`DeferredSignatures`, which verifies them on all cores while execution goes on; the block counts
only once they verified. A proposer, which must know at once whether each transaction is in,
always verifies inline.

An optional `SignatureCache` (consensus.md §7) short-cuts both ways of checking: a signature it
already holds is neither verified inline nor deferred, and one verified inline is added to it.
Without a cache every signature is checked.

Pure: the only inputs are the state, the transactions, the block context and a `committed`
predicate over tx ids (the store's tx index); no clock, no I/O (worker processes of a
`SignaturePool` only verify signatures).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.crypto import PublicKey, Signature
from ledger.crypto.pool import Item, SignaturePool, Verification, combine
from ledger.encoding import encode
from ledger.errors import CryptoError, LedgerError, ValidationError
from ledger.identity import Identity, Role, key_state_key
from ledger.kv import KVReader
from ledger.sigcache import SignatureCache
from ledger.state import State
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
    state tree, and derived from it, so never part of a root or a proof. `verify_signature`
    checks a signature the kind's rules need, now or, when the block's checks are deferred, later
    in the block's `DeferredSignatures` under this transaction's index; with a `cache`, not at all
    if the cache holds it, and a signature verified now is added to the cache."""

    def __init__(
        self, state: KVReader, deferred: DeferredSignatures | None = None, index: int = 0, cache: SignatureCache | None = None,
    ) -> None:
        self._state = state
        self._deferred = deferred
        self._index = index
        self._cache = cache
        self.writes: dict[bytes, bytes | None] = {}
        self.indexes: dict[bytes, bytes | None] = {}

    @property
    def position(self) -> int:
        """The transaction's index in its block (0 when it is executed alone, as a mempool check
        does): what a kind records as the place of something it writes (domain.md §10)."""
        return self._index

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self._state.get(key)

    def put(self, key: bytes, value: dict[str, object]) -> None:
        self.writes[key] = encode(value)

    def put_encoded(self, key: bytes, data: bytes) -> None:
        """Write `data`, which must already be the canonical encoding of the value (e.g. made by
        `encode_decoded` from parts of a decoded body, docs/spec/encoding.md §3)."""
        self.writes[key] = data

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def index(self, key: bytes, value: bytes = b"") -> None:
        """Add secondary-index entry `key` (docs/spec/domain.md §8)."""
        self.indexes[key] = value

    def unindex(self, key: bytes) -> None:
        self.indexes[key] = None

    def verify_signature(
        self, public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature, *,
        field: str, code: str, **fields: object,
    ) -> None:
        """Check that `public_key` signed signing_bytes(purpose, chain_id, message) (crypto.md §2).

        Inline, raises ValidationError `code` naming `field` (with `fields`) if it does not
        verify. When the block's signatures are deferred, records the check instead; the block
        then fails with that code, at this transaction, if the signature turns out bad. A check
        the cache holds passes at once (consensus.md §7)."""
        cache = self._cache
        if self._deferred is not None:
            if cache is None or (public_key, purpose, chain_id, message, signature) not in cache:
                self._deferred.add_check(public_key, purpose, chain_id, message, signature, index=self._index, code=code, field=field, **fields)
            return
        try:
            if cache is None:
                public_key.verify(purpose, chain_id, message, signature)
            else:
                cache.check(public_key, purpose, chain_id, message, signature)
        except CryptoError as exc:
            raise ValidationError(f"{field}: signature does not verify: {exc}", code=code, field=field, **fields) from exc


Handler = Callable[[TxView, Tx, Identity, Context], None]


class DeferredSignatures:
    """A block's signature checks, collected during strict execution instead of done at once.

    For checking a whole block only (validators, block sync, audit). Each check is recorded with
    the transaction it belongs to (item i: the transaction at `tx_indexes[i]`) and the error code
    to report for it. With a `pool`, every `batch` new checks go to its workers at once, so
    verification runs beside execution; `finish()` sends the rest, `done()` asks whether all are
    verified and `verify()` waits for them: the block may be trusted only once it returned.
    """

    def __init__(self, pool: SignaturePool | None = None, *, batch: int = 64) -> None:
        self.items: list[Item] = []
        self.tx_indexes: list[int] = []
        self._reports: list[tuple[str, str, dict[str, object]]] = []
        self._pool = pool
        self._batch = batch
        self._sent = 0
        self._parts: list[Verification] = []

    def add(self, key: PublicKey, tx: Tx, index: int) -> None:
        """The transaction's own signature (transactions.md §3 step 5), tx `index` in the block."""
        self._record((key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature), index, _TX_SIGNATURE)

    def add_check(
        self, key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature, *,
        index: int, code: str, field: str, **fields: object,
    ) -> None:
        """A signature check of the transaction at `index`, failing it with `code` and `field`."""
        self._record((key, purpose, chain_id, message, signature), index, (code, field, fields))

    def _record(self, item: Item, index: int, report: tuple[str, str, dict[str, object]]) -> None:
        self.items.append(item)
        self.tx_indexes.append(index)
        self._reports.append(report)
        if self._pool is not None and len(self.items) - self._sent >= self._batch:
            self._send(self._pool)

    def finish(self) -> None:
        """Send every check not yet sent (without a pool: verify them here, now)."""
        self._send(self._pool if self._pool is not None else SignaturePool(0))

    def done(self) -> bool:
        """Whether every check has been verified (after `finish`), without waiting."""
        self.finish()
        return combine(self._parts).done()

    def verify(self) -> None:
        """`finish()` and wait. Raises, for the first bad check in block order, the
        ValidationError that strict execution raises: its code, field `block.txs[<i>]`, `index` i
        and its explaining fields; CryptoError "crypto.worker_failed" if a worker stopped."""
        self.finish()
        try:
            combine(self._parts).result()
        except CryptoError as exc:
            if "index" not in exc.fields:
                raise
            raise self._error(int(exc.fields["index"]), exc) from exc  # type: ignore[call-overload]

    def _send(self, pool: SignaturePool) -> None:
        if self._sent < len(self.items):
            self._parts.append(pool.submit(self.items[self._sent :], offset=self._sent))
            self._sent = len(self.items)

    def _error(self, item: int, cause: CryptoError) -> ValidationError:
        i = self.tx_indexes[item]
        code, field, fields = self._reports[item]
        return ValidationError(f"block.txs[{i}]: {field}: signature does not verify: {cause}", code=code, field=f"block.txs[{i}]", index=i, **fields)


_TX_SIGNATURE: tuple[str, str, dict[str, object]] = ("tx.bad_signature", "tx.signature", {})


@dataclass(frozen=True)
class TxKind:
    """A transaction kind: its name, the roles allowed to sign it, and its handler.

    A `sealed` kind's envelope signature is a seal signature whose statement the handler
    rebuilds from the body (transactions.md §5): step 5 is then the handler's, which must check
    `tx.signature` by `tx.signer` through `TxView.verify_signature`."""

    name: str
    roles: frozenset[Role]
    handler: Handler
    sealed: bool = False


_KINDS: dict[str, TxKind] = {}


def register(kind: TxKind) -> TxKind:
    """Add a kind to the registry (each domain module registers its kinds at import)."""
    if kind.name in _KINDS:
        raise ValueError(f"transaction kind {kind.name} registered twice")
    _KINDS[kind.name] = kind
    return kind


DOMAIN_MODULES = ("ledger.anchors", "ledger.governance", "ledger.seals", "ledger.licences", "ledger.evidence", "ledger.uses", "ledger.scenarios")


def _load_domain() -> None:
    """Import the modules that register transaction kinds (once; later calls are cheap)."""
    if not _loaded:
        for name in DOMAIN_MODULES:
            importlib.import_module(name)
        _loaded.append(True)


_loaded: list[bool] = []


def execute_tx(
    state: State, tx: Tx, ctx: Context, committed: Callable[[bytes], bool], in_block: set[bytes],
    deferred: DeferredSignatures | None = None, index: int = 0, cache: SignatureCache | None = None,
) -> None:
    """Execute one transaction into `state` or raise ValidationError (state unchanged).

    With `deferred`, the signature checks (step 5 and those the handler asks for) are recorded
    there instead of done here. With `cache`, checks it holds are skipped and checks verified
    here are added to it."""
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
    key = signer.public_key
    if kind.sealed:
        pass  # step 5 is the handler's (a sealed kind, transactions.md §5)
    elif deferred is not None:
        if cache is None or (key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature) not in cache:
            deferred.add(key, tx, index)
    else:
        try:
            if cache is None or key.key_id != tx.signer:
                tx.verify_signature(key)
            else:
                cache.check(key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature)
        except CryptoError as exc:
            raise ValidationError(f"signature does not verify: {exc}", code="tx.bad_signature", field="tx.signature") from exc
    view = TxView(state, deferred, index, cache)
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
    deferred: DeferredSignatures | None = None, cache: SignatureCache | None = None,
) -> tuple[list[Tx], list[Rejected]]:
    """Execute `txs` in order. With `strict`, the first failure raises (validating a block) as
    ValidationError with the transaction's code, field `block.txs[<i>]`, `index` i and its
    explaining fields; otherwise failures are collected and skipped (a proposer building a block).
    `deferred` (strict only) collects signature checks for the caller to verify; `cache` skips
    the checks it holds and keeps those verified inline (`execute_tx`)."""
    if deferred is not None and not strict:
        raise ValueError("deferred signature checks need strict execution")
    accepted: list[Tx] = []
    rejected: list[Rejected] = []
    in_block: set[bytes] = set()
    for i, tx in enumerate(txs):
        try:
            # The index is the position the transaction takes in the block: a proposer leaves
            # failing transactions out, so it is the count accepted so far (strict: always i).
            execute_tx(state, tx, ctx, committed, in_block, deferred, len(accepted), cache)
        except ValidationError as exc:
            if strict:
                explaining = {k: v for k, v in exc.fields.items() if k not in ("field", "index")}
                raise ValidationError(f"block.txs[{i}]: {exc}", code=exc.code, field=f"block.txs[{i}]", index=i, **explaining) from exc
            rejected.append(Rejected(tx, exc))
            continue
        accepted.append(tx)
    return accepted, rejected
