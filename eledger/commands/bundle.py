"""`eledger prove` and `eledger verify-bundle`: proof bundles on the command line (docs/spec/proofs.md §6).

`prove` reads a node home (HOME/genesis.json and the HOME/ledger store, as `eledger audit` does)
and writes a bundle for one licence; `verify-bundle` checks a bundle file against a trusted
genesis file with no network at all, then judges every licence the bundle carries (§7).
Exit codes of verify-bundle: 0 valid, 1 invalid or unverifiable or a licence not valid (the
reason is printed), 2 unusable input. Never writes to the store; reads the clock never (a
licence is judged at the bundle's block time unless --at names another time).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ledger import bundle as bundles
from ledger.chain import Chain
from ledger.encoding import decode
from ledger.errors import EncodingError, LedgerError
from ledger.files import replace_file
from ledger.genesis import Genesis
from ledger.governance import org_key
from ledger.ids import parse_licence_id
from ledger.licences import PREFIX as LICENCE_PREFIX
from ledger.licences import licence_key
from ledger.store import LevelKV

GENESIS_FILE = "genesis.json"
STORE_DIR = "ledger"

CHINA = timezone(timedelta(hours=8), "UTC+8")  # domain.md §1: dates are China Standard Time

console = Console()
err_console = Console(stderr=True)


def prove(
    licence_id: Annotated[str, typer.Argument(help="Licence identifier, e.g. 1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>.")],
    home: Annotated[Path, typer.Option(help="Node home: holds genesis.json and the ledger/ store (the node must not hold the store open).")],
    height: Annotated[int | None, typer.Option(min=1, help="Committed height to prove at (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the bundle to this file (default: standard output).")] = None,
    with_org: Annotated[bool, typer.Option("--with-org", help="Also prove the issuing organisation's record org/<uscc>, if present.")] = False,
) -> None:
    """Write a proof bundle for licence LICENCE_ID (state key lic/<id>): its record, or proof
    that it is absent, at one committed height. Exit 0 written, 1 the bundle cannot be built,
    2 unusable input."""
    try:
        parsed = parse_licence_id(licence_id, "LICENCE_ID")
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    keys = [licence_key(parsed.text)]
    if with_org:
        keys.append(org_key(parsed.issuer))
    store_path = home / STORE_DIR
    if not store_path.is_dir():
        _fail(2, f"no ledger store at {store_path}")
    try:
        genesis = Genesis.read(home / GENESIS_FILE)
        kv = LevelKV(store_path, create=False)
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    try:
        chain = Chain(kv, genesis)
        bundle = bundles.build_bundle(chain, keys, height)
    except LedgerError as exc:
        _fail(1, f"{exc.code}: {exc}")
    finally:
        kv.close()
    if with_org:
        bundle = dataclasses.replace(bundle, entries=tuple(e for e in bundle.entries if e.key == keys[0] or e.value is not None))
    raw = bundle.to_bytes()
    if out is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    else:
        try:
            replace_file(out, raw, 0o644)
        except OSError as exc:
            _fail(2, f"cannot write {out}: {exc.strerror}")
    state = "present" if next(e for e in bundle.entries if e.key == keys[0]).value is not None else "ABSENT (the bundle proves its absence)"
    err_console.print(
        f"bundle of {len(raw)} bytes at height {bundle.header.height}: licence {escape(licence_id)} {state}"
        + (f"; written to {escape(str(out))}" if out is not None else ""),
    )


def verify_bundle(
    bundle: Annotated[Path, typer.Argument(help="Bundle file (as written by `eledger prove` or served by a node).")],
    trust: Annotated[Path, typer.Option(help="Trusted genesis file: the only thing the bundle is checked against.")],
    at: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"], help="Judge licences at this time, e.g. 2027-01-01T08:00:00+0800 (default: the bundle's block time); a date is 00:00 UTC+8.")] = None,
) -> None:
    """Verify a proof bundle offline against a trusted genesis: commit signatures of the genesis
    validators over the header, and every entry's state proof; then judge every licence in it.
    Exit 0 the bundle and every licence in it are valid, 1 invalid or unverifiable (prints why),
    2 unusable input (missing file, not JSON, too large)."""
    try:
        size = bundle.stat().st_size
    except OSError as exc:
        _fail(2, f"cannot read bundle {bundle}: {exc.strerror}")
    if size > bundles.MAX_BUNDLE_BYTES + 1:
        _fail(2, f"bundle.too_large: {bundle} is {size} bytes; at most {bundles.MAX_BUNDLE_BYTES} are accepted")
    try:
        genesis = Genesis.read(trust)
    except LedgerError as exc:
        _fail(2, f"trusted genesis {trust}: {exc.code}: {exc}")
    try:
        raw = bundle.read_bytes()
    except OSError as exc:
        _fail(2, f"cannot read bundle {bundle}: {exc.strerror}")
    if raw.endswith(b"\n"):
        raw = raw[:-1]  # proofs.md §6: a file may end with one line feed, which is not part of the bundle
    try:
        verified = bundles.verify_bundle(raw, genesis)
    except EncodingError as exc:
        _fail(2, f"{bundle} is not a bundle's canonical JSON: {exc.code}: {exc}")
    except LedgerError as exc:
        if exc.code == "bundle.too_large":
            _fail(2, f"{exc.code}: {exc}")
        _fail(1, f"BUNDLE INVALID: {exc.code}: {exc}")
    console.print(
        f"[green]bundle valid[/green]: chain {escape(verified.chain_id)}, height {verified.height}, block time {_show_time(verified.time)}\n"
        f"  block {verified.block_hash.hex()}\n  state root {verified.state_root.hex()}\n"
        f"  committed by {', '.join(verified.signers)}",
    )
    for key, value in verified.entries.items():
        if value is None:
            console.print(f"  {escape(show_key(key))}: [yellow]absent[/yellow]")
        else:
            console.print(f"  {escape(show_key(key))}: present\n{escape(show_value(value))}")
    at_ms = None if at is None else int((at if at.tzinfo is not None else at.replace(tzinfo=CHINA)).timestamp() * 1000)
    failed = [judge_licence(verified, key[len(LICENCE_PREFIX):].decode("ascii", "replace"), at_ms) for key in verified.entries if key.startswith(LICENCE_PREFIX)]
    if any(failed):
        raise typer.Exit(1)


def judge_licence(verified: bundles.VerifiedBundle, licence_id: str, at_ms: int | None) -> bool:
    """Print the verdict on one licence of a verified bundle; True if it failed."""
    try:
        verdict = bundles.licence_verdict_from_bundle(verified, licence_id, at=at_ms)
    except LedgerError as exc:
        err_console.print(f"[red]LICENCE NOT JUDGED: {escape(licence_id)}: {exc.code}: {escape(str(exc))}[/red]")
        return True
    marks = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[yellow]undecided[/yellow]"}
    head = "[green]licence valid[/green]" if verdict.valid else "[red]LICENCE NOT VALID[/red]"
    console.print(f"{head}: {escape(licence_id)} at {_show_time(verdict.at)} (state of height {verdict.height})")
    for check in verdict.checks:
        console.print(f"  {marks[check.ok]} {check.name}: {escape(check.detail)}")
    return not verdict.valid


def show_key(key: bytes) -> str:
    """A state key for people: its ASCII prefix as text, the rest as hex if it is not printable."""
    cut = key.find(b"/") + 1
    head, rest = key[:cut], key[cut:]
    text = rest.decode("ascii", "replace")
    return head.decode("ascii", "replace") + (text if rest.isascii() and text.isprintable() else rest.hex())


def show_value(value: bytes) -> str:
    """A state value for people: indented JSON when it is canonical JSON, else hex."""
    try:
        return json.dumps(decode(value), indent=2, ensure_ascii=False, sort_keys=True)
    except EncodingError:
        return value.hex()


def _show_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, CHINA).isoformat(timespec="seconds")


def _fail(code: int, message: str) -> NoReturn:
    err_console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)
