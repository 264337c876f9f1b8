"""`eledger` command line: one typer app; each package contributes its commands."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from certs.cli import certs_app
from eledger.commands import register_commands
from eledger.commands.licence import licence_app
from eledger.commands.tx import tx_app
from ledger.audit import audit_chain
from ledger.errors import AuditError, LedgerError
from ledger.genesis import Genesis
from ledger.store import LevelKV

app = typer.Typer(no_args_is_help=True, add_completion=False, help="eledger: BFT ledger for electronic licences and seals.")
app.add_typer(certs_app, name="certs")
register_commands(app)
app.add_typer(tx_app, name="tx")
app.add_typer(licence_app, name="licence")
console = Console()
err_console = Console(stderr=True)

GENESIS_FILE = "genesis.json"
STORE_DIR = "ledger"


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), console=console, transient=False,
    )


@app.command()
def audit(
    home: Annotated[Path, typer.Argument(help="Node home: holds genesis.json and the ledger/ store.")],
    genesis: Annotated[Path | None, typer.Option(help="Trusted genesis (default HOME/genesis.json).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Cores to use: the replay and workers − 1 processes verifying signatures (default: all cores).")] = os.cpu_count() or 1,
) -> None:
    """Re-verify the whole chain: hash links, tx roots, signatures, log and state roots by
    replay, and commit certificates. Exit 0 intact, 1 damaged (names the first bad height), 2
    unusable input."""
    genesis_path = genesis or home / GENESIS_FILE
    store_path = home / STORE_DIR
    if not store_path.is_dir():
        err_console.print(f"[red]no ledger store at {store_path}[/red]")
        raise typer.Exit(2)
    try:
        trusted = Genesis.read(genesis_path)
        kv = LevelKV(store_path, create=False, verify_checksums=True)
    except LedgerError as exc:
        err_console.print(f"[red]{exc.code}: {exc}[/red]")
        raise typer.Exit(2) from exc
    started = time.perf_counter()
    try:
        with progress_bar() as bar:
            task = bar.add_task("auditing", total=None, detail="")

            def step(height: int, top: int, txs: int) -> None:
                bar.update(task, completed=height, total=top, detail=f"{txs} txs")

            report = audit_chain(kv, trusted, progress=step, workers=workers)
    except AuditError as exc:
        err_console.print(f"[red]AUDIT FAILED at height {exc.height}[/red]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        kv.close()
    elapsed = time.perf_counter() - started
    console.print(
        f"[green]chain intact[/green]: {report.height} blocks, {report.txs} transactions, "
        f"{elapsed:.2f} s ({report.txs / elapsed if elapsed else 0:.0f} txs/s)\n"
        f"  state root {report.state_root.hex()}\n  log root   {report.log_root.hex()}\n  tip        {report.block_hash.hex()}"
    )


@app.command()
def demo(
    dir: Annotated[Path, typer.Option(help="Network directory (created, or resumed if it exists).")] = Path(".devnet"),
    blocks: Annotated[int, typer.Option(min=1, max=10_000, help="Blocks to add.")] = 20,
    txs: Annotated[int, typer.Option(min=0, max=2000, help="Transactions per block.")] = 50,
) -> None:
    """Create (or resume) a four-region network and a local ledger with demo blocks, then audit it."""
    from node.demo import run_demo

    try:
        run_demo(dir, blocks, txs, datetime.now(timezone.utc), console, progress_bar)
    except LedgerError as exc:
        err_console.print(f"[red]{exc.code}: {exc}[/red]")
        raise typer.Exit(1) from exc
    audit(dir / "local", None, os.cpu_count() or 1)


def main() -> None:
    app()
