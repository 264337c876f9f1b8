"""`eledger licence import`: bulk issuing from a CSV or JSON-lines file (docs/client.md).

Each row becomes a licence document sealed with the department's seal, written for the holder to
DIR/<licence id>.json (0600 for a person: it holds personal data), and its licence.issue
transaction appended as one line to the output file: a sealed transaction whose one signature is
the document's seal signature (transactions.md §5). Rows are streamed: memory does not grow with
the file. A bad row is reported with its line number and column and the import goes on (or
stops, with --strict). Also the small pieces the `tx` commands share: chain id, key files, times,
rows and documents. This module never prints a key, a holder's name or an ID number.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, BinaryIO, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from client.signing import DepartmentClient
from ledger.crypto import PrivateKey, read_private_key
from ledger.document import MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FIELDS, MAX_ID_NUMBER, MAX_NAME, EnterpriseHolder, LicenceDocument, LicencePart, write_document
from ledger.errors import LedgerError, ValidationError
from ledger.files import write_new_file
from ledger.genesis import Genesis
from ledger.ids import validate_type_code, validate_uscc

licence_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Licences in bulk: import rows as sealed documents and signed issue transactions.")
console = Console()
err_console = Console(stderr=True)

CHINA = timezone(timedelta(hours=8), "UTC+8")  # domain.md §1: dates are China Standard Time
CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
RESERVED = ("type", "type_name", "serial", "holder_uscc", "holder_name", "holder_id_number", "issue_date", "valid_from", "valid_until", "commitment_deadline")
REQUIRED = ("type", "serial", "holder_name", "issue_date", "valid_from")
ENTERPRISE_DOCUMENT_MODE = 0o644  # an enterprise's licence is public information
SYNC_EVERY = 1000  # rows between fsyncs of the transaction file

_SERIAL_RE = re.compile(r"[0-9]{1,20}")
_FIELD_PREFIXES = ("document.licence.", "licence.", "tx.body.")


# -- shared by the `tx` commands ------------------------------------------------------------------


def fail(code: int, message: str) -> NoReturn:
    """Print `message` on stderr and exit with `code` (1 rejected input, 2 unusable input)."""
    err_console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


def resolve_chain_id(chain_id: str | None, genesis: Path | None) -> str:
    """The chain id from --chain-id or from the --genesis file (exactly one); exits 2 otherwise."""
    if (chain_id is None) == (genesis is None):
        fail(2, "give exactly one of --chain-id and --genesis")
    if chain_id is not None:
        return chain_id
    try:
        return Genesis.read(genesis).chain_id  # type: ignore[arg-type]
    except LedgerError as exc:
        fail(2, f"{exc.code}: {exc}")


def load_private_key(path: Path) -> PrivateKey:
    """The private key in `path` (refused if group or others may read it); exits 2 on error."""
    try:
        return read_private_key(path)
    except LedgerError as exc:
        fail(2, f"{exc.code}: {exc}")


def parse_time(text: str, option: str) -> int:
    """Milliseconds since the epoch from an integer, a date (00:00 China Standard Time) or an
    ISO 8601 date-time (China Standard Time unless it names an offset). Raises typer.BadParameter."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time()) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not milliseconds, YYYY-MM-DD or an ISO 8601 date-time", param_hint=option) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return int(moment.timestamp() * 1000)


