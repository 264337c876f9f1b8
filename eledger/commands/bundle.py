"""`eledger prove` and `eledger verify-bundle`: licence proof bundles on the command line
(docs/spec/proofs.md §6).

`prove` writes the bundle of every state entry the verdict on one licence reads, for one asking
region: from a running node's API (`--profile` / `--api`: GET /v1/licences/{id}/bundle, the
bytes exactly as served), or from a stopped node's home (`--home`: HOME/genesis.json and the
HOME/ledger store, as `eledger audit` reads them; a running node holds its store locked, and is
then named with the API to use instead). Both give the same bytes for the same height.
`verify-bundle` checks such a file against a trusted genesis file with no network at all and
prints the one verdict of `ledger.verify.verify_licence` as a table, with the bundle's block
time and age. Exit codes: 0 valid, 1 invalid, indeterminate, unverifiable or older than
--max-age (the reason is printed), 2 unusable input, 3 (prove) the node could not answer.
Never writes to the store; the licence is judged at the bundle's block time unless --at names
another time; only the age is measured against this machine's clock (this is the edge); never
prints a holder's name or ID number.
"""

from __future__ import annotations

import fcntl
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from client.errors import ClientError, ProblemError
from client.http import Purpose
from eledger.commands.connect import ApiOpt, CaOpt, CertOpt, KeyOpt, ProfileOpt, connect, describe
from ledger.bundle import MAX_BUNDLE_BYTES, Bundle
from ledger.chain import Chain
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
from node.config import ConfigError, read_config

GENESIS_FILE = "genesis.json"
STORE_DIR = "ledger"
CHINA = timezone(timedelta(hours=8), "UTC+8")  # domain.md §1: dates are China Standard Time
TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
#: Misuse codes of verify_licence_bundle: the input as given cannot be judged (exit 2).
_INPUT_CODES = ("verify.", "ids.", "bundle.too_large")
_OUTCOME_STYLE = {"passed": "green", "failed": "bold red", "undecided": "yellow", "not_applicable": "dim"}
_OUTCOME_TEXT = {"passed": "passed", "failed": "FAILED", "undecided": "undecided", "not_applicable": "n/a"}


PurposeCode = Annotated[str | None, typer.Option("--purpose-code", help="Purpose of use: the service item's code (事项编码); partner and staff callers must state a purpose.")]
PurposeName = Annotated[str | None, typer.Option("--purpose-name", help="Purpose of use: the service item's name (事项名称).")]
PurposeSerial = Annotated[str | None, typer.Option("--serial", help="Purpose of use: the business serial number (业务流水号).")]
ReceiptOut = Annotated[Path | None, typer.Option("--receipt-out", help="Write the receipt of the use record (recorded callers) to this file.", dir_okay=False)]


def prove(
    licence_id: Annotated[str, typer.Argument(help="Licence identifier, e.g. 1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>.")],
    region: Annotated[str | None, typer.Option(help="The region that will ask whether the licence is valid there (decides whether a recognition rule is proven); with the API, default: your certificate's region.")] = None,
    height: Annotated[int | None, typer.Option(min=1, help="Committed height to prove at (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the bundle to this file (default: standard output).")] = None,
    home: Annotated[Path | None, typer.Option(help="A stopped node's home: genesis.json and the ledger/ store (a running node: use --profile or --api).")] = None,
    profile: ProfileOpt = None, api: ApiOpt = None, cert: CertOpt = None, key: KeyOpt = None, ca: CaOpt = None,
    purpose_code: PurposeCode = None, purpose_name: PurposeName = None, serial: PurposeSerial = None, receipt_out: ReceiptOut = None,
) -> None:
    """Write the proof bundle of licence LICENCE_ID for region REGION: every state entry its
    verdict reads (domain.md §9.3), present or proven absent, at one committed height; fetched
    from a running node (--profile / --api) or read from a stopped node's --home. Exit 0
    written, 1 the bundle cannot be built, 2 unusable input, 3 the node could not answer."""
    try:
        licence_id = parse_licence_id(licence_id, "LICENCE_ID").text
    except LedgerError as exc:
        _fail(2, f"{exc.code}: {exc}")
    purpose = read_purpose(purpose_code, purpose_name, serial)
    remote = profile is not None or api is not None
    if home is not None and remote:
        _fail(2, "give --home (a stopped node's store) or --profile / --api (a running node), not both")
    if home is None:
        raw = _prove_remote(licence_id, region, height, purpose, receipt_out, profile, api, cert, key, ca)
    else:
        if purpose is not None or receipt_out is not None:
            _fail(2, "a purpose of use and --receipt-out are for a node's API (--profile / --api); reading a store is not recorded")
        if region is None:
            _fail(2, "--home needs --region: the region that will ask")
        raw = _prove_home(licence_id, region, height, home)
    _write_bundle(raw, out)
    _describe_bundle(raw, licence_id, out)


