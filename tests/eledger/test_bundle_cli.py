"""`eledger prove` and `eledger verify-bundle` (eledger/commands/bundle.py): files, offline
verification, licence verdicts and the exit codes 0 valid, 1 invalid, 2 unusable input."""

from __future__ import annotations

import hashlib

import pytest
import typer
from typer.testing import CliRunner

from eledger.commands import register_commands
from ledger.anchors import anchor_key
from ledger.bundle import MAX_BUNDLE_BYTES, Bundle, build_bundle
from ledger.chain import Chain
from ledger.encoding import decode, encode
from ledger.store import LevelKV
from node.local import LocalNetwork
from tests.ledger.conftest import GENESIS_TIME, make_net
from tests.ledger.test_bundle import ISSUER, REVOKED_ID, UNKNOWN_ID, VALID_ID, issue_licences

LICENCE_ID = UNKNOWN_ID
DOCUMENT = hashlib.sha256(b"cli bundle document").digest()

app = typer.Typer()
register_commands(app)
runner = CliRunner()


def text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A node home (genesis.json + ledger/) and its network: an anchor of DOCUMENT at height 1,
    then the licences of tests.ledger.test_bundle.issue_licences (heights 2..9)."""
    net = make_net()
    d = tmp_path_factory.mktemp("node")
    net.genesis.write(d / "genesis.json")
    with LevelKV(d / "ledger") as kv:
        local = LocalNetwork(Chain(kv, net.genesis), net.validator_keys)
        local.produce([net.anchor(document=DOCUMENT, label="seal test")], GENESIS_TIME + 1000)
        issue_licences(net, local)
        assert local.chain.height == 9
    return d, net


@pytest.fixture(scope="module")
def anchor_bundle(home, tmp_path_factory):
    """A bundle file proving the anchor of DOCUMENT (a present entry)."""
    d, net = home
    with LevelKV(d / "ledger", create=False) as kv:
        raw = build_bundle(Chain(kv, net.genesis), [anchor_key(DOCUMENT)]).to_bytes()
    path = tmp_path_factory.mktemp("bundles") / "anchor.json"
    path.write_bytes(raw)
    return path


def verify(path, trust):
    return runner.invoke(app, ["verify-bundle", str(path), "--trust", str(trust)])


def prove(home_dir, licence_id, *args):
    return runner.invoke(app, ["prove", "--home", str(home_dir), *args, licence_id])


def test_prove_writes_a_bundle_of_a_valid_licence_that_verifies_offline(home, tmp_path):
    d, _ = home
    out = tmp_path / "lic.json"
    result = prove(d, VALID_ID, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "height 9" in text(result.stderr) and "present" in text(result.stderr)
    assert [e.key for e in Bundle.from_bytes(out.read_bytes()).entries] == [b"lic/" + VALID_ID.encode()]
    checked = verify(out, d / "genesis.json")
    assert checked.exit_code == 0, checked.output
    out_text = text(checked.stdout)
    assert "bundle valid" in out_text and f"licence valid: {VALID_ID}" in out_text and "pass licence.status" in out_text


def test_verify_bundle_exits_one_for_a_revoked_licence(home, tmp_path):
    d, _ = home
    out = tmp_path / "revoked.json"
    assert prove(d, REVOKED_ID, "--out", str(out)).exit_code == 0
    result = verify(out, d / "genesis.json")
    assert result.exit_code == 1
    assert "bundle valid" in text(result.stdout)
    assert "LICENCE NOT VALID" in text(result.stdout) and "FAIL licence.status: revoked (reason fraud)" in text(result.stdout)


def test_verify_bundle_judges_a_licence_at_a_given_time(home, tmp_path):
    d, _ = home
    out = tmp_path / "valid.json"
    assert prove(d, VALID_ID, "--out", str(out)).exit_code == 0
    trust = str(d / "genesis.json")
    assert runner.invoke(app, ["verify-bundle", str(out), "--trust", trust, "--at", "2026-12-31"]).exit_code == 0
    later = runner.invoke(app, ["verify-bundle", str(out), "--trust", trust, "--at", "2027-01-01"])
    assert later.exit_code == 1 and "FAIL licence.status: lapsed" in text(later.stdout)


def test_prove_of_an_absent_licence_proves_its_absence(home, tmp_path):
    d, _ = home
    out = tmp_path / "absent.json"
    result = prove(d, LICENCE_ID, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "ABSENT" in text(result.stderr)
    checked = verify(out, d / "genesis.json")
    assert checked.exit_code == 1
    assert f"lic/{LICENCE_ID}: absent" in text(checked.stdout) and "FAIL licence.recorded" in text(checked.stdout)


def test_prove_with_org_adds_the_issuer_when_it_exists(home):
    d, _ = home
    result = prove(d, VALID_ID, "--with-org")
    assert result.exit_code == 0, result.output
    bundle = Bundle.from_bytes(result.stdout_bytes)
    assert [e.key for e in bundle.entries] == [b"lic/" + VALID_ID.encode(), b"org/" + ISSUER.encode()]
    assert decode(bundle.entries[1].value)["name"] == "market regulator"


def test_prove_writes_to_standard_output_and_proves_an_earlier_height(home):
    d, _ = home
    result = prove(d, VALID_ID, "--height", "1", "--with-org")
    assert result.exit_code == 0, result.output
    bundle = Bundle.from_bytes(result.stdout_bytes)
    assert bundle.header.height == 1
    assert [(e.key, e.value) for e in bundle.entries] == [(b"lic/" + VALID_ID.encode(), None)]  # no org yet: left out


def test_prove_exits_one_when_the_height_is_not_committed(home):
    d, _ = home
    result = prove(d, VALID_ID, "--height", "10")
    assert result.exit_code == 1
    assert "bundle.unknown_height" in text(result.stderr)


def test_prove_refuses_unusable_input_with_exit_two(home, tmp_path):
    d, _ = home
    bad = prove(d, "lic/../x")
    assert bad.exit_code == 2 and "ids.bad_licence_id" in text(bad.stderr)
    assert prove(d, VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")).exit_code == 2  # wrong check character
    missing = prove(tmp_path / "none", LICENCE_ID)
    assert missing.exit_code == 2 and "no ledger store" in text(missing.stderr)


def test_verify_bundle_shows_a_present_record(home, anchor_bundle):
    d, _ = home
    result = verify(anchor_bundle, d / "genesis.json")
    assert result.exit_code == 0, result.output
    out = text(result.stdout)
    assert f"anchor/{DOCUMENT.hex()}: present" in out and '"label": "seal test"' in out
    assert "height 9" in out


def test_verify_bundle_accepts_one_trailing_line_feed(home, anchor_bundle, tmp_path):
    d, _ = home
    path = tmp_path / "newline.json"
    path.write_bytes(anchor_bundle.read_bytes() + b"\n")
    assert verify(path, d / "genesis.json").exit_code == 0


def test_verify_bundle_exits_one_for_a_tampered_record(home, anchor_bundle, tmp_path):
    d, _ = home
    obj = decode(anchor_bundle.read_bytes())
    record = decode(Bundle.from_json(obj).entries[0].value)
    record["label"] = "forged"
    obj["entries"][0]["value"] = encode(record)
    path = tmp_path / "tampered.json"
    path.write_bytes(encode(obj))
    result = verify(path, d / "genesis.json")
    assert result.exit_code == 1
    assert "BUNDLE INVALID: proof.root_mismatch" in text(result.stderr)


def test_verify_bundle_exits_one_against_another_trusted_genesis(anchor_bundle, tmp_path):
    other = tmp_path / "other-genesis.json"
    make_net().genesis.write(other)
    result = verify(anchor_bundle, other)
    assert result.exit_code == 1
    assert "bundle.wrong_genesis" in text(result.stderr)


def test_verify_bundle_exits_two_for_unusable_input(home, anchor_bundle, tmp_path):
    d, _ = home
    trust = d / "genesis.json"
    assert verify(tmp_path / "missing.json", trust).exit_code == 2
    assert verify(anchor_bundle, tmp_path / "missing-genesis.json").exit_code == 2
    not_json = tmp_path / "not.json"
    not_json.write_bytes(b"{bundle")
    result = verify(not_json, trust)
    assert result.exit_code == 2 and "encoding.syntax" in text(result.stderr)
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * (MAX_BUNDLE_BYTES + 8))
    result = verify(big, trust)
    assert result.exit_code == 2 and "bundle.too_large" in text(result.stderr)
