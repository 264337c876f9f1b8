"""`eledger` command line: one typer app with a sub-app per package."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="eledger: BFT ledger for electronic licences and seals.")


def main() -> None:
    app()
