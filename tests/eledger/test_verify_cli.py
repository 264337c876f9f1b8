"""`eledger verify`, `eledger prove --profile` and `eledger verify-receipt` against a node API
served over HTTPS with client certificates (tests/client/node.py): a Tianjin partner checks a
Beijing licence by id, by the holder's document and by its QR payload, with every check, the
licence's metadata, `as_of` and a receipt that verifies offline, pending then committed; the
bundle fetched from the running node is byte for byte what `prove --home` writes once the node
is stopped; and each failure has its exit code (1 invalid, 2 refused or unusable, 3 no answer)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from typer.testing import CliRunner

import eledger.commands.connect as connect_module
from client.http import ApiClient, Retry
from eledger.cli import app
from ledger.bundle import Bundle
from ledger.document import read_document
from ledger.ids import format_licence_id, parse_licence_id
from ledger.qr import encode_qr
from ledger.receipt import Receipt
from node.demo import CST, issue_licence
from tests.client.node import running_node
from tests.ledger.conftest import make_net

runner = CliRunner()
WIDE = {"COLUMNS": "250", "ELEDGER_PROFILE": ""}
PURPOSE = ["--purpose-code", "TJ-KH-001", "--purpose-name", "企业开户核验", "--serial", "TJ-2026-000001"]


def text(output: str) -> str:
    return " ".join(output.split())


def rows(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        if len(cells) == 5 and cells[1] and cells[1] != "check":
            found[cells[1]] = cells[2]
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A served Beijing node seeded with the demo governance and three Beijing licences: an
    enterprise's, a person's, and one revoked."""
    base = tmp_path_factory.mktemp("verify")
    with running_node(base / "net") as node:
        departments = node.seed()
        day = datetime.fromtimestamp(node.service.chain.tip.time / 1000, CST).date()
        docs = base / "documents"
        txs = [issue_licence(departments[0], docs, day) for _ in range(3)]
        certificate, key = node.credential("beijing", "department")
        with ApiClient(node.url, cert=certificate, key=key, ca=node.ca("beijing")) as client:
            assert all(r.status == "committed" for r in client.submit_batch(txs))
            revoke = departments[0].client.revoke(txs[1].body["id"], "inspection")
            assert client.submit(revoke).status == "committed"
        node.licences = {"enterprise": txs[0].body["id"], "revoked": txs[1].body["id"], "person": txs[2].body["id"]}
        node.documents = {name: docs / "beijing" / f"{licence_id}.json" for name, licence_id in node.licences.items()}
        yield node


def partner(world) -> list[str]:
    return ["--profile", str(world.profile("tianjin", "partner"))]


def verify(world, *args: str, who: list[str] | None = None):
    return runner.invoke(app, ["verify", *(who if who is not None else partner(world)), *args], env=WIDE)


# -- verify ----------------------------------------------------------------------------------------


def test_a_tianjin_partner_verifies_a_beijing_licence_by_id_with_a_receipt(world, tmp_path):
    receipt = tmp_path / "receipt.json"
    result = verify(world, "--id", world.licences["enterprise"], *PURPOSE, "--receipt-out", str(receipt))
    assert result.exit_code == 0, result.output
    out = text(result.output)
    assert f"licence {world.licences['enterprise']}, version 001" in out
    assert "type 食品经营许可证 (11100000000013338W032)" in out and "issuer 北京市市场监督管理局 (USCC" in out
    assert "holder enterprise, USCC 91110000000000001H" in out and "(in force)" in out and "status valid (有效) since" in out
    assert re.search(r"as of height \d+, block time 20\d\d-\d\d-\d\dT[0-9:]+\+08:00, block \S+, state root \S+", out)
    assert f"for tianjin at" in out and "presented by id" in out
    table = rows(result.output)
    assert table["on_ledger"] == "passed" and table["recognised"] == "passed" and table["document_matches"] == "n/a"
    assert "recognition rule: tianjin accepts type" in out
    assert "receipt beijing-1:" in out and "verified against the trusted genesis; written to" in out
    assert out.endswith("VERDICT: valid")
    parsed = Receipt.from_bytes(receipt.read_bytes())
    assert parsed.record["verdict"] == "valid" and parsed.record["caller"]["role"] == "partner" and parsed.record["asking_region"] == "tianjin"


