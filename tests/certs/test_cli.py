"""certs.cli: `eledger certs init|issue|show` via typer's CliRunner, mounted as in eledger."""

from __future__ import annotations

import json
import stat

import pytest
import typer
from typer.testing import CliRunner

from certs.cli import certs_app
from certs.keys import fingerprint_certificate, read_certificate
from certs.layout import DEFAULT_REGIONS
from tests.certs.conftest import VALID_USCC

app = typer.Typer()
app.add_typer(certs_app, name="certs")
runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, ["certs", *map(str, args)])
    assert "PRIVATE KEY" not in result.output
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture()
def pki(tmp_path):
    result = run("init", "--out", tmp_path / "pki", "--regions", "beijing,tianjin")
    assert result.exit_code == 0, result.output
    return tmp_path / "pki"


def test_init_creates_default_regions_and_manifest(tmp_path):
    out = tmp_path / "pki"
    result = run("init", "--out", out)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    entries = manifest["entries"]
    assert sorted({e["region"] for e in entries}) == sorted(DEFAULT_REGIONS)
    assert len(entries) == len(DEFAULT_REGIONS) * 7  # CA, validator, issuer, staff, partner, admin, auditor
    for entry in entries:
        cert = read_certificate(out / entry["certificate"])
        assert fingerprint_certificate(cert) == entry["fingerprint"]
        assert stat.S_IMODE((out / entry["private_key"]).stat().st_mode) == 0o600
    assert result.stdout.count("created") == len(entries)
    assert "xiongan" in result.stdout


def test_init_second_run_refuses(pki):
    before = (pki / "beijing" / "ca.crt").read_bytes()
    result = run("init", "--out", pki, "--regions", "beijing,tianjin")
    assert result.exit_code == 1
    assert "error [cert.exists]" in flat(result.stderr)
    assert "--skip-existing" in flat(result.stderr)
    assert (pki / "beijing" / "ca.crt").read_bytes() == before


def test_init_skip_existing_keeps_and_adds(pki):
    before = (pki / "beijing" / "ca.crt").read_bytes()
    result = run(
        "init",
        "--out",
        pki,
        "--regions",
        "beijing,hebei",
        "--validators-per-region",
        "2",
        "--skip-existing",
    )
    assert result.exit_code == 0, result.output
    assert (pki / "beijing" / "ca.crt").read_bytes() == before
    assert (pki / "hebei" / "nodes" / "hebei-2.crt").is_file()
    assert not (pki / "beijing" / "nodes" / "beijing-2.crt").exists()
    assert result.stdout.count("kept") == 7 and result.stdout.count("created") == 8
    regions = {e["region"] for e in json.loads((pki / "manifest.json").read_text())["entries"]}
    assert regions == {"beijing", "hebei", "tianjin"}


def test_init_rejects_bad_region_name(tmp_path):
    result = run("init", "--out", tmp_path / "pki", "--regions", "beijing,Tian Jin")
    assert result.exit_code == 1
    assert "[cert.bad_name]" in result.stderr
    assert not (tmp_path / "pki").exists()


def test_issue_then_show_validates_against_roots(pki, tmp_path):
    prefix = tmp_path / "beijing-5"
    result = run(
        "issue",
        "--ca",
        pki / "beijing",
        "--role",
        "validator",
        "--name",
        "beijing-5",
        "--host",
        "10.1.2.3",
        "--out",
        prefix,
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "beijing-5.key").stat().st_mode) == 0o600
    shown = run(
        "show",
        tmp_path / "beijing-5.crt",
        "--roots",
        pki,
        "--role",
        "validator",
        "--region",
        "beijing",
    )
    assert shown.exit_code == 0, shown.output
    text = flat(shown.stdout)
    assert "urn:eledger:beijing:validator:beijing-5" in text
    assert "valid at" in text and "chains to the beijing root CA" in text


