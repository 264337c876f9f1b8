"""Where a licence was used (api/routers/uses.py, api.md §2.16): the committed use records, for
its issuing department, an administrator of its region, an auditor, and anyone presenting the
licence's current document or QR code; every other caller refused precisely. No record holds
personal data."""

from __future__ import annotations

import dataclasses
import json

import pytest

from api.licence_schemas import UsePage
from certs.roles import Role
from ledger.encoding import b64encode, decode, encode
from ledger.uses import is_recorded
from tests.api.test_transactions import expect_error
from tests.api.world import PERSON, PURPOSE, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("uses") / "net")
    yield world
    world.close()


SERIALS = iter(range(100, 10_000))


def used(world: World, times: int = 1, **kw):
    """A new licence, verified `times` by the Tianjin partner (once by QR) and committed."""
    doc = world.document(next(SERIALS), **kw)
    world.issue(doc)
    partner = world.client("tianjin", Role.PARTNER)
    for i in range(times):
        body = {"qr": world.qr(doc)} if i == 0 else {"licence_id": doc.licence.id}
        assert partner.post("/v1/verify", json={**body, "purpose": {**PURPOSE, "serial": f"TJ-{i}"}}).status_code == 200
    world.service.produce()
    return doc


def listed(response) -> list[dict]:
    assert response.status_code == 200, response.text
    page = response.json()
    UsePage.model_validate(page, strict=True)
    return page["items"]


@pytest.mark.parametrize("by", [("beijing", Role.ISSUER), ("beijing", Role.REGION_ADMIN), ("hebei", Role.AUDITOR), ("tianjin", Role.AUDITOR)])
def test_the_department_its_region_and_auditors_list_a_licences_uses(world, by):
    doc = used(world, 2)
    items = listed(world.client(*by).get(f"/v1/licences/{doc.licence.id}/uses"))
    assert [r["purpose"]["serial"] for r in items] == ["TJ-0", "TJ-1"]
    assert [r["presented"] for r in items] == ["qr", "id"]
    assert all(r["licence_id"] == doc.licence.id and r["caller"]["name"] == "tianjin-gateway" and r["node"] == world.service.node for r in items)


@pytest.mark.parametrize("by, code, field", [
    (("tianjin", Role.ISSUER), "auth.not_concerned", "path.licence_id"),  # another department
    (("tianjin", Role.REGION_ADMIN), "auth.wrong_region", "path.licence_id"),
    (("tianjin", Role.PARTNER), "auth.forbidden", None),
    (("beijing", Role.STAFF), "auth.forbidden", None),
    ((None, None), "auth.certificate_required", None),
])
def test_other_callers_may_not_list_a_licences_uses(world, by, code, field):
    doc = used(world)
    expect_error(world.client(*by).get(f"/v1/licences/{doc.licence.id}/uses"), 403, code, field)


def test_uses_appear_once_committed_and_are_paged(world):
    doc = used(world, 3)
    partner = world.client("tianjin", Role.PARTNER)
    assert partner.post("/v1/verify", json={"licence_id": doc.licence.id, "purpose": {**PURPOSE, "serial": "TJ-3"}}).status_code == 200
    auditor = world.client("hebei", Role.AUDITOR)
    assert len(listed(auditor.get(f"/v1/licences/{doc.licence.id}/uses"))) == 3  # the fourth is journaled, not committed
    world.service.produce()
    pages, after = [], None
    while True:
        params = {"limit": "2", **({"after": after} if after else {})}
        page = auditor.get(f"/v1/licences/{doc.licence.id}/uses", params=params).json()
        pages.append(page["items"])
        after = page["next_cursor"]
        if after is None:
            break
    assert [[r["purpose"]["serial"] for r in p] for p in pages] == [["TJ-0", "TJ-1"], ["TJ-2", "TJ-3"]]
    for after in ("nobody", "beijing-1:01", "beijing-1:9007199254740992"):  # seq in its one spelling, within 2^53 - 1
        expect_error(auditor.get(f"/v1/licences/{doc.licence.id}/uses", params={"after": after}), 422, "api.invalid_parameter", "query.after")
    assert auditor.get(f"/v1/licences/{doc.licence.id}/uses", params={"after": "beijing-1:9007199254740991"}).status_code == 200
    expect_error(auditor.get(f"/v1/licences/{doc.licence.id}/uses", params={"limit": "1001"}), 422, "api.invalid_parameter", "query.limit")


