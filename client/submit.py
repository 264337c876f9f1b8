"""Submitting many transactions: in batches, in order, each committed before the next batch is
sent, retrying only what the API says may be retried (api.md §2.4) — what `eledger submit` and
the devnet seeding do.

A batch is sent with `wait=commit`. Its entries come back one by one:

- `committed` (or `accepted` when not waiting) is done; `timeout` is held by the node (still in
  its mempool, may still commit) and is never sent again as new (§2.4);
- `rejected` with `mempool.full` or `node.stopping` is sent again after the Retry-After those
  codes carry (1 s, §3.3), at most `entry_attempts` times in all;
- `rejected` by the ledger's rules for what the state holds (not a form error, `tx.replay` or
  `mempool.duplicate`) while an entry before it in the same request was committed is sent once
  more after that commit: the mempool checks each transaction alone against the committed state
  (consensus.md §7), so a transaction that needs an earlier one of its batch (an org.admit
  after its ltype.register) is refused until that one commits. Each such round commits at least
  one more entry, so the rounds end;
- `tx.replay` means the very transaction is committed already (by an earlier run, or by an
  earlier try of this request that the client retried after a 503): it is counted apart, as
  done; `mempool.duplicate` means a mempool holds it already: held;
- anything else is refused, with its problem.

So running the same file again is safe: what was committed is reported as already committed.

A refusal of the whole request (after the client's own bounded retries) stops the run: the
report says what was done and what was not sent. Never reorders transactions across batches,
never re-signs or alters one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from client.errors import ClientError, ProblemError
from client.http import MAX_BATCH_BYTES, MAX_BATCH_TXS, ApiClient, Submitted
from ledger.tx import Tx

#: api.md §2.4: the entry codes a client sends again, and the Retry-After they come with (§3.3).
RETRY_CODES = frozenset({"mempool.full", "node.stopping"})
RETRY_AFTER_S = 1.0
#: Refusals that no earlier transaction can change: the entry's form, or it is already known.
_FINAL_PREFIXES = ("validation.", "encoding.", "crypto.", "api.")
_FINAL_CODES = frozenset({
    "tx.too_large", "mempool.too_large", "tx.wrong_chain", "tx.unknown_kind", "tx.bad_signature", "tx.bad_signature_form",
    "tx.replay", "mempool.duplicate", "mempool.dropped",
})
#: The outcome statuses of a transaction (Outcome.status).
STATUSES = ("committed", "already", "accepted", "held", "refused")
#: Bytes of `{"txs":[` ... `]}` around the entries of a batch body.
_BATCH_FRAME = 16


def depends_on_state(code: str) -> bool:
    """Whether a refusal with `code` may go away once other transactions commit."""
    return code not in _FINAL_CODES and not code.startswith(_FINAL_PREFIXES) and code not in RETRY_CODES


@dataclass(frozen=True)
class Outcome:
    """What became of one transaction: `where` it came from (e.g. "line 7"), its id and kind,
    `status` ("committed" by this run, with its place; "already" committed when sent; "accepted"
    into the mempool, not waited for; "held": in a mempool, not known committed; "refused"), and
    the problem that refused or held it."""

    where: str
    tx_id: bytes
    kind: str
    status: str
    height: int | None = None
    index: int | None = None
    error: ProblemError | None = None


@dataclass
class Report:
    """The counts of a run, the transactions not done (held and refused, in input order), and
    why the run stopped early (`stopped`, None if it did not; `unsent` entries were never sent)."""

    committed: int = 0
    already: int = 0
    accepted: int = 0
    held: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)
    stopped: ClientError | None = None
    unsent: int = 0

    @property
    def done(self) -> int:
        return self.committed + self.already + self.accepted + len(self.held) + len(self.refused)

    @property
    def ok(self) -> bool:
        """Every transaction is committed (by this run or before it), or accepted when not
        waiting for commits."""
        return not self.held and not self.refused and self.stopped is None and not self.unsent

    def refused_by_code(self) -> list[tuple[str, int]]:
        """(code, count) of the refusals, most frequent first, then by code."""
        counts = Counter(o.error.code if o.error is not None else "?" for o in self.refused)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def add(self, outcome: Outcome) -> None:
        if outcome.status == "committed":
            self.committed += 1
        elif outcome.status == "already":
            self.already += 1
        elif outcome.status == "accepted":
            self.accepted += 1
        elif outcome.status == "held":
            self.held.append(outcome)
        else:
            self.refused.append(outcome)


@dataclass
class _Entry:
    where: str
    tx: Tx
    tries: int = 0  # times refused with a retry code


class Submitter:
    """Sends transactions through `client` as the module says. `wait`: wait for commits (else
    each batch only enters the mempool, and no dependent entry is sent again); `timeout_s` the
    commit wait of one request (0..60); `batch_txs` / `batch_bytes` bound a request;
    `entry_attempts` the tries of an entry refused with a retry code; `sleep` waits;
    `progress(outcomes)` is called with the outcomes of every finished request."""

    def __init__(
        self, client: ApiClient, *, wait: bool = True, timeout_s: float = 60.0, batch_txs: int = 500,
        batch_bytes: int = MAX_BATCH_BYTES - _BATCH_FRAME, entry_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep, progress: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        if not 1 <= batch_txs <= MAX_BATCH_TXS:
            raise ValueError(f"batch_txs must be 1..{MAX_BATCH_TXS}")
        if entry_attempts < 1:
            raise ValueError("entry_attempts must be at least 1")
        self.client = client
        self.wait = wait
        self.timeout_s = timeout_s
        self.batch_txs = batch_txs
        self.batch_bytes = batch_bytes
        self.entry_attempts = entry_attempts
        self._sleep = sleep
        self._progress = progress

    def submit(self, items: Iterable[tuple[str, Tx]], total: int | None = None) -> Report:
        """Send every (where, tx) of `items`, in order; the report. `total` (the number of
        items, if known) lets the report count what a stopped run left unsent. Raises nothing
        the client raises: a failed request stops the run (`Report.stopped`)."""
        report = Report()
        for batch in self._batches(items):
            try:
                self._send(batch, report)
            except ClientError as exc:
                report.stopped = exc
                break
        if report.stopped is not None and total is not None:
            report.unsent = max(total - report.done, 0)
        return report

    def _batches(self, items: Iterable[tuple[str, Tx]]) -> Iterator[list[_Entry]]:
        batch: list[_Entry] = []
        size = 0
        for where, tx in items:
            cost = len(tx.to_bytes()) + 1
            if batch and (len(batch) == self.batch_txs or size + cost > self.batch_bytes):
                yield batch
                batch, size = [], 0
            batch.append(_Entry(where, tx))
            size += cost
        if batch:
            yield batch

    def _send(self, pending: list[_Entry], report: Report) -> None:
        """Send `pending` until every entry has its outcome (the rounds of the module doc)."""
        while pending:
            results = self.client.submit_batch([e.tx for e in pending], wait=self.wait, timeout_s=self.timeout_s)
            again: list[_Entry] = []
            finished: list[Outcome] = []
            committed_before = False
            pause = False
            for entry, result in zip(pending, results):
                outcome = self._judge(entry, result, committed_before)
                if outcome is None:
                    again.append(entry)
                    pause = pause or (result.error is not None and result.error.code in RETRY_CODES)
                else:
                    finished.append(outcome)
                    report.add(outcome)
                committed_before = committed_before or result.status == "committed"
            if self._progress is not None and finished:
                self._progress(finished)
            if again and pause:
                self._sleep(RETRY_AFTER_S)
            pending = again

    def _judge(self, entry: _Entry, result: Submitted, committed_before: bool) -> Outcome | None:
        """The outcome of `entry` from `result`, or None to send it again."""
        tx = entry.tx

        def outcome(status: str, error: ProblemError | None = result.error, height: int | None = None, index: int | None = None) -> Outcome:
            return Outcome(entry.where, tx.id, tx.kind, status, height, index, error)

        if result.status == "committed":
            return outcome("committed", None, result.height, result.index)
        if result.status == "accepted":
            return outcome("accepted", None)
        if result.status == "timeout":
            return outcome("held")
        code = result.error.code if result.error is not None else ""
        if code == "tx.replay":
            return outcome("already")
        if code == "mempool.duplicate":
            return outcome("held")
        if code in RETRY_CODES:
            entry.tries += 1
            return None if entry.tries < self.entry_attempts else outcome("refused")
        if self.wait and committed_before and depends_on_state(code):
            return None
        return outcome("refused")
