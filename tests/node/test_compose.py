"""docker-compose.yml agrees with the devnet that `eledger devnet` generates with its default
ports: one service per node with its region, its p2p and API ports, its home mounted at the
container home, and its peers dialled by service name. The file is JSON-compatible YAML; it is
read with PyYAML when installed, else as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from node.config import read_config
from node.devnet import DEFAULT_API_BASE, DEFAULT_P2P_BASE, NETWORK_FILE, prepare_devnet

ROOT = Path(__file__).resolve().parents[2]
CONTAINER_HOME = "/home/eledger"
DEVNET_DIR = ".devnet"  # the Makefile's DEVNET


def load_compose() -> dict:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        return json.loads(text)
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    directory = tmp_path_factory.mktemp("compose") / DEVNET_DIR
    prepare_devnet(directory, 4, p2p_base=DEFAULT_P2P_BASE, api_base=DEFAULT_API_BASE)
    return directory, json.loads((directory / NETWORK_FILE).read_text())


def peer_hosts(command: list[str]) -> dict[str, str]:
    pairs = [command[i + 1] for i, arg in enumerate(command) if arg == "--peer-host"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_compose_services_are_the_devnet_nodes_with_their_regions(network):
    _, net = network
    services = load_compose()["services"]
    assert list(services) == [n["name"] for n in net["nodes"]]
    assert [s["labels"]["eledger.region"] for s in services.values()] == [n["region"] for n in net["nodes"]]
    assert len({n["region"] for n in net["nodes"]}) == 4


def test_compose_publishes_each_nodes_p2p_and_api_ports_on_loopback(network):
    _, net = network
    services = load_compose()["services"]
    for node in net["nodes"]:
        p2p = int(node["p2p"].rsplit(":", 1)[1])
        api = int(node["api_url"].rsplit(":", 1)[1])
        assert services[node["name"]]["ports"] == [f"127.0.0.1:{p2p}:{p2p}", f"127.0.0.1:{api}:{api}"]


def test_compose_mounts_each_generated_home_at_the_container_home(network):
    directory, net = network
    services = load_compose()["services"]
    for node in net["nodes"]:
        [volume] = services[node["name"]]["volumes"]
        source, target = volume.split(":")
        assert target == CONTAINER_HOME
        assert PurePosixPath(source).relative_to(f"./{DEVNET_DIR}") == PurePosixPath(node["home"])
        assert (directory / node["home"] / "node.json").is_file()
        assert services[node["name"]]["command"][:4] == ["node", "start", "--home", CONTAINER_HOME]


def test_compose_dials_the_peers_of_each_home_by_service_name(network):
    directory, net = network
    services = load_compose()["services"]
    for node in net["nodes"]:
        config = read_config(directory / node["home"])
        assert config.name == node["name"] and config.region == node["region"]
        assert peer_hosts(services[node["name"]]["command"]) == {p.name: p.name for p in config.peers}
        assert {p.name for p in config.peers} == set(services) - {node["name"]}
