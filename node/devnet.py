"""`eledger devnet`: a local network of validator processes on 127.0.0.1 (DESIGN §9, `make run`).

`prepare_devnet` creates or reuses the network material (node.network: PKI, genesis, validator
keys) and makes each validator's home self-contained, so it can also be mounted into a
container (docker-compose.yml): genesis.json, validator.key, tls/node.crt + tls/node.key (the
node's TLS credential from its region's PKI), tls/ca/<region>.crt, and node.json with its
ports. DIR/network.json lists the chain, each node's API URL, p2p address and home, the demo
credentials, and per region what the demo seed registers (departments with their USCCs, seals
and licence types; recognition rules; use scenarios), so a department can issue from it alone;
paths are relative to DIR. DIR/profiles/<region>-<role>.json (client.profile) name each region's node and
one credential of each role (partner, staff, department, auditor, admin) for `--profile`, and
for the roles that sign in to the web pages (staff, auditor) the same credential as a PKCS#12 file
DIR/profiles/<region>-<role>.p12 (mode 0600, the printed demo password BROWSER_PASSWORD) to import
into a browser.
`run_devnet` refuses busy ports, starts one `eledger node start --home` process per validator
(PIDs in DIR/pids.json), waits until every API answers, seeds the demo (node.demo) through real
signed transactions submitted with client.http, prints the URLs and commands to try, and on
Ctrl-C (or SIGTERM) stops exactly the processes it started: SIGTERM, then SIGKILL after a grace
period. A second run reuses everything and does not seed again.

Never overwrites a key, never signals a process it did not start, never binds beyond loopback.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from rich.console import Console

from api.limits import ClientLimits
from certs.layout import DEFAULT_REGIONS, read_pki_manifest
from certs.roles import Role
from client.errors import ClientError
from client.http import ApiClient, Retry
from client.profile import Profile, read_profile, write_profile
from client.signing import wall_clock_ms
from client.submit import Submitter
from ledger.document import EnterpriseHolder, read_document
from ledger.errors import LedgerError
from ledger.files import replace_file, write_new_file
from ledger.tx import Tx
from node.config import NodeConfig, PeerConfig, write_config
from node.consensus.timeouts import Timeouts
from node.demo import FOOD, REGION_NAMES, TYPES, issue_licence, issuer_name_of, load_departments, scenarios_of, seal_id_of, seed_network
from node.http.limits import HttpLimits
from node.network import GENESIS_FILE, Network, create_network

HOST = "127.0.0.1"
DEFAULT_P2P_BASE = 26656
DEFAULT_API_BASE = 8101
NETWORK_FILE = "network.json"
PIDS_FILE = "pids.json"
SEEDED_FILE = "seeded.json"
PROFILES_DIR = "profiles"
#: Every region's CA certificate in one PEM file, for curl and browsers (`--cacert`).
CA_BUNDLE = "pki/ca-bundle.pem"
#: The scheme of the nodes' APIs: HTTPS with the node's certificate (api.md §6).
API_SCHEME = "https"
#: Profiles written per region: the file's role name and the certificate role it presents.
PROFILE_ROLES = {"partner": Role.PARTNER, "staff": Role.STAFF, "department": Role.ISSUER, "auditor": Role.AUDITOR, "admin": Role.REGION_ADMIN}
#: Profiles also written as PKCS#12 for a browser (the window page and the explorer, docs/web.md).
BROWSER_ROLES = ("staff", "auditor")
#: The demo password of those PKCS#12 files; `eledger devnet` prints it. A demo credential only.
BROWSER_PASSWORD = "eledger-demo"
LICENCES_PER_DEPARTMENT = 3
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
SUBMIT_TIMEOUT_S = 30.0
READY_POLL_TIMEOUT_S = 1.0
CST = timezone(timedelta(hours=8))


class DevnetError(LedgerError):
    """The devnet cannot be prepared, started or seeded. Codes: "devnet.bad_nodes",
    "devnet.mismatch" (DIR holds another network), "devnet.port_busy", "devnet.running" (its
    processes are alive), "devnet.not_ready" (a node exited or never answered),
    "devnet.seed_rejected" (with `cause`, the refusing code), "devnet.api" (an API failed
    while seeding)."""

    code = "devnet.error"


@dataclass(frozen=True)
class DevnetNode:
    name: str
    region: str
    home: Path
    p2p_port: int
    api_port: int

    @property
    def api_url(self) -> str:
        return f"{API_SCHEME}://{HOST}:{self.api_port}"


@dataclass(frozen=True)
class Devnet:
    dir: Path
    network: Network
    nodes: tuple[DevnetNode, ...]

    @property
    def chain_id(self) -> str:
        return self.network.genesis.chain_id

    def profile_path(self, region: str, role: str) -> Path:
        """DIR/profiles/<region>-<role>.json (role: a key of PROFILE_ROLES)."""
        return self.dir / PROFILES_DIR / f"{region}-{role}.json"

    def browser_credential(self, region: str, role: str) -> Path:
        """DIR/profiles/<region>-<role>.p12 (role: one of BROWSER_ROLES)."""
        return self.dir / PROFILES_DIR / f"{region}-{role}.p12"

    def tls_context(self, role: str | None = "admin", region: str | None = None) -> ssl.SSLContext:
        """A TLS 1.3 client context for every node's API: it trusts every genesis region's CA
        and presents the credential of `role` (a key of PROFILE_ROLES) of `region` (default: the
        first node's), or none (`role` None: an anonymous caller). For tests and benchmarks
        that reach all the nodes with one client."""
        context = ssl.create_default_context(cadata="".join((self.dir / "pki" / r.name / "ca.crt").read_text() for r in self.network.genesis.regions))
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        if role is not None:
            profile = read_profile(self.profile_path(region or self.nodes[0].region, role))
            context.load_cert_chain(str(profile.certificate), str(profile.private_key))
        return context

    def client(self, node: DevnetNode, role: str | None = None, *, timeout: float = 30.0, retry: Retry = Retry()) -> ApiClient:
        """An ApiClient of `node`'s API presenting the credential of `role` of the node's region
        (its profile), or anonymous (None). Raises ClientError / ProfileError."""
        ca = self.dir / "pki" / node.region / "ca.crt"
        if role is None:
            return ApiClient(node.api_url, ca=ca, timeout=timeout, retry=retry)
        profile = read_profile(self.profile_path(node.region, role))
        return ApiClient(node.api_url, cert=profile.certificate, key=profile.private_key, ca=profile.ca, timeout=timeout, retry=retry)


def prepare_devnet(
    dir: Path, nodes: int = 4, *, p2p_base: int = DEFAULT_P2P_BASE, api_base: int = DEFAULT_API_BASE,
    timeouts: Timeouts | None = None, status_interval_ms: int | None = None, now: datetime | None = None,
    api_limits: ClientLimits | None = None, http_limits: HttpLimits | None = None,
) -> Devnet:
    """Create (or reuse) the network in `dir` with `nodes` validators, one per region, and write
    every home and DIR/network.json. Node i (in region order) gets ports p2p_base + i and
    api_base + i. `timeouts`, `status_interval_ms`, `api_limits` and `http_limits` go into
    every node.json (their defaults when None). Raises DevnetError "devnet.bad_nodes", "devnet.mismatch"; LedgerError and
    OSError of the files."""
    dir = Path(dir)
    if not 1 <= nodes <= len(DEFAULT_REGIONS):
        raise DevnetError(f"--nodes must be 1..{len(DEFAULT_REGIONS)} (one validator per region), got {nodes}", code="devnet.bad_nodes", field="nodes")
    for base, what in ((p2p_base, "p2p"), (api_base, "api")):
        if not 1024 <= base <= 65535 - nodes:
            raise DevnetError(f"--{what}-base {base} leaves no room for {nodes} ports in 1024..65535", code="devnet.bad_nodes", field=f"{what}_base")
    network = create_network(dir, now or datetime.now(timezone.utc), regions=DEFAULT_REGIONS[:nodes])
    genesis = network.genesis
    if len(genesis.validators) != nodes:
        raise DevnetError(f"{dir} holds a network of {len(genesis.validators)} validators, not {nodes}; pass --nodes {len(genesis.validators)} or another --dir", code="devnet.mismatch", field="nodes")
    validators = [v for r in genesis.regions for v in genesis.validators if v.region == r.name]
    members = tuple(DevnetNode(v.name, v.region, network.home(v.name), p2p_base + i, api_base + i) for i, v in enumerate(validators))
    if {m.p2p_port for m in members} & {m.api_port for m in members}:
        raise DevnetError(f"p2p ports {p2p_base}.. and API ports {api_base}.. overlap; choose bases at least {nodes} apart", code="devnet.bad_nodes", field="api_base")
    manifest = read_pki_manifest(dir / "pki", aggregate=True)
    regions = [r.name for r in genesis.regions]
    for member in members:
        _write_home(network, member, members, manifest, regions, timeouts, status_interval_ms, api_limits, http_limits)
    devnet = Devnet(dir, network, members)
    _write_profiles(devnet, manifest)
    bundle = "".join((dir / "pki" / r / "ca.crt").read_text() for r in regions)
    replace_file(dir / CA_BUNDLE, bundle.encode("ascii"), 0o644)
    replace_file(dir / NETWORK_FILE, (json.dumps(_network_json(devnet, manifest), indent=2, ensure_ascii=False) + "\n").encode(), 0o644)
    return devnet


def _write_home(
    network: Network, member: DevnetNode, members: Sequence[DevnetNode], manifest, regions: list[str], timeouts: Timeouts | None,
    status_interval_ms: int | None, api_limits: ClientLimits | None = None, http_limits: HttpLimits | None = None,
) -> None:
    home = member.home
    (home / "tls" / "ca").mkdir(parents=True, exist_ok=True)
    genesis_bytes = (network.dir / GENESIS_FILE).read_bytes()
    if (home / GENESIS_FILE).exists():
        if (home / GENESIS_FILE).read_bytes() != genesis_bytes:
            raise DevnetError(f"{home / GENESIS_FILE} differs from {network.dir / GENESIS_FILE}; this home belongs to another network", code="devnet.mismatch", path=str(home))
    else:
        write_new_file(home / GENESIS_FILE, genesis_bytes, 0o644)
    entry = manifest.find(member.region, Role.VALIDATOR, member.name)[0]
    pki = network.dir / "pki"
    for source, target, mode in ((entry.certificate, "node.crt", 0o644), (entry.private_key, "node.key", 0o600)):
        if not (home / "tls" / target).exists():
            write_new_file(home / "tls" / target, (pki / source).read_bytes(), mode)
    for region in regions:
        ca = home / "tls" / "ca" / f"{region}.crt"
        if not ca.exists():
            shutil.copyfile(pki / region / "ca.crt", ca)
    options: dict[str, object] = {}
    if timeouts is not None:
        options["timeouts"] = timeouts
    if status_interval_ms is not None:
        options["status_interval_ms"] = status_interval_ms
    if api_limits is not None:
        options["api_limits"] = api_limits
    if http_limits is not None:
        options["http_limits"] = http_limits
    write_config(NodeConfig(
        home=home, name=member.name, region=member.region, p2p_host=HOST, p2p_port=member.p2p_port, api_host=HOST, api_port=member.api_port,
        peers=tuple(PeerConfig(m.name, m.region, HOST, m.p2p_port) for m in members if m.name != member.name),
        tls_cert=Path("tls/node.crt"), tls_key=Path("tls/node.key"), tls_ca=tuple(Path(f"tls/ca/{r}.crt") for r in regions),
        **options,  # type: ignore[arg-type]
    ))


def _write_profiles(devnet: Devnet, manifest) -> None:
    """DIR/profiles/<region>-<role>.json for every region with a node: its first node's API, the
    region's first credential of the role, the region CA (which signed that node's TLS
    certificate) and the genesis (rewritten each time: ports may change)."""
    (devnet.dir / PROFILES_DIR).mkdir(exist_ok=True)
    pki = devnet.dir / "pki"
    for node in _first_node_per_region(devnet):
        for role, cert_role in PROFILE_ROLES.items():
            entry = manifest.find(node.region, cert_role)[0]
            profile = Profile(node.api_url, pki / entry.certificate, pki / entry.private_key, pki / node.region / "ca.crt", devnet.dir / GENESIS_FILE)
            write_profile(devnet.profile_path(node.region, role), profile)
            if role in BROWSER_ROLES:
                _write_pkcs12(devnet.browser_credential(node.region, role), profile)


def _write_pkcs12(path: Path, profile: Profile) -> None:
    """`profile`'s certificate, key and region CA as PKCS#12 at `path` (0600), protected by
    BROWSER_PASSWORD; an existing file is kept (never overwrites a key)."""
    if path.exists():
        return
    assert profile.certificate is not None and profile.private_key is not None and profile.ca is not None
    certificate = x509.load_pem_x509_certificate(profile.certificate.read_bytes())
    key = serialization.load_pem_private_key(profile.private_key.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(profile.ca.read_bytes())
    name = certificate.subject.rfc4514_string().encode()
    data = pkcs12.serialize_key_and_certificates(
        name, key, certificate, [ca], serialization.BestAvailableEncryption(BROWSER_PASSWORD.encode()),  # type: ignore[arg-type]
    )
    write_new_file(path, data, 0o600)


def _first_node_per_region(devnet: Devnet) -> list[DevnetNode]:
    firsts: dict[str, DevnetNode] = {}
    for node in devnet.nodes:
        firsts.setdefault(node.region, node)
    return list(firsts.values())


def _network_json(devnet: Devnet, manifest) -> dict[str, object]:
    def credential(region: str, role: Role) -> dict[str, object]:
        entry = manifest.find(region, role)[0]
        out: dict[str, object] = {"name": entry.name, "certificate": f"pki/{entry.certificate}", "private_key": f"pki/{entry.private_key}"}
        if entry.uscc:
            out["uscc"] = entry.uscc
        return out

    regions = [r.name for r in devnet.network.genesis.regions]
    served = {n.region for n in devnet.nodes}
    types = [{"code": code, "name": name, "validity_required": required} for code, (name, required) in TYPES.items()]  # all granted
    return {
        "chain_id": devnet.chain_id,
        "genesis": GENESIS_FILE,
        "nodes": [
            {"name": n.name, "region": n.region, "api_url": n.api_url, "p2p": f"{HOST}:{n.p2p_port}", "home": str(n.home.relative_to(devnet.dir))}
            for n in devnet.nodes
        ],
        "credentials": {r: {"admin": credential(r, Role.REGION_ADMIN), "department": credential(r, Role.ISSUER)} for r in regions},
        "profiles": {r: {role: str(devnet.profile_path(r, role).relative_to(devnet.dir)) for role in PROFILE_ROLES} for r in regions if r in served},
        "regions": {
            r: {
                "name": REGION_NAMES.get(r, r),
                "ca": f"pki/{r}/ca.crt",
                "departments": [{
                    "name": issuer_name_of(r),
                    "uscc": manifest.find(r, Role.ISSUER)[0].uscc,
                    "seals": [seal_id_of(r)],
                    "licence_types": types,
                    "credential": credential(r, Role.ISSUER),
                }],
                "recognises": [{"from_region": other, "type": FOOD, "as_type": FOOD} for other in regions if other != r],
                "scenarios": scenarios_of(r),
            }
            for r in regions
        },
    }


# -- ports and processes -----------------------------------------------------------------------


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_BASE = 10_000


def ephemeral_port_floor() -> int:
    """The lowest port the kernel hands to outgoing connections (Linux: its
    ip_local_port_range; elsewhere, or unreadable, IANA's 49152)."""
    try:
        low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49_152
    return low if low > LOWEST_BASE else 49_152


def random_port_base(rng: random.Random, span: int = 20) -> int:
    """A random base for `span` consecutive ports, all below the ephemeral range.

    A port checked free inside that range can be taken by any outgoing connection (a node
    dialling its peers, say) before the node meant for it binds it, which made tests on random
    ports fail now and then with "address already in use"."""
    floor = ephemeral_port_floor()
    return rng.randrange(LOWEST_BASE, max(floor - span, LOWEST_BASE + span), span)


def check_ports_free(devnet: Devnet) -> None:
    """Raise DevnetError "devnet.port_busy" listing every port of the devnet something holds."""
    busy = []
    for n in devnet.nodes:
        for port, what in ((n.p2p_port, "p2p"), (n.api_port, "api")):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((HOST, port))
                except OSError:
                    busy.append(f"{port} ({n.name} {what})")
    if busy:
        raise DevnetError(
            f"ports busy on {HOST}: {', '.join(busy)}; stop what holds them or choose other --p2p-base / --api-base",
            code="devnet.port_busy", ports=busy,
        )


def check_not_running(dir: Path) -> None:
    """Raise DevnetError "devnet.running" if DIR/pids.json names live node processes of DIR."""
    alive = [f"{name} (pid {pid})" for name, pid in _read_pids(Path(dir)).items() if _is_node_process(pid, Path(dir))]
    if alive:
        raise DevnetError(f"the devnet in {dir} is running: {', '.join(alive)}; stop it (Ctrl-C in its terminal) first", code="devnet.running", nodes=alive)


def _read_pids(dir: Path) -> dict[str, int]:
    try:
        pids = json.loads((dir / PIDS_FILE).read_text())["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: pid for name, pid in pids.items() if isinstance(name, str) and isinstance(pid, int)} if isinstance(pids, dict) else {}


def _is_node_process(pid: int, dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"start" in cmdline and any(str(dir.resolve()).encode() in part for part in cmdline)


def start_nodes(devnet: Devnet, only: Collection[str] | None = None) -> dict[str, subprocess.Popen[bytes]]:
    """Start `eledger node start --home HOME` for every node (or those named in `only`), with
    stdout and stderr appended to HOME/node.out, and record their PIDs in DIR/pids.json."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for n in devnet.nodes:
            if only is not None and n.name not in only:
                continue
            with open(n.home / "node.out", "ab") as out:
                procs[n.name] = subprocess.Popen(
                    [sys.executable, "-m", "eledger", "node", "start", "--home", str(n.home.resolve())],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
    except BaseException:
        stop_nodes(procs)
        raise
    pids = {**_read_pids(devnet.dir), **{name: p.pid for name, p in procs.items()}}
    replace_file(devnet.dir / PIDS_FILE, json.dumps({"nodes": pids}).encode() + b"\n", 0o644)
    return procs


def stop_nodes(procs: dict[str, subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> dict[str, int]:
    """SIGTERM each of `procs`, SIGKILL those still running after `grace_s`; their exit codes."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    codes = {}
    for name, proc in procs.items():
        try:
            codes[name] = proc.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes[name] = proc.wait()
    return codes


def wait_ready(devnet: Devnet, procs: dict[str, subprocess.Popen[bytes]], timeout_s: float = READY_TIMEOUT_S) -> dict[str, dict[str, object]]:
    """Poll every node's GET /v1/status until all answer; their statuses. Raises DevnetError
    "devnet.not_ready" if a process exits or `timeout_s` passes (naming the nodes and logs)."""
    deadline = time.monotonic() + timeout_s
    statuses: dict[str, dict[str, object]] = {}
    clients = {n.name: devnet.client(n, timeout=READY_POLL_TIMEOUT_S, retry=Retry(attempts=1)) for n in devnet.nodes}
    try:
        while len(statuses) < len(devnet.nodes):
            for n in devnet.nodes:
                proc = procs.get(n.name)
                if proc is not None and proc.poll() is not None:
                    raise DevnetError(f"{n.name} exited with code {proc.returncode}; see {n.home / 'node.out'} and {n.home / 'node.log'}", code="devnet.not_ready", node=n.name)
                if n.name not in statuses:
                    try:
                        statuses[n.name] = clients[n.name].status()
                    except ClientError:
                        pass  # not listening yet, or starting (503 node.starting)
            if time.monotonic() > deadline:
                missing = [n.name for n in devnet.nodes if n.name not in statuses]
                raise DevnetError(f"no status from {', '.join(missing)} within {timeout_s:g} s; see their node.log", code="devnet.not_ready", nodes=missing)
            if len(statuses) < len(devnet.nodes):
                time.sleep(0.2)
    finally:
        for client in clients.values():
            client.close()
    return statuses


# -- seeding -----------------------------------------------------------------------------------


class ClientSubmit:
    """node.demo's `Submit` through the API of the first node (client.submit), presenting the
    credential of its region's administrator and waiting for each batch's commits. One node
    takes them all: a batch depends on the one before, and a node admits a transaction against
    its own committed state, which another node may not have reached yet. What was committed
    before (a seed interrupted and run again: `tx.replay`, or a `*.exists` refusal) counts as
    done; any other refusal raises DevnetError "devnet.seed_rejected", a failed request
    "devnet.api"."""

    def __init__(self, devnet: Devnet) -> None:
        self.client = devnet.client(devnet.nodes[0], "admin", timeout=SUBMIT_TIMEOUT_S)

    def close(self) -> None:
        self.client.close()

    def __call__(self, txs: Sequence[Tx]) -> None:
        report = Submitter(self.client, timeout_s=SUBMIT_TIMEOUT_S, batch_txs=max(len(txs), 1)).submit((f"{tx.kind} {i}", tx) for i, tx in enumerate(txs))
        if report.stopped is not None:
            raise DevnetError(f"seeding through {self.client.url} failed: {report.stopped.code}: {report.stopped}", code="devnet.api", url=self.client.url)
        for outcome in report.refused:
            code = outcome.error.code if outcome.error is not None else "?"
            if not code.endswith(".exists"):
                raise DevnetError(f"the network refused a {outcome.kind} transaction: {outcome.error.describe() if outcome.error else code}", code="devnet.seed_rejected", cause=code)
        if report.held:
            held = report.held[0]
            raise DevnetError(f"a {held.kind} transaction was not committed within {SUBMIT_TIMEOUT_S:g} s", code="devnet.seed_rejected", cause="api.commit_timeout")


def seed_devnet(devnet: Devnet, console: Console) -> bool:
    """Seed the demo once (DIR/seeded.json marks it done): departments, seals, recognition
    rules, use scenarios, then LICENCES_PER_DEPARTMENT licences each. Returns False if already seeded."""
    marker = devnet.dir / SEEDED_FILE
    if marker.exists():
        console.print(f"already seeded ({marker}); resuming")
        return False
    clock = wall_clock_ms  # block times are wall-clock ms too
    departments = load_departments(devnet.network, clock)
    submit = ClientSubmit(devnet)
    try:
        started = time.perf_counter()
        seeded = seed_network(devnet.network, departments, submit, clock)
        today = datetime.now(CST).date()
        licences = [issue_licence(d, devnet.dir / "documents", today) for d in departments for _ in range(LICENCES_PER_DEPARTMENT)]
        submit(licences)
    finally:
        submit.close()
    replace_file(marker, json.dumps({"chain_id": devnet.chain_id, "licences": len(licences)}).encode() + b"\n", 0o644)
    console.print(f"{seeded.describe()}, {len(licences)} licences ({time.perf_counter() - started:.1f} s; holder documents in {devnet.dir / 'documents'})")
    return True


def run_devnet(dir: Path, nodes: int, *, p2p_base: int, api_base: int, seed: bool, console: Console) -> int:
    """`eledger devnet`: prepare, start, wait, seed, print, then wait for Ctrl-C / SIGTERM and
    stop the nodes. 0 after a requested stop, 1 if a node exited on its own."""
    devnet = prepare_devnet(dir, nodes, p2p_base=p2p_base, api_base=api_base)
    check_not_running(devnet.dir)
    check_ports_free(devnet)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    procs = start_nodes(devnet)
    try:
        statuses = wait_ready(devnet, procs)
        if seed:
            seed_devnet(devnet, console)
        _print_urls(devnet, statuses, console)
        while True:
            for n in devnet.nodes:
                if procs[n.name].poll() is not None:
                    console.print(f"[red]{n.name} exited with code {procs[n.name].returncode}[/red]; see {n.home / 'node.log'}; stopping the others")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping the network")
        return 0
    finally:
        codes = stop_nodes(procs)
        (devnet.dir / PIDS_FILE).unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
        console.print("stopped: " + ", ".join(f"{name} (exit {code})" for name, code in codes.items()))


def _print_urls(devnet: Devnet, statuses: dict[str, dict[str, object]], console: Console) -> None:
    console.print(f"devnet {devnet.chain_id} in {devnet.dir}:", soft_wrap=True)
    for n in devnet.nodes:
        status = statuses.get(n.name, {})
        try:
            with devnet.client(n, timeout=READY_POLL_TIMEOUT_S, retry=Retry(attempts=1)) as client:
                status = client.status()
        except ClientError:
            pass
        console.print(f"  {n.name:<10} {n.region:<8} API {n.api_url}  p2p {HOST}:{n.p2p_port}  height {status.get('height', '?')}  home {n.home}", soft_wrap=True, highlight=False)
    first, first_region = devnet.nodes[0].api_url, devnet.nodes[0].region
    ca = devnet.dir / CA_BUNDLE
    console.print(f"the APIs are HTTPS; their CAs are in {ca}:", soft_wrap=True, highlight=False)
    console.print(f"  curl --cacert {ca} {first}/v1/status     (also /v1/blocks/1, /v1/scenarios?region={first_region}, /readyz, /metrics, /openapi.json)", soft_wrap=True, highlight=False)
    console.print(f"departments, seals, licence types, use scenarios and credentials: {devnet.dir / NETWORK_FILE}; profiles: {devnet.dir / PROFILES_DIR}/<region>-<role>.json", soft_wrap=True, highlight=False)
    console.print("the window page and the explorer in a browser: import a region's staff (or auditor) credential into the browser's certificates, "
                  f"password {BROWSER_PASSWORD}, trust {ca} as an authority for websites, then open its node's page:", soft_wrap=True, highlight=False)
    for node, staff, auditor in browser_logins(devnet):
        console.print(f"  {node.region:<8} {node.api_url}/   {staff}  (auditor: {auditor.name})", soft_wrap=True, highlight=False, markup=False)
    commands = try_commands(devnet)
    if commands:
        console.print("try it: a Tianjin partner checks a Beijing licence (in another terminal; `source .venv/bin/activate` first if eledger is not on your PATH)", soft_wrap=True, highlight=False)
        for command in commands:
            console.print(f"  {command}", soft_wrap=True, highlight=False, markup=False)
    console.print("Ctrl-C stops the network.", highlight=False)


def browser_logins(devnet: Devnet) -> list[tuple[DevnetNode, Path, Path]]:
    """For each node: its region's staff and auditor PKCS#12 files (what `make run` prints)."""
    return [(n, devnet.browser_credential(n.region, "staff"), devnet.browser_credential(n.region, "auditor")) for n in devnet.nodes]


#: The purpose of use the printed example states (domain.md §10.1: item code, name, serial).
EXAMPLE_PURPOSE = ("TJ-KH-001", "企业开户核验", "TJ-2026-000001")


def try_commands(devnet: Devnet, asking: str = "tianjin", issuing: str = "beijing") -> list[str]:
    """Commands to copy and paste (from the directory the devnet was started in): a partner of
    `asking` verifies a seeded licence of `issuing` by id and by the holder's document, checks
    the receipt offline, and proves and checks a bundle offline. Empty when either region has no
    node or no licence of `issuing` was seeded."""
    regions = {n.region for n in devnet.nodes}
    documents = sorted((devnet.dir / "documents" / issuing).glob("*.json"))
    if asking not in regions or issuing not in regions or not documents:
        return []
    document = next((d for d in documents if _held_by_enterprise(d)), documents[0])
    licence_id = document.stem
    profile = devnet.profile_path(asking, "partner")
    genesis = devnet.dir / GENESIS_FILE
    code, name, serial = EXAMPLE_PURPOSE
    purpose = f"--purpose-code {code} --purpose-name {name} --serial {serial}"
    return [
        f"eledger verify --profile {profile} --id {licence_id} {purpose} --receipt-out receipt.json",
        f"eledger verify-receipt receipt.json --trust {genesis}",
        f"eledger verify --profile {profile} --document {document} {purpose}",
        f"eledger prove --profile {profile} --region {asking} {licence_id} {purpose} --out bundle.json",
        f"eledger verify-bundle bundle.json --trust {genesis} --region {asking} --max-age 1h",
    ]


def _held_by_enterprise(path: Path) -> bool:
    try:
        return isinstance(read_document(path).licence.holder, EnterpriseHolder)
    except (LedgerError, OSError):
        return False
