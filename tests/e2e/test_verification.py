"""The verification service end to end on a four-validator devnet (issue 10, "Tests"): real
`eledger node start` processes, seeded through their APIs as `eledger devnet` seeds them.

A Tianjin partner verifies Beijing licences over HTTPS with its certificate: valid by id, by
document and by QR payload; revoked, suspended, superseded, lapsed, absent, tampered and of a
type Tianjin does not recognise, each with its verdict and the one check that failed; every
answer carries a receipt that `verify_receipt` accepts offline against genesis.json alone. The
use records appear in the licence's use list for its department and for the holder presenting
the document, the committed receipt verifies offline with its place, and the records survive a
SIGTERM of every node: after the restart the list is the same, and every record is on the ledger
exactly once (no seq committed twice, each node's seqs one range from 0, no `use.exists`
refusal of a re-submission). `eledger prove --profile` and `GET …/bundle` give the same bytes for
one height. A caller of the wrong region, a staff caller without a purpose and a certificate the
ledger revoked are refused with their precise problems and record nothing (the node's next
record takes the next seq).

The tests share one devnet and run in file order (each builds on what the one before left);
every wait is bounded and only the PIDs started here are signalled.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import date, datetime, time as day_time, timedelta, timezone

import pytest
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from rich.console import Console
from certs.layout import issue_credential
from certs.roles import Role
from client.errors import ProblemError
from client.http import ApiClient, Purpose
from client.signing import AdminClient, wall_clock_ms
from eledger.cli import app as cli
from ledger.chain import Chain
from ledger.document import LicenceDocument, read_document
from ledger.encoding import b64decode, decode, encode
from ledger.genesis import Genesis
from ledger.kv import Prefixed
from ledger.licence_bundle import verify_licence_bundle
from ledger.qr import encode_qr
from ledger.receipt import verify_receipt
from ledger.state import FLAT_PREFIX
from ledger.store import LevelKV
from ledger.tx import Tx
from ledger.uses import recorded_ranges
from node.demo import FOOD, NATIONAL_AUTHORITY, TYPES, load_departments
from node.devnet import GENESIS_FILE, seed_devnet
from tests.e2e.cluster import Cluster, running_devnet, wait_for

PURPOSE = Purpose("TJ-KH-001", "企业开户核验", "TJ-2026-000001")
ROAD = NATIONAL_AUTHORITY + "041"  # granted to the Beijing department; Tianjin recognises only FOOD
CST = timezone(timedelta(hours=8))
COMMIT_S = 60.0
SUBMIT_TIMEOUT_S = 30.0


@dataclasses.dataclass
class World:
    """The running devnet and what the tests issued on it."""

    cluster: Cluster
    genesis: Genesis
    valid: LicenceDocument  # a seeded Beijing licence to an enterprise
    revoked: LicenceDocument
    suspended: LicenceDocument
    superseded: LicenceDocument  # version 001, replaced by `successor`
    successor: LicenceDocument
    road: LicenceDocument  # of a type Tianjin has no recognition rule for
    absent: LicenceDocument  # sealed, never submitted
    receipts: list[dict] = dataclasses.field(default_factory=list)  # every receipt any test was handed

    @property
    def devnet(self):
        return self.cluster.devnet

    def node(self, region: str):
        return next(n for n in self.cluster.nodes if n.region == region)

    def client(self, region: str, role: str | None = None) -> ApiClient:
        """An ApiClient of `region`'s node presenting `region`'s `role` credential."""
        return self.devnet.client(self.node(region), role)

    def verify(self, role: str = "partner", region: str = "tianjin", **asked) -> dict:
        """POST /v1/verify by `region`'s `role` on its own node, with PURPOSE unless given; the
        answer, its receipt (if any) kept."""
        asked.setdefault("purpose", PURPOSE)
        with self.client(region, role) as client:
            answer = client.verify(**asked)
        if answer["receipt"] is not None:
            self.receipts.append(answer["receipt"])
        return answer

    def uses(self, licence_id: str) -> list[dict]:
        """Every committed use record of `licence_id`, as the Beijing department lists them."""
        items, after = [], None
        with self.client("beijing", "department") as client:
            while True:
                page = client.uses(licence_id, after=after)
                items += page["items"]
                after = page["next_cursor"]
                if after is None:
                    return items


def as_json(document: LicenceDocument) -> dict:
    return decode(document.to_bytes())


def failed(answer: dict) -> list[str]:
    return [c["name"] for c in answer["checks"] if c["outcome"] == "failed"]


def use_id(record: dict) -> str:
    return f"{record['node']}:{record['seq']}"


def day_ms(day: date) -> int:
    return int(datetime.combine(day, day_time(), CST).timestamp() * 1000)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    with running_devnet(tmp_path_factory.mktemp("verification") / "devnet", 4) as cluster:
        try:
            world = prepare_world(cluster)
        except BaseException:
            print(cluster.tails())
            raise
        yield world


def prepare_world(cluster: Cluster) -> World:
    """Seed the demo, then have the Beijing department issue what the tests judge: one licence
    each to revoke, suspend, change and of a type Tianjin does not recognise; a sealed one it
    never submits; and the revocation, the suspension and the change."""
    devnet = cluster.devnet
    assert seed_devnet(devnet, Console(quiet=True)) is True
    documents = sorted((devnet.dir / "documents" / "beijing").glob("*.json"))
    valid = next(d for d in map(read_document, documents) if d.licence.holder.to_json().get("uscc"))
    [dept] = [d for d in load_departments(devnet.network, wall_clock_ms) if d.region == "beijing"]
    issuer = dept.client
    today = datetime.now(CST).date()

    def issue(serial: int, type: str = FOOD) -> tuple[Tx, LicenceDocument]:
        return issuer.issue_licence(
            type=type, serial=str(serial), holder=valid.licence.holder, type_name=TYPES[type][0], issue_date=today, valid_from=today,
            valid_until=today.replace(year=today.year + 3), fields={"经营场所": f"北京市示例路{serial}号"},
        )

    (issue_revoked, revoked), (issue_suspended, suspended), (issue_changed, superseded), (issue_road, road) = (
        issue(901), issue(902), issue(903), issue(904, ROAD),
    )
    _, absent = issue(905)
    change, successor = issuer.change_licence(issuer.next_licence(superseded.licence, fields={"经营场所": "北京市示例路903号之一"}), "correction")
    with devnet.client(cluster.nodes[0], "department", timeout=SUBMIT_TIMEOUT_S) as client:
        for batch in ([issue_revoked, issue_suspended, issue_changed, issue_road],
                      [issuer.revoke(revoked.licence.id, "fraud"), issuer.suspend(suspended.licence.id, "inspection"), change]):
            results = client.submit_batch(batch, timeout_s=SUBMIT_TIMEOUT_S)
            assert [r.status for r in results] == ["committed"] * len(batch), [(r.status, r.error and r.error.code) for r in results]
    cluster.settle(at_least=max(r.height for r in results))
    return World(cluster, Genesis.read(devnet.dir / GENESIS_FILE), valid, revoked, suspended, superseded, successor, road, absent)


# -- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("presented", ["id", "document", "qr"])
def test_a_tianjin_partner_verifies_a_beijing_licence_and_its_receipt_verifies_offline(world, presented):
    doc = world.valid
    named = {"id": {"licence_id": doc.licence.id}, "document": {"document": as_json(doc)}, "qr": {"qr": encode_qr(doc, world.devnet.chain_id)}}
    answer = world.verify(**named[presented])
    assert (answer["verdict"], failed(answer), answer["presented"], answer["asking_region"]) == ("valid", [], presented, "tianjin")
    assert answer["recognition"]["as_type"] == FOOD and answer["licence"]["id"] == doc.licence.id
    assert answer["licence"]["status"]["code"] == "valid"
    proven = verify_receipt(answer["receipt"], world.genesis)  # the genesis alone: no node is asked
    record = proven.record
    assert proven.signer == world.node("tianjin").name and not proven.committed
    assert (record["licence_id"], record["presented"], record["verdict"], record["asking_region"]) == (doc.licence.id, presented, "valid", "tianjin")
    assert record["height"] == answer["as_of"]["height"] and record["purpose"] == PURPOSE.to_json()
    assert {k: record["caller"][k] for k in ("region", "role")} == {"region": "tianjin", "role": "partner"}


def lapsed_at(world) -> int:
    return day_ms(world.valid.licence.valid_until + timedelta(days=1))


CASES = {
    # case: (what is presented, the failing check, the licence's status code or None)
    "revoked": (lambda w: {"licence_id": w.revoked.licence.id}, "status", "revoked"),
    "suspended": (lambda w: {"licence_id": w.suspended.licence.id}, "status", "suspended"),
    "superseded": (lambda w: {"document": as_json(w.superseded)}, "latest_version", "valid"),  # told by superseded_by
    "lapsed": (lambda w: {"licence_id": w.valid.licence.id, "at_time": lapsed_at(w)}, "within_validity", "lapsed"),
    "absent": (lambda w: {"qr": encode_qr(w.absent, w.devnet.chain_id)}, "on_ledger", None),
    "tampered": (
        lambda w: {"document": as_json(dataclasses.replace(w.valid, licence=dataclasses.replace(w.valid.licence, fields=(("经营场所", "北京市西城区"),))))},
        "document_matches", "valid",
    ),
    "unrecognised type": (lambda w: {"licence_id": w.road.licence.id}, "recognised", "valid"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_licence_that_does_not_count_in_tianjin_gets_its_verdict_and_failing_check(world, case):
    presented, check, status = CASES[case]
    answer = world.verify(**presented(world))
    assert (answer["verdict"], failed(answer)) == ("invalid", [check])
    if status is None:
        assert answer["licence"] is None and answer["record"] is None
    else:
        assert answer["licence"]["status"]["code"] == status
    record = verify_receipt(answer["receipt"], world.genesis).record
    assert record["verdict"] == "invalid" and record["asking_region"] == "tianjin"


def test_the_successor_of_a_changed_licence_is_valid_and_names_its_predecessor(world):
    answer = world.verify(qr=encode_qr(world.successor, world.devnet.chain_id))
    assert answer["verdict"] == "valid" and answer["licence"]["id"] == world.successor.licence.id
    stale = world.verify(licence_id=world.superseded.licence.id)
    assert stale["licence"]["superseded_by"] == world.successor.licence.id


def test_a_lapsed_licence_was_valid_while_in_force(world):
    answer = world.verify(licence_id=world.valid.licence.id, at_time=lapsed_at(world) - 2 * 86_400_000)
    assert answer["verdict"] == "valid"


def test_a_beijing_window_clerk_finds_the_unrecognised_type_valid_in_beijing(world):
    answer = world.verify("staff", "beijing", licence_id=world.road.licence.id)
    assert (answer["verdict"], answer["recognition"]) == ("valid", None)


# -- use records -------------------------------------------------------------------------------


def receipts_of(world, licence_id: str) -> dict[str, dict]:
    records = [r["record"] for r in world.receipts if r["record"]["licence_id"] == licence_id]
    return {use_id(r): r for r in records}


def committed_uses(world, licence_id: str, expected: set[str]) -> list[dict]:
    """The use list of `licence_id` once it holds every record named in `expected`."""

    def complete() -> list[dict] | None:
        items = world.uses(licence_id)
        return items if expected <= {use_id(r) for r in items} else None

    return wait_for(complete, COMMIT_S, lambda: f"records {sorted(expected - {use_id(r) for r in world.uses(licence_id)})} never committed")


def test_the_use_records_appear_in_the_licence_use_list_for_its_department_and_its_holder(world):
    licence_id = world.valid.licence.id
    answered = receipts_of(world, licence_id)
    items = committed_uses(world, licence_id, set(answered))
    assert len({use_id(r) for r in items}) == len(items)  # each record once
    assert {use_id(r): r for r in items} == answered  # exactly the records the receipts named, as signed
    with world.client("beijing") as anonymous:
        held = anonymous.holder_uses(licence_id, document=as_json(world.valid))
    assert held["items"] == items
    with pytest.raises(ProblemError) as other:
        with world.client("beijing") as anonymous:
            anonymous.holder_uses(licence_id, document=as_json(world.revoked))
    assert (other.value.status, other.value.code) == (422, "uses.id_mismatch")


def test_a_committed_receipt_verifies_offline_with_its_place(world):
    receipt = next(r for r in world.receipts if r["record"]["licence_id"] == world.valid.licence.id)
    with world.client("tianjin", "partner") as client:
        committed = wait_for(lambda: committed_or_none(client, encode(receipt)), COMMIT_S, "the receipt's record was never committed")
        place = client.use(use_id(receipt["record"]))
    proven = verify_receipt(committed, world.genesis)
    assert proven.committed and proven.record == receipt["record"]
    assert proven.place._asdict() == place["place"] and proven.time == place["block_time"]
    with world.client("hebei") as anonymous:
        header = anonymous.header(proven.place.height)
    assert proven.block_hash == b64decode(header["hash"])


def committed_or_none(client: ApiClient, receipt: bytes) -> bytes | None:
    try:
        return client.committed_receipt(receipt)
    except ProblemError as exc:
        if exc.code == "receipt.not_committed":
            return None
        raise


# -- proof bundles -----------------------------------------------------------------------------


def test_eledger_prove_and_the_bundle_route_give_the_same_bytes_for_one_height(world, tmp_path):
    licence_id = world.valid.licence.id
    with world.client("tianjin") as anonymous:
        height = anonymous.status()["height"]
    out, receipt_out = tmp_path / "bundle.json", tmp_path / "receipt.json"
    profile = world.devnet.profile_path("tianjin", "partner")
    run = CliRunner().invoke(cli, [
        "prove", "--profile", str(profile), licence_id, "--height", str(height), "--out", str(out), "--receipt-out", str(receipt_out),
        "--purpose-code", PURPOSE.item_code, "--purpose-name", PURPOSE.item_name, "--serial", PURPOSE.serial,
    ])
    assert run.exit_code == 0, run.output
    with world.client("tianjin", "partner") as client:
        fetched = client.bundle(licence_id, height=height, purpose=PURPOSE)
    assert out.read_bytes() == fetched.raw
    offline = verify_licence_bundle(fetched.raw, world.genesis, asking_region="tianjin", licence_id=licence_id)
    assert offline.proven.height == height and offline.verdict.verdict.value == "valid"
    for receipt in (json.loads(receipt_out.read_text()), decode(fetched.receipt)):  # a bundle fetch is a recorded use
        record = verify_receipt(receipt, world.genesis).record
        assert (record["presented"], record["height"], record["verdict"]) == ("id", height, "valid")
        world.receipts.append(receipt)


# -- who may ask -------------------------------------------------------------------------------


def next_seq(world) -> int:
    """The seq the Tianjin node gives its next record: a partner's verify, whose receipt says."""
    return world.verify(licence_id=world.valid.licence.id)["receipt"]["record"]["seq"]


