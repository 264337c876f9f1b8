"""A node's configuration: HOME/node.json, read and written with strict validation.

`NodeConfig` says who the node is (validator name and region), where it listens (peer-to-peer
and API host and port), whom it dials (peers), which TLS credential and CA certificates it uses,
its consensus timeouts (docs/spec/consensus.md §3.3), how often it announces its status (§2) and
how many heights of state it retains (blocks.md §6.1), the per-client limits of its API
(`api_limits`, api.md §5) and the connection limits of its HTTP server (`http_limits`: the
timeouts and connection count of node.http.limits.HttpLimits). Paths in the file may be
relative; they are relative to the home, so a home directory can be moved or mounted elsewhere
(containers).

`read_config` refuses anything it does not understand: an unknown member, a missing one, a value
of the wrong type or out of range, a repeated peer, two services on one address. Every refusal
is a `ConfigError` whose `code` says what is wrong and whose `field` names the member
("peers[2].port"). This module never opens a socket, never reads a key and never reads the clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from api.limits import ClientLimits
from certs.roles import check_name, check_region
from ledger.errors import LedgerError
from ledger.files import replace_file
from node.consensus.timeouts import Timeouts
from node.http.limits import HttpError, HttpLimits

CONFIG_FILE = "node.json"
#: The members of HttpLimits an operator tunes in node.json (`http_limits`); the sizes and the
#: listen backlog stay the server's own.
HTTP_LIMIT_FIELDS = ("max_connections", "tls_handshake_timeout", "header_timeout", "keepalive_timeout", "body_timeout", "write_timeout")
CONFIG_VERSION = 1
MAX_CONFIG_BYTES = 1 << 20
MAX_PEERS = 256
DEFAULT_STATUS_INTERVAL_MS = 1000
DEFAULT_GENESIS = "genesis.json"
DEFAULT_VALIDATOR_KEY = "validator.key"


class ConfigError(LedgerError):
    """HOME/node.json cannot be used. Codes: "config.not_found", "config.unreadable",
    "config.too_large", "config.bad_json", "config.unknown_field", "config.missing_field",
    "config.bad_type", "config.bad_value", "config.bad_name", "config.bad_port",
    "config.duplicate_peer", "config.self_peer", "config.port_conflict"; `field` names the
    member at fault and `path` the file."""

    code = "config.invalid"


@dataclass(frozen=True)
class PeerConfig:
    """A peer to dial: its node name and region (as its certificate names them) and address."""

    name: str
    region: str
    host: str
    port: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "region": self.region, "host": self.host, "port": self.port}


@dataclass(frozen=True)
class NodeConfig:
    """One node's configuration. `home` is the directory holding node.json; the path members
    are as written in the file (possibly relative) and `resolve` makes them absolute.

    Construction checks every member and raises ConfigError as `read_config` does."""

    home: Path
    name: str
    region: str
    p2p_host: str
    p2p_port: int
    api_host: str
    api_port: int
    peers: tuple[PeerConfig, ...]
    tls_cert: Path
    tls_key: Path
    tls_ca: tuple[Path, ...]
    genesis: Path = Path(DEFAULT_GENESIS)
    validator_key: Path = Path(DEFAULT_VALIDATOR_KEY)
    timeouts: Timeouts = field(default_factory=Timeouts)
    status_interval_ms: int = DEFAULT_STATUS_INTERVAL_MS
    retain_heights: int | None = None
    api_limits: ClientLimits = field(default_factory=ClientLimits)
    http_limits: HttpLimits = field(default_factory=HttpLimits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        _check_name(self.name, "name", region=False)
        _check_name(self.region, "region", region=True)
        _check_host(self.p2p_host, "p2p_host")
        _check_host(self.api_host, "api_host")
        _check_port(self.p2p_port, "p2p_port")
        _check_port(self.api_port, "api_port")
        if self.p2p_port == self.api_port and self.p2p_host == self.api_host:
            raise ConfigError(
                f"p2p and API both listen on {self.api_host}:{self.api_port}; give them different ports",
                code="config.port_conflict", field="api_port",
            )
        if len(self.peers) > MAX_PEERS:
            raise ConfigError(f"{len(self.peers)} peers listed; at most {MAX_PEERS}", code="config.bad_value", field="peers")
        seen: set[str] = set()
        for i, peer in enumerate(self.peers):
            where = f"peers[{i}]"
            _check_name(peer.name, f"{where}.name", region=False)
            _check_name(peer.region, f"{where}.region", region=True)
            _check_host(peer.host, f"{where}.host")
            _check_port(peer.port, f"{where}.port")
            if peer.name == self.name:
                raise ConfigError(f"{where} is this node itself ({self.name}); list only other nodes", code="config.self_peer", field=f"{where}.name")
            if peer.name in seen:
                raise ConfigError(f"{where}: peer {peer.name} is listed twice", code="config.duplicate_peer", field=f"{where}.name")
            seen.add(peer.name)
        if not self.tls_ca:
            raise ConfigError("tls_ca lists no CA certificate; list the region root CAs of the genesis", code="config.bad_value", field="tls_ca")
        _check_count(self.status_interval_ms, "status_interval_ms", minimum=10)
        if self.retain_heights is not None:
            _check_count(self.retain_heights, "retain_heights", minimum=0)

    # -- paths -----------------------------------------------------------------------------

    def resolve(self, path: Path) -> Path:
        """`path` made absolute against the home (an absolute path is kept)."""
        return path if path.is_absolute() else self.home / path

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def store_path(self) -> Path:
        return self.home / "ledger"

    @property
    def wal_path(self) -> Path:
        return self.home / "wal"

    @property
    def signer_state_path(self) -> Path:
        return self.home / "signer_state.json"

    @property
    def log_path(self) -> Path:
        return self.home / "node.log"

    # -- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        """The members of node.json (the home itself is not written: it is where the file is)."""
        return {
            "version": CONFIG_VERSION,
            "name": self.name,
            "region": self.region,
            "p2p_host": self.p2p_host,
            "p2p_port": self.p2p_port,
            "api_host": self.api_host,
            "api_port": self.api_port,
            "peers": [p.to_json() for p in self.peers],
            "tls_cert": str(self.tls_cert),
            "tls_key": str(self.tls_key),
            "tls_ca": [str(p) for p in self.tls_ca],
            "genesis": str(self.genesis),
            "validator_key": str(self.validator_key),
            "timeouts": {f.name: getattr(self.timeouts, f.name) for f in fields(Timeouts)},
            "status_interval_ms": self.status_interval_ms,
            "retain_heights": self.retain_heights,
            "api_limits": {f.name: getattr(self.api_limits, f.name) for f in fields(ClientLimits)},
            "http_limits": {name: getattr(self.http_limits, name) for name in HTTP_LIMIT_FIELDS},
        }


_REQUIRED = ("version", "name", "region", "p2p_host", "p2p_port", "api_host", "api_port", "peers", "tls_cert", "tls_key", "tls_ca")
_OPTIONAL = ("genesis", "validator_key", "timeouts", "status_interval_ms", "retain_heights", "api_limits", "http_limits")
_PEER_KEYS = ("name", "region", "host", "port")


def parse_config(obj: object, home: Path) -> NodeConfig:
    """A NodeConfig from the decoded JSON of node.json in `home`. Raises ConfigError."""
    top = _expect_object(obj, "node.json")
    _expect_keys(top, "", _REQUIRED, _OPTIONAL)
    version = _get_int(top, "version")
    if version != CONFIG_VERSION:
        raise ConfigError(f"version {version} is not supported; this node reads version {CONFIG_VERSION}", code="config.bad_value", field="version")
    peers = []
    for i, item in enumerate(_get_list(top, "peers")):
        where = f"peers[{i}]"
        peer = _expect_object(item, where)
        _expect_keys(peer, where + ".", _PEER_KEYS, ())
        peers.append(PeerConfig(_get_str(peer, "name", where), _get_str(peer, "region", where), _get_str(peer, "host", where), _get_int(peer, "port", where)))
    ca = [_path(value, f"tls_ca[{i}]") for i, value in enumerate(_get_list(top, "tls_ca"))]
    options: dict[str, object] = {}
    if "genesis" in top:
        options["genesis"] = _path(top["genesis"], "genesis")
    if "validator_key" in top:
        options["validator_key"] = _path(top["validator_key"], "validator_key")
    if "timeouts" in top:
        options["timeouts"] = _parse_timeouts(top["timeouts"])
    if "status_interval_ms" in top:
        options["status_interval_ms"] = _get_int(top, "status_interval_ms")
    if "retain_heights" in top and top["retain_heights"] is not None:
        options["retain_heights"] = _get_int(top, "retain_heights")
    if "api_limits" in top:
        options["api_limits"] = _parse_api_limits(top["api_limits"])
    if "http_limits" in top:
        options["http_limits"] = _parse_http_limits(top["http_limits"])
    return NodeConfig(
        home=home,
        name=_get_str(top, "name"),
        region=_get_str(top, "region"),
        p2p_host=_get_str(top, "p2p_host"),
        p2p_port=_get_int(top, "p2p_port"),
        api_host=_get_str(top, "api_host"),
        api_port=_get_int(top, "api_port"),
        peers=tuple(peers),
        tls_cert=_path(top["tls_cert"], "tls_cert"),
        tls_key=_path(top["tls_key"], "tls_key"),
        tls_ca=tuple(ca),
        **options,  # type: ignore[arg-type]
    )


def read_config(home: Path) -> NodeConfig:
    """Read and check HOME/node.json. Raises ConfigError (`path` is the file): "config.not_found"
    (no such file: create the home with `eledger devnet` or write one), "config.unreadable",
    "config.too_large", "config.bad_json" (syntax, with line and column, or a repeated member),
    and the member errors listed on ConfigError."""
    home = Path(home)
    path = home / CONFIG_FILE
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; create the node's home with `eledger devnet` or write its node.json", code="config.not_found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", code="config.unreadable", path=str(path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes", code="config.too_large", path=str(path))
    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_members)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 (byte {exc.start})", code="config.bad_json", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", code="config.bad_json", path=str(path)) from None
    except RecursionError:
        raise ConfigError(f"{path} nests too deeply", code="config.bad_json", path=str(path)) from None
    except ConfigError as exc:  # a repeated member
        raise ConfigError(f"{path}: {exc}", code=exc.code, path=str(path), **exc.fields) from None
    try:
        return parse_config(obj, home)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}", code=exc.code, path=str(path), **exc.fields) from None


def write_config(config: NodeConfig) -> None:
    """Write HOME/node.json atomically (mode 0644: it holds no secret). Raises OSError."""
    config.home.mkdir(parents=True, exist_ok=True)
    data = json.dumps(config.to_json(), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    replace_file(config.config_path, data, 0o644)


# -- checks ------------------------------------------------------------------------------------


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in pairs:
        if name in out:
            raise ConfigError(f"member {name!r} appears twice in one object", code="config.bad_json", field=name)
        out[name] = value
    return out


def _expect_object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a JSON object, not {_kind(value)}", code="config.bad_type", field=where)
    return value


def _expect_keys(obj: Mapping[str, object], prefix: str, required: Sequence[str], optional: Sequence[str]) -> None:
    for name in required:
        if name not in obj:
            raise ConfigError(f"{prefix}{name} is missing", code="config.missing_field", field=f"{prefix}{name}")
    for name in obj:
        if name not in required and name not in optional:
            known = ", ".join(sorted((*required, *optional)))
            raise ConfigError(f"{prefix}{name} is not a known member (known: {known})", code="config.unknown_field", field=f"{prefix}{name}")


def _get_str(obj: Mapping[str, object], name: str, where: str = "") -> str:
    value = obj[name]
    label = f"{where}.{name}" if where else name
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label} must be a non-empty string, not {_kind(value)}", code="config.bad_type", field=label)
    return value


def _get_int(obj: Mapping[str, object], name: str, where: str = "") -> int:
    value = obj[name]
    label = f"{where}.{name}" if where else name
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{label} must be an integer, not {_kind(value)}", code="config.bad_type", field=label)
    return value


def _get_list(obj: Mapping[str, object], name: str) -> list[object]:
    value = obj[name]
    if not isinstance(value, list):
        raise ConfigError(f"{name} must be a JSON array, not {_kind(value)}", code="config.bad_type", field=name)
    return value


def _path(value: object, label: str) -> Path:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ConfigError(f"{label} must be a non-empty path string, not {_kind(value)}", code="config.bad_type", field=label)
    return Path(value)


def _parse_timeouts(value: object) -> Timeouts:
    obj = _expect_object(value, "timeouts")
    names = tuple(f.name for f in fields(Timeouts))
    _expect_keys(obj, "timeouts.", (), names)
    values = {}
    for name in obj:
        number = _get_int(obj, name, "timeouts")
        if number < 0:
            raise ConfigError(f"timeouts.{name} must be >= 0 ms, got {number}", code="config.bad_value", field=f"timeouts.{name}")
        values[name] = number
    if values.get("cap_ms", 1) == 0:
        raise ConfigError("timeouts.cap_ms must be positive", code="config.bad_value", field="timeouts.cap_ms")
    return Timeouts(**values)


def _parse_api_limits(value: object) -> ClientLimits:
    obj = _expect_object(value, "api_limits")
    names = tuple(f.name for f in fields(ClientLimits))
    _expect_keys(obj, "api_limits.", (), names)
    values: dict[str, object] = {}
    for name, number in obj.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0:
            raise ConfigError(f"api_limits.{name} must be a positive number, got {number!r}", code="config.bad_value", field=f"api_limits.{name}")
        if name in ("in_flight", "anonymous_in_flight", "max_clients") and not isinstance(number, int):
            raise ConfigError(f"api_limits.{name} must be a whole number, got {number!r}", code="config.bad_type", field=f"api_limits.{name}")
        values[name] = number
    return ClientLimits(**values)  # type: ignore[arg-type]


def _parse_http_limits(value: object) -> HttpLimits:
    """The members of HTTP_LIMIT_FIELDS given (the others keep HttpLimits' defaults): timeouts
    are positive numbers of seconds, max_connections a whole number >= 1; keepalive_timeout may
    not exceed header_timeout (they count from the same moment)."""
    obj = _expect_object(value, "http_limits")
    _expect_keys(obj, "http_limits.", (), HTTP_LIMIT_FIELDS)
    values: dict[str, object] = {}
    for name, number in obj.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0 or number == float("inf"):
            unit = "" if name == "max_connections" else " of seconds"
            raise ConfigError(f"http_limits.{name} must be a positive number{unit}, got {number!r}", code="config.bad_value", field=f"http_limits.{name}")
        if name == "max_connections" and not isinstance(number, int):
            raise ConfigError(f"http_limits.{name} must be a whole number, got {number!r}", code="config.bad_type", field=f"http_limits.{name}")
        values[name] = number
    try:
        return HttpLimits(**values)  # type: ignore[arg-type]
    except HttpError as exc:  # keepalive_timeout above header_timeout
        member = exc.fields.get("field", "")
        raise ConfigError(f"http_limits: {exc}", code="config.bad_value", field=f"http_limits.{member}") from None


def _check_name(value: object, label: str, *, region: bool) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{label} must be a string, not {_kind(value)}", code="config.bad_type", field=label)
    try:
        (check_region if region else check_name)(value)
    except LedgerError as exc:
        raise ConfigError(f"{label}: {exc}", code="config.bad_name", field=label) from None


def _check_host(value: object, label: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 253 or any(c.isspace() or c in "/@\x00" for c in value):
        raise ConfigError(f"{label} must be a host name or IP address, got {value!r}", code="config.bad_value", field=label)


def _check_port(value: object, label: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{label} must be an integer, not {_kind(value)}", code="config.bad_type", field=label)
    if not 1 <= value <= 65535:
        raise ConfigError(f"{label} must be in 1..65535, got {value}", code="config.bad_port", field=label)


def _check_count(value: object, label: str, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{label} must be an integer, not {_kind(value)}", code="config.bad_type", field=label)
    if value < minimum:
        raise ConfigError(f"{label} must be >= {minimum}, got {value}", code="config.bad_value", field=label)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)

