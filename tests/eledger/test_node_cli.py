"""`eledger node start` and `eledger devnet`: options, overrides and exit codes for bad input."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from eledger.cli import app
from eledger.commands.node import apply_overrides
from node.config import ConfigError, read_config
from node.devnet import HOST, NETWORK_FILE, random_port_base

runner = CliRunner()
# Below the ephemeral range, so that no outgoing connection can hold one of them.
P2P = random_port_base(random.Random(), span=200)
API = P2P + 100


@pytest.fixture(scope="module")
def devnet_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "devnet"
    result = runner.invoke(app, ["devnet", "--dir", str(d), "--nodes", "4", "--p2p-base", str(P2P), "--api-base", str(API), "--init-only"])
    assert result.exit_code == 0, result.output
    return d


def test_devnet_init_only_writes_the_network_without_starting_it(devnet_dir):
    net = json.loads((devnet_dir / NETWORK_FILE).read_text())
    assert [n["api_url"] for n in net["nodes"]] == [f"https://{HOST}:{API + i}" for i in range(4)]
    assert not (devnet_dir / "pids.json").exists()


def test_devnet_refuses_another_node_count_for_an_existing_network(devnet_dir):
    result = runner.invoke(app, ["devnet", "--dir", str(devnet_dir), "--nodes", "2", "--init-only"])
    assert result.exit_code == 2 and "devnet.mismatch" in result.output


def test_overrides_set_the_listen_host_and_peer_hosts(devnet_dir):
    config = read_config(devnet_dir / "nodes" / "beijing-1")
    changed = apply_overrides(config, "0.0.0.0", ["tianjin-1=tianjin-1", "hebei-1=10.0.0.3"])
    assert (changed.p2p_host, changed.api_host) == ("0.0.0.0", HOST)  # the API stays on loopback
    assert apply_overrides(config, "0.0.0.0", [], "0.0.0.0").api_host == "0.0.0.0"
    assert {p.name: p.host for p in changed.peers} == {"tianjin-1": "tianjin-1", "hebei-1": "10.0.0.3", "xiongan-1": HOST}
    assert apply_overrides(config, None, []) == config


@pytest.mark.parametrize("peer_host, code", [("tianjin-1", "config.bad_value"), ("=x", "config.bad_value"), ("mars-1=10.0.0.9", "config.unknown_peer")])
def test_bad_peer_host_overrides_are_refused(devnet_dir, peer_host, code):
    config = read_config(devnet_dir / "nodes" / "beijing-1")
    with pytest.raises(ConfigError) as info:
        apply_overrides(config, None, [peer_host])
    assert info.value.code == code


def test_node_start_without_a_config_exits_two_naming_the_file(tmp_path):
    result = runner.invoke(app, ["node", "start", "--home", str(tmp_path)])
    assert result.exit_code == 2 and "config.not_found" in result.output


def test_node_start_on_a_busy_api_port_exits_two_with_a_clear_error(devnet_dir):
    home = devnet_dir / "nodes" / "hebei-1"
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((HOST, API + 2))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "eledger", "node", "start", "--home", str(home)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "node.port_busy" in done.stderr and f"{HOST}:{API + 2}" in done.stderr
