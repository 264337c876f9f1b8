"""Use records (用证留痕) on the ledger: kind `use.record` and its reads (docs/spec/domain.md §10).

A node that answers a verification for a partner or staff caller journals one use record (who
asked, why, which licence, the verdict and the height it reflects) and later submits its
records in batches as `use.record` transactions signed by its validator key. Every validator
executes them, so every node can list where a licence was used and the audit re-checks them.

State keeps one value per node, `use/<node>` = the coalesced ranges of sequence numbers already
recorded, so a record is committed once and execution writes one tree value per transaction,
whatever the number of records. Each record goes to two secondary indexes beside the state:
`use/<licence id>/<node>/<seq>` (the record) and `usenode/<node>/<seq>` (its place).

Records never carry personal data of a holder (a licence id and regions are not). Handlers read
and write only through their TxView and never read the clock.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ledger.chain import REGION_PREFIX
from ledger.crypto import PrivateKey, Suite
from ledger.encoding import decode, encode
from ledger.errors import StoreError, ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list, get_str
from ledger.identity import Identity, Role
from ledger.ids import parse_licence_id
from ledger.kv import KVReader
from ledger.state import INDEX_PREFIX
from ledger.tx import KEY_ID_SIZE, MAX_TX_BYTES, NONCE_SIZE, Tx
from ledger.validators import NAME_RE

if TYPE_CHECKING:
    from ledger.view import ChainView

KIND = "use.record"
MAX_RECORDS = 256
MAX_RANGES = 64
MAX_LIST = 1000
SEQ_DIGITS = 20

STATE_PREFIX = b"use/"
LICENCE_INDEX = b"use/"
NODE_INDEX = b"usenode/"

CALLER_ROLES = frozenset({"partner", "staff", "issuer", "auditor", "region-admin"})
PRESENTED = frozenset({"id", "document", "qr"})
VERDICTS = frozenset({"valid", "invalid", "indeterminate"})

ITEM_CODE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
ITEM_NAME_RE = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
SERIAL_RE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
CALLER_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # pki.md §2.1

_RECORD_FIELDS = ("asking_region", "caller", "height", "licence_id", "node", "presented", "purpose", "seq", "time", "verdict")
_CALLER_FIELDS = ("certificate", "name", "region", "role")
_PURPOSE_FIELDS = ("item_code", "item_name", "serial")
_WHERE = "tx.body"


class Place(NamedTuple):
    """Where a committed record is: block `height`, transaction `tx_index` in that block, record
    `record_index` in that transaction's `records`."""

    height: int
    tx_index: int
    record_index: int


# -- records ------------------------------------------------------------------------------------


def check_record(obj: object, where: str) -> dict[str, object]:
    """The use record `obj` (§10.1), checked, as a new dict in canonical member order.

    Raises ValidationError naming `<where>.<member>`: the field readers' `validation.*` codes
    (unknown or missing member, type, length, range, format), "use.bad_role",
    "use.bad_presented", "use.bad_verdict", and the `ids.*` codes of a malformed licence id.
    Checks form only: whether the node, the regions and the height fit the ledger is execution's.
    """
    r = expect_object(obj, where)
    expect_keys(r, where, _RECORD_FIELDS)
    caller = expect_object(r["caller"], f"{where}.caller")
    expect_keys(caller, f"{where}.caller", _CALLER_FIELDS)
    purpose = expect_object(r["purpose"], f"{where}.purpose")
    expect_keys(purpose, f"{where}.purpose", _PURPOSE_FIELDS)
    at = f"{where}.caller"
    get_bytes(caller, "certificate", at, size=32)
    role = _one_of(caller, "role", at, CALLER_ROLES, "use.bad_role")
    checked_caller = {
        "certificate": caller["certificate"],
        "name": get_str(caller, "name", at, pattern=CALLER_NAME_RE, max_len=63),
        "region": get_str(caller, "region", at, pattern=NAME_RE, max_len=32),
        "role": role,
    }
    at = f"{where}.purpose"
    checked_purpose = {
        "item_code": get_str(purpose, "item_code", at, pattern=ITEM_CODE_RE, max_len=64),
        "item_name": get_str(purpose, "item_name", at, pattern=ITEM_NAME_RE, max_len=128),
        "serial": get_str(purpose, "serial", at, pattern=SERIAL_RE, max_len=64),
    }
    licence_id = r["licence_id"]
    parse_licence_id(licence_id, f"{where}.licence_id")
    return {
        "asking_region": get_str(r, "asking_region", where, pattern=NAME_RE, max_len=32),
        "caller": checked_caller,
        "height": get_int(r, "height", where, minimum=1),
        "licence_id": licence_id,
        "node": get_str(r, "node", where, pattern=NAME_RE, max_len=32),
        "presented": _one_of(r, "presented", where, PRESENTED, "use.bad_presented"),
        "purpose": checked_purpose,
        "seq": get_int(r, "seq", where),
        "time": get_int(r, "time", where),
        "verdict": _one_of(r, "verdict", where, VERDICTS, "use.bad_verdict"),
    }