def test_by_document_and_by_qr_the_holders_proof_is_checked(world):
    by_document = verify(world, "--document", str(world.documents["enterprise"]), *PURPOSE)
    assert by_document.exit_code == 0, by_document.output
    assert "presented by document" in text(by_document.output) and rows(by_document.output)["holder_matches"] == "passed"
    payload = encode_qr(read_document(world.documents["person"]), world.pki.network.genesis.chain_id)
    by_qr = verify(world, "--qr", payload, *PURPOSE)
    assert by_qr.exit_code == 0, by_qr.output
    out = text(by_qr.output)
    assert "presented by qr" in out and "holder a natural person (not shown)" in out
    document = json.loads(world.documents["person"].read_text())
    assert document["licence"]["holder"]["name"] not in by_qr.output and document["licence"]["holder"]["id_number"] not in by_qr.output


def test_a_revoked_licence_is_invalid_and_says_why(world):
    result = verify(world, "--id", world.licences["revoked"], *PURPOSE)
    assert result.exit_code == 1, result.output
    out = text(result.output)
    assert "status revoked (吊销) since" in out and "reason inspection" in out
    assert rows(result.output)["status"] == "FAILED" and "VERDICT: INVALID: status failed: revoked" in out


def test_an_absent_licence_is_invalid(world):
    first = parse_licence_id(world.licences["enterprise"], "id")
    absent = format_licence_id(first.type, first.issuer, "99", "001")
    result = verify(world, "--id", absent, *PURPOSE)
    assert result.exit_code == 1, result.output
    assert f"licence {absent}: not on the ledger" in text(result.output) and rows(result.output)["on_ledger"] == "FAILED"


def test_a_partner_must_state_its_purpose(world):
    result = verify(world, "--id", world.licences["enterprise"])
    assert result.exit_code == 2
    assert "refused: auth.purpose_required" in text(result.output) and "(field purpose)" in text(result.output)


