"""`eledger certs ...`: create and inspect the PKI from the command line (docs/spec/pki.md §8).

The only place in `certs` that reads the clock (`datetime.now(timezone.utc)`) and prints.
It turns `CertError`s into one red line with the error code and exit status 1, and never
prints or logs private keys (only the paths of key files).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from rich.console import Console
from rich.table import Table
from rich.text import Text

from certs.errors import CertError
from certs.identity import read_ca_region, read_identity
from certs.keys import fingerprint_certificate, read_certificate
from certs.layout import (
    BACKDATE,
    CA_CERT,
    DEFAULT_REGIONS,
    LEAF_LIFETIME,
    existing_regions,
    init_pki,
    issue_credential,
    load_roots,
)
from certs.manifest import ManifestEntry
from certs.roles import CA_ROLE, Role, parse_role
from certs.validate import validate_certificate

certs_app = typer.Typer(
    name="certs",
    no_args_is_help=True,
    add_completion=False,
    help="X.509 PKI: region root CAs and node, department, staff, partner and admin certificates.",
)
console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fail(exc: CertError) -> typer.Exit:
    line = Text("error ", style="bold red")
    line.append(f"[{exc.code}] ", style="red")
    line.append(str(exc))
    error_console.print(line)
    return typer.Exit(code=1)


@certs_app.command("init")
def init_command(
    out: Annotated[Path, typer.Option("--out", help="PKI directory to create or extend.")],
    regions: Annotated[
        str, typer.Option("--regions", help="Comma-separated region names.")
    ] = ",".join(DEFAULT_REGIONS),
    validators_per_region: Annotated[
        int,
        typer.Option("--validators-per-region", min=1, help="Validator certificates per region."),
    ] = 1,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help="Keep regions whose CA already exists.")
    ] = False,
) -> None:
    """Create a root CA per region and its demo credentials, plus manifest.json."""
    names = [r.strip() for r in regions.split(",") if r.strip()]
    kept = set(existing_regions(out, names)) if skip_existing else set()
    try:
        manifest = init_pki(
            out,
            names,
            _now(),
            validators_per_region=validators_per_region,
            skip_existing=skip_existing,
        )
    except CertError as exc:
        raise _fail(exc) from None
    table = _entries_table(f"PKI in {out}")
    for entry in manifest.entries:
        if entry.region in names:
            _add_entry(table, entry, "kept" if entry.region in kept else "created")
    console.print(table)
    console.print(
        f"manifest: {out / 'manifest.json'}  (private keys are mode 0600; keep ca.key offline)"
    )


@certs_app.command("issue")
def issue_command(
    ca: Annotated[Path, typer.Option("--ca", help="Region directory holding ca.crt and ca.key.")],
    role: Annotated[
        str, typer.Option("--role", help="One of: " + ", ".join(r.value for r in Role))
    ],
    name: Annotated[
        str, typer.Option("--name", help="Subject name, e.g. beijing-2 or haidian-market.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Writes OUT.crt and OUT.key (0600).")],
    uscc: Annotated[
        str | None, typer.Option("--uscc", help="Department USCC (issuer role only).")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Extra DNS name or IP for a node certificate."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Validity in days (default: 730, capped by the CA)."),
    ] = None,
) -> None:
    """Issue one certificate and key with a region CA."""
    now = _now()
    try:
        parsed_role = parse_role(role)
        not_before = now - BACKDATE
        if days is None:
            ca_not_after = read_certificate(ca / CA_CERT).not_valid_after_utc
            not_after = min(not_before + LEAF_LIFETIME, ca_not_after)
        else:
            not_after = now + timedelta(days=days)
        entry = issue_credential(
            ca,
            role=parsed_role,
            name=name,
            out_prefix=out,
            not_before=not_before,
            not_after=not_after,
            uscc=uscc,
            hosts=host or (),
        )
    except CertError as exc:
        raise _fail(exc) from None
    table = _entries_table("issued")
    _add_entry(table, entry, "created")
    console.print(table)


@certs_app.command("show")
def show_command(
    file: Annotated[Path, typer.Argument(help="Certificate file (PEM or DER).")],
    roots: Annotated[
        Path | None,
        typer.Option("--roots", help="PKI directory whose region CAs to validate against."),
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="Also require this role.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Also require this region.")
    ] = None,
) -> None:
    """Print a certificate's identity and validity; with --roots, validate it now."""
    now = _now()
    try:
        cert = read_certificate(file)
        ca_region = _read_root_region(cert)
        console.print(_describe(file, cert, ca_region))
        if roots is None:
            console.print("not validated (pass --roots DIR to check the chain)")
            return
        trusted = load_roots(roots)
        required_role = parse_role(role) if role is not None else None
        if ca_region is not None:
            _check_root(cert, ca_region, trusted, roots, required_role, region)
            console.print(Text(f"valid: trusted root CA of {ca_region} in {roots}", style="green"))
            return
        identity = validate_certificate(
            cert, roots=list(trusted.values()), at=now, role=required_role, region=region
        )
    except CertError as exc:
        raise _fail(exc) from None
    console.print(
        Text(
            f"valid at {now.isoformat(timespec='seconds')}: {identity.role.value} of "
            f"{identity.region}, chains to the {identity.region} root CA",
            style="green",
        )
    )


