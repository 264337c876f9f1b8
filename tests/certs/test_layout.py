"""certs.layout: `init_pki`, `load_roots`, `issue_credential` on a temporary directory."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest

import certs.layout as layout
from certs.errors import CertError
from certs.identity import read_identity
from certs.keys import fingerprint_certificate, read_certificate, read_private_key
from certs.layout import (
    demo_uscc,
    existing_regions,
    init_pki,
    issue_credential,
    load_roots,
    read_pki_manifest,
)
from certs.roles import Role
from certs.uscc import validate_uscc
from certs.validate import validate_certificate
from tests.certs.conftest import NOW, VALID_USCC

AT = NOW + timedelta(days=1)


def gb11714_check(code8: str) -> str:
    """GB 11714-1997 organisation code check character (weights 3 7 9 10 5 8 4 2, mod 11)."""
    value = sum(int(c, 36) * w for c, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return {10: "X", 11: "0"}.get(11 - value % 11, str(11 - value % 11))


def snapshot(directory):
    return {
        p.relative_to(directory): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_init_pki_creates_layout_and_manifest(tmp_path):
    manifest = init_pki(tmp_path, ["beijing", "xiongan"], NOW, validators_per_region=2)
    assert manifest == read_pki_manifest(tmp_path)
    assert manifest == read_pki_manifest(tmp_path, aggregate=True)
    assert manifest.regions == ("beijing", "xiongan")
    expected = {
        ("ca", "root"),
        ("validator", "beijing-1"),
        ("validator", "beijing-2"),
        ("issuer", "beijing-market-regulation"),
        ("staff", "beijing-window-1"),
        ("partner", "beijing-gateway"),
        ("region-admin", "beijing-admin"),
        ("auditor", "beijing-auditor"),
    }
    assert {(e.role, e.name) for e in manifest.entries if e.region == "beijing"} == expected
    assert (tmp_path / "beijing/nodes/beijing-2.crt").is_file()
    assert (tmp_path / "beijing/issuers/beijing-market-regulation.key").is_file()
    assert (tmp_path / "beijing/auditors/beijing-auditor.crt").is_file()
    roots = list(load_roots(tmp_path).values())
    for entry in manifest.entries:
        cert = read_certificate(tmp_path / entry.certificate)
        key = read_private_key(tmp_path / entry.private_key)
        assert key.public_key() == cert.public_key()
        assert stat.S_IMODE((tmp_path / entry.private_key).stat().st_mode) == 0o600
        assert entry.fingerprint == fingerprint_certificate(cert)
        assert entry.serial == format(cert.serial_number, "x")
        assert entry.not_before == NOW - timedelta(minutes=5)
        if entry.role == "ca":
            assert entry.not_after == NOW - timedelta(minutes=5) + timedelta(days=3650)
            continue
        assert entry.not_after == NOW - timedelta(minutes=5) + timedelta(days=730)
        identity = validate_certificate(
            cert, roots=roots, at=AT, role=Role(entry.role), region=entry.region
        )
        assert (identity.name, identity.uscc) == (entry.name, entry.uscc)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_init_pki_manifest_holds_no_key_material(tmp_path):
    manifest = init_pki(tmp_path, ["hebei"], NOW)
    text = (tmp_path / "manifest.json").read_text()
    assert "PRIVATE KEY" not in text
    for entry in manifest.entries:
        body = (tmp_path / entry.private_key).read_text().splitlines()[1]
        assert body not in text


def test_demo_uscc_is_well_formed(tmp_path):
    for region in ("beijing", "tianjin", "hebei", "xiongan", "shenzhen"):
        code = demo_uscc(region)
        assert validate_uscc(code) == code
        assert code[8:16].isdigit() and code[16] == gb11714_check(code[8:16])
    assert demo_uscc("beijing")[2:8] == "110000" and demo_uscc("xiongan")[2:8] == "133100"
    init_pki(tmp_path, ["tianjin"], NOW)
    cert = read_certificate(tmp_path / "tianjin/issuers/tianjin-market-regulation.crt")
    assert read_identity(cert).uscc == demo_uscc("tianjin")


def test_init_pki_refuses_existing_ca_and_creates_nothing(tmp_path):
    init_pki(tmp_path, ["beijing"], NOW)
    before = snapshot(tmp_path)
    with pytest.raises(CertError, match="already exists.*--skip-existing") as info:
        init_pki(tmp_path, ["hebei", "beijing"], NOW + timedelta(days=1))
    assert info.value.code == "cert.exists"
    assert snapshot(tmp_path) == before
    assert existing_regions(tmp_path, ["hebei", "beijing"]) == ("beijing",)


def test_init_pki_skip_existing_keeps_old_and_adds_new(tmp_path):
    first = init_pki(tmp_path, ["tianjin"], NOW)
    kept = snapshot(tmp_path / "tianjin")
    manifest = init_pki(
        tmp_path, ["tianjin", "beijing"], NOW + timedelta(days=1), skip_existing=True
    )
    assert snapshot(tmp_path / "tianjin") == kept
    assert manifest.regions == ("beijing", "tianjin")
    assert manifest.find("tianjin", "ca") == first.find("tianjin", "ca")
    assert read_pki_manifest(tmp_path) == manifest


def test_init_pki_refuses_incomplete_region_even_when_skipping(tmp_path):
    (tmp_path / "hebei").mkdir()
    (tmp_path / "hebei" / "notes.txt").write_text("mine")
    for skip in (False, True):
        with pytest.raises(CertError, match="not a complete eledger region") as info:
            init_pki(tmp_path, ["hebei"], NOW, skip_existing=skip)
        assert info.value.code == "cert.exists"
    assert (tmp_path / "hebei" / "notes.txt").read_text() == "mine"


def test_init_pki_fills_empty_region_directory(tmp_path):
    (tmp_path / "hebei").mkdir()
    init_pki(tmp_path, ["hebei"], NOW)
    assert (tmp_path / "hebei" / "ca.crt").is_file()


@pytest.mark.parametrize(
    "regions, validators, fragment",
    [
        (["beijing", "beijing"], 1, "more than once: beijing"),
        (["Beijing"], 1, "bad region name"),
        ([], 1, "no regions"),
        (["beijing"], 0, "validators per region"),
    ],
)
def test_init_pki_rejects_bad_arguments(tmp_path, regions, validators, fragment):
    with pytest.raises(CertError, match=fragment) as info:
        init_pki(tmp_path / "pki", regions, NOW, validators_per_region=validators)
    assert info.value.code == "cert.bad_name"
    assert not (tmp_path / "pki").exists()


def test_init_pki_requires_aware_now(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        init_pki(tmp_path, ["beijing"], NOW.replace(tzinfo=None))


def test_init_pki_leaves_no_partial_region_on_failure(tmp_path, monkeypatch):
    calls = []

    def failing(**kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 3:
            raise OSError("disk full")
        return real(**kwargs)

    real = layout.issue_certificate
    monkeypatch.setattr(layout, "issue_certificate", failing)
    with pytest.raises(OSError, match="disk full"):
        init_pki(tmp_path, ["beijing"], NOW)
    assert list(tmp_path.iterdir()) == []


def test_load_roots_reads_each_region_and_a_single_region_dir(tmp_path):
    init_pki(tmp_path, ["tianjin", "beijing"], NOW)
    roots = load_roots(tmp_path)
    assert sorted(roots) == ["beijing", "tianjin"]
    assert roots["beijing"] == read_certificate(tmp_path / "beijing/ca.crt")
    assert list(load_roots(tmp_path / "tianjin")) == ["tianjin"]


def test_load_roots_rejects_misplaced_or_missing_ca(tmp_path):
    with pytest.raises(CertError) as info:
        load_roots(tmp_path / "absent")
    assert info.value.code == "cert.not_found"
    with pytest.raises(CertError, match="certs init") as info:
        load_roots(tmp_path)
    assert info.value.code == "cert.not_found"
    init_pki(tmp_path, ["beijing"], NOW)
    (tmp_path / "beijing").rename(tmp_path / "hebei")
    with pytest.raises(CertError, match="CA of 'beijing' but lies in directory 'hebei'") as info:
        load_roots(tmp_path)
    assert info.value.code == "cert.malformed"


def test_load_roots_rejects_end_entity_posing_as_ca(tmp_path):
    init_pki(tmp_path, ["beijing"], NOW)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "ca.crt").write_bytes((tmp_path / "beijing/nodes/beijing-1.crt").read_bytes())
    with pytest.raises(CertError, match="not an eledger root CA"):
        load_roots(tmp_path)


def test_issue_credential_writes_prefix_files(tmp_path):
    init_pki(tmp_path, ["beijing"], NOW)
    prefix = tmp_path / "out" / "haidian"
    prefix.parent.mkdir()
    entry = issue_credential(
        tmp_path / "beijing",
        role=Role.ISSUER,
        name="haidian",
        out_prefix=prefix,
        not_before=NOW,
        not_after=NOW + timedelta(days=30),
        uscc=VALID_USCC,
    )
    cert = read_certificate(tmp_path / "out/haidian.crt")
    assert stat.S_IMODE((tmp_path / "out/haidian.key").stat().st_mode) == 0o600
    assert entry.fingerprint == fingerprint_certificate(cert)
    assert (entry.region, entry.role, entry.uscc) == ("beijing", "issuer", VALID_USCC)
    identity = validate_certificate(cert, roots=list(load_roots(tmp_path).values()), at=AT)
    assert identity.role is Role.ISSUER


def test_issue_credential_refuses_existing_files_and_writes_nothing(tmp_path):
    init_pki(tmp_path, ["beijing"], NOW)
    (tmp_path / "node.key").write_text("keep")
    with pytest.raises(CertError, match="refusing to overwrite") as info:
        issue_credential(
            tmp_path / "beijing",
            role=Role.OBSERVER,
            name="obs-1",
            out_prefix=tmp_path / "node",
            not_before=NOW,
            not_after=NOW + timedelta(days=30),
        )
    assert info.value.code == "cert.exists"
    assert not (tmp_path / "node.crt").exists()
    assert (tmp_path / "node.key").read_text() == "keep"
