"""`eledger verify`: ask a node whether a licence is valid here and now (POST /v1/verify,
docs/spec/api.md), named by its id, by the holder's document or by the document's QR payload,
and stating the purpose of use that partner and staff callers must give (用证留痕).

Prints the licence's public metadata, the committed block the answer reflects (`as_of`), the
receipt of the use record (checked against the trusted genesis when one is known: --trust, or
the profile's `genesis`; saved with --receipt-out), then every check and the verdict last;
`--json` prints the node's answer as it came. Exit codes: 0 valid; 1 invalid or indeterminate,
or a receipt that does not verify; 2 unusable input (options, files, profile) or a request the
node refused (its problem is printed: code, detail, field); 3 no answer (the node could not be
reached, or failed). Never prints a holder's name or ID number (the answer has none; the
document file given is read only to be sent).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from client.errors import ClientError, ProblemError
from eledger.commands.bundle import CHINA, TIME_FORMATS, PurposeCode, PurposeName, PurposeSerial, ReceiptOut, read_purpose, show_checks, show_time
from eledger.commands.connect import ApiOpt, CaOpt, CertOpt, KeyOpt, ProfileOpt, connect, describe, fail
from ledger.document import read_document
from ledger.errors import LedgerError
from ledger.files import replace_file
from ledger.genesis import Genesis
from ledger.receipt import Receipt, verify_receipt

Trust = Annotated[Path | None, typer.Option("--trust", help="Trusted genesis file the receipt is checked against (default: the profile's genesis).", dir_okay=False)]


def verify(
    licence_id: Annotated[str | None, typer.Option("--id", help="The licence's identifier.")] = None,
    document: Annotated[Path | None, typer.Option("--document", help="The licence document the holder presents (JSON file).", dir_okay=False)] = None,
    qr: Annotated[str | None, typer.Option("--qr", help="The payload of the document's QR code (EL1:...).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="The region asking (default: your certificate's).")] = None,
    at: Annotated[datetime | None, typer.Option(formats=TIME_FORMATS, help="Judge at this time (default: now, by the node); without a zone UTC+8.")] = None,
    purpose_code: PurposeCode = None, purpose_name: PurposeName = None, serial: PurposeSerial = None, receipt_out: ReceiptOut = None,
    trust: Trust = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the node's answer as JSON instead of tables.")] = False,
    profile: ProfileOpt = None, api: ApiOpt = None, cert: CertOpt = None, key: KeyOpt = None, ca: CaOpt = None,
) -> None:
    """Ask a node for the verdict on a licence, named by --id, --document or --qr, for your
    region (or --region) now (or --at), stating the purpose of use (--purpose-code,
    --purpose-name, --serial; required of partner and staff). Exit 0 valid, 1 invalid or
    indeterminate, 2 unusable input or refused, 3 no answer."""
    named = [option for option, value in (("--id", licence_id), ("--document", document), ("--qr", qr)) if value is not None]
    if len(named) != 1:
        fail(2, f"name the licence one way: --id, --document or --qr ({'none given' if not named else ' and '.join(named) + ' given'})")
    purpose = read_purpose(purpose_code, purpose_name, serial)
    connection = connect(profile, api, cert, key, ca)
    presented = None
    if document is not None:
        try:
            presented = orjson.loads(read_document(document).to_bytes())
        except LedgerError as exc:
            fail(2, f"licence document {document}: {exc.code}: {exc}")
    genesis = _trusted_genesis(trust if trust is not None else (connection.profile.genesis if connection.profile else None))
    at_ms = None if at is None else int((at if at.tzinfo is not None else at.replace(tzinfo=CHINA)).timestamp() * 1000)
    try:
        with connection.client() as client:
            answer = client.verify(licence_id=licence_id, document=presented, qr=qr, purpose=purpose, asking_region=region, at_time=at_ms)
    except ProblemError as exc:
        fail(3 if exc.status >= 500 else 2, f"{connection.api_url} refused: {describe(exc)}")
    except ClientError as exc:
        fail(2 if exc.code in ("client.credentials", "client.bad_url") else 3, f"{connection.api_url}: {describe(exc)}")
    console = Console(highlight=False, soft_wrap=True)
    receipt_ok = _keep_receipt(answer.get("receipt"), receipt_out, genesis, console, quiet=json_out)
    if json_out:
        Console(highlight=False, soft_wrap=True).print_json(orjson.dumps(answer).decode())
    else:
        show_answer(console, answer)
    if not receipt_ok:
        raise typer.Exit(1)
    if answer.get("verdict") != "valid":
        raise typer.Exit(1)


def show_answer(console: Console, answer: dict[str, object]) -> None:
    """The licence's metadata, what the answer reflects, then the checks and the verdict."""
    licence = answer.get("licence")
    if isinstance(licence, dict):
        show_licence(console, licence)
    else:
        console.print(f"licence {escape(str(answer.get('licence_id')))}: not on the ledger")
    as_of = answer.get("as_of")
    if isinstance(as_of, dict):
        console.print(
            f"as of height {as_of.get('height')}, block time {show_time(as_of['time'])}, block {as_of.get('block_hash')}, state root {as_of.get('state_root')}",  # type: ignore[arg-type]
        )
    title = (
        f"licence {answer.get('licence_id')} for {answer.get('asking_region')} at {show_time(answer['at_time'])}"  # type: ignore[arg-type]
        f" (state of height {answer.get('height')}; presented by {answer.get('presented')})"
    )
    show_checks(console, escape(title), answer)