def draft_from_row(client: DepartmentClient, row: Mapping[str, object], type_names: Mapping[str, str]) -> LicencePart:
    """The licence part a row describes (module docstring, docs/client.md): reserved columns
    RESERVED, every other non-empty column a document field. Raises ValidationError whose
    `field` is the column at fault."""
    values = {name: _cell(row, name) for name in RESERVED}
    for name in REQUIRED:
        if values[name] is None:
            raise ValidationError(f"{name} is required", code="validation.missing_field", field=name)
    type_code = validate_type_code(values["type"], "type")
    if not _SERIAL_RE.fullmatch(values["serial"]):  # type: ignore[arg-type]
        raise ValidationError("serial must be 1..20 digits", code="ids.bad_licence_id", field="serial")
    type_name = values["type_name"] or type_names.get(type_code)
    if type_name is None:
        raise ValidationError(f"no name for licence type {type_code}: add a type_name column or --type-name {type_code}=NAME", code="validation.missing_field", field="type_name")
    _check_length(values["holder_name"], "holder_name", MAX_NAME)  # type: ignore[arg-type]
    _check_length(type_name, "type_name", MAX_NAME)
    if (values["holder_uscc"] is None) == (values["holder_id_number"] is None):
        raise ValidationError("a holder is an enterprise (holder_uscc) or a person (holder_id_number): give exactly one", code="licence.bad_holder", field="holder_uscc")
    if values["holder_uscc"] is not None:
        holder: object = EnterpriseHolder(_holder_uscc(values["holder_uscc"]), values["holder_name"])  # type: ignore[arg-type]
    else:
        _check_length(values["holder_id_number"], "holder_id_number", MAX_ID_NUMBER)  # type: ignore[arg-type]
        holder = client.person(values["holder_name"], values["holder_id_number"])  # type: ignore[arg-type]
    try:
        return client.draft_licence(
            type=type_code, serial=values["serial"], holder=holder, type_name=type_name,  # type: ignore[arg-type]
            issue_date=values["issue_date"], valid_from=values["valid_from"], valid_until=values["valid_until"],  # type: ignore[arg-type]
            commitment_deadline=values["commitment_deadline"], fields=_fields(row),
        )
    except ValidationError as exc:
        field = str(exc.fields.get("field", ""))
        column = next((field[len(p):] for p in _FIELD_PREFIXES if field.startswith(p)), field)
        raise ValidationError(str(exc), code=exc.code, **{**exc.fields, "field": column}) from exc


def write_holder_document(directory: Path, document: LicenceDocument) -> Path:
    """Write `document` to directory/<licence id>.json, never replacing a file: mode 0600 for a
    person's document, 0644 for an enterprise's. Raises ValidationError "document.exists" /
    "document.io"."""
    path = directory / f"{document.licence.id}.json"
    if not isinstance(document.licence.holder, EnterpriseHolder):
        write_document(path, document)
        return path
    try:
        write_new_file(path, document.to_bytes(), ENTERPRISE_DOCUMENT_MODE)
    except FileExistsError as exc:
        raise ValidationError(f"refusing to overwrite {path}", code="document.exists", path=str(path)) from exc
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror}", code="document.io", path=str(path)) from exc
    return path


def parse_type_names(items: list[str] | None) -> dict[str, str]:
    """--type-name CODE=NAME options as a mapping; raises typer.BadParameter."""
    names: dict[str, str] = {}
    for item in items or ():
        code, sep, name = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not CODE=NAME", param_hint="--type-name")
        names[code] = name
    return names


def _cell(row: Mapping[str, object], name: str) -> str | None:
    """A reserved cell as text; empty and null mean absent. A JSON serial may be an integer."""
    value = row.get(name)
    if value is None or value == "":
        return None
    if name == "serial" and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", code="validation.type", field=name)
    return value


def _holder_uscc(text: str) -> str:
    """The holder's USCC. The error says what is wrong (length, a character, or the check
    character GB 32100 expects) but never repeats the text: a misplaced ID number is personal
    data."""
    try:
        return validate_uscc(text, "holder_uscc")
    except ValidationError as exc:
        expected = exc.fields.get("expected")
        if expected is not None:
            reason = f"its check character (the 18th) should be {expected!r} for its first 17 characters"
        elif len(text) != 18:
            reason = f"it has {len(text)} characters, a USCC has 18"
        else:
            reason = "it holds a character GB 32100 does not use (0-9 and A-Z without I, O, S, V, Z)"
        raise ValidationError(
            f"holder_uscc is not a valid USCC: {reason}; re-check the code on the business licence (a person holder goes in holder_id_number)",
            code=exc.code, field="holder_uscc", **({"expected": expected} if expected is not None else {}),
        ) from None


def _check_length(value: str, column: str, limit: int) -> None:
    if len(value) > limit:
        raise ValidationError(f"{column} must be at most {limit} characters, got {len(value)}", code="validation.length", field=column)


