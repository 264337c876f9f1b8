"""`eledger demo`: a four-region network and a local ledger, committed without a network.

Creates (or reuses) the network material under DIR (node.network), opens the local ledger at
DIR/local/ledger, and commits blocks of real signed transactions through the path a validator
takes (node.local): on the first run each region's administrator registers licence types,
admits its demo department (whose key is the one in its PKI issuer certificate), the
department registers its seal, the regions declare mutual recognition of the national food
business licence and their use scenarios (事项); then every run adds blocks of licences issued
by the four departments to enterprises and to persons (whose names and ID numbers stay in the
documents written to DIR/documents, never on the ledger). A second run resumes on top.

The seeding and the licences are built by functions that take a `submit` callable (commit this
batch of transactions before returning), so the devnet of `make run` (node.devnet) seeds a real
network through its HTTP API with exactly the same transactions.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from certs.layout import read_pki_manifest
from certs.roles import Role as CertRole
from client.signing import AdminClient, DepartmentClient, KeyGrant
from ledger.chain import Chain
from ledger.crypto import read_private_key
from ledger.document import EnterpriseHolder, write_document
from ledger.governance import read_org
from ledger.ids import complete_uscc
from ledger.licence_bundle import build_licence_bundle, verify_licence_bundle
from ledger.licences import list_index
from ledger.kv import Prefixed
from ledger.state import FLAT_PREFIX
from ledger.store import LevelKV
from ledger.tx import Tx
from node.local import LocalNetwork
from node.network import GENESIS_FILE, Network, create_network

NATIONAL_AUTHORITY = "11100000000013338W"  # the defining authority of the national licence types
FOOD = NATIONAL_AUTHORITY + "032"
ROAD = NATIONAL_AUTHORITY + "041"
TYPES = {FOOD: ("食品经营许可证", True), ROAD: ("道路运输经营许可证", True)}
REGION_NAMES = {"beijing": "北京市", "tianjin": "天津市", "hebei": "河北省", "xiongan": "雄安新区"}
REGION_CODES = {"beijing": "BJ", "tianjin": "TJ", "hebei": "HE", "xiongan": "XA"}
#: The use scenarios (事项, domain.md §11) every region declares, under its own code prefix:
#: (code suffix, name, English name, the licence types it accepts). Every region's department
#: issues both types and every region recognises the others' food business licences.
SCENARIOS = (
    ("KH-001", "企业开户核验", "Company bank account opening check", (FOOD, ROAD)),
    ("SP-001", "食品经营许可核查", "Food business licence check", (FOOD,)),
    ("YS-001", "道路运输经营许可变更", "Road transport business licence change", (ROAD,)),
)
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = "伟芳娜敏静丽强磊军洋"
CST = timezone(timedelta(hours=8))


#: Commits a batch of transactions (all of them, in one block or several) before it returns;
#: raises if one is rejected. Batches handed to it depend on the batches before them.
Submit = Callable[[Sequence[Tx]], object]


@dataclass
class Department:
    region: str
    client: DepartmentClient
    serial: int


@dataclass(frozen=True)
class Seeded:
    """What `seed_network` committed."""

    types: int
    departments: int
    rules: int
    scenarios: int

    def describe(self) -> str:
        return (
            f"seeded {self.types} licence types, {self.departments} departments with their seals, {self.rules} recognition rules, "
            f"{self.scenarios} use scenarios"
        )


def run_demo(dir: Path, blocks: int, txs_per_block: int, now: datetime, console: Console, progress: Callable[[], Progress]) -> None:
    network = create_network(dir, now)
    genesis = network.genesis
    home = dir / "local"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / GENESIS_FILE).exists():
        shutil.copyfile(dir / GENESIS_FILE, home / GENESIS_FILE)

    table = Table(title=f"network {genesis.chain_id} in {dir}")
    for column in ("validator", "region", "key id"):
        table.add_column(column)
    for v in genesis.validators:
        table.add_row(v.name, v.region, v.key_id.hex()[:16])
    console.print(table)

    with LevelKV(home / "ledger") as kv:
        local = LocalNetwork(Chain(kv, genesis), [network.validator_keys[v.name] for v in genesis.validators])
        start = local.chain.height
        console.print(f"local ledger at {home / 'ledger'}: resuming at height {start}" if start else f"local ledger at {home / 'ledger'}: new chain")
        clock = _BlockClock(local, int(now.timestamp() * 1000))
        departments = load_departments(network, clock.now)
        state = Prefixed(kv, FLAT_PREFIX)
        if read_org(state, departments[0].client.uscc) is None:
            console.print(seed_network(network, departments, clock.produce, clock.now).describe())
        for dept in departments:
            dept.serial = len(list_index(kv, "issuer", dept.client.uscc))
        documents = dir / "documents"
        with progress() as bar:
            task = bar.add_task("issuing licences", total=blocks, detail="")
            for _ in range(blocks):
                today = datetime.fromtimestamp(clock.now() / 1000, CST).date()
                txs = [issue_licence(departments[j % len(departments)], documents, today) for j in range(txs_per_block)]
                pending = clock.produce(txs)
                bar.update(task, advance=1, detail=f"height {local.chain.height}, {len(pending.block.txs)} licences")
        tip = local.chain.tip
        console.print(f"committed heights {start + 1}..{tip.height}; the log holds {tip.log_size} transactions; holder documents in {documents}")
        _prove_across_regions(local.chain, departments[0], dir, console)


def _prove_across_regions(chain: Chain, dept: Department, dir: Path, console: Console) -> None:
    """Write a proof bundle of the newest licence of the first region as another region asks
    for it, and check it the way that region would: offline, against the genesis alone."""
    regions = [r.name for r in chain.genesis.regions]
    issued = list_index(chain.kv, "issuer", dept.client.uscc)
    if not issued or len(regions) < 2:
        return
    asking, licence_id = regions[1], issued[-1]
    bundle = build_licence_bundle(chain, licence_id, asking).to_bytes()
    out = dir / "bundles"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{licence_id}.{asking}.json"
    path.write_bytes(bundle)
    offline = verify_licence_bundle(bundle, chain.genesis, asking_region=asking, licence_id=licence_id)
    table = Table(title=f"{asking} checks {licence_id} offline ({len(bundle):,}-byte bundle, height {offline.proven.height}): {offline.verdict.verdict.value}")
    for column in ("check", "outcome", "detail"):
        table.add_column(column)
    for check in offline.verdict.to_json()["checks"]:  # type: ignore[union-attr]
        table.add_row(check["name"], check["outcome"], check["detail"])
    console.print(table)
    console.print(f"bundle written to {path}; check it yourself: eledger verify-bundle {path} --trust {dir / GENESIS_FILE} --region {asking}")


class _BlockClock:
    """Block times: now, and strictly after the previous block."""

    def __init__(self, local: LocalNetwork, now_ms: int) -> None:
        self.local = local
        self.time = max(now_ms, local.chain.tip.time + 1)

    def now(self) -> int:
        return self.time

    def produce(self, txs: Sequence[Tx]):
        pending = self.local.produce(txs, self.time)
        self.time += 1
        if pending.rejected:
            error = pending.rejected[0].error
            raise RuntimeError(f"demo transaction rejected: {error.code}: {error}")
        return pending


def load_departments(network: Network, clock: Callable[[], int]) -> list[Department]:
    """The demo department of every genesis region, signing with the key of its PKI issuer
    credential; `clock` (ms) dates what they sign."""
    manifest = read_pki_manifest(network.dir / "pki", aggregate=True)
    out = []
    for region in (r.name for r in network.genesis.regions):
        entry = manifest.find(region, CertRole.ISSUER)[0]
        key = read_private_key(network.dir / "pki" / entry.private_key)
        client = DepartmentClient(key, network.genesis.chain_id, entry.uscc, seal_id_of(region), issuer_name=issuer_name_of(region), clock=clock)
        out.append(Department(region, client, 0))
    return out


def issuer_name_of(region: str) -> str:
    """The name of `region`'s demo department, as its documents print it."""
    return f"{REGION_NAMES.get(region, region)}市场监督管理局"


