"""`eledger submit` (eledger/commands/submit.py) against a node API served over HTTPS that
commits what it admits: what `eledger licence import` wrote is committed end to end; running the
file again is safe; refusals are summed up by code with their lines (exit 1); a bad file, a
repeated transaction or a node of another chain is refused before anything is sent (exit 2)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from eledger.cli import app
from ledger.crypto import PrivateKey
from ledger.licences import licence_key
from ledger.tx import Tx
from node.demo import CST, FOOD, TYPES
from tests.client.node import running_node
from tests.ledger.conftest import make_net

runner = CliRunner()


def text(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with running_node(tmp_path_factory.mktemp("submit") / "net") as node:
        node.departments = node.seed()
        yield node


def import_licences(node, tmp_path, rows: int) -> tuple:
    """Rows for the Beijing department, imported with `eledger licence import`; (file, ids)."""
    dept = node.departments[0].client
    day = datetime.fromtimestamp(node.service.chain.tip.time / 1000, CST).date().isoformat()
    csv = tmp_path / "rows.csv"
    lines = ["type,serial,holder_uscc,holder_name,issue_date,valid_from,valid_until,经营场所"]
    lines += [f"{FOOD},{9000 + i},91110000MA0123456P,示例餐饮{i}有限公司,{day},{day},2031-01-01,东城区{i}号" for i in range(rows)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    key, _ = node.credential("beijing", "department")
    key = key.with_suffix(".key")
    out = tmp_path / "issue.jsonl"
    result = runner.invoke(app, [
        "licence", "import", str(csv), "--key", str(key), "--uscc", dept.uscc, "--seal-id", dept.seal_id, "--issuer-name", dept.issuer_name,
        "--genesis", str(node.genesis_path), "--out", str(out), "--documents", str(tmp_path / "docs"),
        "--type-name", f"{FOOD}={TYPES[FOOD][0]}", "--signing-time", str(node.service.chain.tip.time),
    ])
    assert result.exit_code == 0, result.output
    ids = [Tx.from_bytes(line).body["id"] for line in out.read_bytes().splitlines()]
    return out, ids


def submit(node, path, *args, role="department"):
    return runner.invoke(app, ["submit", str(path), "--profile", str(node.profile("beijing", role)), *args])


def test_a_licence_import_file_is_committed_end_to_end_and_again_is_safe(node, tmp_path):
    path, ids = import_licences(node, tmp_path, 7)
    result = submit(node, path, "--batch", "3")
    assert result.exit_code == 0, result.output
    assert f"7 transactions to {node.url}: 7 committed" in text(result)
    state = node.service.view().state()
    assert all(state.get(licence_key(i)) is not None for i in ids)
    again = submit(node, path)
    assert again.exit_code == 0, again.output
    assert "7 transactions" in text(again) and "0 committed, 7 already committed before" in text(again)


def test_an_array_of_dependent_governance_transactions_commits_in_order(node, tmp_path):
    admin = node.pki.net.admin_keys["beijing"]
    chain_id = node.pki.network.genesis.chain_id
    code = FOOD[:-3] + "077"
    from client.signing import AdminClient, KeyGrant

    client = AdminClient(admin, chain_id)
    department = PrivateKey.generate()
    tip = node.service.chain.tip.time
    txs = [
        client.register_type(code, "测试许可证", validity_required=False),
        client.admit_org("91110000MA0123456P", "北京测试局", [KeyGrant(department.public_key, tip, tip + 10**11)], [code]),
    ]
    path = tmp_path / "gov.json"
    path.write_text(json.dumps([json.loads(tx.to_bytes()) for tx in txs], indent=2, ensure_ascii=False))
    result = submit(node, path, role="admin")
    assert result.exit_code == 0, result.output
    assert "2 transactions" in text(result) and "2 committed" in text(result)


def test_refusals_are_summed_up_by_code_with_their_lines(node, tmp_path):
    net = node.pki.net
    stranger = Tx.create(net.genesis.chain_id, "document.anchor", {"document_hash": bytes(32), "label": ""}, PrivateKey.generate(), bytes(16))
    good = [net.anchor(label=f"ok {i}") for i in range(3)]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(tx.to_bytes() for tx in (good[0], stranger, good[1], good[2])) + b"\n")
    result = submit(node, path)
    assert result.exit_code == 1, result.output
    out = text(result)
    assert "4 transactions" in out and "3 committed, 1 refused" in out
    assert "refused, by code: tx.unknown_signer: 1" in out and "line 2 (document.anchor): tx.unknown_signer:" in out


def test_a_transaction_not_committed_in_time_is_reported_held(node, tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(json.loads(node.pki.net.anchor().to_bytes()), indent=2))  # one object over several lines
    node.committer.pause()
    try:
        result = submit(node, path, "--timeout", "0.05")
    finally:
        node.committer.resume()
    node.committer.drain()
    assert result.exit_code == 1, result.output
    assert "1 transaction to" in text(result) and "1 held" in text(result) and "the transaction (document.anchor) tx " in text(result)


@pytest.mark.parametrize("content, message", [
    (b"", "holds no transaction"),
    (b'{"kind": "x"}\n', "line 1: validation.missing_field: tx.chain_id is required"),
    (b'{\n"kind": "x"}', "the transaction: validation.missing_field"),
    (b"[1, 2]", "entry 0: validation.type"),
    (b"LINE\n", "line 1: not JSON"),
])
def test_an_unusable_file_is_refused_before_anything_is_sent(node, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    good = node.pki.net.anchor().to_bytes()
    path.write_bytes(content if not content.startswith(b"LINE") else good + b"\n" + b"{oops\n")
    height = node.service.chain.height
    result = submit(node, path)
    assert result.exit_code == 2, result.output
    expected = "line 2: not JSON" if content.startswith(b"LINE") else message
    assert expected in text(result)
    assert node.service.chain.height == height and node.service.pending_ids() == []


def test_a_repeated_transaction_or_another_chain_is_refused_before_sending(node, tmp_path):
    tx = node.pki.net.anchor()
    repeated = tmp_path / "twice.jsonl"
    repeated.write_bytes(tx.to_bytes() + b"\n" + tx.to_bytes() + b"\n")
    result = submit(node, repeated)
    assert result.exit_code == 2 and "line 2 repeats the transaction of line 1" in text(result)
    other = tmp_path / "other.jsonl"
    other.write_bytes(make_net(chain_id="other-chain").anchor().to_bytes() + b"\n")
    result = submit(node, other)
    assert result.exit_code == 2 and "for chain 'other-chain' but the node" in text(result)


def test_without_a_node_named_submit_says_what_to_give(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"{}\n")
    result = runner.invoke(app, ["submit", str(path)], env={"ELEDGER_PROFILE": ""})
    assert result.exit_code == 2 and "--profile FILE (or $ELEDGER_PROFILE) or --api URL" in text(result)
