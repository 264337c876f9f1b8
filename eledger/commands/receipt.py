"""`eledger verify-receipt`: check a receipt of a use record offline against a trusted genesis
(ledger.receipt.verify_receipt, docs/spec/receipts.md §3) and say what it proves: who asked,
why, which licence, the verdict and the height it reflects, when, which validator signed it,
and whether it is pending (signed, not yet committed) or committed, with its place.

`--committed-out FILE` first asks a node (--profile / --api) for the committed form
(POST /v1/receipts/committed) and writes it to FILE; a record not committed yet is said so and
the receipt as given is checked. Exit codes: 0 the receipt verifies; 1 it does not (the failed
check's code is printed); 2 unusable input (file, genesis, profile); 3 (with --committed-out)
the node could not answer. The verdict a receipt records does not change the exit code: a
receipt of an `invalid` verdict is a valid receipt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from client.errors import ClientError, ProblemError
from eledger.commands.bundle import show_time
from eledger.commands.connect import ApiOpt, CaOpt, CertOpt, KeyOpt, ProfileOpt, connect, describe, fail, resolve_connection
from ledger.encoding import b64encode
from ledger.errors import LedgerError
from ledger.files import replace_file
from ledger.genesis import Genesis
from ledger.receipt import MAX_RECEIPT_BYTES, VerifiedReceipt, verify_receipt


def verify_receipt_command(
    receipt: Annotated[Path, typer.Argument(help="Receipt file (as `eledger verify --receipt-out` writes it).", dir_okay=False)],
    trust: Annotated[Path | None, typer.Option("--trust", help="Trusted genesis file (default: the profile's genesis).", dir_okay=False)] = None,
    committed_out: Annotated[Path | None, typer.Option("--committed-out", help="First fetch the committed form (place and proof) from the node and write it here.", dir_okay=False)] = None,
    profile: ProfileOpt = None, api: ApiOpt = None, cert: CertOpt = None, key: KeyOpt = None, ca: CaOpt = None,
) -> None:
    """Check RECEIPT offline against the trusted genesis and print what it proves. Exit 0
    verifies, 1 does not, 2 unusable input, 3 the node could not answer (--committed-out)."""
    raw = _read(receipt)
    try:
        connection = resolve_connection(profile, api, cert, key, ca)
    except ClientError as exc:
        fail(2, f"{exc.code}: {exc}")
    trusted = trust if trust is not None else (connection.profile.genesis if connection is not None and connection.profile is not None else None)
    if trusted is None:
        fail(2, "give --trust genesis.json (or a --profile naming its genesis): the receipt is checked against it alone")
    try:
        genesis = Genesis.read(trusted)
    except LedgerError as exc:
        fail(2, f"trusted genesis {trusted}: {exc.code}: {exc}")
    console = Console(highlight=False, soft_wrap=True)
    if committed_out is not None:
        raw = _fetch_committed(raw, committed_out, profile, api, cert, key, ca, console)
    try:
        proven = verify_receipt(raw, genesis)
    except LedgerError as exc:
        field = exc.fields.get("field")
        console.print(f"[bold red]RECEIPT DOES NOT VERIFY[/bold red]: {exc.code}: {escape(str(exc))}" + (f" (field {field})" if field else ""))
        raise typer.Exit(1) from exc
    show_receipt(console, proven)


def show_receipt(console: Console, proven: VerifiedReceipt) -> None:
    """What a verified receipt proves (receipts.md §4), for people."""
    record = proven.record
    caller, purpose = record["caller"], record["purpose"]
    certificate = caller["certificate"]  # type: ignore[index]
    certificate = b64encode(certificate) if isinstance(certificate, bytes) else certificate
    console.print(f"[green]receipt {escape(proven.id)} verified[/green] against the trusted genesis: chain {escape(proven.chain_id)}, signed by validator {escape(proven.signer)}")
    console.print(f"  who asked   {caller['role']} {escape(str(caller['name']))} of {caller['region']} (certificate SHA-256 {certificate})")  # type: ignore[index]
    console.print(f"  why         {escape(str(purpose['item_code']))} {escape(str(purpose['item_name']))}, serial {escape(str(purpose['serial']))}")  # type: ignore[index]
    console.print(f"  licence     {record['licence_id']} (presented by {record['presented']}), asked for {record['asking_region']}")
    console.print(f"  verdict     {record['verdict']}, reflecting the state of height {record['height']}")
    console.print(f"  answered    {show_time(record['time'])} (the node's clock)")  # type: ignore[arg-type]
    if proven.committed and proven.place is not None:
        place = proven.place
        console.print(
            f"  ledger      COMMITTED in block {place.height} (block time {show_time(proven.time)}), transaction {place.tx_index},"  # type: ignore[arg-type]
            f" record {place.record_index}; block {b64encode(proven.block_hash)}, transaction id {b64encode(proven.tx_id)}",  # type: ignore[arg-type]
        )
    else:
        console.print("  ledger      PENDING: signed by the node, not yet shown committed; fetch the committed form with --committed-out FILE --profile ...")


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_RECEIPT_BYTES + 1:
            fail(2, f"receipt.too_large: {path} is {size} bytes; a receipt is at most {MAX_RECEIPT_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        fail(2, f"cannot read receipt {path}: {exc.strerror}")
    return raw[:-1] if raw.endswith(b"\n") else raw


def _fetch_committed(raw: bytes, out: Path, profile, api, cert, key, ca, console: Console) -> bytes:
    """The committed form from the node, written to `out`; `raw` itself when not committed yet."""
    connection = connect(profile, api, cert, key, ca)
    try:
        with connection.client() as client:
            committed = client.committed_receipt(raw)
    except ProblemError as exc:
        if exc.code == "receipt.not_committed":
            wait = exc.fields.get("retry_after")
            console.print(f"not committed yet: {escape(str(exc))}" + (f" (ask again in {wait:g} s)" if isinstance(wait, float) else "") + "; checking the receipt as given")
            return raw
        fail(3 if exc.status >= 500 else 1 if exc.code.startswith("receipt.") else 2, f"{connection.api_url}: {describe(exc)}")
    except ClientError as exc:
        fail(2 if exc.code in ("client.credentials", "client.bad_url") else 3, f"{connection.api_url}: {describe(exc)}")
    try:
        replace_file(out, committed, 0o644)
    except OSError as exc:
        fail(2, f"cannot write {out}: {exc.strerror}")
    console.print(f"committed form written to {escape(str(out))}")
    return committed