def show_licence(console: Console, licence: dict) -> None:
    """A licence's public metadata (domain.md §9.5): nothing of a person but that it is one."""
    kind, issuer, holder = licence.get("type") or {}, licence.get("issuer") or {}, licence.get("holder") or {}
    validity, status = licence.get("validity") or {}, licence.get("status") or {}
    console.print(f"licence {escape(str(licence.get('id')))}, version {licence.get('version')}")
    console.print(f"  type        {escape(str(kind.get('name') or '?'))} ({kind.get('code')})")
    console.print(f"  issuer      {escape(str(issuer.get('name') or '?'))} (USCC {issuer.get('uscc')}, {issuer.get('region')})")
    console.print(f"  holder      {'enterprise, USCC ' + str(holder.get('uscc')) if holder.get('kind') == 'enterprise' else 'a natural person (not shown)'}")
    until = validity.get("valid_until") or "permanent"
    console.print(f"  issued      {licence.get('issue_date')}; valid {validity.get('valid_from')} to {until} ({'in force' if validity.get('in_force') else 'NOT in force'})")
    reason = status.get("reason")
    because = f", reason {reason.get('code')}" + (f": {escape(str(reason['note']))}" if reason.get("note") else "") if isinstance(reason, dict) else ""
    updated = f" since {show_time(status['updated_at'])}" if isinstance(status.get("updated_at"), int) else ""
    console.print(f"  status      {status.get('code')} ({escape(str(status.get('name')))}){updated}{because}")
    if licence.get("supersedes"):
        console.print(f"  supersedes  {licence['supersedes']}")
    if licence.get("superseded_by"):
        console.print(f"  superseded by {licence['superseded_by']}")
    commitment = licence.get("commitment")
    if isinstance(commitment, dict):
        console.print(f"  commitment  {commitment.get('state')}, inspection due {commitment.get('deadline')}{' (OVERDUE)' if commitment.get('overdue') else ''}")


def _keep_receipt(receipt: object, out: Path | None, genesis: Genesis | None, console: Console, *, quiet: bool) -> bool:
    """Check the answer's receipt against `genesis` (when known), write it to `out` (when given)
    and say so; False when it does not verify."""
    if not isinstance(receipt, dict):
        if out is not None:
            Console(stderr=True).print("no receipt: this verification was not recorded (only partner and staff callers, or a caller stating a purpose, are)")
        return True
    try:
        parsed = Receipt.from_json(receipt)
    except LedgerError as exc:
        Console(stderr=True).print(f"[red]the receipt in the answer is malformed: {exc.code}: {escape(str(exc))}[/red]")
        return False
    ok, said = True, "not checked: no trusted genesis (--trust, or genesis in the profile)"
    if genesis is not None:
        try:
            verify_receipt(parsed, genesis)
            said = "verified against the trusted genesis"
        except LedgerError as exc:
            ok, said = False, f"[bold red]DOES NOT VERIFY[/bold red]: {exc.code}: {escape(str(exc))}"
    if out is not None:
        try:
            replace_file(out, parsed.to_bytes(), 0o644)
        except OSError as exc:
            fail(2, f"cannot write {out}: {exc.strerror}")
    target = Console(stderr=True) if quiet else console
    target.print(f"receipt {escape(parsed.id)} signed by {escape(str(parsed.record['node']))}: {said}" + (f"; written to {escape(str(out))}" if out is not None else ""))
    return ok


def _trusted_genesis(path: Path | None) -> Genesis | None:
    if path is None:
        return None
    try:
        return Genesis.read(path)
    except LedgerError as exc:
        fail(2, f"trusted genesis {path}: {exc.code}: {exc}")
