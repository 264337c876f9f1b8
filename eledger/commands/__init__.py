"""Commands that packages contribute to the `eledger` app, mounted by eledger/cli.py.

`register_commands(app)` adds them; each command module keeps its own I/O (files, stores,
console) and calls the pure core in `ledger/` for the work.
"""

from __future__ import annotations

import typer

from eledger.commands.bundle import prove, verify_bundle


def register_commands(app: typer.Typer) -> None:
    """Mount `prove` and `verify-bundle` on `app`."""
    app.command("prove")(prove)
    app.command("verify-bundle")(verify_bundle)
