"""What the explorer's pages read from one ChainView (issue 11 §2): a page of the latest
blocks, one block with its commit and validator set, one transaction with its place, the search
of a typed key, validators' health over the last blocks, the evidence the state holds, and the
rows of a CSV export. Every function takes the view its page made (one per request, in a worker
thread) and reads at most a bounded number of entries, whatever the chain's length.

Who may see what is not decided here (api.web.explorer.pages checks api.auth.ROUTES and
api.access first); this module only reads. Never reads the clock, never writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from api.web.explorer.sentences import Signer, describe, format_time
from ledger.encoding import b64decode, b64encode, decode, encode
from ledger.errors import LedgerError
from ledger.evidence import PREFIX as EVIDENCE_PREFIX
from ledger.hashing import tagged_hash
from ledger.governance import read_org
from ledger.identity import Identity, Role, key_state_key
from ledger.ids import LICENCE_ID_PREFIX, parse_licence_id, validate_uscc
from ledger.kv import KVReader
from ledger.pages import collect, start_after
from ledger.tx import Tx
from ledger.uses import parse_use_id
from ledger.view import ChainView

#: The explorer's page sizes (ledger.pages gives the listings' own bounds).
BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE = 20, 100
TXS_PER_BLOCK_ON_LIST = 5
TXS_PER_PAGE = 50
#: How far back a block hash is searched (there is no hash index): the latest blocks only.
HASH_SEARCH_BLOCKS = 1000
#: Health is computed from the commits of the latest blocks, at most this many.
HEALTH_BLOCKS, MAX_HEALTH_BLOCKS = 100, 1000
#: A CSV export covers at most this many blocks.
MAX_EXPORT_BLOCKS = 1000

_USE_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}:[0-9]{1,16}")
_B64_ID_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_HEX_ID_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class TxLine:
    """One transaction as a list shows it."""

    height: int
    index: int
    id: str
    kind: str
    sentence: dict[str, str]
    signer: Signer


@dataclass(frozen=True)
class BlockLine:
    height: int
    hash: str
    time: str
    time_ms: int
    proposer: str
    tx_count: int
    txs: list[TxLine] = field(default_factory=list)


def signer_of(state: KVReader, key_id: bytes) -> Signer:
    """Who the state says holds key `key_id` (an empty Signer for a key it does not know)."""
    raw = state.get(key_state_key(key_id))
    if raw is None:
        return Signer()
    identity = Identity.from_bytes(raw)
    name = identity.name
    if identity.role is Role.ISSUER:  # a department's key is named by its USCC: add the department's name
        org = read_org(state, identity.name)
        name = identity.name if org is None else f"{org['name']} {identity.name}"
    return Signer(name, identity.role.value, identity.region)


def tx_line(view: ChainView, state: KVReader, height: int, index: int, tx: Tx) -> TxLine:
    signer = signer_of(state, tx.signer)
    return TxLine(height, index, b64encode(tx.id), tx.kind, describe(tx.kind, tx.body, signer), signer)


def validator_names(view: ChainView) -> dict[bytes, str]:
    return {v.key_id: v.name for v in view.validators()}


def block_line(view: ChainView, height: int, *, txs: int = TXS_PER_BLOCK_ON_LIST) -> BlockLine | None:
    """Block `height` with its first `txs` transactions described (None above the tip)."""
    block, header_raw = view.block(height), view.header_bytes(height)
    if block is None or header_raw is None:
        return None
    names = validator_names(view)
    state = view.state()
    header = block.header
    lines = [tx_line(view, state, height, i, tx) for i, tx in enumerate(block.txs[:txs])]
    return BlockLine(
        height, b64encode(tagged_hash("header", header_raw)), format_time(header.time), header.time,
        names.get(header.proposer, b64encode(header.proposer)), len(block.txs), lines,
    )


def latest_blocks(view: ChainView, before: int | None, limit: int = BLOCKS_PER_PAGE) -> tuple[list[BlockLine], int | None]:
    """A page of blocks, newest first, below height `before` (None: from the tip), and the
    `before` of the next page (None: no older block)."""
    top = view.height if before is None else min(before - 1, view.height)
    bottom = max(1, top - limit + 1)
    lines = [line for h in range(top, bottom - 1, -1) if (line := block_line(view, h)) is not None]
    return lines, (bottom if bottom > 1 else None)


@dataclass(frozen=True)
class BlockDetail:
    line: BlockLine
    header: dict[str, object]
    commit_round: int | None
    signatures: list[dict[str, object]]
    validators: list[dict[str, object]]
    validators_match: bool
    offset: int
    next_offset: int | None


def block_detail(view: ChainView, height: int, offset: int = 0, limit: int = TXS_PER_PAGE) -> BlockDetail | None:
    """Block `height`: its header, the validators whose precommits its commit holds, the current
    validator set (and whether its hash is the block's `validators_hash`: no kind changes the
    set, so it is the block's unless the header says otherwise), and transactions
    `offset`..`offset + limit`."""
    block = view.block(height)
    if block is None:
        return None
    line = block_line(view, height, txs=0)
    assert line is not None
    state = view.state()
    txs = [tx_line(view, state, height, i, block.txs[i]) for i in range(offset, min(len(block.txs), offset + limit))]
    line = BlockLine(line.height, line.hash, line.time, line.time_ms, line.proposer, line.tx_count, txs)
    validators = view.validators()
    commit = view.commit(height)
    signed = set() if commit is None else {sig.validator for sig in commit.signatures}
    rows = [{"name": v.name, "region": v.region, "key_id": b64encode(v.key_id), "power": v.power, "signed": v.key_id in signed} for v in validators]
    header = {name: (b64encode(value) if isinstance(value, bytes) else value) for name, value in block.header.to_json().items()}
    more = offset + limit if offset + limit < len(block.txs) else None
    return BlockDetail(
        line, header, None if commit is None else commit.round, [r for r in rows if r["signed"]], rows,
        validators.hash() == block.header.validators_hash, offset, more,
    )


@dataclass(frozen=True)
class TxDetail:
    line: TxLine
    time: str
    log_index: int
    body: dict[str, object]
    raw: str


def tx_detail(view: ChainView, tx_id: bytes) -> TxDetail | None:
    """Committed transaction `tx_id` with its place (None if the chain does not hold it)."""
    place = view.tx_location(tx_id)
    if place is None:
        return None
    height, index = place
    tx = view.tx(height, index)
    header = view.header(height)
    assert header is not None
    raw = encode(tx.to_json()).decode("utf-8")
    return TxDetail(tx_line(view, view.state(), height, index, tx), format_time(header.time), view.log_index(height, index), tx.body, raw)


# -- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """Where a search leads (`url`), or why it leads nowhere (`miss`: an i18n key of the
    explorer and its values)."""

    url: str | None = None
    miss: str | None = None
    values: dict[str, object] = field(default_factory=dict)


def search(view: ChainView, q: str) -> Found:
    """Where the typed key `q` leads: a height, a block hash or transaction id (base64url, or
    hex), a licence id (its check character checked), a use record `<node>:<seq>`, or a USCC."""
    q = q.strip()
    if not q:
        return Found(miss="explorer.search_empty")
    if q.isdigit():
        height = int(q)
        if 1 <= height <= view.height:
            return Found(url=f"/explorer/blocks/{height}")
        return Found(miss="explorer.no_height", values={"height": q, "tip": view.height})
    if q.startswith(LICENCE_ID_PREFIX):
        try:
            parsed = parse_licence_id(q, "q")
        except LedgerError as exc:
            return Found(miss="explorer.bad_licence_id", values={"q": q, "error": str(exc)})
        return Found(url=f"/explorer/licences/{parsed.text}")
    if _USE_ID_RE.fullmatch(q):
        try:
            parse_use_id(q, "q")
        except LedgerError as exc:
            return Found(miss="explorer.bad_use_id", values={"q": q, "error": str(exc)})
        return Found(url=f"/explorer/uses/{q}")
    if len(q) == 18:
        try:
            return Found(url=f"/explorer/departments/{validate_uscc(q, 'q')}")
        except LedgerError:
            pass
    wanted = _as_hash(q)
    if wanted is not None:
        if view.tx_location(wanted) is not None:
            return Found(url=f"/explorer/transactions/{b64encode(wanted)}")
        height = find_block_hash(view, wanted)
        if height is not None:
            return Found(url=f"/explorer/blocks/{height}")
        return Found(miss="explorer.no_hash", values={"q": q, "blocks": min(HASH_SEARCH_BLOCKS, view.height)})
    return Found(miss="explorer.not_understood", values={"q": q})


def _as_hash(q: str) -> bytes | None:
    if _HEX_ID_RE.fullmatch(q):
        return bytes.fromhex(q)
    if _B64_ID_RE.fullmatch(q):
        try:
            value = b64decode(q, field="q")
        except LedgerError:
            return None
        return value if len(value) == 32 else None
    return None


def find_block_hash(view: ChainView, block_hash: bytes) -> int | None:
    """The height of the block whose header hashes to `block_hash`, among the latest
    HASH_SEARCH_BLOCKS blocks (there is no index by hash); None if none of them."""
    for height in range(view.height, max(0, view.height - HASH_SEARCH_BLOCKS), -1):
        raw = view.header_bytes(height)
        if raw is not None and tagged_hash("header", raw) == block_hash:
            return height
    return None


# -- validators' health -----------------------------------------------------------------------------


def validator_health(view: ChainView, blocks: int = HEALTH_BLOCKS) -> tuple[list[dict[str, object]], int, int]:
    """For each validator of the current set: the last height (of the latest `blocks`) whose
    commit holds its precommit, how many of those commits lack it, and how many of those blocks
    it proposed. Returns the rows and the range of heights looked at (first, last; 0, 0 before
    any block)."""
    validators = list(view.validators())
    last = view.height
    first = max(1, last - blocks + 1)
    stats = {v.key_id: {"last_signed": None, "missed": 0, "proposed": 0} for v in validators}
    for height in range(first, last + 1) if last else ():
        commit, header = view.commit(height), view.header(height)
        signed = set() if commit is None else {sig.validator for sig in commit.signatures}
        for key_id, row in stats.items():
            if key_id in signed:
                row["last_signed"] = height
            else:
                row["missed"] += 1  # type: ignore[operator]
        if header is not None and header.proposer in stats:
            stats[header.proposer]["proposed"] += 1  # type: ignore[operator]
    rows = [{"name": v.name, "region": v.region, "key_id": b64encode(v.key_id), "power": v.power, **stats[v.key_id]} for v in validators]
    return rows, (first if last else 0), last


def evidence_page(view: ChainView, after: str | None, limit: int = 50) -> tuple[list[dict[str, object]], str | None]:
    """A page of the duplicate-vote evidence the state holds (ledger/evidence.py), by key."""
    names = validator_names(view)

    def item(key: bytes, raw: bytes) -> dict[str, object]:
        record = decode(raw)
        vote = record["vote_a"]  # type: ignore[index]
        validator = b64decode(vote["validator"]) if isinstance(vote["validator"], str) else vote["validator"]  # type: ignore[index]
        return {
            "validator": names.get(validator, b64encode(validator)), "height": vote["height"], "round": vote["round"],  # type: ignore[index]
            "type": vote["type"], "recorded_height": record["recorded_height"], "recorded_at": format_time(record["recorded_at"]),  # type: ignore[index]
            "tx": record["tx"] if isinstance(record["tx"], str) else b64encode(record["tx"]),  # type: ignore[index, arg-type]
        }

    return collect(view.iterate_state(EVIDENCE_PREFIX, start_after(EVIDENCE_PREFIX, after)), item, limit)


# -- export -----------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("height", "block_time", "index", "tx_id", "kind", "signer", "signer_role", "signer_region", "summary_zh", "summary_en")


def export_rows(view: ChainView, first: int, last: int) -> Iterator[tuple[object, ...]]:
    """One row per transaction of blocks `first`..`last` (within 1..tip), EXPORT_COLUMNS."""
    state = view.state()
    for height in range(first, last + 1):
        block = view.block(height)
        if block is None:
            continue
        when = format_time(block.header.time)
        for index, tx in enumerate(block.txs):
            line = tx_line(view, state, height, index, tx)
            yield (height, when, index, line.id, tx.kind, line.signer.name or b64encode(tx.signer), line.signer.role or "",
                   line.signer.region or "", line.sentence["zh"], line.sentence["en"])
