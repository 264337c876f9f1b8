"""`eledger qr DOCUMENT --out FILE`: the QR code of a holder's licence document
(docs/spec/qr.md), as a PNG or SVG image chosen by the file's suffix.

The payload (ledger.qr) names the chain, so the chain id comes from --chain-id or --genesis as in
the `tx` commands. Exit 0 written, 2 unusable input (document, genesis, chain id, output file
or option). What it prints names the licence, the payload's size and the symbol, never a
holder's name or ID number (the payload holds neither).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from client.qr import FORMATS, MAX_SCALE, render_qr
from eledger.commands.licence import fail, resolve_chain_id
from ledger.document import EnterpriseHolder, read_document
from ledger.errors import LedgerError
from ledger.files import replace_file
from ledger.qr import encode_qr

console = Console(stderr=True)  # the summary; standard output carries only the payload (--payload)


def qr(
    document: Annotated[Path, typer.Argument(help="The licence document (canonical JSON, as `licence import` or `tx licence-issue` wrote it).")],
    out: Annotated[Path, typer.Option("--out", help="Image file to write: .png or .svg (replaced if it exists).")],
    chain_id: Annotated[str | None, typer.Option("--chain-id", help="Chain id (or give --genesis).")] = None,
    genesis: Annotated[Path | None, typer.Option("--genesis", help="Genesis file to take the chain id from.")] = None,
    scale: Annotated[int | None, typer.Option("--scale", min=1, max=MAX_SCALE, help="Pixels (PNG, default 8) or SVG units (default 1) a module.")] = None,
    payload: Annotated[bool, typer.Option("--payload", help="Also print the payload text on standard output (for `verify --qr`).")] = False,
) -> None:
    """Write the QR code of DOCUMENT to FILE: EL1: + base45(zlib(CBOR)) with the chain id, the
    licence id, the document hash and the holder binding (an enterprise's USCC, a person's
    commitment: never a name or ID number). Exit 0 written, 2 unusable input."""
    kind = out.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        fail(2, f"--out {out}: the file's suffix chooses the image format: .png or .svg")
    chain = resolve_chain_id(chain_id, genesis)
    try:
        parsed = read_document(document)
    except LedgerError as exc:
        fail(2, f"licence document {document}: {exc.code}: {exc}")
    try:
        text = encode_qr(parsed, chain)
        image = render_qr(text, kind, scale=scale)
    except LedgerError as exc:
        fail(2, f"{exc.code}: {exc}")
    try:
        replace_file(out, image.data, 0o644)
    except OSError as exc:
        fail(2, f"cannot write {out}: {exc.strerror}")
    holder = "an enterprise (its USCC)" if isinstance(parsed.licence.holder, EnterpriseHolder) else "a person (the holder commitment)"
    console.print(
        f"QR code of licence {escape(parsed.licence.id)} written to {escape(str(out))}: payload of {len(text)} characters"
        f" binding {holder}, QR version {image.version} level Q, {image.modules}×{image.modules} modules",
        highlight=False,
    )
    if payload:
        typer.echo(text)
