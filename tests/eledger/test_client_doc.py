"""docs/client.md is copy-paste correct: every `sh` block runs, in order, from the directory of a
devnet as `make run` lays it out (node.devnet.prepare_devnet, seeded by node.devnet.seed_devnet
through the API), each command exiting 0.

The devnet's four nodes are stood in for by one in-memory node (tests/client/node.py) whose
blocks take the wall-clock time, served over HTTPS on each devnet node's API port with that
node's own TLS certificate, so the profiles the devnet wrote work unchanged. The devnet serves
HTTPS here (API_SCHEME), as the API process does once it serves TLS.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rich.console import Console
import node.devnet as devnet_module
from api.main import create_app
from eledger.cli import app
from node.devnet import DevnetError, check_ports_free, prepare_devnet, random_port_base, seed_devnet
from tests.client.node import Committer, WallClockNodeService, serve, tls_context
from tests.ledger.conftest import Net

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(kind: str) -> list[str]:
    """The fenced blocks of the document whose info string is `kind`, in order."""
    return [body for info, body in FENCE.findall(DOC.read_text(encoding="utf-8")) if info == kind]


def commands(block: str) -> list[list[str]]:
    """The commands of a shell block: lines joined at a trailing backslash, split as sh would."""
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def devnet_dir(tmp_path_factory):
    """A working directory holding `.devnet`, seeded, its nodes' APIs answering over HTTPS."""
    work = tmp_path_factory.mktemp("client-doc")
    rng = random.Random()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(devnet_module, "API_SCHEME", "https")
        patch.chdir(work)
        for _ in range(20):
            base = random_port_base(rng)
            devnet = prepare_devnet(Path(".devnet"), 4, p2p_base=base, api_base=base + 10)
            try:
                check_ports_free(devnet)
                break
            except DevnetError:
                continue
        network = devnet.network
        genesis = network.genesis
        service = WallClockNodeService(Net(genesis, [network.validator_keys[v.name] for v in genesis.validators], dict(network.admin_keys)), max_txs=5000)
        application = create_app(service)
        with contextlib.ExitStack() as stack:
            stack.callback(service.close)
            stack.enter_context(Committer(service))
            for n in devnet.nodes:
                stack.enter_context(serve(application, tls_context(n.home / "tls" / "node.crt", n.home / "tls" / "node.key", devnet.dir / "pki"), port=n.api_port))
            assert seed_devnet(devnet, Console(quiet=True)) is True
            yield work


def test_the_examples_of_docs_client_md_run_as_written(devnet_dir):
    (devnet_dir / "seal.png").write_bytes(b"\x89PNG the seal's image\n")
    (csv,) = blocks("csv")
    (devnet_dir / "licences.csv").write_text(csv, encoding="utf-8")
    ran = []
    previous = os.getcwd()
    os.chdir(devnet_dir)
    try:
        for block in blocks("sh"):
            for args in commands(block):
                assert args[0] == "eledger", args
                result = CliRunner().invoke(app, args[1:], env={"COLUMNS": "200", "ELEDGER_PROFILE": ""})
                assert result.exit_code == 0, f"{shlex.join(args)}\n{result.output}"
                ran.append(args[1])
    finally:
        os.chdir(previous)
    assert {"certs", "tx", "submit", "licence", "verify", "verify-receipt", "prove", "verify-bundle", "qr"} <= set(ran)
    assert Path(devnet_dir / "receipt.committed.json").is_file() and Path(devnet_dir / "bundle.json").is_file()
