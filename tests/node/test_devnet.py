"""node.devnet without running nodes: self-contained homes, network.json, port and process
checks, and stopping processes (SIGTERM, then SIGKILL). Processes started here are the only
ones signalled."""

from __future__ import annotations

import json
import os
import random
import shlex
import socket
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from rich.console import Console
from typer.testing import CliRunner

import node.devnet as devnet_module
from certs.keys import read_certificate
from certs.validate import validate_certificate
from client.profile import read_profile
from ledger.genesis import Genesis
from ledger.ids import validate_type_code, validate_uscc
from node.config import read_config
from node.demo import FOOD, TYPES, seal_id_of
from node.devnet import (
    BROWSER_PASSWORD, BROWSER_ROLES, HOST, NETWORK_FILE, PIDS_FILE, PROFILE_ROLES, DevnetError, browser_logins, check_not_running, check_ports_free, ephemeral_port_floor, prepare_devnet,
    random_port_base, stop_nodes, try_commands,
)

P2P = random_port_base(random.Random(), span=200)
API = P2P + 100


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    return prepare_devnet(tmp_path_factory.mktemp("devnet") / "net", 4, p2p_base=P2P, api_base=API)


def test_each_home_holds_everything_its_node_reads(devnet):
    for i, node in enumerate(devnet.nodes):
        config = read_config(node.home)
        assert (config.name, config.region, config.p2p_port, config.api_port) == (node.name, node.region, P2P + i, API + i)
        assert [p.name for p in config.peers] == [n.name for n in devnet.nodes if n.name != node.name]
        assert {p.port for p in config.peers} == {n.p2p_port for n in devnet.nodes} - {node.p2p_port}
        for path in (config.genesis, config.validator_key, config.tls_cert, config.tls_key, *config.tls_ca):
            assert config.resolve(path).is_file(), path
        assert Genesis.read(config.resolve(config.genesis)) == devnet.network.genesis
        for secret in (config.validator_key, config.tls_key):
            assert config.resolve(secret).stat().st_mode & 0o777 == 0o600


def test_network_json_lists_nodes_and_credentials_relative_to_the_directory(devnet):
    net = json.loads((devnet.dir / NETWORK_FILE).read_text())
    assert net["chain_id"] == devnet.chain_id
    assert [(n["name"], n["region"]) for n in net["nodes"]] == [("beijing-1", "beijing"), ("tianjin-1", "tianjin"), ("hebei-1", "hebei"), ("xiongan-1", "xiongan")]
    assert net["nodes"][1]["api_url"] == f"https://{HOST}:{API + 1}" and net["nodes"][1]["p2p"] == f"{HOST}:{P2P + 1}"
    assert all((devnet.dir / n["home"] / "node.json").is_file() for n in net["nodes"])
    for region, creds in net["credentials"].items():
        for role in ("admin", "department"):
            assert (devnet.dir / creds[role]["private_key"]).is_file() and (devnet.dir / creds[role]["certificate"]).is_file()
        assert creds["department"]["uscc"]


def test_network_json_tells_a_department_what_it_may_issue_under(devnet):
    net = json.loads((devnet.dir / NETWORK_FILE).read_text())
    assert list(net["regions"]) == ["beijing", "tianjin", "hebei", "xiongan"]
    beijing = net["regions"]["beijing"]
    assert beijing["name"] == "北京市" and (devnet.dir / beijing["ca"]).is_file()
    (department,) = beijing["departments"]
    assert department["name"] == "北京市市场监督管理局" and validate_uscc(department["uscc"]) == department["uscc"]
    assert department["uscc"] == net["credentials"]["beijing"]["department"]["uscc"]
    assert department["seals"] == [seal_id_of("beijing")] == ["BEIJING0SEAL01"]
    assert [t["code"] for t in department["licence_types"]][0] == FOOD
    assert all(validate_type_code(t["code"]) and t["name"] for t in department["licence_types"])
    assert (devnet.dir / department["credential"]["private_key"]).is_file()
    assert {(r["from_region"], r["type"]) for r in beijing["recognises"]} == {(o, FOOD) for o in ("tianjin", "hebei", "xiongan")}
    assert [s["code"] for s in beijing["scenarios"]] == ["BJ-KH-001", "BJ-SP-001", "BJ-YS-001"]
    assert beijing["scenarios"][1] == {"code": "BJ-SP-001", "name": "食品经营许可核查", "name_en": "Food business licence check", "licence_types": [FOOD]}
    assert all(set(s["licence_types"]) <= set(TYPES) for r in net["regions"].values() for s in r["scenarios"])


