"""`eledger prove` and `eledger verify-bundle` (eledger/commands/bundle.py): licence bundles
written from a node home, verified offline against the genesis file, the verdict table, and the
exit codes 0 valid, 1 invalid / indeterminate / unverifiable, 2 unusable input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
import eledger.commands.bundle as bundle_command
from eledger.commands import register_commands
from ledger.bundle import MAX_BUNDLE_BYTES, Bundle
from ledger.crypto import PrivateKey
from ledger.document import write_document
from ledger.encoding import decode, encode
from ledger.kv import Prefixed
from ledger.state import FLAT_PREFIX
from ledger.store import LevelKV
from tests.ledger.conftest import make_net
from tests.ledger.test_governance import Ledger, grant, uscc
from tests.ledger.test_seals import seal_body
from tests.ledger.test_verify import HOLDER, PERSON, T, T_TJ, Dept, act, issue, make_doc

app = typer.Typer()
register_commands(app)
runner = CliRunner()
WIDE = {"COLUMNS": "220"}


def text(output: str) -> str:
    return " ".join(output.split())


def rows(output: str) -> dict[str, tuple[str, str]]:
    """The verdict tables' rows: check name -> (outcome, first line of the detail)."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        if len(cells) == 5 and cells[1] and cells[1] != "check":
            found[cells[1]] = (cells[2], cells[3])
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A node home (genesis.json + ledger/): a Beijing department issued an enterprise licence
    (valid until 2027-12-31) and a person's licence (then revoked); Tianjin recognises the type.
    Returns the home, the network and the licence documents, written beside it."""
    net = make_net()
    d = tmp_path_factory.mktemp("node")
    net.genesis.write(d / "genesis.json")
    kv = LevelKV(d / "ledger")
    ledger = Ledger(net)
    ledger.local, ledger.state = net.local(kv), Prefixed(kv, FLAT_PREFIX)
    ledger.accept(
        ledger.admin("beijing", "ltype.register", {"code": T, "name": "食品经营许可证", "validity_required": False}),
        ledger.admin("tianjin", "ltype.register", {"code": T_TJ, "name": "食品经营许可证(津)", "validity_required": False}),
    )
    dept = Dept(uscc(821), PrivateKey.generate(), "BJCLI0000001")
    ledger.accept(ledger.admin("beijing", "org.admit", {"uscc": dept.uscc, "name": "北京市某区市场监督管理局", "keys": [grant(dept.key)], "licence_types": [T]}))
    ledger.accept(ledger.signed(dept.key, "seal.register", seal_body(dept.seal_id, dept.uscc, dept.key)))
    ledger.accept(ledger.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": T, "as_type": T_TJ, "conditions": ""}))
    docs = {"enterprise": make_doc(ledger, dept, 1, holder=HOLDER), "person": make_doc(ledger, dept, 2, holder=PERSON), "missing": make_doc(ledger, dept, 3)}
    issue(ledger, dept, docs["enterprise"], docs["person"])
    act(ledger, dept, "licence.revoke", docs["person"].licence.id)
    assert ledger.local.chain.height == 6
    kv.close()
    for name, doc in docs.items():
        write_document(d / f"{name}.json", doc)
    return d, net, docs


def prove(home_dir, licence_id, *args):
    return runner.invoke(app, ["prove", "--home", str(home_dir), *args, licence_id])


def verify(path, trust, *args):
    return runner.invoke(app, ["verify-bundle", str(path), "--trust", str(trust), *args], env=WIDE)


@pytest.fixture(scope="module")
def bundles(home, tmp_path_factory):
    """Bundle files written by `eledger prove`: name -> path."""
    d, _, docs = home
    out = tmp_path_factory.mktemp("bundles")
    made = {}
    for name, doc, region in [("enterprise", docs["enterprise"], "beijing"), ("tianjin", docs["enterprise"], "tianjin"),
                              ("person", docs["person"], "beijing"), ("missing", docs["missing"], "beijing")]:
        made[name] = out / f"{name}.json"
        result = prove(d, doc.licence.id, "--region", region, "--out", str(made[name]))
        assert result.exit_code == 0, result.output
    return made


def test_prove_writes_the_bundle_of_the_record_and_across_regions_the_rule(home, bundles):
    d, _, docs = home
    lic = "lic/" + docs["enterprise"].licence.id
    keys = [e.key.decode("ascii") for e in Bundle.from_bytes(bundles["enterprise"].read_bytes()).entries]
    assert keys == [lic]
    cross = [e.key.decode("ascii") for e in Bundle.from_bytes(bundles["tianjin"].read_bytes()).entries]
    assert cross == [lic, f"recog/tianjin/beijing/{T}"]
    result = prove(d, docs["enterprise"].licence.id, "--region", "beijing")
    assert result.exit_code == 0, result.output
    assert Bundle.from_bytes(result.stdout_bytes) == Bundle.from_bytes(bundles["enterprise"].read_bytes())
    assert "1 entry, at height 6" in text(result.stderr) and "present" in text(result.stderr)


def test_verify_bundle_prints_a_valid_verdict_with_height_time_and_signers(home, bundles):
    d, net, docs = home
    result = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing")
    assert result.exit_code == 0, result.output
    out = text(result.stdout)
    assert "bundle verified against the trusted genesis: chain test-chain, height 6, block time 2026-01-01T08:00:06+08:00" in out
    assert "(3 of 4 validators)" in out
    assert f"proves lic/{docs['enterprise'].licence.id}: present" in out
    table = rows(result.stdout)
    assert table["status"] == ("passed", "valid (有效)") and table["document_matches"][0] == "n/a"
    assert table["seal.signature"] == ("passed", "checked by the validators when the record was made at 1767225605000 (the commit of height 6 certifies the record)")
    assert out.endswith("VERDICT: valid")


def test_verify_bundle_for_another_region_applies_its_recognition_rule(home, bundles):
    d, _, _ = home
    result = verify(bundles["tianjin"], d / "genesis.json", "--region", "tianjin")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout)["recognised"][0] == "passed" and "recognition rule: tianjin accepts type" in text(result.stdout)


def test_verify_bundle_exits_one_for_a_revoked_licence_and_never_shows_the_holder(home, bundles):
    d, _, _ = home
    result = verify(bundles["person"], d / "genesis.json", "--region", "beijing", "--document", str(d / "person.json"))
    assert result.exit_code == 1
    table = rows(result.stdout)
    assert table["status"][0] == "FAILED" and table["status"][1].startswith("revoked (吊销), reason inspection")
    assert table["holder_matches"][0] == "passed"
    assert "VERDICT: INVALID: status failed: revoked" in text(result.stdout)
    assert PERSON.name not in result.output and PERSON.id_number not in result.output


def test_verify_bundle_with_a_document_of_another_licence_is_unusable_input(home, bundles):
    d, _, docs = home
    result = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing", "--id", docs["enterprise"].licence.id, "--document", str(d / "person.json"))
    assert result.exit_code == 2 and "verify.id_mismatch" in text(result.stderr)


def test_verify_bundle_judges_at_a_given_time(home, bundles):
    d, _, _ = home
    trust = d / "genesis.json"
    assert verify(bundles["enterprise"], trust, "--region", "beijing", "--at", "2027-12-31T23:59:59+08:00").exit_code == 0
    later = verify(bundles["enterprise"], trust, "--region", "beijing", "--at", "2028-01-01")
    assert later.exit_code == 1 and rows(later.stdout)["within_validity"][0] == "FAILED"
    assert "at 2028-01-01T00:00:00+08:00" in text(later.stdout)


def test_verify_bundle_is_indeterminate_when_the_bundle_lacks_a_fact(home, bundles):
    d, _, docs = home
    other_region = verify(bundles["enterprise"], d / "genesis.json", "--region", "tianjin")
    assert other_region.exit_code == 1 and rows(other_region.stdout)["recognised"][0] == "undecided"
    assert "VERDICT: INDETERMINATE: recognised undecided: cannot be decided" in text(other_region.stdout)
    other_id = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing", "--id", docs["person"].licence.id)
    assert other_id.exit_code == 1 and rows(other_id.stdout)["on_ledger"][0] == "undecided"


def test_prove_of_an_absent_licence_proves_its_absence(home, bundles):
    d, _, docs = home
    result = verify(bundles["missing"], d / "genesis.json", "--region", "beijing")
    assert result.exit_code == 1
    assert f"proves lic/{docs['missing'].licence.id}: absent" in text(result.stdout) and rows(result.stdout)["on_ledger"][0] == "FAILED"


def test_prove_at_an_earlier_height(home):
    d, _, docs = home
    result = prove(d, docs["enterprise"].licence.id, "--region", "beijing", "--height", "1")
    assert result.exit_code == 0, result.output
    bundle = Bundle.from_bytes(result.stdout_bytes)
    assert bundle.header.height == 1 and [e.value for e in bundle.entries][0] is None
    assert "ABSENT" in text(result.stderr)


def test_prove_exits_one_when_the_height_is_not_committed(home):
    d, _, docs = home
    result = prove(d, docs["enterprise"].licence.id, "--region", "beijing", "--height", "7")
    assert result.exit_code == 1 and "bundle.unknown_height" in text(result.stderr)


def test_prove_refuses_unusable_input_with_exit_two(home, tmp_path):
    d, _, docs = home
    licence_id = docs["enterprise"].licence.id
    bad = prove(d, "lic/../x", "--region", "beijing")
    assert bad.exit_code == 2 and "ids.bad_licence_id" in text(bad.stderr)
    assert prove(d, licence_id[:-1] + ("0" if licence_id[-1] != "0" else "1"), "--region", "beijing").exit_code == 2
    region = prove(d, licence_id, "--region", "shanghai")
    assert region.exit_code == 2 and "verify.unknown_region" in text(region.stderr) and "beijing, tianjin" in text(region.stderr)
    missing = prove(tmp_path / "none", licence_id, "--region", "beijing")
    assert missing.exit_code == 2 and "no ledger store" in text(missing.stderr)
    assert prove(d, licence_id).exit_code == 2  # --region is required


def test_verify_bundle_accepts_one_trailing_line_feed(home, bundles, tmp_path):
    d, _, _ = home
    path = tmp_path / "newline.json"
    path.write_bytes(bundles["enterprise"].read_bytes() + b"\n")
    assert verify(path, d / "genesis.json", "--region", "beijing").exit_code == 0


def test_verify_bundle_exits_one_for_a_tampered_record(home, bundles, tmp_path):
    d, _, _ = home
    obj = decode(bundles["person"].read_bytes())
    entry = next(e for e in obj["entries"] if e["value"] is not None and e["value"].get("status") == "revoked")
    entry["value"]["status"] = "valid"
    path = tmp_path / "tampered.json"
    path.write_bytes(encode(obj))
    result = verify(path, d / "genesis.json", "--region", "beijing")
    assert result.exit_code == 1 and "BUNDLE INVALID: proof.root_mismatch" in text(result.stderr)
    assert "VERDICT" not in result.stdout


def test_verify_bundle_exits_one_against_another_trusted_genesis(bundles, tmp_path):
    other = tmp_path / "other-genesis.json"
    make_net().genesis.write(other)
    result = verify(bundles["enterprise"], other, "--region", "beijing")
    assert result.exit_code == 1 and "BUNDLE INVALID: bundle.untrusted_validators" in text(result.stderr)


def test_verify_bundle_exits_two_for_unusable_input(home, bundles, tmp_path):
    d, _, _ = home
    trust, good = d / "genesis.json", bundles["enterprise"]
    assert verify(tmp_path / "missing.json", trust, "--region", "beijing").exit_code == 2
    assert verify(good, tmp_path / "missing-genesis.json", "--region", "beijing").exit_code == 2
    not_json = tmp_path / "not.json"
    not_json.write_bytes(b"{bundle")
    result = verify(not_json, trust, "--region", "beijing")
    assert result.exit_code == 2 and "encoding.syntax" in text(result.stderr)
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * (MAX_BUNDLE_BYTES + 8))
    result = verify(big, trust, "--region", "beijing")
    assert result.exit_code == 2 and "bundle.too_large" in text(result.stderr)
    cases = [
        (["--region", "beijing", "--document", str(tmp_path / "nope.json")], "document.not_found"),
        (["--region", "shanghai"], "verify.unknown_region"),
        (["--region", "Beijing"], "verify.bad_region"),
        (["--region", "beijing", "--id", "1.2.156"], "ids.bad_licence_id"),
    ]
    for args, code in cases:
        result = verify(good, trust, *args)
        assert result.exit_code == 2 and code in text(result.stderr), args
    assert verify(good, trust, "--region", "beijing", "--at", "next tuesday").exit_code == 2
    assert verify(good, trust).exit_code == 2  # --region is required


# -- freshness: the bundle's block time, its age, and --max-age --------------------------------------

BLOCK_TIME_MS = 1_767_225_606_000  # height 6 of the home: 2026-01-01T08:00:06+08:00


@pytest.fixture
def clock(monkeypatch):
    """This machine's clock as the command reads it, set by the test."""
    now = {"ms": BLOCK_TIME_MS}
    monkeypatch.setattr(bundle_command, "now_ms", lambda: now["ms"])
    return now


