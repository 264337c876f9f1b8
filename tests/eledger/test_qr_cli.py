"""`eledger qr` (eledger/commands/qr.py): a person's and an enterprise's documents written as PNG
and SVG QR codes that a real decoder reads back to their claims; the chain id from --chain-id
or --genesis; exit 2 with a precise message for unusable input; no name or ID number printed."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from eledger.commands import register_commands
from ledger.document import seal_document, write_document
from ledger.qr import QrClaim, decode_qr, encode_qr
from tests.client.test_qr import ENTERPRISE, PERSON, read_back
from tests.ledger.conftest import make_net
from tests.ledger.test_qr import CHAIN, KEY, spec_part

app = typer.Typer()
register_commands(app)
runner = CliRunner()


def text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def docs(tmp_path):
    made = {}
    for name, holder in (("person", PERSON), ("enterprise", ENTERPRISE)):
        document = seal_document(spec_part(holder), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
        write_document(tmp_path / f"{name}.json", document)
        made[name] = document
    return made


def run(*args: object, code: int = 0):
    result = runner.invoke(app, ["qr", *map(str, args)])
    assert result.exit_code == code, result.output
    return result


@pytest.mark.parametrize("name", ["person", "enterprise"])
def test_qr_writes_a_png_that_reads_back_to_the_documents_claim(docs, tmp_path, name):
    out = tmp_path / f"{name}.png"
    result = run(tmp_path / f"{name}.json", "--out", out, "--chain-id", CHAIN, "--payload")
    scanned = read_back(out.read_bytes())
    assert decode_qr(scanned) == QrClaim.from_document(docs[name], CHAIN)
    assert result.stdout.strip() == scanned == encode_qr(docs[name], CHAIN)
    summary = text(result.stderr)
    assert f"QR code of licence {docs[name].licence.id} written to" in summary and "level Q" in summary
    assert ("a person (the holder commitment)" if name == "person" else "an enterprise (its USCC)") in summary
    for secret in ("王五", "130102197001011234", "Example Food"):
        assert secret not in result.output


def test_qr_takes_the_chain_id_from_the_genesis_and_writes_svg(docs, tmp_path):
    net = make_net(chain_id="qr-chain")
    net.genesis.write(tmp_path / "genesis.json")
    out = tmp_path / "person.SVG"
    run(tmp_path / "person.json", "--out", out, "--genesis", tmp_path / "genesis.json", "--payload")
    assert out.read_bytes().startswith(b"<?xml") and b"<svg" in out.read_bytes()
    png = tmp_path / "again.png"
    result = run(tmp_path / "person.json", "--out", png, "--genesis", tmp_path / "genesis.json", "--payload", "--scale", "3")
    assert decode_qr(read_back(png.read_bytes())).chain_id == "qr-chain" == decode_qr(result.stdout.strip()).chain_id


def test_qr_unusable_input_exits_2_naming_what_is_wrong(docs, tmp_path):
    doc = tmp_path / "person.json"
    assert ".png or .svg" in text(run(doc, "--out", tmp_path / "x.jpg", "--chain-id", CHAIN, code=2).output)
    assert "exactly one of --chain-id and --genesis" in text(run(doc, "--out", tmp_path / "x.png", code=2).output)
    assert "exactly one of --chain-id and --genesis" in text(run(doc, "--out", tmp_path / "x.png", "--chain-id", CHAIN, "--genesis", tmp_path / "g.json", code=2).output)
    assert "genesis.unreadable" in text(run(doc, "--out", tmp_path / "x.png", "--genesis", tmp_path / "none.json", code=2).output)
    assert "document.not_found" in text(run(tmp_path / "none.json", "--out", tmp_path / "x.png", "--chain-id", CHAIN, code=2).output)
    bad = tmp_path / "bad.json"
    bad.write_bytes(doc.read_bytes().replace(b"130102197001011234", b"130102197001011235") + b" ")
    result = run(bad, "--out", tmp_path / "x.png", "--chain-id", CHAIN, code=2)
    assert "document.not_canonical" in text(result.output) and "130102197001011235" not in result.output
    assert "qr.bad_chain_id" in text(run(doc, "--out", tmp_path / "x.png", "--chain-id", "Not A Chain", code=2).output)
    assert "cannot write" in text(run(doc, "--out", tmp_path / "no" / "dir" / "x.png", "--chain-id", CHAIN, code=2).output)
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()