def seal_id_of(region: str) -> str:
    """The id of the seal `region`'s demo department registers."""
    return f"{region.upper()}0SEAL01"


def scenarios_of(region: str) -> list[dict[str, object]]:
    """The use scenarios `region` declares in the demo: `{"code", "name", "name_en",
    "licence_types"}`, by code."""
    prefix = REGION_CODES.get(region, region.upper()[:2])
    return [
        {"code": f"{prefix}-{suffix}", "name": name, "name_en": name_en, "licence_types": sorted(types)}
        for suffix, name, name_en, types in sorted(SCENARIOS)
    ]


def seed_network(network: Network, departments: list[Department], submit: Submit, clock: Callable[[], int]) -> Seeded:
    """Commit the demo governance through `submit`, in three dependent batches: the first
    region's administrator registers the licence types; each region's administrator admits its
    department; then every department registers its seal, every region recognises the food
    business licences of the others and declares its use scenarios. `clock` (ms) dates the
    seals' validity."""
    chain_id = network.genesis.chain_id
    admins = {r: AdminClient(k, chain_id, clock=clock) for r, k in network.admin_keys.items()}
    first = departments[0].region
    submit([admins[first].register_type(code, name, validity_required=required) for code, (name, required) in TYPES.items()])
    manifest = read_pki_manifest(network.dir / "pki", aggregate=True)
    admits = []
    for dept in departments:
        entry = manifest.find(dept.region, CertRole.ISSUER)[0]
        grant = KeyGrant(dept.client.key.public_key, _ms(entry.not_before), _ms(entry.not_after))
        admits.append(admins[dept.region].admit_org(dept.client.uscc, dept.client.issuer_name or dept.client.uscc, [grant], list(TYPES)))
    submit(admits)
    year = 366 * 24 * 3600 * 1000
    now = clock()
    seals = [
        dept.client.register_seal(dept.client.seal_id or "", name="行政许可专用章", type="licence", image_hash=bytes(32), valid_from=now - 1, valid_until=now + 5 * year)
        for dept in departments
    ]
    rules = [
        admins[asking].declare_recognition(dept.region, FOOD, FOOD, "京津冀食品经营许可互认")
        for asking in admins for dept in departments if dept.region != asking
    ]
    scenarios = [
        admins[region].declare_scenario(region, str(s["code"]), str(s["name"]), s["licence_types"], name_en=str(s["name_en"]))  # type: ignore[arg-type]
        for region in admins for s in scenarios_of(region)
    ]
    submit(seals + rules + scenarios)
    return Seeded(len(TYPES), len(departments), len(rules), len(scenarios))