def _one_of(obj: dict[str, object], key: str, where: str, allowed: frozenset[str], code: str) -> str:
    value = get_str(obj, key, where, max_len=32)
    if value not in allowed:
        raise ValidationError(f"{where}.{key} must be one of {', '.join(sorted(allowed))}", code=code, field=f"{where}.{key}")
    return value


def format_use_id(record: Mapping[str, object]) -> str:
    """The text that names a record and its receipt: `<node>:<seq>` (receipts.md §1)."""
    return f"{record['node']}:{record['seq']}"


def parse_use_id(text: object, field: str = "id") -> tuple[str, int]:
    """(node, seq) of a record id `<node>:<seq>`; seq is decimal without leading zeros.

    Raises ValidationError "use.bad_id" naming `field`."""
    match = _RECORD_ID_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(2)) > _MAX_SEQ:
        raise ValidationError(f"{field} must be <node>:<seq>, e.g. beijing-1:42, got {str(text)[:80]!r}", code="use.bad_id", field=field)
    return match.group(1), int(match.group(2))


_RECORD_ID_RE = re.compile(r"([a-z0-9][a-z0-9-]{0,31}):(0|[1-9][0-9]{0,15})")
_MAX_SEQ = (1 << 53) - 1


def _check_batch(records: Sequence[object], where: str) -> list[dict[str, object]]:
    """Each record checked, one node, seqs strictly increasing (§10.2 steps 1–2)."""
    checked: list[dict[str, object]] = []
    for i, obj in enumerate(records):
        at = f"{where}[{i}]"
        record = check_record(obj, at)
        if checked:
            if record["node"] != checked[0]["node"]:
                raise ValidationError(f"{at}.node is {record['node']}; every record of a transaction is of one node ({checked[0]['node']})", code="use.wrong_node", field=f"{at}.node")
            if record["seq"] <= checked[-1]["seq"]:  # type: ignore[operator]
                raise ValidationError(f"{at}.seq must be greater than the seq before it ({checked[-1]['seq']})", code="use.seq_order", field=f"{at}.seq")
        checked.append(record)
    return checked


#: The checked records of the last use.record transactions executed, by transaction id. The id
#: hashes the body, and the form check reads nothing but the body, so a transaction admitted to
#: the mempool, re-checked after a commit and executed in a block has its records checked once.
_CHECKED: OrderedDict[bytes, list[dict[str, object]]] = OrderedDict()
_CHECKED_MAX = 256
_CHECKED_LOCK = threading.Lock()


def _checked_batch(tx_id: bytes, items: Sequence[object], where: str) -> list[dict[str, object]]:
    """`_check_batch(items, where)` for the body of transaction `tx_id`, remembered when it
    passes (a failure is checked again, so its error is always the first one found)."""
    with _CHECKED_LOCK:
        records = _CHECKED.get(tx_id)
        if records is not None:
            _CHECKED.move_to_end(tx_id)
            return records
    records = _check_batch(items, where)
    with _CHECKED_LOCK:
        _CHECKED[tx_id] = records
        while len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)
    return records


def record_tx(chain_id: str, key: PrivateKey, records: Sequence[Mapping[str, object]], nonce: bytes, *, checked: bool = False) -> Tx:
    """A `use.record` transaction of `records` (1..MAX_RECORDS of one node, seqs increasing),
    signed by the node's validator `key` with the caller's 16-byte random `nonce`. With
    `checked`, the records are `pack_records` batches (checked, of one node, in seq order) and
    are not checked again.

    Raises ValidationError as execution would for the records' form ("validation.length" for
    no or too many records, `check_record`'s codes, "use.wrong_node", "use.seq_order") and
    "tx.too_large" for a batch that does not fit one transaction (see `pack_records`)."""
    where = f"{_WHERE}.records"
    if not 1 <= len(records) <= MAX_RECORDS:
        raise ValidationError(f"{where} must hold 1..{MAX_RECORDS} records, got {len(records)}", code="validation.length", field=where)
    body = list(records) if checked else _check_batch(records, where)
    return Tx.create(chain_id, KIND, {"records": body}, key, nonce)


