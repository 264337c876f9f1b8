"""`eledger submit FILE`: send signed transactions to a node and wait for their commits
(docs/client.md "Submitting"; the batching and retries are client.submit's).

FILE holds one transaction (a JSON object), a JSON array of them, or JSON lines, one transaction
a line, as `eledger tx --append` and `eledger licence import` write them. The whole file is read
and checked first (each entry is a well-formed transaction of one chain, none repeated, the
node is of that chain): a bad entry is named by its line or index and nothing is sent. Then the
transactions go in batches through POST /v1/transactions/batch, with a progress bar, and a
summary counts them by outcome and the refusals by code.

Exit codes: 0 every transaction is committed (by this run or before it); 1 one or more were
refused, are still held uncommitted, or were not sent (the summary says which); 2 unusable
input: the file, an entry, the profile or options, or a node of another chain. Never alters or
re-signs a transaction; never prints a document's personal data (transactions carry none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from client.errors import ClientError
from client.http import MAX_BATCH_TXS, MAX_COMMIT_WAIT_S
from client.submit import Outcome, Report, Submitter
from eledger.commands.connect import ApiOpt, CaOpt, CertOpt, KeyOpt, ProfileOpt, connect, describe, fail
from ledger.encoding import b64encode
from ledger.errors import EncodingError, LedgerError
from ledger.tx import Tx

#: A single object or an array is read whole: at most this many bytes (JSON lines stream).
MAX_DOCUMENT_BYTES = 256 << 20
#: Entries named in full in the summary; the rest are counted.
SHOWN = 20
_BOM = b"\xef\xbb\xbf"


class TransactionFile:
    """The transactions of FILE in order, as (where, Tx): "line N" in JSON lines, "entry N"
    (from 0) in an array, "the transaction" for one object. Iterable more than once (JSON lines
    are read again, not held in memory). Raises, when iterated, LedgerError (the entry's own
    error, its `where` prefixed) and OSError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        text = head.removeprefix(_BOM).lstrip()
        if not text:
            raise LedgerError(f"{path} holds no transaction", code="submit.empty_file")
        first_line = text.split(b"\n", 1)[0]
        if text[:1] == b"[":
            self.form = "array"
        elif text[:1] == b"{" and not _parses(first_line):
            self.form = "object"  # one object over several lines
        else:
            self.form = "lines"
        self._entries: list[object] | None = None

    def __iter__(self) -> Iterator[tuple[str, Tx]]:
        if self.form == "lines":
            yield from self._lines()
            return
        for where, obj in self._documents():
            yield where, _parse(obj, where)

    def _lines(self) -> Iterator[tuple[str, Tx]]:
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                line = line.removeprefix(_BOM) if number == 1 else line
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    tx = Tx.from_bytes(line.rstrip(b"\r\n"))
                except EncodingError:
                    tx = _parse(_load(line, where), where)  # valid JSON, not in canonical form
                except LedgerError as exc:
                    raise _at(where, exc) from exc
                yield where, tx

    def _documents(self) -> list[tuple[str, object]]:
        if self._entries is None:
            if self.path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise LedgerError(f"{self.path} is larger than {MAX_DOCUMENT_BYTES >> 20} MiB; write large sets as JSON lines", code="submit.too_large")
            obj = _load(self.path.read_bytes().removeprefix(_BOM), str(self.path))
            if self.form == "array" and not isinstance(obj, list):
                raise LedgerError(f"{self.path} is not a JSON array of transactions", code="submit.bad_file")
            self._entries = obj if isinstance(obj, list) else [obj]
        if self.form == "object":
            return [("the transaction", self._entries[0])]
        return [(f"entry {i}", obj) for i, obj in enumerate(self._entries)]


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _load(data: bytes, where: str) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LedgerError(f"{where}: not JSON: {exc}", code="submit.bad_json") from exc


def _parse(obj: object, where: str) -> Tx:
    try:
        return Tx.from_json(obj)
    except LedgerError as exc:
        raise _at(where, exc) from exc


def _at(where: str, exc: LedgerError) -> LedgerError:
    field = exc.fields.get("field")
    return LedgerError(f"{where}: {exc.code}: {exc}" + (f" (field {field})" if field else ""), code=exc.code, where=where)


