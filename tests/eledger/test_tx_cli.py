"""`eledger tx ...` and `eledger licence import` (eledger/commands/tx.py, licence.py) through
typer's CliRunner: the transactions they write are committed by a real chain, bad rows are
reported with their line and column, and unsafe key files are refused."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import stat

import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from eledger.commands.licence import licence_app
from eledger.commands.tx import tx_app
from ledger.crypto import PrivateKey, PublicKey, write_private_key
from ledger.crypto.asn1 import encode_pem
from ledger.document import read_document
from ledger.encoding import b64encode
from ledger.errors import CryptoError
from ledger.governance import read_org
from ledger.identity import Identity, key_state_key
from ledger.ids import next_version
from ledger.kv import Prefixed
from ledger.licences import read_licence
from ledger.seals import ISSUE_KIND, SealSignature
from ledger.seals import SIGN_PURPOSE as SEAL_PURPOSE
from ledger.state import FLAT_PREFIX
from ledger.tx import SIGN_PURPOSE as TX_PURPOSE
from ledger.tx import Tx
from tests.ledger.conftest import GENESIS_TIME, make_net
from tests.ledger.test_governance import type_code, uscc

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(licence_app, name="licence")
runner = CliRunner()

ORG = uscc(601)
SEAL = "BJIMPORT0001"
T_DATED = type_code(201)
T_OPEN = type_code(202)
SIGNED_AT = str(GENESIS_TIME + 500)  # before every block of the tests


def text(result) -> str:
    return " ".join(result.output.split())


class Desk:
    """A department's working directory: genesis, admin and department key files, and a chain."""

    def __init__(self, net, d) -> None:
        self.net, self.d = net, d
        self.genesis = d / "genesis.json"
        net.genesis.write(self.genesis)
        self.admin_key, self.dept_key = d / "admin.key", d / "dept.key"
        write_private_key(self.admin_key, net.admin_keys["beijing"])
        self.dept = PrivateKey.generate()
        write_private_key(self.dept_key, self.dept)
        self.local = net.local()
        self.state = Prefixed(self.local.chain.kv, FLAT_PREFIX)
        self.time = GENESIS_TIME

    def run(self, *args: str, code: int = 0):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    def commit(self, path) -> list[Tx]:
        """Commit every transaction of the JSON-lines file `path` in one block; all must be accepted."""
        txs = [Tx.from_bytes(line) for line in path.read_bytes().splitlines()]
        self.time += 1000
        pending = self.local.produce(txs, self.time)
        assert [r.error.to_dict() for r in pending.rejected] == []
        assert len(pending.block.txs) == len(txs)
        path.unlink()
        return txs


@pytest.fixture(scope="module")
def net():
    return make_net()


@pytest.fixture
def desk(net, tmp_path) -> Desk:
    """Types registered, ORG admitted with dept.key, its seal SEAL registered: all through the CLI."""
    desk = Desk(net, tmp_path)
    txs = tmp_path / "setup.jsonl"
    admin = ("--key", desk.admin_key, "--genesis", desk.genesis, "--append", txs)
    desk.run("tx", "ltype-register", *admin, "--code", T_DATED, "--name", "食品经营许可证", "--validity-required")
    desk.run("tx", "ltype-register", *admin, "--code", T_OPEN, "--name", "open type", "--permanent-allowed")
    desk.commit(txs)
    desk.run("tx", "org-admit", *admin, "--uscc", ORG, "--name", "北京市某区市场监督管理局", "--issuer-key", desk.dept_key,
             "--types", f"{T_DATED},{T_OPEN}", "--not-before", str(GENESIS_TIME), "--not-after", "2027-01-01")
    desk.commit(txs)
    image = tmp_path / "seal.png"
    image.write_bytes(b"seal image")
    desk.run("tx", "seal-register", "--key", desk.dept_key, "--genesis", desk.genesis, "--append", txs, "--seal-id", SEAL, "--owner", ORG,
             "--name", "licence seal", "--image", image, "--valid-from", "2026-01-01", "--valid-until", "2027-01-01")
    desk.commit(txs)
    return desk


