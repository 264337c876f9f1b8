"""certs.manifest: the PKI manifest's JSON form and its atomic file."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from certs.errors import CertError
from certs.manifest import Manifest, ManifestEntry, read_manifest, write_manifest
from tests.certs.conftest import NOW

ENTRY = ManifestEntry(
    region="beijing",
    role="validator",
    name="beijing-1",
    certificate="beijing/nodes/beijing-1.crt",
    private_key="beijing/nodes/beijing-1.key",
    fingerprint="ab" * 32,
    serial="1f",
    not_before=NOW,
    not_after=NOW + timedelta(days=730),
)
CA = ManifestEntry(
    region="beijing",
    role="ca",
    name="root",
    certificate="beijing/ca.crt",
    private_key="beijing/ca.key",
    fingerprint="cd" * 32,
    serial="2",
    not_before=NOW,
    not_after=NOW + timedelta(days=3650),
)


def test_manifest_json_round_trips():
    manifest = Manifest((CA, ENTRY))
    assert Manifest.from_json(manifest.to_json()) == manifest
    data = json.loads(manifest.to_json())
    assert data["format"] == "eledger-pki-manifest" and data["version"] == 1
    assert data["entries"][1]["not_after"] == "2027-03-01T12:00:00+00:00"


def test_manifest_find_and_regions():
    manifest = Manifest((CA, ENTRY))
    assert manifest.regions == ("beijing",)
    assert manifest.find("beijing", "ca") == (CA,)
    assert manifest.find("beijing", ENTRY.role, "beijing-1") == (ENTRY,)
    assert manifest.find("tianjin", "ca") == ()


def test_write_manifest_replaces_atomically(tmp_path):
    path = tmp_path / "manifest.json"
    write_manifest(path, Manifest((CA,)))
    write_manifest(path, Manifest((CA, ENTRY)))
    assert read_manifest(path) == Manifest((CA, ENTRY))
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(format="other"), "not an eledger-pki-manifest"),
        (lambda d: d.update(version=2), "version 2 is not supported"),
        (lambda d: d.update(entries={}), "'entries' must be a list"),
        (lambda d: d["entries"][0].pop("fingerprint"), "'fingerprint' must be a non-empty string"),
        (lambda d: d["entries"][0].update(role="king"), "'king'"),
        (lambda d: d["entries"][0].update(region="Bei"), "bad region name"),
        (lambda d: d["entries"][0].update(not_after="2027-03-01T12:00:00"), "no time zone"),
        (lambda d: d["entries"][0].update(not_after="soon"), "not ISO 8601"),
        (lambda d: d["entries"][0].update(uscc=5), "'uscc' must be a string or null"),
        (lambda d: d["entries"].append(7), "not a JSON object"),
    ],
)
def test_manifest_from_json_names_the_bad_field(mutate, fragment):
    data = json.loads(Manifest((ENTRY,)).to_json())
    mutate(data)
    with pytest.raises(CertError, match=fragment) as info:
        Manifest.from_json(json.dumps(data))
    assert info.value.code == "cert.malformed"


def test_read_manifest_missing_and_garbage(tmp_path):
    with pytest.raises(CertError, match="certs init") as info:
        read_manifest(tmp_path / "manifest.json")
    assert info.value.code == "cert.not_found"
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(CertError, match="not JSON") as info:
        read_manifest(tmp_path / "manifest.json")
    assert info.value.code == "cert.malformed"
