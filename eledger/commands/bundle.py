"""`eledger prove` and `eledger verify-bundle`: licence proof bundles on the command line
(docs/spec/proofs.md §6).

`prove` reads a node home (HOME/genesis.json and the HOME/ledger store, as `eledger audit` does)
and writes the bundle of every state entry the verdict on one licence reads, for one asking
region; `verify-bundle` checks such a file against a trusted genesis file with no network at all
and prints the one verdict of `ledger.verify.verify_licence` as a table. Exit codes: 0 valid,
1 invalid, indeterminate or unverifiable (the reason is printed), 2 unusable input. Never
writes to the store; never reads the clock (the licence is judged at the bundle's block time
unless --at names another time); never prints a holder's name or ID number.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledger.bundle import MAX_BUNDLE_BYTES
from ledger.chain import Chain
from ledger.checks import Check
from ledger.document import LicenceDocument, read_document
from ledger.encoding import b64encode
from ledger.errors import EncodingError, LedgerError
from ledger.files import replace_file
from ledger.genesis import Genesis
from ledger.identity import KEY_PREFIX
from ledger.ids import parse_licence_id
from ledger.licence_bundle import OfflineVerdict, build_licence_bundle, verify_licence_bundle
from ledger.licences import licence_key
from ledger.store import LevelKV
from ledger.verify import Outcome

GENESIS_FILE = "genesis.json"
STORE_DIR = "ledger"
CHINA = timezone(timedelta(hours=8), "UTC+8")  # domain.md §1: dates are China Standard Time
TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
#: Misuse codes of verify_licence_bundle: the input as given cannot be judged (exit 2).
_INPUT_CODES = ("verify.", "ids.", "bundle.too_large")
_OUTCOME_STYLE = {"passed": "green", "failed": "bold red", "undecided": "yellow", "not_applicable": "dim"}
_OUTCOME_TEXT = {"passed": "passed", "failed": "FAILED", "undecided": "undecided", "not_applicable": "n/a"}


def prove(
    licence_id: Annotated[str, typer.Argument(help="Licence identifier, e.g. 1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>.")],
    home: Annotated[Path, typer.Option(help="Node home: holds genesis.json and the ledger/ store (the node must not hold the store open).")],
    region: Annotated[str, typer.Option(help="The region that will ask whether the licence is valid there (decides whether a recognition rule is proven).")],
    height: Annotated[int | None, typer.Option(min=1, help="Committed height to prove at (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the bundle to this file (default: standard output).")] = None,
) -> None:
    """Write the proof bundle of licence LICENCE_ID for region REGION: every state entry its
    verdict reads (domain.md §9.3), present or proven absent, at one committed height. Exit 0
    written, 1 the bundle cannot be built, 2 unusable input."""
    try:
        licence_id = parse_licence_id(licence_id, "LICENCE_ID").text
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    store_path = home / STORE_DIR
    if not store_path.is_dir():
        _fail(2, f"no ledger store at {store_path}")
    try:
        genesis = Genesis.read(home / GENESIS_FILE)
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    if genesis.region(region) is None:
        _fail(2, f"verify.unknown_region: {region!r} is not a region of this chain (its regions: {', '.join(r.name for r in genesis.regions)})")
    try:
        kv = LevelKV(store_path, create=False)
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    try:
        bundle = build_licence_bundle(Chain(kv, genesis), licence_id, region, height)
    except LedgerError as exc:
        _fail(1, f"{exc.code}: {exc}")
    finally:
        kv.close()
    raw = bundle.to_bytes()
    if out is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    else:
        try:
            replace_file(out, raw, 0o644)
        except OSError as exc:
            _fail(2, f"cannot write {out}: {exc.strerror}")
    present = next(e for e in bundle.entries if e.key == licence_key(licence_id)).value is not None
    state = "present" if present else "ABSENT (the bundle proves its absence)"
    Console(stderr=True).print(
        f"bundle of {len(raw)} bytes, {len(bundle.entries)} {'entry' if len(bundle.entries) == 1 else 'entries'}, at height {bundle.header.height}: licence {escape(licence_id)} {state}"
        + (f"; written to {escape(str(out))}" if out is not None else ""),
    )


def verify_bundle(
    bundle: Annotated[Path, typer.Argument(help="Bundle file (as written by `eledger prove` or served by a node).")],
    trust: Annotated[Path, typer.Option(help="Trusted genesis file: the only thing the bundle is checked against.")],
    region: Annotated[str, typer.Option(help="The asking region: is the licence valid here?")],
    licence_id: Annotated[str | None, typer.Option("--id", help="The licence to judge (default: the bundle's only licence).")] = None,
    document: Annotated[Path | None, typer.Option(help="The licence document the holder presents (checks its hash and holder too).")] = None,
    at: Annotated[datetime | None, typer.Option(formats=TIME_FORMATS, help="Judge at this time, e.g. 2027-01-01T08:00:00+08:00 (default: the bundle's block time); without a zone, or a date alone (00:00), UTC+8.")] = None,
) -> None:
    """Verify a licence proof bundle offline against a trusted genesis (the genesis validators'
    commit over the header, every entry's state proof), then print the verdict on the licence
    for REGION: each check with its outcome and detail. Exit 0 valid, 1 invalid, indeterminate
    or unverifiable (prints why), 2 unusable input (missing, unreadable, oversized or non-JSON
    file, a bad licence id, region or document)."""
    raw = _read_bundle(bundle)
    try:
        genesis = Genesis.read(trust)
    except LedgerError as exc:
        _fail(2, f"trusted genesis {trust}: {exc.code}: {exc}")
    presented: LicenceDocument | None = None
    if document is not None:
        try:
            presented = read_document(document)
        except LedgerError as exc:
            _fail(2, f"licence document {document}: {exc.code}: {exc}")
    at_ms = None if at is None else int((at if at.tzinfo is not None else at.replace(tzinfo=CHINA)).timestamp() * 1000)
    try:
        result = verify_licence_bundle(raw, genesis, asking_region=region, at_time=at_ms, licence_id=licence_id, document=presented)
    except EncodingError as exc:
        _fail(2, f"{bundle} is not a bundle's canonical JSON: {exc.code}: {exc}")
    except LedgerError as exc:
        if exc.code.startswith(_INPUT_CODES):
            _fail(2, f"{exc.code}: {exc}")
        _fail(1, f"BUNDLE INVALID: {exc.code}: {exc}")
    show_verdict(Console(), result, len(genesis.validators))
    if result.verdict.verdict is not Outcome.VALID:
        raise typer.Exit(1)


def _read_bundle(path: Path) -> bytes:
    """The bundle bytes of `path` without one trailing line feed (§6); exits 2 when unusable."""
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES + 1:
            _fail(2, f"bundle.too_large: {path} is {size} bytes; at most {MAX_BUNDLE_BYTES} are accepted")
        raw = path.read_bytes()
    except OSError as exc:
        _fail(2, f"cannot read bundle {path}: {exc.strerror}")
    return raw[:-1] if raw.endswith(b"\n") else raw


def show_verdict(console: Console, result: OfflineVerdict, validators: int) -> None:
    """Print what the bundle proves (height, time, signers, entries) and the verdict as tables."""
    proven, verdict = result.proven, result.verdict
    console.print(
        f"[green]bundle verified[/green] against the trusted genesis: chain {escape(proven.chain_id)}, height {proven.height},"
        f" block time {show_time(proven.time)}\n  block      {proven.block_hash.hex()}\n  state root {proven.state_root.hex()}\n"
        f"  committed by {escape(', '.join(proven.signers))} ({len(proven.signers)} of {validators} validators)",
    )
    for key, value in proven.entries.items():
        console.print(f"  proves {escape(show_key(key))}: {'present' if value is not None else '[yellow]absent[/yellow]'}")
    shown = verdict.to_json()
    title = f"licence {verdict.licence_id} for {verdict.asking_region} at {show_time(verdict.at_time)} (state of height {verdict.height})"
    console.print(_table(escape(title), shown["checks"]))  # type: ignore[arg-type]
    if shown["seal_checks"]:
        console.print(_table("seal signature checks (GB/T 38540)", shown["seal_checks"]))  # type: ignore[arg-type]
    if verdict.recognition is not None:
        rule = verdict.recognition
        console.print(f"recognition rule: {rule['region']} accepts type {rule['type']} of {rule['from_region']} as {rule['as_type']} (declared at {show_time(rule['declared_at'])})")  # type: ignore[arg-type]
    if verdict.verdict is Outcome.VALID:
        console.print("[bold green]VERDICT: valid[/bold green]")
        return
    why = [c for c in verdict.checks if c.ok is False] or [c for c in verdict.checks if c.ok is None and c.name not in verdict.not_applicable]
    console.print(f"[bold red]VERDICT: {verdict.verdict.value.upper()}[/bold red]: {escape(_reasons(why))}")


def _table(title: str, checks: list[dict[str, object]]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        outcome = str(c["outcome"])
        table.add_row(str(c["name"]), f"[{_OUTCOME_STYLE[outcome]}]{_OUTCOME_TEXT[outcome]}[/]", escape(str(c["detail"])))
    return table


def _reasons(checks: list[Check]) -> str:
    state = {False: "failed", None: "undecided"}
    return "; ".join(f"{c.name} {state[c.ok]}: {c.detail}" for c in checks)  # type: ignore[index]


def show_key(key: bytes) -> str:
    """A state key for people: as text when it is printable ASCII; `id/key/` then the key id in
    base64url (as verdict details show it); otherwise all of it in base64url."""
    if key.startswith(KEY_PREFIX):
        return KEY_PREFIX.decode("ascii") + b64encode(key[len(KEY_PREFIX):])
    text = key.decode("ascii", "replace")
    return text if key.isascii() and text.isprintable() else b64encode(key)


def show_time(ms: int) -> str:
    """`ms` since the epoch as an ISO 8601 time in UTC+8."""
    return datetime.fromtimestamp(ms / 1000, CHINA).isoformat(timespec="seconds")


def _fail(code: int, message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)