def test_issue_auditor_then_show_it_as_an_auditor_and_not_as_staff(pki, tmp_path):
    result = run("issue", "--ca", pki / "tianjin", "--role", "auditor", "--name", "tianjin-supervision", "--out", tmp_path / "aud")
    assert result.exit_code == 0, result.output
    shown = run("show", tmp_path / "aud.crt", "--roots", pki, "--role", "auditor", "--region", "tianjin")
    assert shown.exit_code == 0, shown.output
    assert "urn:eledger:tianjin:auditor:tianjin-supervision" in flat(shown.stdout)
    as_staff = run("show", tmp_path / "aud.crt", "--roots", pki, "--role", "staff")
    assert as_staff.exit_code == 1 and "[cert.wrong_role]" in flat(as_staff.stderr)


def test_issue_issuer_with_uscc_and_show_it(pki, tmp_path):
    result = run(
        "issue",
        "--ca",
        pki / "tianjin",
        "--role",
        "issuer",
        "--name",
        "binhai-market",
        "--uscc",
        VALID_USCC,
        "--out",
        tmp_path / "binhai",
    )
    assert result.exit_code == 0, result.output
    shown = run("show", tmp_path / "binhai.crt")
    assert shown.exit_code == 0
    assert VALID_USCC in shown.stdout and "not validated" in flat(shown.stdout)


@pytest.mark.parametrize(
    "extra, code",
    [
        (["--role", "king", "--name", "x"], "cert.wrong_role"),
        (["--role", "issuer", "--name", "x", "--uscc", "91350100M000100Y44"], "cert.bad_uscc"),
        (["--role", "staff", "--name", "x", "--days", "5000"], "cert.bad_validity"),
        (["--role", "staff", "--name", "Bad Name"], "cert.bad_name"),
    ],
)
def test_issue_reports_errors_with_codes(pki, tmp_path, extra, code):
    result = run("issue", "--ca", pki / "beijing", "--out", tmp_path / "x", *extra)
    assert result.exit_code == 1
    assert f"[{code}]" in result.stderr
    assert not (tmp_path / "x.key").exists()


def test_issue_with_missing_ca(tmp_path):
    result = run(
        "issue",
        "--ca",
        tmp_path / "nowhere",
        "--role",
        "staff",
        "--name",
        "s",
        "--out",
        tmp_path / "s",
    )
    assert result.exit_code == 1 and "[cert.not_found]" in result.stderr


def test_show_rejects_wrong_role_and_foreign_roots(pki, tmp_path):
    staff = pki / "beijing" / "staff" / "beijing-window-1.crt"
    wrong = run("show", staff, "--roots", pki, "--role", "partner")
    assert wrong.exit_code == 1 and "[cert.wrong_role]" in wrong.stderr
    other = tmp_path / "other"
    assert run("init", "--out", other, "--regions", "beijing").exit_code == 0
    foreign = run("show", staff, "--roots", other)
    assert foreign.exit_code == 1 and "[cert.untrusted_issuer]" in foreign.stderr
    foreign_ca = run("show", pki / "beijing" / "ca.crt", "--roots", other)
    assert foreign_ca.exit_code == 1 and "[cert.untrusted_issuer]" in foreign_ca.stderr


def test_show_root_ca(pki):
    result = run("show", pki / "tianjin" / "ca.crt", "--roots", pki, "--region", "tianjin")
    assert result.exit_code == 0, result.output
    assert "valid: trusted root CA of tianjin" in flat(result.stdout)
    as_role = run("show", pki / "tianjin" / "ca.crt", "--roots", pki, "--role", "validator")
    assert as_role.exit_code == 1 and "[cert.wrong_role]" in as_role.stderr
    elsewhere = run("show", pki / "tianjin" / "ca.crt", "--roots", pki, "--region", "beijing")
    assert elsewhere.exit_code == 1 and "[cert.wrong_region]" in elsewhere.stderr


def test_show_missing_file(tmp_path):
    result = run("show", tmp_path / "none.crt")
    assert result.exit_code == 1 and "[cert.not_found]" in result.stderr