def _describe(file: Path, cert: x509.Certificate, ca_region: str | None) -> Table:
    table = Table(title=str(file), show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    if ca_region is not None:
        table.add_row("role", CA_ROLE)
        table.add_row("region", ca_region)
    else:
        identity = read_identity(cert)
        table.add_row("identity", identity.urn)
        table.add_row("role", identity.role.value)
        table.add_row("region", identity.region)
        table.add_row("name", identity.name)
        if identity.uscc is not None:
            table.add_row("uscc", identity.uscc)
    table.add_row("subject", cert.subject.rfc4514_string())
    table.add_row("issuer", cert.issuer.rfc4514_string())
    table.add_row("serial", format(cert.serial_number, "x"))
    table.add_row("not before", cert.not_valid_before_utc.isoformat())
    table.add_row("not after", cert.not_valid_after_utc.isoformat())
    table.add_row("sha-256", fingerprint_certificate(cert))
    return table


def _check_root(
    cert: x509.Certificate,
    ca_region: str,
    trusted: dict[str, x509.Certificate],
    roots: Path,
    role: Role | None,
    region: str | None,
) -> None:
    if role is not None:
        raise CertError(
            f"{cert.subject.rfc4514_string()} is a root CA, not a {role.value} certificate",
            code="cert.wrong_role",
            expected=role.value,
            actual=CA_ROLE,
        )
    if region is not None and region != ca_region:
        raise CertError(
            f"{cert.subject.rfc4514_string()} is the CA of {ca_region!r}, not of {region!r}",
            code="cert.wrong_region",
            expected=region,
            actual=ca_region,
        )
    if trusted.get(ca_region) != cert:
        raise CertError(
            f"{cert.subject.rfc4514_string()} is not one of the roots in {roots}",
            code="cert.untrusted_issuer",
        )


def _read_root_region(cert: x509.Certificate) -> str | None:
    """The region if `cert` is an eledger root CA certificate, else None."""
    try:
        return read_ca_region(cert)
    except CertError:
        return None


def _entries_table(title: str) -> Table:
    table = Table(title=title)
    for column in (
        "status",
        "region",
        "role",
        "name",
        "certificate (+ .key)",
        "not after",
        "sha-256",
    ):
        table.add_column(column, overflow="fold")
    return table


def _add_entry(table: Table, entry: ManifestEntry, status: str) -> None:
    table.add_row(
        status,
        entry.region,
        entry.role,
        entry.name,
        entry.certificate,
        entry.not_after.date().isoformat(),
        entry.fingerprint[:12],
    )
