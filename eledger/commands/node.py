"""`eledger node start --home DIR` runs one node; `eledger devnet --dir DIR --nodes 4` runs a
local network of them (node.runtime, node.devnet).

Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT / Ctrl-C), 1 when the node or network
failed while running (the log says why), 2 for unusable input (configuration, home, ports). The
heavy imports (the API server) happen only when a node starts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ledger.errors import LedgerError
from node.config import ConfigError, NodeConfig, read_config

node_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Run a node of an eledger network.")
console = Console()
err_console = Console(stderr=True)

Home = Annotated[Path, typer.Option("--home", help="The node's home: node.json, genesis.json, validator.key, tls/, ledger/, wal/.", file_okay=False)]
ListenHost = Annotated[str | None, typer.Option("--listen-host", help="Listen for peers on this address instead of node.json's p2p_host (e.g. 0.0.0.0 in a container). The API stays where node.json puts it unless --api-host is given.")]
ApiHost = Annotated[str | None, typer.Option("--api-host", help="Serve the API on this address instead of node.json's api_host (e.g. 0.0.0.0 to reach it from other machines).")]
PeerHost = Annotated[list[str] | None, typer.Option("--peer-host", help="NAME=HOST: dial peer NAME at HOST instead of node.json's host (repeatable).")]


def apply_overrides(config: NodeConfig, listen_host: str | None, peer_hosts: list[str], api_host: str | None = None) -> NodeConfig:
    """`config` with the command line's addresses: `listen_host` for peers only, `api_host` for
    the API (an API reachable from elsewhere is asked for on its own, never implied). Raises ConfigError "config.bad_value" for a
    malformed NAME=HOST and "config.unknown_peer" for a name that is not a listed peer."""
    hosts: dict[str, str] = {}
    for item in peer_hosts:
        name, sep, host = item.partition("=")
        if not sep or not name or not host:
            raise ConfigError(f"--peer-host {item!r} must be NAME=HOST", code="config.bad_value", field="--peer-host")
        hosts[name] = host
    unknown = sorted(set(hosts) - {p.name for p in config.peers})
    if unknown:
        raise ConfigError(f"--peer-host names {', '.join(unknown)}, not a peer in node.json", code="config.unknown_peer", field="--peer-host")
    peers = tuple(dataclasses.replace(p, host=hosts.get(p.name, p.host)) for p in config.peers)
    changes: dict[str, object] = {"peers": peers}
    if listen_host is not None:
        changes["p2p_host"] = listen_host
    if api_host is not None:
        changes["api_host"] = api_host
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


@node_app.command("start")
def start(home: Home, listen_host: ListenHost = None, api_host: ApiHost = None, peer_host: PeerHost = None) -> None:
    """Run the node of HOME until SIGTERM or Ctrl-C: peers over mutual TLS, consensus, block
    sync and the HTTP API; logs as JSON lines to HOME/node.log and stderr."""
    try:
        config = apply_overrides(read_config(home), listen_host, peer_host or [], api_host)
    except ConfigError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc}")
        raise typer.Exit(2) from exc
    from node.runtime import run_node

    try:
        code = run_node(config)
    except LedgerError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc}")
        raise typer.Exit(2) from exc
    except OSError as exc:
        err_console.print(f"[red]node.io[/red]: {exc}")
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def devnet(
    dir: Annotated[Path, typer.Option("--dir", help="Network directory (created, or resumed if it exists).", file_okay=False)] = Path(".devnet"),
    nodes: Annotated[int, typer.Option("--nodes", min=1, max=4, help="Validators, one per region (beijing, tianjin, hebei, xiongan).")] = 4,
    p2p_base: Annotated[int, typer.Option("--p2p-base", min=1, max=65535, help="First peer-to-peer port; node i listens on base + i.")] = 26656,
    api_base: Annotated[int, typer.Option("--api-base", min=1, max=65535, help="First API port; node i serves on base + i.")] = 8101,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="Seed demo departments, seals, recognition rules and licences on the first run.")] = True,
    init_only: Annotated[bool, typer.Option("--init-only", help="Write the network, the homes and network.json, then exit (for docker compose).")] = False,
) -> None:
    """Run a local network: create (or resume) DIR, start one validator process per region on
    127.0.0.1, seed the demo through real transactions, print the URLs; Ctrl-C stops them all."""
    from node.devnet import DevnetError, prepare_devnet, run_devnet

    try:
        if init_only:
            net = prepare_devnet(dir, nodes, p2p_base=p2p_base, api_base=api_base)
            console.print(f"devnet {net.chain_id} written to {dir}: {', '.join(n.name for n in net.nodes)}; see {dir / 'network.json'}")
            return
        code = run_devnet(dir, nodes, p2p_base=p2p_base, api_base=api_base, seed=seed, console=console)
    except DevnetError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc}")
        raise typer.Exit(2 if exc.code in ("devnet.port_busy", "devnet.mismatch", "devnet.running", "devnet.bad_nodes") else 1) from exc
    except LedgerError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc}")
        raise typer.Exit(2) from exc
    raise typer.Exit(code)