def issue_licence(dept: Department, documents: Path, today: date) -> Tx:
    """The department's next demo licence (to an enterprise, or to a person every third one), as
    its sealed licence.issue (the seal signature signs it); its holder document is written to
    DOCUMENTS/<region>/<licence id>.json."""
    dept.serial += 1
    n = dept.serial
    if n % 3 == 0:
        holder = dept.client.person(SURNAMES[n % 10] + GIVEN[(n // 10) % 10], f"11010119900307{n % 1000:03d}X")
    else:
        holder = EnterpriseHolder(complete_uscc(f"91{_division(dept.region)}{n:09d}"), f"示例企业{n}有限公司")
    tx, document = dept.client.issue_licence(
        type=FOOD, serial=str(n), holder=holder, type_name=TYPES[FOOD][0], issue_date=today, valid_from=today,
        valid_until=today.replace(year=today.year + 5), fields={"经营场所": f"{REGION_NAMES.get(dept.region, dept.region)}示例路{n}号", "经营项目": "预包装食品销售"},
    )
    path = documents / dept.region / f"{document.licence.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_document(path, document)
    return tx


def _division(region: str) -> str:
    return {"beijing": "110000", "tianjin": "120000", "hebei": "130000", "xiongan": "133100"}.get(region, "110000")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
