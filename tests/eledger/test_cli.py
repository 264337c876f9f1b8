"""The `eledger` command: demo, audit and their exit codes."""

import pytest
from typer.testing import CliRunner

from eledger.cli import app
from ledger.chain import BLOCK_PREFIX, height_key
from ledger.store import LevelKV

runner = CliRunner()


def text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("net") / "devnet"
    result = runner.invoke(app, ["demo", "--dir", str(d), "--blocks", "4", "--txs", "10"])
    assert result.exit_code == 0, result.output
    # three seeding blocks: 2 types; 4 departments; 4 seals + 12 recognition rules + 12 use scenarios
    assert "seeded 2 licence types, 4 departments with their seals, 12 recognition rules, 12 use scenarios" in text(result)
    assert "chain intact: 7 blocks, 74 transactions" in text(result)
    return d


def test_demo_resumes_on_a_second_run(demo_dir):
    result = runner.invoke(app, ["demo", "--dir", str(demo_dir), "--blocks", "2", "--txs", "5"])
    assert result.exit_code == 0, result.output
    assert "resuming at height 7" in text(result) and "seeded" not in text(result)
    assert "chain intact: 9 blocks, 84 transactions" in text(result)


def test_audit_exits_zero_on_intact_chain(demo_dir):
    result = runner.invoke(app, ["audit", str(demo_dir / "local"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "chain intact" in text(result)


def test_audit_exits_two_on_unusable_input(tmp_path, demo_dir):
    assert runner.invoke(app, ["audit", str(tmp_path / "nothing")]).exit_code == 2
    bad_genesis = tmp_path / "genesis.json"
    bad_genesis.write_bytes(b"{not json")
    result = runner.invoke(app, ["audit", str(demo_dir / "local"), "--genesis", str(bad_genesis)])
    assert result.exit_code == 2
    assert "encoding.syntax" in text(result)


def test_audit_exits_one_and_names_the_damaged_height(tmp_path_factory):
    d = tmp_path_factory.mktemp("net2") / "devnet"
    assert runner.invoke(app, ["demo", "--dir", str(d), "--blocks", "3", "--txs", "4"]).exit_code == 0
    kv = LevelKV(d / "local" / "ledger")
    key = height_key(BLOCK_PREFIX, 2)
    raw = bytearray(kv.get(key))
    raw[len(raw) // 2] ^= 0x04
    kv.write({key: bytes(raw)})
    kv.close()
    result = runner.invoke(app, ["audit", str(d / "local")])
    assert result.exit_code == 1
    assert "AUDIT FAILED at height 2" in text(result)