def _envelope_bytes() -> int:
    """Bytes of a `use.record` transaction with no records, at the longest chain id and suite."""
    longest_suite = max((s.value for s in Suite), key=len)
    empty = {
        "body": {"records": []}, "chain_id": "c" * 50, "kind": KIND, "nonce": bytes(NONCE_SIZE),
        "signature": {"suite": longest_suite, "value": bytes(64)}, "signer": bytes(KEY_ID_SIZE),
    }
    return len(encode(empty))


_ENVELOPE_BYTES = _envelope_bytes()


def pack_records(records: Iterable[Mapping[str, object]], *, max_bytes: int = MAX_TX_BYTES, checked: bool = False) -> list[list[dict[str, object]]]:
    """`records`, in the order given, cut into batches that each fit one `use.record`
    transaction: at most MAX_RECORDS records and `max_bytes` encoded bytes (the genesis
    `max_tx_bytes`) whatever the chain id and signature suite. Each record is checked
    (`check_record`, where `records[i]`) unless `checked` says they are `check_record`'s
    output already; the batches are the checked records."""
    batches: list[list[dict[str, object]]] = []
    current: list[dict[str, object]] = []
    size = _ENVELOPE_BYTES
    for i, obj in enumerate(records):
        record = dict(obj) if checked else check_record(obj, f"records[{i}]")
        length = len(encode(record))
        if current and (len(current) == MAX_RECORDS or size + 1 + length > max_bytes):
            batches.append(current)
            current, size = [], _ENVELOPE_BYTES
        extra = length + (1 if current else 0)  # a comma before every record but the first
        if size + extra > max_bytes:
            raise ValidationError(f"records[{i}] alone does not fit a transaction of {max_bytes} bytes", code="tx.too_large", field=f"records[{i}]")
        current.append(record)
        size += extra
    if current:
        batches.append(current)
    return batches


# -- recorded ranges ------------------------------------------------------------------------------


def use_state_key(node: str) -> bytes:
    """The state key of a node's recorded ranges: b"use/" + node."""
    return STATE_PREFIX + node.encode("ascii")


def recorded_ranges(reader: KVReader, node: str) -> list[tuple[int, int]]:
    """The inclusive seq ranges of `node`'s records committed in the state `reader` reads,
    sorted, disjoint and coalesced (§10.3); [] for a node that recorded nothing."""
    raw = reader.get(use_state_key(node))
    if raw is None:
        return []
    return [(first, last) for first, last in decode(raw)["ranges"]]  # type: ignore[index, union-attr, misc]


def is_recorded(reader: KVReader, node: str, seq: int) -> bool:
    """Whether record `seq` of `node` is committed in the state `reader` reads."""
    return _covering(recorded_ranges(reader, node), seq) is not None


def _covering(ranges: Sequence[tuple[int, int]], seq: int) -> int | None:
    """The index of the range of `ranges` (sorted, disjoint) that holds `seq`, or None."""
    i = bisect.bisect_right(ranges, (seq, _MAX_SEQ + 1)) - 1
    return i if i >= 0 and ranges[i][0] <= seq <= ranges[i][1] else None