# -- the holder ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.PARTNER])
def test_a_holder_presenting_the_document_or_its_qr_code_lists_the_uses(world, role):
    doc = used(world, 2, holder=PERSON)
    client = world.client(None if role is None else "hebei", role)
    by_document = listed(client.post(f"/v1/licences/{doc.licence.id}/uses", json={"document": decode(doc.to_bytes())}))
    by_qr = listed(client.post(f"/v1/licences/{doc.licence.id}/uses", json={"qr": world.qr(doc)}))
    assert by_document == by_qr and [r["purpose"]["serial"] for r in by_qr] == ["TJ-0", "TJ-1"]


def test_a_holder_proof_that_does_not_match_is_refused_precisely(world):
    doc, other = used(world), used(world)
    client = world.client()
    path = f"/v1/licences/{doc.licence.id}/uses"
    tampered = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, fields=(("经营场所", "北京市西城区"),)))
    expect_error(client.post(path, json={"document": decode(tampered.to_bytes())}), 403, "uses.not_holder", "document")
    expect_error(client.post(path, json={"document": decode(other.to_bytes())}), 422, "uses.id_mismatch", "document.licence.id")
    expect_error(client.post(path, json={"qr": world.qr(other)}), 422, "uses.id_mismatch", "qr.licence_id")
    expect_error(client.post(path, json={}), 422, "uses.no_proof", "document")
    expect_error(client.post(path, json={"qr": world.qr(doc), "document": decode(doc.to_bytes())}), 422, "uses.two_proofs", "document")
    expect_error(client.post(path, json={"qr": "EL2:AAAA"}), 422, "qr.unsupported_version", "qr")
    absent = world.document(next(SERIALS))
    expect_error(client.post(f"/v1/licences/{absent.licence.id}/uses", json={"qr": world.qr(absent)}), 404, "licence.not_found", "path.licence_id")
    new = world.document(int(doc.licence.id.split(".")[7]), version="002")
    world.renew(doc, new)
    assert listed(client.post(path, json={"qr": world.qr(doc)})) != []  # the old version's holder still sees its uses
    expect_error(client.post(f"/v1/licences/{new.licence.id}/uses", json={"qr": world.qr(doc)}), 422, "uses.id_mismatch", "qr.licence_id")


# -- privacy ---------------------------------------------------------------------------------------


def test_no_use_record_holds_personal_data(world):
    doc = used(world, 2, holder=PERSON, place="北京市朝阳区某某路1号")
    auditor = world.client("hebei", Role.AUDITOR)
    records = listed(auditor.get(f"/v1/licences/{doc.licence.id}/uses"))
    committed = [tx for h in range(1, world.service.chain.height + 1) for tx in world.service.chain.block(h).txs if tx.kind == "use.record"]
    texts = [json.dumps(r, ensure_ascii=False) for r in records] + [encode(tx.body).decode() for tx in committed]
    holder = doc.licence.holder
    secrets = [PERSON.name, PERSON.id_number, b64encode(PERSON.salt), b64encode(holder.commitment), "北京市朝阳区某某路1号", b64encode(doc.hash)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    for record in records:
        assert set(record) == {"asking_region", "caller", "height", "licence_id", "node", "presented", "purpose", "seq", "time", "verdict"}
        assert set(record["caller"]) == {"certificate", "name", "region", "role"}
        assert is_recorded(world.service.view().state(), record["node"], record["seq"])


def test_the_node_journals_every_recorded_verification_and_commits_it(world):
    doc = world.document(next(SERIALS))
    world.issue(doc)
    partner = world.client("tianjin", Role.PARTNER)
    answers = [partner.post("/v1/verify", json={"licence_id": doc.licence.id, "purpose": {**PURPOSE, "serial": f"TJ-{i}"}}).json() for i in range(3)]
    seqs = [a["receipt"]["record"]["seq"] for a in answers]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    world.service.produce()
    listed_now = listed(world.client("hebei", Role.AUDITOR).get(f"/v1/licences/{doc.licence.id}/uses"))
    assert [r["seq"] for r in listed_now] == seqs and listed_now == [a["receipt"]["record"] for a in answers]