def check_file(source: TransactionFile) -> tuple[int, str]:
    """Read every transaction once: their count and their chain id. Raises LedgerError naming
    the first bad entry, "submit.mixed_chains", "submit.repeated" (a transaction twice)."""
    seen: dict[bytes, str] = {}
    chains: dict[str, str] = {}
    for where, tx in source:
        if tx.id in seen:
            raise LedgerError(f"{where} repeats the transaction of {seen[tx.id]} (id {b64encode(tx.id)}); remove one", code="submit.repeated")
        seen[tx.id] = where
        chains.setdefault(tx.chain_id, where)
        if len(chains) > 1:
            (a, first), (b, second) = list(chains.items())[:2]
            raise LedgerError(f"{first} is for chain {a!r} but {second} for chain {b!r}; submit each chain's transactions to its own nodes", code="submit.mixed_chains")
    return len(seen), next(iter(chains))


def submit(
    file: Annotated[Path, typer.Argument(help="One transaction (JSON object), a JSON array of them, or JSON lines (what `eledger tx --append` and `eledger licence import` write).", dir_okay=False)],
    profile: ProfileOpt = None, api: ApiOpt = None, cert: CertOpt = None, key: KeyOpt = None, ca: CaOpt = None,
    batch: Annotated[int, typer.Option("--batch", min=1, max=MAX_BATCH_TXS, help="Transactions per request.")] = 500,
    timeout: Annotated[float, typer.Option("--timeout", min=0, max=MAX_COMMIT_WAIT_S, help="Seconds to wait for the commits of one request.")] = MAX_COMMIT_WAIT_S,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for each batch to be committed (needed when a transaction depends on an earlier one).")] = True,
) -> None:
    """Submit the signed transactions of FILE to a node, in batches and in order, each batch
    committed before the next; print a summary by outcome and by refusal code. Exit 0 all
    committed, 1 some refused, held or not sent, 2 unusable input."""
    connection = connect(profile, api, cert, key, ca)
    try:
        source = TransactionFile(file)
        total, chain_id = check_file(source)
    except OSError as exc:
        fail(2, f"cannot read {file}: {exc.strerror}")
    except LedgerError as exc:
        fail(2, f"{file}: {exc}" if exc.code.startswith("submit.") else str(exc))
    try:
        client = connection.client(timeout=30.0)
    except ClientError as exc:
        fail(2, describe(exc))
    with client:
        try:
            node_chain = client.status().get("chain_id")
        except ClientError as exc:
            fail(1, f"{connection.api_url}: {describe(exc)}")
        if node_chain != chain_id:
            fail(2, f"the transactions are for chain {chain_id!r} but the node at {connection.api_url} is of chain {node_chain!r}")
        err = Console(stderr=True)
        with Progress(TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), console=err, transient=True) as bar:
            task = bar.add_task("submit", total=total, detail="")
            counts = Report()

            def advance(outcomes: list[Outcome]) -> None:
                for outcome in outcomes:
                    counts.add(outcome)
                bar.update(task, advance=len(outcomes), detail=f"{counts.committed + counts.already} committed, {len(counts.refused)} refused")

            report = Submitter(client, wait=wait, timeout_s=timeout, batch_txs=batch, progress=advance).submit(source, total)
    show_report(Console(highlight=False, soft_wrap=True), report, total, connection.api_url)
    if not report.ok:
        raise typer.Exit(1)


def show_report(console: Console, report: Report, total: int, url: str) -> None:
    """The summary: counts by outcome, refusals by code with the first entries, held ones, and
    why the run stopped."""
    parts = [f"{report.committed} committed"]
    if report.already:
        parts.append(f"{report.already} already committed before")
    if report.accepted:
        parts.append(f"{report.accepted} accepted (not waited for)")
    if report.held:
        parts.append(f"{len(report.held)} held")
    if report.refused:
        parts.append(f"{len(report.refused)} refused")
    if report.unsent:
        parts.append(f"{report.unsent} not sent")
    console.print(f"{total} {'transaction' if total == 1 else 'transactions'} to {escape(url)}: {', '.join(parts)}")
    if report.refused:
        console.print("refused, by code:")
        for code, count in report.refused_by_code():
            console.print(f"  {escape(code)}: {count}")
        for outcome in report.refused[:SHOWN]:
            error = outcome.error
            console.print(f"  {escape(outcome.where)} ({escape(outcome.kind)}): {escape(error.describe() if error is not None else 'refused')}")
        _more(console, len(report.refused))
    if report.held:
        console.print("held: admitted but not known committed; they may still be committed (submitting the file again tells):")
        for outcome in report.held[:SHOWN]:
            console.print(f"  {escape(outcome.where)} ({escape(outcome.kind)}) tx {b64encode(outcome.tx_id)}")
        _more(console, len(report.held))
    if report.stopped is not None:
        console.print(f"[red]stopped[/red]: {escape(describe(report.stopped))}")


def _more(console: Console, count: int) -> None:
    if count > SHOWN:
        console.print(f"  ... and {count - SHOWN} more")
