"""The use records (用证留痕) a node answered, kept on its disk until the ledger holds them
(docs/spec/domain.md §10, docs/node.md "Use records").

When the API process reports verifications, `record` gives each record this node's name and the
next sequence number, appends them all to HOME/uses.journal (the WAL's CRC-framed records, one
canonical record each) and syncs the file once for the whole group, and only then signs their
receipts: a receipt never leaves for a record the node could lose. The same thread then packs
the records into `use.record` transactions signed by the validator key (`pack`: full ones at
once, a partial one when its oldest record has waited PACK_AFTER_S or the thread is idle), so
the consensus loop only `take`s a few ready transactions at a time and admits them: no check,
encoding or signing of records runs there. After each commit `settle` forgets what the state
now records; records whose transaction left the mempool without being committed are packed
again. The file is rewritten with only the unrecorded records once most of it is recorded. On
restart the records the state does not hold are pending again, and numbering resumes after the
highest seq seen.

Thread-safe: `record` and `pack` run on the gateway's journal thread, `take`, `release` and
`settle` on the loop; the lock is never held while signing. Never renumbers a record, never
signs a receipt before its record is synced, never logs one.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ledger.crypto import PrivateKey
from ledger.encoding import decode, encode
from ledger.errors import LedgerError
from ledger.files import sync_directory
from ledger.receipt import sign_receipt
from ledger.tx import NONCE_SIZE, Tx
from ledger.uses import MAX_RECORDS, check_record, pack_records, record_tx
from node.wal import FILE_MODE, encode_record, scan_records

JOURNAL_FILE = "uses.journal"
#: use.record transactions are packed to this size: a committed receipt carries its whole
#: transaction (receipts.md), so 16 KiB (about 35 records) keeps it near 19 KB.
TX_BYTES = 16 * 1024
#: At most this many use.record transactions of this node in flight at once.
MAX_IN_FLIGHT_TXS = 64
#: A partial transaction is packed once its oldest record has waited this long.
PACK_AFTER_S = 0.2
#: Rewrite the journal once this many of its records are recorded on the ledger.
COMPACT_AFTER = 10_000


class UseJournal:
    """The journal of node `node` at `home`, signing transactions and receipts with `key` for
    chain `chain_id`. `recorded` gives the seq ranges the committed state records for the node
    (ledger.uses.recorded_ranges). Raises WalError "wal.corrupt" for a damaged journal."""

    def __init__(self, home: Path, node: str, key: PrivateKey, chain_id: str, recorded: Sequence[tuple[int, int]], entropy: Callable[[int], bytes] = os.urandom) -> None:
        self.path = home / JOURNAL_FILE
        self.node = node
        self._key = key
        self.chain_id = chain_id
        self._entropy = entropy
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, object]] = {}  # seq -> record, not recorded on the ledger; in seq order
        self._loose: dict[int, dict[str, object]] = {}  # pending, in no transaction yet
        self._loose_since: float | None = None  # when the oldest loose record became loose
        self._ready: deque[tuple[Tx, list[int]]] = deque()  # packed, not offered yet
        self._in_flight: dict[bytes, list[int]] = {}  # tx id -> seqs it carries
        self._journaled = 0
        self._next = 0
        self._load(recorded)
        self._file = open(self.path, "ab")
        os.chmod(self.path, FILE_MODE)
        self.pack()

    @property
    def next_seq(self) -> int:
        return self._next

    def __len__(self) -> int:
        """Records not yet recorded on the ledger."""
        return len(self._pending)

    # -- the journal thread ---------------------------------------------------------------------

    def record(self, batches: Sequence[Sequence[dict[str, object]]], now: int | None = None) -> list[list[dict[str, object]] | LedgerError]:
        """Journal every batch of records (each its own answer) with one sync, then sign their
        receipts and pack what makes full transactions. A batch holding a malformed record is
        refused whole (its ValidationError) and journals nothing; the others are not affected."""
        out: list[list[dict[str, object]] | LedgerError] = []
        accepted: list[list[dict[str, object]]] = []
        with self._lock:
            seq = self._next
            for batch in batches:
                try:
                    checked = [check_record({**r, "node": self.node, "seq": seq + i}, f"records[{i}]") for i, r in enumerate(batch)]
                except LedgerError as exc:
                    out.append(exc)
                    continue
                seq += len(checked)
                accepted.append(checked)
                out.append(checked)
            records = [r for batch in accepted for r in batch]
            if records:
                self._file.write(b"".join(encode_record(encode(r)) for r in records))
                self._file.flush()
                os.fsync(self._file.fileno())
                self._next = seq
                self._journaled += len(records)
                for r in records:
                    self._pending[r["seq"]] = r  # type: ignore[index]
                    self._loose[r["seq"]] = r  # type: ignore[index]
                if self._loose_since is None:
                    self._loose_since = time.monotonic()
        answers = [item if isinstance(item, LedgerError) else [sign_receipt(r, self._key, self.chain_id, checked=True).to_json() for r in item] for item in out]
        self.pack(partial=False)
        return answers

    def pack(self, *, partial: bool = True) -> int:
        """Pack the loose records into ready transactions: every full one, and the last, partial
        one too when `partial` or when its oldest record has waited PACK_AFTER_S. Signs outside
        the lock. Returns the number of transactions packed."""
        with self._lock:
            if not self._loose:
                return 0
            batches = pack_records([self._loose[s] for s in sorted(self._loose)], max_bytes=TX_BYTES, checked=True)
            waited = self._loose_since is not None and time.monotonic() - self._loose_since >= PACK_AFTER_S
            if not (partial or waited) and _may_grow(batches[-1]):
                batches.pop()
            for batch in batches:
                for r in batch:
                    del self._loose[r["seq"]]  # type: ignore[arg-type]
            if not self._loose:
                self._loose_since = None
        packed = [(record_tx(self.chain_id, self._key, batch, self._entropy(NONCE_SIZE), checked=True), [r["seq"] for r in batch]) for batch in batches]
        with self._lock:
            for tx, seqs in packed:
                if all(s in self._pending for s in seqs):
                    self._ready.append((tx, seqs))  # type: ignore[arg-type]
                else:  # recorded meanwhile (a transaction from before a restart): pack the rest again
                    self._make_loose(seqs)  # type: ignore[arg-type]
        return len(packed)

    @property
    def loose(self) -> int:
        """Records in no transaction yet (the journal thread packs them)."""
        return len(self._loose)

    # -- the consensus loop -----------------------------------------------------------------------

    def take(self, in_mempool: Callable[[bytes], bool], limit: int = MAX_IN_FLIGHT_TXS) -> list[Tx]:
        """At most `limit` packed use.record transactions to admit, keeping at most
        MAX_IN_FLIGHT_TXS in flight. A transaction in flight that is no longer `in_mempool` (and
        not committed: `settle` runs first) leaves its records loose, to be packed again."""
        with self._lock:
            for tx_id in [t for t in self._in_flight if not in_mempool(t)]:
                self._make_loose(self._in_flight.pop(tx_id))
            room = min(limit, MAX_IN_FLIGHT_TXS - len(self._in_flight))
            txs: list[Tx] = []
            while self._ready and len(txs) < room:
                tx, seqs = self._ready.popleft()
                if not all(s in self._pending for s in seqs):
                    self._make_loose(seqs)
                    continue
                self._in_flight[tx.id] = seqs
                txs.append(tx)
            return txs

    def release(self, tx: Tx) -> None:
        """A taken transaction was not admitted (a full mempool, say): it is offered again
        first, as it is."""
        with self._lock:
            seqs = self._in_flight.pop(tx.id, None)
            if seqs is not None:
                self._ready.appendleft((tx, seqs))

    def settle(self, recorded: Sequence[tuple[int, int]]) -> None:
        """Forget the records the committed state records (its seq ranges for this node), and
        rewrite the journal when most of it is recorded. Costs what the pending span holds, not
        what the ledger ever recorded."""
        with self._lock:
            if not self._pending:
                return
            low, high = next(iter(self._pending)), next(reversed(self._pending))
            done = [s for first, last in recorded for s in range(max(first, low), min(last, high) + 1) if s in self._pending]
            for s in done:
                del self._pending[s]
                self._loose.pop(s, None)
            if done:
                for tx_id, seqs in list(self._in_flight.items()):
                    if all(s not in self._pending for s in seqs):
                        del self._in_flight[tx_id]
                if not self._loose:
                    self._loose_since = None
            if self._journaled - len(self._pending) >= COMPACT_AFTER:
                self._compact()

    def _make_loose(self, seqs: Iterable[int]) -> None:
        """(Under the lock.) The still pending of `seqs` are in no transaction again."""
        for s in seqs:
            record = self._pending.get(s)
            if record is not None:
                self._loose[s] = record
        if self._loose and self._loose_since is None:
            self._loose_since = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    # -- the file -------------------------------------------------------------------------------

    def _load(self, recorded: Sequence[tuple[int, int]]) -> None:
        highest = max((last for _, last in recorded), default=-1)
        if self.path.exists():
            data = self.path.read_bytes()
            payloads, intact = scan_records(data)
            if intact < len(data):  # a torn last append: its receipt never left
                with open(self.path, "r+b") as f:
                    f.truncate(intact)
                    f.flush()
                    os.fsync(f.fileno())
            for payload in payloads:
                record = decode(payload)
                seq = record["seq"]  # type: ignore[index]
                highest = max(highest, seq)  # type: ignore[type-var]
                if not record.get("placeholder") and not _covered(recorded, seq):  # type: ignore[union-attr,arg-type]
                    self._pending[seq] = record  # type: ignore[index,assignment]
                    self._loose[seq] = record  # type: ignore[index,assignment]
            self._journaled = len(payloads)
        self._next = highest + 1

    def _compact(self) -> None:
        """Rewrite the journal with the pending records and the highest seq (atomically)."""
        keep = [self._pending[s] for s in sorted(self._pending)]
        last = self._next - 1
        if not keep or keep[-1]["seq"] != last:
            # The highest seq must survive, or a restart could number a new record as an old one:
            # a placeholder entry keeps it (never a record, never pending).
            keep.append({"node": self.node, "seq": last, "placeholder": True})
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(encode_record(encode(r)) for r in keep))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        self._file.close()
        os.replace(tmp, self.path)
        sync_directory(self.path.parent)
        self._file = open(self.path, "ab")
        self._journaled = len(self._pending)


def _may_grow(batch: Sequence[object]) -> bool:
    """Whether a packed batch might take more records: `pack_records` closes every batch but
    the last because the next record did not fit, so only the last can be partial."""
    return len(batch) < MAX_RECORDS


def _covered(ranges: Iterable[tuple[int, int]], seq: int) -> bool:
    return any(first <= seq <= last for first, last in ranges)