def _fields(row: Mapping[str, object]) -> dict[str, str]:
    """Every non-reserved, non-empty cell: the document's `fields` (domain.md §7)."""
    fields: dict[str, str] = {}
    for name, value in row.items():
        if name in RESERVED or value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string", code="validation.type", field=name)
        if not 1 <= len(name) <= MAX_FIELD_NAME:
            raise ValidationError(f"a field name must be 1..{MAX_FIELD_NAME} characters", code="validation.length", field=name[:MAX_FIELD_NAME])
        _check_length(value, name, MAX_FIELD_VALUE)
        fields[name] = value
    if len(fields) > MAX_FIELDS:
        raise ValidationError(f"a document has at most {MAX_FIELDS} fields, this row {len(fields)}", code="validation.length", field="fields")
    return fields


# -- reading rows ------------------------------------------------------------------------------------


def _count_rows(path: Path, is_csv: bool) -> int:
    """Rows in the file (a first pass that holds one line at a time), for the progress bar."""
    with path.open(newline="" if is_csv else None, encoding="utf-8-sig") as handle:
        if is_csv:
            return max(sum(1 for cells in csv.reader(handle) if cells) - 1, 0)
        return sum(1 for line in handle if line.strip())


def _rows(path: Path, is_csv: bool) -> Iterator[tuple[int, Mapping[str, object] | ValidationError]]:
    """(first line number, row) for every row, or (line, error) for a row that cannot be read.
    Raises ValidationError "import.header" for an unusable CSV header."""
    with path.open(newline="" if is_csv else None, encoding="utf-8-sig") as handle:
        if is_csv:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or len(set(header)) != len(header) or "" in header:
                raise ValidationError("the first row must name every column once", code="import.header", field="header")
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise ValidationError(f"the header lacks the column(s) {', '.join(missing)}", code="import.header", field="header")
            line = reader.line_num
            for cells in reader:
                start, line = line + 1, reader.line_num
                if not cells:  # a blank line
                    continue
                if len(cells) != len(header):
                    yield start, ValidationError(f"row has {len(cells)} cells; the header has {len(header)}", code="import.cells", field="row")
                else:
                    yield start, dict(zip(header, cells))
            return
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, _json_row(text)


def _json_row(text: str) -> Mapping[str, object] | ValidationError:
    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        names = [name for name, _ in pairs]
        repeated = next((n for n in names if names.count(n) > 1), None)
        if repeated is not None:
            raise ValueError(f"member {repeated!r} appears twice")
        return dict(pairs)

    try:
        row = json.loads(text, object_pairs_hook=unique)
    except ValueError as exc:
        return ValidationError(f"not a JSON object: {exc}", code="import.json", field="row")
    if not isinstance(row, dict):
        return ValidationError("each line must be one JSON object", code="import.json", field="row")
    return row


def _open_transactions(path: Path) -> BinaryIO:
    """`path` opened for appending; exits 2 if it cannot be, or if its last line is incomplete."""
    try:
        if path.exists() and path.stat().st_size:
            with path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    fail(2, f"{path} ends with an incomplete line; remove it before appending")
        return path.open("ab")
    except OSError as exc:
        fail(2, f"cannot append to {path}: {exc.strerror}")


# -- the command -----------------------------------------------------------------------------------


