"""client.profile: the profile file's form, its paths relative to the file, and precise refusals
naming the member at fault; and how a command resolves its node from --profile,
$ELEDGER_PROFILE and explicit options (eledger/commands/connect.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.profile import PROFILE_ENV, Profile, ProfileError, read_profile, write_profile
from eledger.commands.connect import resolve_connection


@pytest.fixture
def files(tmp_path):
    """A network-like directory: pki/ with a credential and CA, genesis.json, profiles/."""
    (tmp_path / "pki").mkdir()
    for name in ("partner.crt", "partner.key", "ca.crt"):
        (tmp_path / "pki" / name).write_text(name)
    (tmp_path / "genesis.json").write_text("{}")
    (tmp_path / "profiles").mkdir()
    return tmp_path


def write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


FULL = {"api_url": "https://127.0.0.1:8102", "certificate": "../pki/partner.crt", "private_key": "../pki/partner.key", "ca": "../pki/ca.crt", "genesis": "../genesis.json"}


def test_paths_are_relative_to_the_profile_file(files, monkeypatch):
    path = write(files / "profiles" / "p.json", FULL)
    monkeypatch.chdir(files / "pki")  # the working directory does not matter
    profile = read_profile(path)
    assert profile.api_url == "https://127.0.0.1:8102"
    assert profile.certificate.resolve() == (files / "pki" / "partner.crt").resolve()
    assert profile.ca.resolve() == (files / "pki" / "ca.crt").resolve()
    assert profile.genesis.resolve() == (files / "genesis.json").resolve()


def test_write_then_read_gives_the_same_profile(files):
    path = files / "profiles" / "tianjin-partner.json"
    original = Profile("http://127.0.0.1:8102", files / "pki" / "partner.crt", files / "pki" / "partner.key", files / "pki" / "ca.crt", files / "genesis.json")
    write_profile(path, original)
    assert json.loads(path.read_text()) == {**FULL, "api_url": "http://127.0.0.1:8102"}
    again = read_profile(path)
    assert [getattr(again, n).resolve() for n in ("certificate", "private_key", "ca", "genesis")] == [
        getattr(original, n).resolve() for n in ("certificate", "private_key", "ca", "genesis")
    ]
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_anonymous_profile_needs_only_the_url(files):
    profile = read_profile(write(files / "p.json", {"api_url": "http://127.0.0.1:8101"}))
    assert (profile.certificate, profile.private_key, profile.ca, profile.genesis) == (None, None, None, None)


@pytest.mark.parametrize("content, code, field", [
    ([1], "profile.malformed", None),
    ({**FULL, "password": "x"}, "profile.unknown_field", "password"),
    ({k: v for k, v in FULL.items() if k != "api_url"}, "profile.missing_field", "api_url"),
    ({k: v for k, v in FULL.items() if k != "private_key"}, "profile.missing_field", "private_key"),
    ({**FULL, "ca": 7}, "profile.malformed", "ca"),
    ({**FULL, "ca": "ca.crt"}, "profile.bad_path", "ca"),  # relative to profiles/, where it is not
])
def test_a_bad_profile_is_refused_naming_the_member(files, content, code, field):
    with pytest.raises(ProfileError) as info:
        read_profile(write(files / "profiles" / "p.json", content))
    assert info.value.code == code and info.value.fields.get("field") == field
    if field:
        assert field in str(info.value)


def test_a_missing_or_non_json_profile_is_refused(files):
    with pytest.raises(ProfileError) as info:
        read_profile(files / "none.json")
    assert info.value.code == "profile.not_found"
    (files / "bad.json").write_text("{api_url: x}")
    with pytest.raises(ProfileError) as info:
        read_profile(files / "bad.json")
    assert info.value.code == "profile.malformed"


def test_options_override_the_profile_member_by_member(files):
    path = write(files / "profiles" / "p.json", FULL)
    other_ca = files / "pki" / "partner.crt"
    connection = resolve_connection(path, "http://10.0.0.1:9000", None, None, other_ca)
    assert connection.api_url == "http://10.0.0.1:9000" and connection.ca == other_ca
    assert connection.certificate.resolve() == (files / "pki" / "partner.crt").resolve()
    assert connection.profile.genesis is not None


def test_without_a_profile_the_options_alone_name_the_node(files):
    assert resolve_connection(None, None, None, None, None) is None
    bare = resolve_connection(None, "http://127.0.0.1:8101", None, None, None)
    assert (bare.api_url, bare.certificate, bare.profile) == ("http://127.0.0.1:8101", None, None)


def test_the_environment_variable_names_the_profile_of_a_command(files, monkeypatch):
    from typer.testing import CliRunner

    from eledger.cli import app

    path = write(files / "profiles" / "p.json", {"api_url": "http://127.0.0.1:1"})
    (files / "one.json").write_text("{}")
    result = CliRunner().invoke(app, ["submit", str(files / "one.json")], env={PROFILE_ENV: str(path)})
    assert result.exit_code == 2 and "name the node" not in result.output  # the profile named it; the file is what is wrong
    result = CliRunner().invoke(app, ["submit", str(files / "one.json")], env={PROFILE_ENV: ""})
    assert result.exit_code == 2 and "name the node" in result.output