def test_the_verdict_always_shows_the_bundles_block_time_and_age(home, bundles, clock):
    d, _, _ = home
    clock["ms"] = BLOCK_TIME_MS + (2 * 3600 + 5 * 60 + 7) * 1000
    result = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing")
    assert result.exit_code == 0, result.output
    assert "block time 2026-01-01T08:00:06+08:00 (age 2 h 5 min)" in text(result.stdout)
    clock["ms"] = BLOCK_TIME_MS - 30_000
    ahead = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing")
    assert "(30 s ahead of this machine's clock)" in text(ahead.stdout)


def test_a_bundle_older_than_max_age_is_refused_with_its_age(home, bundles, clock):
    d, _, _ = home
    clock["ms"] = BLOCK_TIME_MS + (3 * 86400 + 4 * 3600) * 1000
    old = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing", "--max-age", "1d")
    assert old.exit_code == 1
    out = text(old.stdout)
    assert "REFUSED: the bundle is 3 d 4 h old (block time 2026-01-01T08:00:06+08:00), older than --max-age 1d" in out
    assert "VERDICT" not in out  # no verdict on a stale bundle
    fresh = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing", "--max-age", "3d5h")
    assert fresh.exit_code == 0 and "(age 3 d 4 h)" in text(fresh.stdout) and text(fresh.stdout).endswith("VERDICT: valid")