def test_each_region_has_a_profile_per_role_naming_its_node_and_credential(devnet):
    net = json.loads((devnet.dir / NETWORK_FILE).read_text())
    roots = [read_certificate(devnet.dir / "pki" / r / "ca.crt") for r in net["regions"]]
    for node in devnet.nodes:
        for role, cert_role in PROFILE_ROLES.items():
            path = devnet.dir / net["profiles"][node.region][role]
            assert path == devnet.dir / "profiles" / f"{node.region}-{role}.json"
            profile = read_profile(path)
            assert profile.api_url == node.api_url and profile.genesis.resolve() == (devnet.dir / "genesis.json").resolve()
            assert profile.ca.resolve() == (devnet.dir / "pki" / node.region / "ca.crt").resolve()
            identity = validate_certificate(read_certificate(profile.certificate), roots=roots, at=read_certificate(profile.certificate).not_valid_before_utc)
            assert (identity.role, identity.region) == (cert_role, node.region)
            assert profile.private_key.stat().st_mode & 0o777 == 0o600
        assert json.loads(path.read_text())["ca"] == f"../pki/{node.region}/ca.crt"  # relative, so DIR can move


def test_each_regions_staff_and_auditor_credential_is_a_pkcs12_file_the_demo_password_opens(devnet):
    for node in devnet.nodes:
        for role in BROWSER_ROLES:
            path = devnet.browser_credential(node.region, role)
            assert path == devnet.dir / "profiles" / f"{node.region}-{role}.p12"
            assert path.stat().st_mode & 0o777 == 0o600
            with pytest.raises(ValueError):
                pkcs12.load_pkcs12(path.read_bytes(), b"not the password")
            opened = pkcs12.load_pkcs12(path.read_bytes(), BROWSER_PASSWORD.encode())
            profile = read_profile(devnet.profile_path(node.region, role))
            assert opened.cert.certificate.public_bytes(serialization.Encoding.PEM) == profile.certificate.read_bytes()
            public = serialization.PublicFormat.SubjectPublicKeyInfo
            assert opened.key.public_key().public_bytes(serialization.Encoding.PEM, public) == opened.cert.certificate.public_key().public_bytes(serialization.Encoding.PEM, public)
            assert [c.certificate.public_bytes(serialization.Encoding.PEM) for c in opened.additional_certs] == [profile.ca.read_bytes()]
            identity = validate_certificate(opened.cert.certificate, roots=[read_certificate(profile.ca)], at=opened.cert.certificate.not_valid_before_utc)
            assert (identity.role, identity.region) == (PROFILE_ROLES[role], node.region)


def test_the_summary_says_how_to_open_each_nodes_page_with_its_regions_staff_credential(devnet):
    console = Console(record=True, width=400)
    devnet_module._print_urls(devnet, {}, console)
    text = console.export_text()
    assert BROWSER_PASSWORD in text and str(devnet.dir / "pki" / "ca-bundle.pem") in text
    assert [n.name for n, _, _ in browser_logins(devnet)] == [n.name for n in devnet.nodes]
    for node, staff, auditor in browser_logins(devnet):
        assert f"{node.api_url}/   {staff}" in text and auditor.name in text and staff.exists() and auditor.exists()


def test_the_printed_commands_have_a_tianjin_partner_check_a_seeded_beijing_licence(devnet, tmp_path):
    assert try_commands(devnet) == []  # nothing seeded yet
    documents = devnet.dir / "documents" / "beijing"
    documents.mkdir(parents=True)
    licence_id = "1.2.156.3005.2.11100000000013338W032.11110000000000001R.1.001.X"
    (documents / f"{licence_id}.json").write_text("{}")
    commands = try_commands(devnet)
    profile = devnet.dir / "profiles" / "tianjin-partner.json"
    assert commands[0].startswith(f"eledger verify --profile {profile} --id {licence_id} --purpose-code ")
    assert f"--document {documents / (licence_id + '.json')}" in commands[2]
    assert commands[3].startswith(f"eledger prove --profile {profile} --region tianjin {licence_id} --purpose-code ")
    assert commands[3].endswith(" --out bundle.json")
    assert commands[1] == f"eledger verify-receipt receipt.json --trust {devnet.dir / 'genesis.json'}"
    assert commands[4] == f"eledger verify-bundle bundle.json --trust {devnet.dir / 'genesis.json'} --region tianjin --max-age 1h"
    (documents / f"{licence_id}.json").unlink()
    documents.rmdir()