def merge_ranges(ranges: Iterable[tuple[int, int]], seqs: Iterable[int]) -> list[tuple[int, int]]:
    """`ranges` with `seqs` added, sorted and coalesced (adjacent or overlapping ranges become
    one). Precondition: `seqs` is increasing."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] + 1 == seq:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    merged: list[tuple[int, int]] = []
    for first, last in sorted([*ranges, *runs]):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


# -- execution (§10.2) ----------------------------------------------------------------------------


def _seq_key(node: str, seq: int) -> str:
    return f"{node}/{seq:0{SEQ_DIGITS}d}"


def _record(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    body = tx.body
    expect_keys(body, _WHERE, ("records",))
    where = f"{_WHERE}.records"
    items = get_list(body, "records", _WHERE, max_items=MAX_RECORDS)
    if not items:
        raise ValidationError(f"{where} must hold at least one record", code="validation.length", field=where)
    records = _checked_batch(tx.id, items, where)
    node = signer.name
    if records[0]["node"] != node:
        raise ValidationError(f"{where}[0].node is {records[0]['node']}, but the transaction is signed by validator {node}", code="use.wrong_node", field=f"{where}[0].node")
    regions: dict[str, bool] = {}
    for i, record in enumerate(records):
        at = f"{where}[{i}]"
        if record["height"] >= ctx.height:  # type: ignore[operator]
            raise ValidationError(
                f"{at}.height {record['height']} is not a committed height before this block ({ctx.height})",
                code="use.bad_height", field=f"{at}.height", height=record["height"],
            )
        for field, region in (("caller.region", record["caller"]["region"]), ("asking_region", record["asking_region"])):  # type: ignore[index]
            known = regions.get(region)  # type: ignore[arg-type]
            if known is None:
                known = regions[region] = view.get(REGION_PREFIX + region.encode("ascii")) is not None  # type: ignore[attr-defined, index]
            if not known:
                raise ValidationError(f"{at}.{field}: {region} is not a region of this chain", code="use.unknown_region", field=f"{at}.{field}")
    ranges = recorded_ranges(view, node)
    seqs = [record["seq"] for record in records]
    for i, seq in enumerate(seqs):
        if _covering(ranges, seq) is not None:  # type: ignore[arg-type]
            raise ValidationError(f"{where}[{i}]: record {node}:{seq} is already recorded", code="use.exists", field=f"{where}[{i}].seq", seq=seq)
    merged = merge_ranges(ranges, seqs)  # type: ignore[arg-type]
    if len(merged) > MAX_RANGES:
        raise ValidationError(
            f"{where}: after this transaction {node}'s records would leave {len(merged)} separate seq ranges; at most {MAX_RANGES}: submit the missing seqs first",
            code="use.too_many_gaps", field=where, ranges=len(merged),
        )
    view.put(use_state_key(node), {"ranges": [list(r) for r in merged]})
    place = ctx.height.to_bytes(8, "big") + view.position.to_bytes(4, "big")
    for i, record in enumerate(records):
        tail = _seq_key(node, record["seq"])  # type: ignore[arg-type]
        view.index(LICENCE_INDEX + f"{record['licence_id']}/{tail}".encode("ascii"), encode(record))
        view.index(NODE_INDEX + tail.encode("ascii"), place + i.to_bytes(4, "big"))


register(TxKind(KIND, frozenset({Role.VALIDATOR}), _record))


# -- reads ----------------------------------------------------------------------------------------


def list_uses(view: ChainView, licence_id: str, *, after: str | None = None, limit: int) -> tuple[list[dict[str, object]], str | None]:
    """The committed use records of `licence_id` (any version's id, as recorded), ordered by
    node and seq: at most `limit` (1..MAX_LIST) records after the record id `after` (a cursor
    `<node>:<seq>`, as returned), and the cursor for the next page (None: no more).

    Raises the `ids.*` ValidationError of a malformed id, "use.bad_id" (field "after") for a
    malformed cursor, "validation.range" (field "limit")."""
    parse_licence_id(licence_id, "licence_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValidationError(f"limit must be 1..{MAX_LIST}, got {limit!r}", code="validation.range", field="limit")
    prefix = LICENCE_INDEX + f"{licence_id}/".encode("ascii")
    start = None
    if after is not None:
        node, seq = parse_use_id(after, "after")
        start = prefix + _seq_key(node, seq).encode("ascii") + b"\x00"
    records: list[dict[str, object]] = []
    for _, value in view.iterate_index(prefix, start):
        if len(records) == limit:
            return records, format_use_id(records[-1])
        records.append(decode(value))  # type: ignore[arg-type]
    return records, None


def use_place(view: ChainView, node: str, seq: int) -> Place | None:
    """Where record `seq` of `node` was committed, as of the view's tip, or None."""
    raw = view.kv.get(INDEX_PREFIX + NODE_INDEX + _seq_key(node, seq).encode("ascii"))
    if raw is None:
        return None
    return Place(int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big"))


def find_record(view: ChainView, node: str, seq: int) -> tuple[dict[str, object], Place] | None:
    """The committed record `seq` of `node` and its place, read from its transaction, or None.

    Raises StoreError "store.missing_block" when the index names a transaction the store lacks,
    "store.corrupt_index" when that transaction holds no such record."""
    place = use_place(view, node, seq)
    if place is None:
        return None
    tx = view.tx(place.height, place.tx_index)
    records = tx.body.get("records")
    if tx.kind != KIND or not isinstance(records, list) or place.record_index >= len(records):
        raise StoreError(f"the use index names record {node}:{seq} at {tuple(place)}, where the store has none", code="store.corrupt_index", node=node, seq=seq)
    return records[place.record_index], place