def test_json_prints_the_answer_and_the_receipt_line_goes_to_stderr(world):
    result = verify(world, "--id", world.licences["enterprise"], *PURPOSE, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["verdict"] == "valid" and answer["receipt"]["format"] == "eledger-receipt/1" and answer["as_of"]["height"] >= 1
    assert "receipt beijing-1:" in result.stderr


def test_a_receipt_that_does_not_verify_against_the_trusted_genesis_fails(world, tmp_path):
    other = tmp_path / "other-genesis.json"
    make_net(chain_id="eledger-devnet").genesis.write(other)  # same chain id, other validators
    result = verify(world, "--id", world.licences["enterprise"], *PURPOSE, "--trust", str(other))
    assert result.exit_code == 1
    assert "DOES NOT VERIFY: receipt.unknown_node" in text(result.output) or "DOES NOT VERIFY: receipt.bad_signature" in text(result.output)


@pytest.mark.parametrize("args, message", [
    ([], "name the licence one way: --id, --document or --qr (none given)"),
    (["--id", "x", "--qr", "EL1:x"], "--id and --qr given"),
    (["--id", "x", "--purpose-code", "A"], "--purpose-name, --serial missing"),
])
def test_unusable_options_exit_two(world, args, message):
    result = verify(world, *args)
    assert result.exit_code == 2 and message in text(result.output)


def test_an_unreadable_document_exits_two(world, tmp_path):
    bad = tmp_path / "doc.json"
    bad.write_text("{}")
    result = verify(world, "--document", str(bad), *PURPOSE)
    assert result.exit_code == 2 and f"licence document {bad}" in text(result.output)


def test_a_node_that_cannot_be_reached_exits_three(world, monkeypatch):
    original = connect_module.Connection.client
    monkeypatch.setattr(connect_module.Connection, "client", lambda self, **kw: original(self, retry=Retry(attempts=1)))
    result = verify(world, "--id", world.licences["enterprise"], *PURPOSE, who=["--api", "http://127.0.0.1:9"])
    assert result.exit_code == 3 and "client.unreachable" in text(result.output)


# -- verify-receipt ----------------------------------------------------------------------------------


def verify_receipt(*args: str):
    return runner.invoke(app, ["verify-receipt", *args], env=WIDE)


def test_a_receipt_is_pending_until_fetched_in_its_committed_form(world, tmp_path):
    receipt, committed = tmp_path / "receipt.json", tmp_path / "committed.json"
    world.committer.pause()
    try:
        assert verify(world, "--id", world.licences["enterprise"], *PURPOSE, "--receipt-out", str(receipt)).exit_code == 0
        genesis = str(world.genesis_path)
        pending = verify_receipt(str(receipt), "--trust", genesis)
        assert pending.exit_code == 0, pending.output
        out = text(pending.output)
        assert "who asked partner tianjin-gateway of tianjin (certificate SHA-256" in out
        assert "why TJ-KH-001 企业开户核验, serial TJ-2026-000001" in out
        assert f"licence {world.licences['enterprise']} (presented by id), asked for tianjin" in out
        assert re.search(r"verdict valid, reflecting the state of height \d+", out) and "(the node's clock)" in out
        assert "ledger PENDING: signed by the node, not yet shown committed" in out
        early = verify_receipt(str(receipt), *partner(world), "--committed-out", str(committed))
        assert early.exit_code == 0 and "not committed yet" in text(early.output) and not committed.exists()
    finally:
        world.committer.resume()
    world.committer.drain()
    fetched = verify_receipt(str(receipt), *partner(world), "--committed-out", str(committed))
    assert fetched.exit_code == 0, fetched.output
    assert re.search(r"ledger COMMITTED in block \d+ \(block time [^)]+\), transaction \d+, record 0", text(fetched.output))
    offline = verify_receipt(str(committed), "--trust", str(world.genesis_path))  # no node needed any more
    assert offline.exit_code == 0 and "COMMITTED in block" in text(offline.output)


def test_a_tampered_or_foreign_receipt_does_not_verify(world, tmp_path):
    receipt = tmp_path / "receipt.json"
    assert verify(world, "--id", world.licences["revoked"], *PURPOSE, "--receipt-out", str(receipt)).exit_code == 1
    assert verify_receipt(str(receipt), "--trust", str(world.genesis_path)).exit_code == 0  # a receipt of an invalid verdict is valid
    tampered = tmp_path / "tampered.json"
    obj = json.loads(receipt.read_text())
    obj["record"]["verdict"] = "valid"
    tampered.write_bytes(Receipt.from_json(obj).to_bytes())
    result = verify_receipt(str(tampered), "--trust", str(world.genesis_path))
    assert result.exit_code == 1 and "RECEIPT DOES NOT VERIFY: receipt.bad_signature" in text(result.output)
    other = tmp_path / "genesis.json"
    make_net().genesis.write(other)
    foreign = verify_receipt(str(receipt), "--trust", str(other))
    assert foreign.exit_code == 1 and "receipt.wrong_chain" in text(foreign.output)


def test_verify_receipt_needs_a_trusted_genesis(world, tmp_path):
    receipt = tmp_path / "r.json"
    receipt.write_text("{}")
    result = verify_receipt(str(receipt))
    assert result.exit_code == 2 and "give --trust genesis.json" in text(result.output)
    assert verify_receipt(str(tmp_path / "none.json"), "--trust", str(world.genesis_path)).exit_code == 2


# -- prove from a running node ---------------------------------------------------------------------------


def test_prove_from_the_api_needs_the_purpose_of_a_partner(world):
    result = runner.invoke(app, ["prove", *partner(world), world.licences["enterprise"]], env=WIDE)
    assert result.exit_code == 2 and "auth.purpose_required" in text(result.stderr)


def test_prove_from_the_api_gives_the_bytes_prove_home_gives_once_the_node_stops(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    served, receipt, local = tmp_path / "served.json", tmp_path / "receipt.json", tmp_path / "local.json"
    with running_node(tmp_path / "net", home=home) as node:
        departments = node.seed()
        day = datetime.fromtimestamp(node.service.chain.tip.time / 1000, CST).date()
        tx = issue_licence(departments[0], tmp_path / "documents", day)
        certificate, key = node.credential("beijing", "department")
        with ApiClient(node.url, cert=certificate, key=key, ca=node.ca("beijing")) as client:
            assert client.submit(tx).status == "committed"
        licence_id, height = tx.body["id"], node.service.chain.height
        result = runner.invoke(app, [
            "prove", "--profile", str(node.profile("tianjin", "partner")), licence_id, "--height", str(height), "--out", str(served),
            *PURPOSE, "--receipt-out", str(receipt),
        ], env=WIDE)
        assert result.exit_code == 0, result.output
    bundle = Bundle.from_bytes(served.read_bytes())
    assert bundle.header.height == height and "present" in text(result.stderr)
    assert Receipt.from_bytes(receipt.read_bytes()).record["presented"] == "id"
    stopped = runner.invoke(app, ["prove", "--home", str(home), "--region", "tianjin", "--height", str(height), licence_id, "--out", str(local)], env=WIDE)
    assert stopped.exit_code == 0, stopped.output
    assert local.read_bytes() == served.read_bytes()