def read_purpose(code: str | None, name: str | None, serial: str | None) -> Purpose | None:
    """The purpose of use from its three options (all or none; exit 2 otherwise)."""
    given = {"--purpose-code": code, "--purpose-name": name, "--serial": serial}
    missing = [option for option, value in given.items() if value is None]
    if len(missing) == len(given):
        return None
    if missing:
        _fail(2, f"a purpose of use needs --purpose-code, --purpose-name and --serial; {', '.join(missing)} missing")
    return Purpose(code, name, serial)  # type: ignore[arg-type]


def _prove_remote(licence_id: str, region: str | None, height: int | None, purpose: Purpose | None, receipt_out: Path | None, profile, api, cert, key, ca) -> bytes:
    connection = connect(profile, api, cert, key, ca)
    try:
        with connection.client() as client:
            fetched = client.bundle(licence_id, region, height=height, purpose=purpose)
    except ProblemError as exc:
        _fail(3 if exc.status >= 500 else 1 if exc.code.startswith(("bundle.", "proof.", "store.")) else 2, f"{connection.api_url}: {describe(exc)}")
    except ClientError as exc:
        _fail(2 if exc.code in ("client.credentials", "client.bad_url") else 3, f"{connection.api_url}: {describe(exc)}")
    if fetched.receipt is not None and receipt_out is not None:
        try:
            replace_file(receipt_out, fetched.receipt, 0o644)
        except OSError as exc:
            _fail(2, f"cannot write {receipt_out}: {exc.strerror}")
    elif receipt_out is not None:
        Console(stderr=True).print("no receipt: this request was not recorded (only partner and staff callers, or a caller stating a purpose, are)")
    return fetched.raw


def _prove_home(licence_id: str, region: str, height: int | None, home: Path) -> bytes:
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
        if exc.code == "store.open_failed" and store_locked(store_path):
            _fail(2, running_node_message(home))
        _fail(2, f"{exc.code}: {exc}")
    try:
        bundle = build_licence_bundle(Chain(kv, genesis), licence_id, region, height)
    except LedgerError as exc:
        _fail(1, f"{exc.code}: {exc}")
    finally:
        kv.close()
    return bundle.to_bytes()