def test_the_printed_commands_are_ones_the_cli_accepts(devnet, tmp_path, monkeypatch):
    """Each printed command parses: its options exist and it goes as far as the network (no node
    runs here) or the files it names, never stopping at its own command line."""
    import eledger.commands.connect as connect_module
    from client.http import Retry
    from eledger.cli import app

    documents = devnet.dir / "documents" / "beijing"
    documents.mkdir(parents=True)
    (documents / "1.2.156.3005.2.11100000000013338W032.11110000000000001R.1.001.X.json").write_text("{}")
    original = connect_module.Connection.client
    monkeypatch.setattr(connect_module.Connection, "client", lambda self, **kw: original(self, retry=Retry(attempts=1)))
    monkeypatch.chdir(tmp_path)
    try:
        for command in try_commands(devnet):
            args = shlex.split(command)
            assert args[0] == "eledger"
            result = CliRunner().invoke(app, args[1:], env={"COLUMNS": "200", "ELEDGER_PROFILE": ""})
            output = " ".join(result.output.split())
            assert "No such option" not in output and "Missing option" not in output and "unexpected extra argument" not in output, (command, output)
            assert result.exit_code in (2, 3), (command, output)  # 3: no node answered; 2: a file it names is not there yet
    finally:
        for path in documents.iterdir():
            path.unlink()
        documents.rmdir()


def test_a_second_prepare_keeps_keys_and_rewrites_the_ports(devnet):
    key = (devnet.nodes[0].home / "validator.key").read_bytes()
    again = prepare_devnet(devnet.dir, 4, p2p_base=P2P + 500, api_base=API + 500)
    assert (again.nodes[0].home / "validator.key").read_bytes() == key
    assert read_config(again.nodes[0].home).api_port == API + 500
    assert read_profile(again.profile_path("beijing", "partner")).api_url.endswith(f":{API + 500}")
    prepare_devnet(devnet.dir, 4, p2p_base=P2P, api_base=API)


@pytest.mark.parametrize("nodes, bases, code", [(3, (P2P, API), "devnet.mismatch"), (5, (P2P, API), "devnet.bad_nodes"), (4, (P2P, P2P + 2), "devnet.bad_nodes"), (4, (65534, API), "devnet.bad_nodes")])
def test_prepare_refuses_what_cannot_be_a_devnet(devnet, nodes, bases, code):
    with pytest.raises(DevnetError) as info:
        prepare_devnet(devnet.dir, nodes, p2p_base=bases[0], api_base=bases[1])
    assert info.value.code == code


def test_a_busy_port_is_named_with_its_node(devnet):
    check_ports_free(devnet)
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((HOST, API + 2))
        holder.listen()
        with pytest.raises(DevnetError) as info:
            check_ports_free(devnet)
    assert info.value.code == "devnet.port_busy" and f"{API + 2} (hebei-1 api)" in str(info.value)


def test_a_live_node_process_of_the_directory_blocks_a_second_run(devnet):
    pids = devnet.dir / PIDS_FILE
    pids.write_text(json.dumps({"nodes": {"beijing-1": os.getpid()}}))
    check_not_running(devnet.dir)  # a process that is not a node of this directory
    lookalike = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)", "start", str(devnet.dir.resolve() / "nodes")],
        stdout=subprocess.PIPE,
    )
    try:
        assert lookalike.stdout.readline() == b"ready\n"  # its command line is in place
        pids.write_text(json.dumps({"nodes": {"beijing-1": lookalike.pid}}))
        with pytest.raises(DevnetError) as info:
            check_not_running(devnet.dir)
        assert info.value.code == "devnet.running"
    finally:
        stop_nodes({"lookalike": lookalike}, grace_s=5)
        lookalike.stdout.close()
        pids.unlink()
    check_not_running(devnet.dir)


def test_stop_nodes_kills_a_process_that_ignores_sigterm_after_the_grace_period():
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stubborn.stdout.readline() == b"ready\n"
    codes = stop_nodes({"stubborn": stubborn, "polite": polite}, grace_s=1.0)
    stubborn.stdout.close()
    assert codes == {"stubborn": -9, "polite": -15}


def test_random_port_bases_lie_below_the_kernels_ephemeral_range():
    floor = ephemeral_port_floor()
    rng = random.Random(7)
    bases = [random_port_base(rng, span=20) for _ in range(2000)]
    assert all(10_000 <= b and b + 20 <= floor and b % 20 == 0 for b in bases)
    assert len(set(bases)) > 100


@pytest.mark.parametrize("text, floor", [("32768\t60999\n", 32768), ("1024 65535", 49152), ("garbage", 49152), (None, 49152)])
def test_the_ephemeral_floor_comes_from_the_kernel_or_falls_back_to_ianas(tmp_path, monkeypatch, text, floor):
    path = tmp_path / "ip_local_port_range"
    if text is not None:
        path.write_text(text)
    monkeypatch.setattr(devnet_module, "EPHEMERAL_RANGE_FILE", path)
    assert ephemeral_port_floor() == floor
    assert random_port_base(random.Random(1)) + 20 <= floor