@licence_app.command("import")
def import_licences(
    file: Annotated[Path, typer.Argument(help="Rows: CSV with a header row (.csv) or JSON lines (.jsonl, .ndjson).", exists=True, dir_okay=False)],
    uscc: Annotated[str, typer.Option(help="The department's USCC (the issuer part of every licence id).")],
    seal_id: Annotated[str, typer.Option(help="The registered seal that seals the documents.")],
    issuer_name: Annotated[str, typer.Option(help="The department's name as printed on its documents.")],
    out: Annotated[Path, typer.Option(help="JSON-lines file the signed licence.issue transactions are appended to.")],
    documents: Annotated[Path, typer.Option(help="Directory for the holders' documents, DIR/<licence id>.json (created 0700).", file_okay=False)],
    key: Annotated[Path | None, typer.Option(help="The department's private key file (mode 0600); seals the documents, and so signs their transactions, unless --seal-key is given. Give --key, --seal-key or both.")] = None,
    seal_key: Annotated[Path | None, typer.Option(help="Private key of a signer of the seal, a key of the department (default: --key); its seal signatures sign the transactions.")] = None,
    chain_id: Annotated[str | None, typer.Option(help="Chain id (or give --genesis).")] = None,
    genesis: Annotated[Path | None, typer.Option(help="Genesis file to take the chain id from.")] = None,
    type_name: Annotated[list[str] | None, typer.Option(help="CODE=NAME: the name of a licence type, for rows without a type_name column.")] = None,
    signing_time: Annotated[str | None, typer.Option(help="Seal signing time (ms, date or ISO date-time; default: now at each row).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row.")] = False,
) -> None:
    """Issue one licence per row of FILE: seal each document, write it for the holder and append
    its licence.issue transaction, signed by the seal signature, to --out. Exit 0 all rows done,
    1 some rows failed (each reported with its line and column), 2 unusable input."""
    suffix = file.suffix.lower()
    if suffix not in CSV_SUFFIXES + JSONL_SUFFIXES:
        fail(2, f"{file}: the extension must be one of {', '.join(CSV_SUFFIXES + JSONL_SUFFIXES)}")
    is_csv = suffix in CSV_SUFFIXES
    names = parse_type_names(type_name)
    at = None if signing_time is None else parse_time(signing_time, "--signing-time")
    if key is None and seal_key is None:
        fail(2, "give --key or --seal-key: the key that seals a document signs its licence.issue")
    signer = load_private_key(key if key is not None else seal_key)  # type: ignore[arg-type]
    try:
        client = DepartmentClient(signer, resolve_chain_id(chain_id, genesis), uscc, seal_id, None if seal_key is None else load_private_key(seal_key), issuer_name=issuer_name)
        documents.mkdir(mode=0o700, parents=True, exist_ok=True)
        total = _count_rows(file, is_csv)
    except (LedgerError, OSError, UnicodeDecodeError) as exc:
        fail(2, _describe(exc))
    done = failed = 0
    started = time.perf_counter()
    with ExitStack() as stack:
        sink = stack.enter_context(_open_transactions(out))
        bar = stack.enter_context(Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), TextColumn("{task.fields[failed]} failed"),
            TimeRemainingColumn(), console=err_console,
        ))
        task = bar.add_task("import", total=total, failed=0)
        try:
            for line, row in _rows(file, is_csv):
                try:
                    if isinstance(row, ValidationError):
                        raise row
                    tx, document = client.issue_licence(draft_from_row(client, row, names), signing_time=at)
                    write_holder_document(documents, document)
                except LedgerError as exc:
                    failed += 1
                    bar.console.print(f"[red]line {line}[/red]: {escape(str(exc.fields.get('field', '')))}: {exc.code}: {escape(str(exc))}")
                    bar.update(task, advance=1, failed=failed)
                    if strict:
                        break
                    continue
                sink.write(tx.to_bytes() + b"\n")
                sink.flush()  # the tx reaches the OS right after its document is durable
                done += 1
                if done % SYNC_EVERY == 0:
                    os.fsync(sink.fileno())
                bar.update(task, advance=1)
        except (LedgerError, OSError, UnicodeDecodeError) as exc:
            fail(2, _describe(exc))
        finally:
            os.fsync(sink.fileno())
    elapsed = time.perf_counter() - started
    rate = (done + failed) / elapsed if elapsed > 0 else 0.0
    console.print(f"{done} licences issued, {failed} rows failed, {elapsed:.1f} s ({rate:.0f} rows/s); transactions in {out}")
    if failed:
        fail(1, f"{failed} row(s) failed" + (" (stopped at the first: --strict)" if strict else ""))


def _describe(exc: Exception) -> str:
    if isinstance(exc, LedgerError):
        return f"{exc.code}: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8: {exc.reason} at byte {exc.start}"
    return str(exc)