def store_locked(store: Path) -> bool:
    """Whether another process holds the LevelDB lock of `store` (a running node): LevelDB locks
    its LOCK file with fcntl, so a non-blocking lock attempt fails while it is held."""
    try:
        with open(store / "LOCK", "rb+") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.lockf(handle, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def running_node_message(home: Path) -> str:
    """What to do when the node of `home` is running: ask its API."""
    try:
        config = read_config(home)
        where = f" (its API listens on {config.api_host}:{config.api_port}, node.json)"
    except (ConfigError, LedgerError, OSError):
        where = ""
    return (
        f"store.locked: the node of {home} is running and holds its store{where}; fetch the bundle from it with "
        "--profile FILE or --api URL instead of --home (the same bytes for the same --height)"
    )


def _write_bundle(raw: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return
    try:
        replace_file(out, raw, 0o644)
    except OSError as exc:
        _fail(2, f"cannot write {out}: {exc.strerror}")


def _describe_bundle(raw: bytes, licence_id: str, out: Path | None) -> None:
    try:
        bundle = Bundle.from_bytes(raw)
    except LedgerError as exc:
        _fail(1, f"the node answered something that is not a bundle: {exc.code}: {exc}")
    present = next((e.value is not None for e in bundle.entries if e.key == licence_key(licence_id)), False)
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
    max_age: Annotated[str | None, typer.Option("--max-age", help="Refuse a bundle whose block time is older than this by this machine's clock: 90s, 15m, 2h, 7d, 1h30m.")] = None,
) -> None:
    """Verify a licence proof bundle offline against a trusted genesis (the genesis validators'
    commit over the header, every entry's state proof), then print the verdict on the licence
    for REGION: each check with its outcome and detail, and the bundle's block time and age.
    Exit 0 valid, 1 invalid, indeterminate, unverifiable or older than --max-age (prints why), 2
    unusable input (missing, unreadable, oversized or non-JSON file, a bad licence id, region,
    document or duration)."""
    limit_ms = None
    if max_age is not None:
        try:
            limit_ms = parse_duration(max_age)
        except ValueError as exc:
            _fail(2, f"--max-age: {exc}")
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
    now = now_ms()
    age = now - result.proven.time
    console = Console()
    if limit_ms is not None and age > limit_ms:
        show_proven(console, result, len(genesis.validators), now)
        console.print(
            f"[bold red]REFUSED: the bundle is {format_age(age)} old[/bold red] (block time {show_time(result.proven.time)}), older than"
            f" --max-age {escape(max_age)}: the licence may have changed since; fetch a fresh bundle (eledger prove --profile ...)",  # type: ignore[arg-type]
        )
        raise typer.Exit(1)
    show_verdict(console, result, len(genesis.validators), now)
    if result.verdict.verdict is not Outcome.VALID:
        raise typer.Exit(1)


def now_ms() -> int:
    """This machine's clock, ms since the epoch: read only to tell a bundle's age (the edge)."""
    return time.time_ns() // 1_000_000


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


def show_proven(console: Console, result: OfflineVerdict, validators: int, now_ms: int) -> None:
    """Print what the bundle proves: height, block time and its age at `now_ms`, signers, entries."""
    proven = result.proven
    console.print(
        f"[green]bundle verified[/green] against the trusted genesis: chain {escape(proven.chain_id)}, height {proven.height},"
        f" block time {show_time(proven.time)} ({describe_age(now_ms - proven.time)})\n  block      {proven.block_hash.hex()}\n"
        f"  state root {proven.state_root.hex()}\n  committed by {escape(', '.join(proven.signers))} ({len(proven.signers)} of {validators} validators)",
    )
    for key, value in proven.entries.items():
        console.print(f"  proves {escape(show_key(key))}: {'present' if value is not None else '[yellow]absent[/yellow]'}")


def show_verdict(console: Console, result: OfflineVerdict, validators: int, now_ms: int) -> None:
    """Print what the bundle proves (`show_proven`) and the verdict as tables."""
    show_proven(console, result, validators, now_ms)
    verdict = result.verdict
    shown = verdict.to_json()
    title = f"licence {verdict.licence_id} for {verdict.asking_region} at {show_time(verdict.at_time)} (state of height {verdict.height})"
    show_checks(console, escape(title), shown)


def show_checks(console: Console, title: str, verdict: dict[str, object]) -> None:
    """The verdict (domain.md §9.4 JSON form: `checks`, `seal_checks`, `recognition`,
    `verdict`) as tables, the rule that recognised it, and the last line: VERDICT and why."""
    console.print(checks_table(title, verdict["checks"]))  # type: ignore[arg-type]
    if verdict.get("seal_checks"):
        console.print(checks_table("seal signature checks (GB/T 38540)", verdict["seal_checks"]))  # type: ignore[arg-type]
    rule = verdict.get("recognition")
    if isinstance(rule, dict):
        console.print(f"recognition rule: {rule['region']} accepts type {rule['type']} of {rule['from_region']} as {rule['as_type']} (declared at {show_time(rule['declared_at'])})")  # type: ignore[arg-type]
    if verdict["verdict"] == Outcome.VALID.value:
        console.print("[bold green]VERDICT: valid[/bold green]")
        return
    checks: list[dict[str, object]] = verdict["checks"]  # type: ignore[assignment]
    why = [c for c in checks if c["outcome"] == "failed"] or [c for c in checks if c["outcome"] == "undecided"]
    console.print(f"[bold red]VERDICT: {str(verdict['verdict']).upper()}[/bold red]: {escape(_reasons(why))}")


def checks_table(title: str, checks: list[dict[str, object]]) -> Table:
    """Checks as a table: name, outcome, detail."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        outcome = str(c["outcome"])
        table.add_row(str(c["name"]), f"[{_OUTCOME_STYLE[outcome]}]{_OUTCOME_TEXT[outcome]}[/]", escape(str(c["detail"])))
    return table


def _reasons(checks: list[dict[str, object]]) -> str:
    return "; ".join(f"{c['name']} {c['outcome']}: {c['detail']}" for c in checks)


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


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS_MS = (86_400_000, 3_600_000, 60_000, 1000)


def parse_duration(text: str) -> int:
    """Milliseconds of a duration written as days, hours, minutes and seconds in that order,
    each optional but one (`90s`, `15m`, `2h`, `7d`, `1h30m`). Raises ValueError saying the form."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration; write it as 90s, 15m, 2h, 7d or 1h30m")
    return sum(int(part) * unit for part, unit in zip(match.groups(), _UNITS_MS) if part)


def format_age(ms: int) -> str:
    """A duration for people, in its two largest units: "3 d 4 h", "2 h 5 min", "40 s"."""
    seconds = ms // 1000
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "min"), (seconds % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2] if value or len(parts) == 1)


def describe_age(ms: int) -> str:
    """"age 2 h 5 min", or, for a block time after this machine's clock, how far ahead it is."""
    return f"age {format_age(ms)}" if ms >= 0 else f"{format_age(-ms)} ahead of this machine's clock"


def _fail(code: int, message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)
