"""Commands that packages contribute to the `eledger` app, mounted by eledger/cli.py.

`register_commands(app)` adds them; each command module keeps its own I/O (files, stores,
console) and calls the pure core in `ledger/` for the work.
"""

from __future__ import annotations

import typer

from eledger.commands.bundle import prove, verify_bundle
from eledger.commands.node import devnet, node_app
from eledger.commands.qr import qr
from eledger.commands.receipt import verify_receipt_command
from eledger.commands.submit import submit
from eledger.commands.verify import verify


def register_commands(app: typer.Typer) -> None:
    """Mount `submit`, `verify`, `verify-receipt`, `prove`, `verify-bundle`, `qr`, `node` (start)
    and `devnet` on `app`."""
    app.command("submit")(submit)
    app.command("verify")(verify)
    app.command("verify-receipt")(verify_receipt_command)
    app.command("prove")(prove)
    app.command("verify-bundle")(verify_bundle)
    app.command("qr")(qr)
    app.add_typer(node_app, name="node")
    app.command("devnet")(devnet)