def refused(call, status: int, code: str, field: str | None = None) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        call()
    assert (info.value.status, info.value.code, info.value.field) == (status, code, field), info.value
    return info.value


def test_a_wrong_region_caller_and_a_staff_caller_without_purpose_are_refused_and_record_nothing(world):
    before = next_seq(world)
    licence_id = world.valid.licence.id
    with world.client("tianjin", "partner") as partner:
        refused(lambda: partner.verify(licence_id=licence_id, asking_region="beijing", purpose=PURPOSE), 403, "auth.wrong_region", "asking_region")
        refused(lambda: partner.bundle(licence_id, "beijing", purpose=PURPOSE), 403, "auth.wrong_region", "query.region")
    with world.client("tianjin", "staff") as staff:
        problem = refused(lambda: staff.verify(licence_id=licence_id), 422, "auth.purpose_required", "purpose")
    assert "事项编码" in problem.detail
    assert next_seq(world) == before + 1  # nothing was journaled between the two


def test_a_certificate_revoked_on_the_ledger_is_refused_from_the_next_block_and_records_nothing(world, tmp_path):
    devnet = world.devnet
    ca = devnet.dir / "pki" / "tianjin" / "ca.crt"
    since = x509.load_pem_x509_certificate(ca.read_bytes()).not_valid_before_utc  # the devnet's CA is minutes old
    entry = issue_credential(
        devnet.dir / "pki" / "tianjin", role=Role.PARTNER, name="tianjin-bank-2", out_prefix=tmp_path / "bank",
        not_before=since, not_after=since + timedelta(days=30),
    )
    cert, key = tmp_path / "bank.crt", tmp_path / "bank.key"
    serial = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
    licence_id = world.valid.licence.id
    with ApiClient(world.node("tianjin").api_url, cert=cert, key=key, ca=ca) as bank:
        accepted = bank.verify(licence_id=licence_id, purpose=PURPOSE)
        world.receipts.append(accepted["receipt"])
        assert accepted["receipt"]["record"]["caller"]["name"] == entry.name == "tianjin-bank-2"
        admin = AdminClient(devnet.network.admin_keys["tianjin"], devnet.chain_id)
        with world.client("tianjin", "admin") as client:
            revocation = client.submit(admin.sign("cert.revoke", {"serial": format(serial, "x"), "reason": "key_leaked"}), timeout_s=SUBMIT_TIMEOUT_S)
        assert revocation.status == "committed"
        before = next_seq(world)
        refused(lambda: bank.verify(licence_id=licence_id, purpose=PURPOSE), 403, "auth.revoked")
        assert next_seq(world) == before + 1
    world.cluster.settle(at_least=revocation.height)
    for node in world.cluster.nodes:  # every node reads the revocation from its own tip
        with ApiClient(node.api_url, cert=cert, key=key, ca=devnet.dir / "pki" / node.region / "ca.crt") as bank:
            refused(lambda: bank.status(), 403, "auth.revoked")


