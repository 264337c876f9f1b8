"""node.config: HOME/node.json round-trips, and every refusal names its code and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.config import CONFIG_FILE, ConfigError, NodeConfig, PeerConfig, read_config, write_config
from node.consensus.timeouts import Timeouts
from node.http.limits import HttpLimits


def make_config(home: Path, **changes) -> NodeConfig:
    values = dict(
        home=home, name="beijing-1", region="beijing", p2p_host="127.0.0.1", p2p_port=26656, api_host="127.0.0.1", api_port=8101,
        peers=(PeerConfig("tianjin-1", "tianjin", "127.0.0.1", 26657),), tls_cert=Path("tls/node.crt"), tls_key=Path("tls/node.key"),
        tls_ca=(Path("tls/ca/beijing.crt"),),
    )
    values.update(changes)
    return NodeConfig(**values)


def write_json(home: Path, obj: object) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / CONFIG_FILE).write_text(json.dumps(obj))


def base_json(home: Path) -> dict:
    return make_config(home).to_json()


def refused(home: Path, code: str, field: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        read_config(home)
    assert info.value.code == code, info.value
    if field is not None:
        assert info.value.fields["field"] == field
    assert info.value.fields["path"] == str(home / CONFIG_FILE)
    return info.value


def test_write_then_read_returns_the_same_config(tmp_path):
    config = make_config(tmp_path, timeouts=Timeouts(commit_ms=50, empty_block_interval_ms=2000), status_interval_ms=250, retain_heights=100)
    write_config(config)
    assert read_config(tmp_path) == config
    assert (tmp_path / CONFIG_FILE).stat().st_mode & 0o777 == 0o644


def test_optional_members_take_their_defaults(tmp_path):
    obj = base_json(tmp_path)
    for name in ("genesis", "validator_key", "timeouts", "status_interval_ms", "retain_heights", "api_limits", "http_limits"):
        del obj[name]
    write_json(tmp_path, obj)
    config = read_config(tmp_path)
    assert config.timeouts == Timeouts() and config.retain_heights is None and config.genesis == Path("genesis.json")
    assert config.http_limits == HttpLimits()


def test_http_limits_round_trip_and_members_left_out_keep_their_defaults(tmp_path):
    limits = HttpLimits(max_connections=16, tls_handshake_timeout=1, header_timeout=2.5, keepalive_timeout=1.5, body_timeout=2, write_timeout=3)
    write_config(make_config(tmp_path, http_limits=limits))
    assert read_config(tmp_path).http_limits == limits
    obj = base_json(tmp_path)
    obj["http_limits"] = {"body_timeout": 2}
    write_json(tmp_path, obj)
    assert read_config(tmp_path).http_limits == HttpLimits(body_timeout=2)


def test_http_limits_in_the_file_are_only_those_an_operator_tunes(tmp_path):
    assert set(base_json(tmp_path)["http_limits"]) == {
        "max_connections", "tls_handshake_timeout", "header_timeout", "keepalive_timeout", "body_timeout", "write_timeout",
    }


def test_relative_paths_resolve_against_the_home_and_absolute_ones_stay(tmp_path):
    config = make_config(tmp_path, tls_key=Path("/etc/eledger/node.key"))
    assert config.resolve(config.tls_cert) == tmp_path / "tls/node.crt"
    assert config.resolve(config.tls_key) == Path("/etc/eledger/node.key")


def test_a_missing_file_says_how_to_create_one(tmp_path):
    error = refused(tmp_path, "config.not_found")
    assert "eledger devnet" in str(error)


@pytest.mark.parametrize("text, where", [("{not json", "line 1 column 2"), ('{"name": 1, "name": 2}', "twice")])
def test_bad_json_and_repeated_members_are_refused(tmp_path, text, where):
    (tmp_path / CONFIG_FILE).write_text(text)
    assert where in str(refused(tmp_path, "config.bad_json"))


@pytest.mark.parametrize(
    "mutate, code, field",
    [
        (lambda o: o.update(colour="blue"), "config.unknown_field", "colour"),
        (lambda o: o.pop("api_port"), "config.missing_field", "api_port"),
        (lambda o: o.update(api_port="8101"), "config.bad_type", "api_port"),
        (lambda o: o.update(api_port=True), "config.bad_type", "api_port"),
        (lambda o: o.update(p2p_port=70000), "config.bad_port", "p2p_port"),
        (lambda o: o.update(api_port=26656), "config.port_conflict", "api_port"),
        (lambda o: o.update(version=2), "config.bad_value", "version"),
        (lambda o: o.update(name="Beijing One"), "config.bad_name", "name"),
        (lambda o: o.update(region="atlantis!"), "config.bad_name", "region"),
        (lambda o: o.update(peers={}), "config.bad_type", "peers"),
        (lambda o: o["peers"][0].update(port=0), "config.bad_port", "peers[0].port"),
        (lambda o: o["peers"][0].pop("host"), "config.missing_field", "peers[0].host"),
        (lambda o: o["peers"].append(dict(o["peers"][0])), "config.duplicate_peer", "peers[1].name"),
        (lambda o: o["peers"][0].update(name="beijing-1"), "config.self_peer", "peers[0].name"),
        (lambda o: o.update(tls_ca=[]), "config.bad_value", "tls_ca"),
        (lambda o: o.update(tls_cert=""), "config.bad_type", "tls_cert"),
        (lambda o: o["timeouts"].update(propose_ms=-1), "config.bad_value", "timeouts.propose_ms"),
        (lambda o: o["timeouts"].update(cap_ms=0), "config.bad_value", "timeouts.cap_ms"),
        (lambda o: o["timeouts"].update(warp_ms=1), "config.unknown_field", "timeouts.warp_ms"),
        (lambda o: o.update(status_interval_ms=5), "config.bad_value", "status_interval_ms"),
        (lambda o: o.update(retain_heights=-1), "config.bad_value", "retain_heights"),
        (lambda o: o.update(p2p_host="127.0.0.1/8"), "config.bad_value", "p2p_host"),
        (lambda o: o.update(http_limits=[]), "config.bad_type", "http_limits"),
        (lambda o: o["http_limits"].update(colour=1), "config.unknown_field", "http_limits.colour"),
        (lambda o: o["http_limits"].update(max_header_bytes=4096), "config.unknown_field", "http_limits.max_header_bytes"),
        (lambda o: o["http_limits"].update(header_timeout=0), "config.bad_value", "http_limits.header_timeout"),
        (lambda o: o["http_limits"].update(body_timeout=-1), "config.bad_value", "http_limits.body_timeout"),
        (lambda o: o["http_limits"].update(body_timeout="30"), "config.bad_value", "http_limits.body_timeout"),
        (lambda o: o["http_limits"].update(write_timeout=True), "config.bad_value", "http_limits.write_timeout"),
        (lambda o: o["http_limits"].update(max_connections=1.5), "config.bad_type", "http_limits.max_connections"),
        (lambda o: o["http_limits"].update(max_connections=0), "config.bad_value", "http_limits.max_connections"),
        (lambda o: o["http_limits"].update(keepalive_timeout=20), "config.bad_value", "http_limits.keepalive_timeout"),
        (lambda o: o.update(api_limits={"rate": 0}), "config.bad_value", "api_limits.rate"),
    ],
)
def test_each_bad_member_is_refused_with_its_code_and_field(tmp_path, mutate, code, field):
    obj = base_json(tmp_path)
    mutate(obj)
    write_json(tmp_path, obj)
    refused(tmp_path, code, field)


def test_an_infinite_timeout_is_refused(tmp_path):
    obj = base_json(tmp_path)
    home = tmp_path
    home.mkdir(parents=True, exist_ok=True)
    obj["http_limits"]["body_timeout"] = "INF"
    text = json.dumps(obj).replace('"INF"', "Infinity")  # Python's json reads Infinity
    (home / CONFIG_FILE).write_text(text)
    refused(home, "config.bad_value", "http_limits.body_timeout")


def test_a_config_file_larger_than_the_limit_is_refused(tmp_path):
    (tmp_path / CONFIG_FILE).write_bytes(b" " * (1 << 20) + b"{}")
    refused(tmp_path, "config.too_large")