def import_args(desk: Desk, file, *extra: str, seal_id: str = SEAL) -> list[object]:
    return [
        "licence", "import", file, "--key", desk.dept_key, "--uscc", ORG, "--seal-id", seal_id, "--genesis", desk.genesis,
        "--issuer-name", "北京市某区市场监督管理局", "--out", desk.d / "issue.jsonl", "--documents", desk.d / "docs",
        "--type-name", f"{T_DATED}=食品经营许可证", "--signing-time", SIGNED_AT, *extra,
    ]


def without_option(args: list[object], option: str) -> list[object]:
    """`args` without `option` and the value after it."""
    at = args.index(option)
    return args[:at] + args[at + 2 :]


def write_csv(path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def csv_row(serial: str, holder_uscc: str = uscc(800), **changes: str) -> dict[str, str]:
    row = {
        "type": T_DATED, "serial": serial, "holder_uscc": holder_uscc, "holder_name": "北京某某餐饮有限公司", "holder_id_number": "",
        "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2027-12-31", "commitment_deadline": "", "经营场所": "北京市东城区",
    }
    return row | changes


def test_setup_commands_write_what_the_chain_accepts(desk):
    org = read_org(desk.state, ORG)
    assert (org["licence_types"], org["keys"]) == (sorted([T_DATED, T_OPEN]), [b64encode(desk.dept.public_key.key_id)])


def test_import_csv_and_jsonl_then_commit_and_read_the_licences(desk):
    rows = desk.d / "rows.csv"
    write_csv(rows, [
        csv_row("1001"),
        csv_row("1002", holder_uscc="", holder_name="张三", holder_id_number="110101199003071234", commitment_deadline="2026-06-30"),
    ])
    result = desk.run(*import_args(desk, rows))
    assert "2 licences issued, 0 rows failed" in text(result)
    lines = desk.d / "issue.jsonl"
    jsonl = desk.d / "rows.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"type": T_OPEN, "type_name": "open type", "serial": 2001, "holder_uscc": uscc(801), "holder_name": "河北某某有限公司",
         "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": None, "许可范围": "预包装食品销售"},
        {"type": T_DATED, "serial": "2002", "holder_name": "李四", "holder_id_number": "120101198001011234",
         "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    ]) + "\n", encoding="utf-8")
    desk.run(*import_args(desk, jsonl))
    assert len(lines.read_bytes().splitlines()) == 4
    txs = desk.commit(lines)
    docs = sorted((desk.d / "docs").iterdir())
    assert len(docs) == 4
    for tx in txs:
        licence_id = tx.body["id"]
        path = desk.d / "docs" / f"{licence_id}.json"
        document = read_document(path)
        record = read_licence(desk.state, licence_id)
        assert (record["status"], record["document_hash"]) == ("valid", b64encode(document.hash))
        person = document.licence.holder.to_json()["kind"] == "person"
        assert stat.S_IMODE(path.stat().st_mode) == (0o600 if person else 0o644)
        assert record["holder"] == document.licence.holder.to_ledger() | ({"commitment": record["holder"].get("commitment")} if person else {})
    by_serial = {read_document(p).licence.id.split(".")[-3]: read_document(p).licence for p in docs}
    assert dict(by_serial["2001"].fields) == {"许可范围": "预包装食品销售"} and by_serial["2001"].valid_until is None
    assert dict(by_serial["1001"].fields) == {"经营场所": "北京市东城区"} and by_serial["1002"].commitment_deadline.isoformat() == "2026-06-30"
    assert stat.S_IMODE((desk.d / "docs").stat().st_mode) == 0o700


def test_a_bad_row_is_reported_with_its_line_and_column_and_the_import_goes_on(desk):
    rows = desk.d / "rows.csv"
    bad = uscc(802)[:-1] + ("0" if uscc(802)[-1] != "0" else "1")
    write_csv(rows, [csv_row("3001"), csv_row("3002", holder_uscc=bad), csv_row("3003", valid_until="2025-01-01"), csv_row("3004")])
    result = desk.run(*import_args(desk, rows), code=1)
    out = text(result)
    assert "line 3: holder_uscc: ids.bad_uscc" in out and "line 4: valid_until: licence.bad_dates" in out
    assert f"its check character (the 18th) should be {uscc(802)[-1]!r}" in out and bad not in out
    assert "2 licences issued, 2 rows failed" in out and "2 row(s) failed" in out
    assert [Tx.from_bytes(line).body["id"].split(".")[-3] for line in (desk.d / "issue.jsonl").read_bytes().splitlines()] == ["3001", "3004"]
    desk.commit(desk.d / "issue.jsonl")

    write_csv(rows, [csv_row("4001", holder_uscc=bad), csv_row("4002")])
    result = desk.run(*import_args(desk, rows, "--strict"), code=1)
    assert "line 2: holder_uscc: ids.bad_uscc" in text(result) and "0 licences issued, 1 rows failed" in text(result)
    assert not (desk.d / "issue.jsonl").exists() or (desk.d / "issue.jsonl").read_bytes() == b""


def test_a_person_row_error_never_shows_the_id_number(desk):
    rows = desk.d / "rows.jsonl"
    rows.write_text(json.dumps({"type": T_DATED, "serial": "5001", "holder_uscc": "110101199003071234", "holder_name": "王五",
                                "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2026-12-31"}) + "\n[1]\n")
    result = desk.run(*import_args(desk, rows), code=1)
    out = text(result)
    assert "line 1: holder_uscc: ids.bad_uscc" in out and "line 2: row: import.json" in out
    assert "110101199003071234" not in out and "王五" not in out


def test_status_commands_and_outputs(desk):
    rows = desk.d / "rows.csv"
    write_csv(rows, [csv_row("6001", commitment_deadline="2026-06-30")])
    desk.run(*import_args(desk, rows))
    (issued,) = desk.commit(desk.d / "issue.jsonl")
    licence_id = issued.body["id"]
    dept = ("--key", desk.dept_key, "--chain-id", desk.net.genesis.chain_id)
    printed = desk.run("tx", "licence-suspend", *dept, "--id", licence_id, "--reason", "inspection")
    suspend = Tx.from_bytes(printed.stdout.strip().encode())
    assert (suspend.kind, suspend.body) == ("licence.suspend", {"id": licence_id, "reason": "inspection"})
    out = desk.d / "resume.json"
    desk.run("tx", "licence-resume", *dept, "--id", licence_id, "--reason", "inspection_passed", "--note", "整改完成", "--out", out)
    confirm = desk.d / "confirm.jsonl"
    desk.run("tx", "licence-confirm", *dept, "--id", licence_id, "--append", confirm)
    (desk.d / "ops.jsonl").write_bytes(suspend.to_bytes() + b"\n")
    desk.commit(desk.d / "ops.jsonl")
    (desk.d / "ops.jsonl").write_bytes(out.read_bytes() + confirm.read_bytes())
    desk.commit(desk.d / "ops.jsonl")
    record = read_licence(desk.state, licence_id)
    assert (record["status"], record["reason"], record["commitment"]["state"]) == ("valid", {"code": "inspection_passed", "note": "整改完成"}, "confirmed")

    rejected = desk.run("tx", "licence-revoke", *dept, "--id", licence_id[:-1] + "!", "--reason", "fraud", code=1)
    assert "ids.bad_licence_id" in text(rejected) and "tx.body.id" in text(rejected)
    both = desk.run("tx", "licence-cancel", "--key", desk.dept_key, "--chain-id", "c", "--genesis", desk.genesis, "--id", licence_id, "--reason", "x", code=2)
    assert "exactly one of --chain-id and --genesis" in text(both)


def test_org_admit_takes_a_public_key_file_and_key_commands_round_trip(desk):
    new_key = PrivateKey.generate()
    pem = desk.d / "new.pub"
    pem.write_bytes(encode_pem("PUBLIC KEY", new_key.public_key.spki))
    txs = desk.d / "gov.jsonl"
    admin = ("--key", desk.admin_key, "--genesis", desk.genesis, "--append", txs)
    desk.run("tx", "org-key-add", *admin, "--uscc", ORG, "--issuer-key", pem, "--not-before", str(GENESIS_TIME), "--not-after", "2026-12-31T23:59:59+08:00")
    desk.commit(txs)
    desk.run("tx", "org-key-revoke", *admin, "--uscc", ORG, "--key-id", b64encode(new_key.public_key.key_id), "--reason", "rotated")
    desk.commit(txs)
    assert read_org(desk.state, ORG)["keys"][-1] == b64encode(new_key.public_key.key_id)


def test_key_files_readable_by_others_are_refused_and_never_printed(desk):
    os.chmod(desk.dept_key, 0o640)
    rows = desk.d / "rows.csv"
    write_csv(rows, [csv_row("7001")])
    for args in (import_args(desk, rows), ["tx", "licence-suspend", "--key", desk.dept_key, "--genesis", desk.genesis, "--id", "x", "--reason", "y"]):
        result = desk.run(*args, code=2)
        assert "crypto.key_permissions" in text(result) and "chmod 600" in text(result)
        assert "PRIVATE KEY" not in result.output
    assert not (desk.d / "docs").exists() and not (desk.d / "issue.jsonl").exists()


def self_signed_pem(key, not_before: dt.datetime, not_after: dt.datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "department")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(7)
        .not_valid_before(not_before).not_valid_after(not_after).sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_certificate_gives_the_key_and_its_validity_window(desk):
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    cert = desk.d / "dept2.crt"
    cert.write_bytes(self_signed_pem(key, start, end))
    txs = desk.d / "gov.jsonl"
    desk.run("tx", "org-key-add", "--key", desk.admin_key, "--genesis", desk.genesis, "--append", txs, "--uscc", ORG, "--issuer-key", cert)
    desk.commit(txs)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    identity = Identity.from_bytes(desk.state.get(key_state_key(PublicKey.from_spki("ecdsa-p256-sha256", spki).key_id)))
    assert (identity.name, identity.not_before, identity.not_after) == (ORG, int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    bogus = desk.d / "bogus.pem"
    bogus.write_bytes(encode_pem("EC PARAMETERS", b"\x06\x08"))
    assert "expected a PUBLIC KEY" in text(desk.run("tx", "org-key-add", "--key", desk.admin_key, "--genesis", desk.genesis, "--uscc", ORG, "--issuer-key", bogus, code=2))


def test_every_other_command_writes_a_transaction_the_chain_accepts(desk):
    txs = desk.d / "all.jsonl"
    common = ("--genesis", desk.genesis, "--append", txs)
    admin = ("--key", desk.admin_key, *common)
    dept = ("--key", desk.dept_key, *common)
    docs = desk.d / "docs"
    issue = ("tx", "licence-issue", *dept, "--uscc", ORG, "--seal-id", SEAL, "--issuer-name", "北京市某区市场监督管理局", "--documents", docs,
             "--type", T_DATED, "--type-name", "食品经营许可证", "--issue-date", "2026-01-01", "--valid-from", "2026-01-01",
             "--valid-until", "2026-12-31", "--signing-time", SIGNED_AT)
    for serial in ("8001", "8002", "8003"):
        desk.run(*issue, "--serial", serial, "--holder-name", "赵六", "--holder-id-number", "130101199001011234", "--field", "类别=热食类")
    desk.run(*issue, "--serial", "8004", "--holder-name", "北京某某有限公司", "--holder-uscc", uscc(803))
    document = desk.d / "sealed.txt"
    document.write_bytes(b"a contract to seal")
    desk.run("tx", "seal-sign", *dept, "--uscc", ORG, "--seal-id", SEAL, "--file", document, "--signing-time", SIGNED_AT)
    desk.commit(txs)
    ids = sorted(p.name[:-5] for p in docs.iterdir())
    person_doc, enterprise_doc = docs / f"{ids[0]}.json", docs / f"{ids[3]}.json"
    version = ("--uscc", ORG, "--seal-id", SEAL, "--documents", desk.d / "v2", "--signing-time", SIGNED_AT)
    desk.run("tx", "licence-change", *dept, *version, "--document", enterprise_doc, "--reason", "holder_renamed", "--holder-name", "北京某某股份有限公司", "--field", "类别=冷食类")
    desk.run("tx", "licence-renew", *dept, *version, "--document", person_doc, "--reason", "expiry", "--valid-until", "2028-12-31")
    desk.run("tx", "licence-revoke", *dept, "--id", ids[1], "--reason", "fraud")
    desk.run("tx", "licence-annul", *admin, "--id", ids[2], "--reason", "commitment_failed", "--note", "承诺不实")
    desk.run("tx", "org-grant", *admin, "--uscc", ORG, "--types", T_OPEN)
    desk.run("tx", "recognition-declare", *admin, "--from-region", "tianjin", "--type", T_OPEN, "--as-type", T_DATED, "--conditions", "原件备查")
    desk.commit(txs)
    changed = read_document(desk.d / "v2" / f"{next_version(ids[3])}.json").licence
    assert (changed.holder.name, dict(changed.fields)) == ("北京某某股份有限公司", {"类别": "冷食类"})
    renewed = read_licence(desk.state, next_version(ids[0]))
    assert (renewed["supersedes"], renewed["valid_until"]) == (ids[0], "2028-12-31")
    assert [read_licence(desk.state, i)["status"] for i in ids[1:3]] == ["revoked", "annulled"]
    desk.run("tx", "recognition-withdraw", *admin, "--from-region", "tianjin", "--type", T_OPEN)
    desk.run("tx", "licence-cancel", *dept, "--id", next_version(ids[3]), "--reason", "holder_request")
    desk.run("tx", "seal-revoke", *dept, "--seal-id", SEAL, "--reason", "replaced")
    desk.run("tx", "org-suspend", *admin, "--uscc", ORG, "--reason", "inspection")
    desk.commit(txs)
    desk.run("tx", "org-resume", *admin, "--uscc", ORG, "--reason", "inspection_passed")
    desk.commit(txs)
    assert read_org(desk.state, ORG)["status"] == "active" and read_licence(desk.state, next_version(ids[3]))["status"] == "cancelled"


def test_licence_issue_and_import_write_sealed_transactions_signed_by_the_seal_key(desk):
    """transactions.md §5: --seal-key, a second key of the department listed by a second seal,
    signs each licence.issue by its seal signature alone; --key signs the change."""
    seal_key, seal_key_file = PrivateKey.generate(), desk.d / "seal.key"
    write_private_key(seal_key_file, seal_key)
    txs = desk.d / "setup.jsonl"
    desk.run("tx", "org-key-add", "--key", desk.admin_key, "--genesis", desk.genesis, "--append", txs, "--uscc", ORG, "--issuer-key", seal_key_file,
             "--not-before", str(GENESIS_TIME), "--not-after", "2027-01-01")
    desk.commit(txs)
    image = desk.d / "seal2.png"
    image.write_bytes(b"second seal image")
    desk.run("tx", "seal-register", "--key", desk.dept_key, "--genesis", desk.genesis, "--append", txs, "--seal-id", "BJIMPORT0002", "--owner", ORG,
             "--name", "second seal", "--image", image, "--signer", seal_key_file, "--valid-from", "2026-01-01", "--valid-until", "2027-01-01")
    desk.commit(txs)
    docs, chain_id = desk.d / "docs", desk.net.genesis.chain_id
    printed = desk.run(  # --seal-key alone: the seal key seals and so signs
        "tx", "licence-issue", "--seal-key", seal_key_file, "--chain-id", chain_id, "--uscc", ORG, "--seal-id", "BJIMPORT0002",
        "--issuer-name", "北京市某区市场监督管理局", "--documents", docs, "--type", T_DATED, "--type-name", "食品经营许可证", "--serial", "9501",
        "--holder-name", "赵六", "--holder-id-number", "130101199001011234", "--issue-date", "2026-01-01", "--valid-from", "2026-01-01",
        "--valid-until", "2026-12-31", "--commitment-deadline", "2026-06-30", "--signing-time", SIGNED_AT,
    )
    issued = Tx.from_bytes(printed.stdout.strip().encode())
    document = read_document(docs / f"{issued.body['id']}.json")
    seal = document.seal_signature
    assert (issued.kind, issued.signer, issued.nonce, issued.signature) == ("licence.issue", seal_key.public_key.key_id, document.hash[:16], seal.signature)
    assert (seal.kind, seal.seal_id, seal.signing_time) == (ISSUE_KIND, "BJIMPORT0002", int(SIGNED_AT))
    assert issued.body["seal"] == {"seal_id": "BJIMPORT0002", "signing_time": int(SIGNED_AT)} and "seal_signature" not in issued.body
    assert "赵六" not in printed.stdout and "130101199001011234" not in printed.stdout
    statement = SealSignature("BJIMPORT0002", document.hash, issued.signer, seal.signing_time, issued.signature, ISSUE_KIND)
    seal_key.public_key.verify(SEAL_PURPOSE, chain_id, statement.message(), issued.signature)
    with pytest.raises(CryptoError):
        seal_key.public_key.verify(TX_PURPOSE, chain_id, issued.id, issued.signature)
    rows = desk.d / "rows.csv"
    write_csv(rows, [csv_row("9502"), csv_row("9503", holder_uscc="", holder_name="张三", holder_id_number="110101199003071234")])
    desk.run(*without_option(import_args(desk, rows, seal_id="BJIMPORT0002"), "--key"), "--seal-key", seal_key_file)
    imported = [Tx.from_bytes(line) for line in (desk.d / "issue.jsonl").read_bytes().splitlines()]
    assert [t.signer for t in imported] == [seal_key.public_key.key_id] * 2
    assert [t.nonce for t in imported] == [read_document(docs / f"{t.body['id']}.json").hash[:16] for t in imported]
    (desk.d / "issue.jsonl").write_bytes(b"".join(t.to_bytes() + b"\n" for t in [issued, *imported]))
    desk.commit(desk.d / "issue.jsonl")
    assert [read_licence(desk.state, t.body["id"])["seal_signature"]["signer"] for t in imported] == [b64encode(seal_key.public_key.key_id)] * 2

    changed = desk.run(
        "tx", "licence-change", "--key", desk.dept_key, "--seal-key", seal_key_file, "--chain-id", chain_id, "--uscc", ORG, "--seal-id", "BJIMPORT0002",
        "--documents", desk.d / "v2", "--document", docs / f"{issued.body['id']}.json", "--reason", "correction", "--field", "类别=冷食类",
        "--signing-time", SIGNED_AT,
    )
    change = Tx.from_bytes(changed.stdout.strip().encode())
    desk.dept.public_key.verify(TX_PURPOSE, chain_id, change.id, change.signature)
    v2 = read_document(desk.d / "v2" / f"{next_version(issued.body['id'])}.json")
    assert (change.signer, change.body["new"]["private"], change.body["new"]["commitment_deadline"]) == (desk.dept.public_key.key_id, b64encode(v2.licence.private_hash()), "2026-06-30")
    assert v2.seal_signature.kind is None and "kind" not in change.body["new"]["seal_signature"]
    (desk.d / "change.jsonl").write_bytes(change.to_bytes() + b"\n")
    desk.commit(desk.d / "change.jsonl")
    assert read_licence(desk.state, v2.licence.id)["document_hash"] == b64encode(v2.hash)


def test_unusable_import_input_exits_two(desk):
    rows = desk.d / "rows.csv"
    write_csv(rows, [{k: v for k, v in csv_row("9001").items() if k != "valid_from"}])
    assert "lacks the column(s) valid_from" in text(desk.run(*import_args(desk, rows), code=2))
    other = desk.d / "rows.txt"
    other.write_text("type\n")
    assert "the extension must be one of" in text(desk.run(*import_args(desk, other), code=2))
    write_csv(rows, [csv_row("9002")])
    (desk.d / "issue.jsonl").write_bytes(b'{"partial"')
    assert "ends with an incomplete line" in text(desk.run(*import_args(desk, rows), code=2))
    assert (desk.d / "issue.jsonl").read_bytes() == b'{"partial"'


def test_licence_issue_and_import_without_any_key_exit_two_naming_both_options(desk):
    rows = desk.d / "rows.csv"
    write_csv(rows, [csv_row("9601")])
    imported = desk.run(*without_option(import_args(desk, rows), "--key"), code=2)
    assert "--key or --seal-key" in imported.output
    issued = desk.run(
        "tx", "licence-issue", "--genesis", desk.genesis, "--uscc", ORG, "--seal-id", SEAL, "--issuer-name", "北京市某区市场监督管理局",
        "--documents", desk.d / "docs", "--type", T_DATED, "--type-name", "食品经营许可证", "--serial", "9602", "--holder-name", "某公司",
        "--holder-uscc", uscc(602), "--issue-date", "2026-01-01", "--valid-from", "2026-01-01", code=2,
    )
    assert "--key or --seal-key" in issued.output
    assert not (desk.d / "issue.jsonl").exists() and not (desk.d / "docs").exists()