# -- a restart of every node -------------------------------------------------------------------


def use_records_on_chain(world) -> list[tuple[str, int]]:
    """(node, seq) of every record of every committed use.record transaction, read block by
    block from the Beijing node."""
    found = []
    with world.client("beijing") as client:
        tip = client.status()["height"]
        for height in range(1, tip + 1):
            for tx in client.block(height)["block"]["txs"]:
                if tx["kind"] == "use.record":
                    found += [(r["node"], r["seq"]) for r in tx["body"]["records"]]
    return found


def refused_by_the_node_itself(world, node) -> dict[str, float]:
    """The node's own transactions its mempool refused, by code (its last report)."""
    with world.devnet.client(node) as client:
        families = text_string_to_metric_families(client.metrics())
        return {
            s.labels["code"]: s.value
            for f in families if f.name == "eledger_txs_refused"
            for s in f.samples if s.name.endswith("_total") and s.labels.get("source") == "node"
        }


def test_use_records_survive_a_restart_of_every_node_and_are_committed_once(world):
    licence_id = world.valid.licence.id
    before = committed_uses(world, licence_id, set(receipts_of(world, licence_id)))
    late = [world.verify("staff", "beijing", licence_id=licence_id)]  # may be in flight at the stop
    others = [n.name for n in world.cluster.nodes if n.region != "tianjin"]
    codes = world.cluster.stop(others)
    # Three of four validators are down: no quorum, so what Tianjin answers now is journaled
    # and stays uncommitted until every node has been stopped and started again.
    stranded = world.verify(licence_id=licence_id)
    late.append(stranded)
    stranded_id = use_id(stranded["receipt"]["record"])
    with world.client("tianjin", "partner") as client:
        refused(lambda: client.use(stranded_id), 404, "use.not_found", "path.use_id")
    codes.update(world.cluster.stop())
    assert set(codes.values()) == {0}, codes
    ranges_at_stop = {}
    for node in world.cluster.nodes:
        with LevelKV(node.home / "ledger") as kv:  # the stores were closed cleanly: they open
            assert Chain(kv, world.genesis).height >= 1
            ranges_at_stop[node.name] = {n.name: recorded_ranges(Prefixed(kv, FLAT_PREFIX), n.name) for n in world.cluster.nodes}
    seq = stranded["receipt"]["record"]["seq"]
    assert not any(first <= seq <= last for ranges in ranges_at_stop.values() for first, last in ranges[world.node("tianjin").name])
    world.cluster.start()

    expected = {use_id(r) for r in before} | {use_id(a["receipt"]["record"]) for a in late}
    after = committed_uses(world, licence_id, expected)  # the stranded record too: its journal offered it again
    assert {use_id(r) for r in after} == expected and len(after) == len(expected)
    assert [r for r in after if use_id(r) in {use_id(b) for b in before}] == before  # the same records, unchanged
    status = world.cluster.settle(at_least=1)[0]

    on_chain = use_records_on_chain(world)
    twice = [key for key, n in Counter(on_chain).items() if n > 1]
    assert twice == [], f"records committed more than once: {twice}"
    by_node: dict[str, set[int]] = {}
    for node, seq in on_chain:
        by_node.setdefault(node, set()).add(seq)
    for receipt in world.receipts:  # every receipt handed out names a committed record
        record = receipt["record"]
        assert record["seq"] in by_node.get(record["node"], set()), f"{use_id(record)} was answered but never committed"
    for node, seqs in by_node.items():  # no seq reused, none lost
        assert seqs == set(range(max(seqs) + 1)), f"{node}: seqs {sorted(seqs)} are not one range from 0"
        for name, ranges in ranges_at_stop.items():
            for first, last in ranges[node]:
                assert set(range(first, last + 1)) <= seqs, f"{name} recorded {node} {first}..{last} at the stop"
    for node in world.cluster.nodes:  # the journals re-submitted nothing the ledger already held
        wait_for(lambda: node_reported(world, node, status["height"]), 30, f"{node.name} reported no status")
        assert "use.exists" not in refused_by_the_node_itself(world, node)


def node_reported(world, node, height: int) -> bool:
    with world.devnet.client(node) as client:
        families = {f.name: f for f in text_string_to_metric_families(client.metrics())}
    return families["eledger_height"].samples and families["eledger_height"].samples[0].value >= height


def test_after_the_restart_a_committed_receipt_and_a_new_verify_still_verify_offline(world):
    partner = world.receipts[0]["record"]["caller"]  # the Tianjin partner's profile; a record is read by its own caller (§6.5)
    receipt = next(r for r in reversed(world.receipts) if r["record"]["caller"] == partner)  # answered just before the stop
    with world.client("tianjin", "partner") as client:
        committed = wait_for(lambda: committed_or_none(client, encode(receipt)), COMMIT_S, "not committed")
    assert verify_receipt(committed, world.genesis).committed
    answer = world.verify(document=as_json(world.valid))
    assert answer["verdict"] == "valid" and verify_receipt(answer["receipt"], world.genesis).record["presented"] == "document"


def test_no_node_logged_an_error_or_a_traceback(world):
    assert world.cluster.errors_logged() == []