@pytest.mark.parametrize("text_, ms", [("90s", 90_000), ("15m", 900_000), ("2h", 7_200_000), ("7d", 604_800_000), ("1h30m", 5_400_000), ("1d2h3m4s", 93_784_000)])
def test_durations_are_days_hours_minutes_and_seconds(text_, ms):
    assert bundle_command.parse_duration(text_) == ms


@pytest.mark.parametrize("bad", ["", "1", "1w", "1m1h", "-1h", "1.5h", "h"])
def test_an_unreadable_max_age_is_unusable_input(home, bundles, bad):
    d, _, _ = home
    with pytest.raises(ValueError):
        bundle_command.parse_duration(bad)
    result = verify(bundles["enterprise"], d / "genesis.json", "--region", "beijing", "--max-age", bad)
    assert result.exit_code == 2 and "--max-age" in text(result.stderr)


def test_prove_on_a_running_nodes_home_says_to_ask_its_api(home):
    d, _, docs = home
    (d / "node.json").write_text("{}")  # an unreadable config: the message still says what to do
    node = subprocess.Popen(  # a process holding the store open, as a running node does
        [sys.executable, "-c", "import sys; from ledger.store import LevelKV; kv = LevelKV(sys.argv[1], create=False); print('ready', flush=True); sys.stdin.read()", str(d / "ledger")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert node.stdout.readline() == b"ready\n"
        result = prove(d, docs["enterprise"].licence.id, "--region", "beijing")
    finally:
        node.stdin.close()
        node.wait(30)
        node.stdout.close()
        (d / "node.json").unlink()
    assert result.exit_code == 2
    message = text(result.stderr)
    assert "store.locked: the node of" in message and "is running" in message and "--profile FILE or --api URL" in message
    assert "LOCK" not in message and "Resource temporarily unavailable" not in message


def test_prove_takes_a_home_or_an_api_not_both(home):
    d, _, docs = home
    both = prove(d, docs["enterprise"].licence.id, "--region", "beijing", "--api", "http://127.0.0.1:1")
    assert both.exit_code == 2 and "not both" in text(both.stderr)
    recorded = prove(d, docs["enterprise"].licence.id, "--region", "beijing", "--purpose-code", "A", "--purpose-name", "B", "--serial", "C")
    assert recorded.exit_code == 2 and "not recorded" in text(recorded.stderr)
    half = runner.invoke(app, ["prove", "--api", "http://127.0.0.1:1", "--purpose-code", "A", docs["enterprise"].licence.id])
    assert half.exit_code == 2 and "--purpose-name, --serial missing" in text(half.stderr)
