"""Licence reads (api/routers/licences.py, api.md §2.12–§2.15): one version with its metadata, its
history, a search that never finds a person, and the proof bundle, byte-identical to what
`eledger prove` builds for the same height and, for a partner, recorded with its receipt."""

from __future__ import annotations

import base64

import pytest

from api.licence_schemas import HistoryPage, LicenceAnswer, LicencePage
from certs.roles import Role
from ledger.licence_bundle import build_licence_bundle, verify_licence_bundle
from ledger.receipt import verify_receipt
from tests.api.test_transactions import expect_error
from tests.api.world import HOLDER, OTHER_TYPE, PERSON, PURPOSE, TYPE, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("licences") / "net")
    yield world
    world.close()


SERIALS = iter(range(100, 10_000))


def fresh(world: World, **kw):
    doc = world.document(next(SERIALS), **kw)
    world.issue(doc)
    return doc


def serial_of(doc) -> int:
    return int(doc.licence.id.split(".")[7])


def get(world: World, path: str, by: tuple[str, Role] = ("tianjin", Role.PARTNER), **params):
    """GET `path` as the first certificate of role `by[1]` in region `by[0]`."""
    return world.client(*by).get(path, params=params)


def recorded(world: World) -> int:
    return world.service.journal.next_seq


# -- one licence -----------------------------------------------------------------------------------


def test_a_licence_is_read_at_its_latest_version_or_at_the_version_asked(world):
    v1 = fresh(world)
    v2 = world.document(serial_of(v1), version="002")
    world.renew(v1, v2)
    for named in (v1.licence.id, v2.licence.id):
        response = get(world, f"/v1/licences/{named}")
        assert response.status_code == 200, response.text
        answer = response.json()
        LicenceAnswer.model_validate(answer, strict=True)
        assert answer["record"]["id"] == answer["licence"]["id"] == v2.licence.id
        assert answer["licence"]["supersedes"] == v1.licence.id and answer["licence"]["status"]["code"] == "valid"
        assert answer["as_of"]["height"] == world.service.chain.height
    old = get(world, f"/v1/licences/{v2.licence.id}", version="001").json()
    assert old["record"]["id"] == v1.licence.id and old["licence"]["superseded_by"] == v2.licence.id


def test_reading_a_licence_not_recorded_or_malformed_is_refused_precisely(world):
    doc = world.document(next(SERIALS))
    expect_error(get(world, f"/v1/licences/{doc.licence.id}"), 404, "licence.not_found", "path.licence_id")
    issued = fresh(world)
    expect_error(get(world, f"/v1/licences/{issued.licence.id}", version="007"), 404, "licence.not_found", "query.version")
    expect_error(get(world, f"/v1/licences/{issued.licence.id}", version="7"), 422, "api.invalid_parameter", "query.version")
    expect_error(get(world, f"/v1/licences/{issued.licence.id}", version="000"), 422, "api.invalid_parameter", "query.version")
    wrong = issued.licence.id[:-1] + ("A" if issued.licence.id[-1] != "A" else "B")
    problem = expect_error(get(world, f"/v1/licences/{wrong}"), 422, "api.invalid_parameter", "path.licence_id")
    assert f"gives {issued.licence.id[-1]!r}" in problem["detail"]  # the expected check character
    expect_error(get(world, "/v1/licences/1.2.3"), 422, "api.invalid_parameter", "path.licence_id")


def test_a_person_holders_licence_shows_only_the_kind_of_holder(world):
    doc = fresh(world, holder=PERSON)
    response = get(world, f"/v1/licences/{doc.licence.id}")
    assert response.json()["licence"]["holder"] == {"kind": "person"}
    assert PERSON.name not in response.text and PERSON.id_number not in response.text


@pytest.mark.parametrize("role", [None, Role.VALIDATOR])
def test_licence_reads_need_a_certificate_of_a_reading_role(world, role):
    doc = fresh(world)
    client = world.client(None if role is None else "tianjin", role)
    for path in (f"/v1/licences/{doc.licence.id}", f"/v1/licences/{doc.licence.id}/history", "/v1/licences", f"/v1/licences/{doc.licence.id}/bundle"):
        expect_error(client.get(path), 403, "auth.certificate_required" if role is None else "auth.forbidden")


# -- history ---------------------------------------------------------------------------------------


def test_history_lists_every_version_and_status_change_a_page_at_a_time(world):
    v1 = fresh(world)
    world.act("licence.suspend", v1.licence.id)
    world.act("licence.resume", v1.licence.id, "rectified")
    v2 = world.document(serial_of(v1), version="002")
    world.renew(v1, v2)
    answer = get(world, f"/v1/licences/{v1.licence.id}/history").json()
    HistoryPage.model_validate(answer, strict=True)
    items = answer["items"]
    assert [i["kind"] for i in items] == ["licence.issue", "licence.suspend", "licence.resume", "licence.renew"]
    assert [i["status"] for i in items] == ["valid", "suspended", "valid", "valid"]
    assert [i["reason"] for i in items] == [None, "inspection", "rectified", "expiry"]
    assert items[-1]["id"] == v2.licence.id and answer["next_cursor"] is None
    assert [i["height"] for i in items] == sorted(i["height"] for i in items)
    for item in items:
        header = world.service.chain.header(item["height"])
        assert item["time"] == header.time
    pages, after = [], None
    while True:
        page = get(world, f"/v1/licences/{v2.licence.id}/history", limit=1, **({"after": after} if after else {})).json()
        pages += page["items"]
        after = page["next_cursor"]
        if after is None:
            break
    assert pages == items


def test_history_of_a_licence_never_recorded_is_not_found_and_a_bad_cursor_is_named(world):
    doc = world.document(next(SERIALS))
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/history"), 404, "licence.not_found", "path.licence_id")
    issued = fresh(world)
    expect_error(get(world, f"/v1/licences/{issued.licence.id}/history", after="bm90IGEgY3Vyc29y"), 422, "query.bad_cursor", "query.after")
    expect_error(get(world, f"/v1/licences/{issued.licence.id}/history", limit="0"), 422, "api.invalid_parameter", "query.limit")


# -- search ----------------------------------------------------------------------------------------


def test_search_finds_an_enterprises_licences_by_filters_a_page_at_a_time(world):
    docs = [fresh(world), fresh(world), fresh(world, type=OTHER_TYPE)]
    world.act("licence.revoke", docs[1].licence.id)
    ids = {d.licence.id for d in docs}
    found: list[dict] = []
    after = None
    while True:
        page = get(world, "/v1/licences", holder_uscc=HOLDER.uscc, limit=2, **({"after": after} if after else {})).json()
        LicencePage.model_validate(page, strict=True)
        found += page["items"]
        after = page["next_cursor"]
        if after is None:
            break
    assert ids <= {item["id"] for item in found}
    revoked = get(world, "/v1/licences", holder_uscc=HOLDER.uscc, status="revoked").json()["items"]
    assert docs[1].licence.id in {i["id"] for i in revoked} and all(i["status"]["code"] == "revoked" for i in revoked)
    typed = get(world, "/v1/licences", issuer=world.dept_uscc, type=OTHER_TYPE).json()["items"]
    assert docs[2].licence.id in {i["id"] for i in typed} and all(i["type"]["code"] == OTHER_TYPE for i in typed)
    assert all(i["type"]["code"] == TYPE for i in get(world, "/v1/licences", type=TYPE, limit=500).json()["items"])


@pytest.mark.parametrize("name, shapeless, unchecked, code", [
    ("holder_uscc", "91110101MA01000I0P", "91110101MA0100000A", "ids.bad_uscc"),  # I is not of the USCC alphabet
    ("issuer", "%1110000962960950K", "11110000962960950A", "ids.bad_uscc"),
    ("type", "11100000000013338W04X", "11100000000013338A041", "ids.bad_type_code"),
    ("commitment_due_before", "2026-6-30", "2026-02-30", "validation.date"),
])
def test_search_refuses_a_filter_of_the_wrong_shape_as_a_parameter_and_a_wrong_check_as_the_ledger(world, name, shapeless, unchecked, code):
    """The shape is the schema's (api.md §1.2: 422 api.invalid_parameter); the check character,
    or a day that does not exist, is the ledger's (its code, naming the parameter)."""
    expect_error(get(world, "/v1/licences", **{name: shapeless}), 422, "api.invalid_parameter", f"query.{name}")
    expect_error(get(world, "/v1/licences", **{name: unchecked}), 422, code, f"query.{name}")


def test_a_person_is_never_searchable(world):
    fresh(world, holder=PERSON)
    response = get(world, "/v1/licences", holder_uscc=PERSON.id_number)
    problem = expect_error(response, 422, "ids.bad_uscc", "query.holder_uscc")
    assert PERSON.id_number not in response.text and "never searchable" in problem["detail"]
    expect_error(get(world, "/v1/licences", holder_uscc=PERSON.name), 422, "api.invalid_parameter", "query.holder_uscc")
    expect_error(get(world, "/v1/licences", status="expired"), 422, "api.invalid_parameter", "query.status")
    expect_error(get(world, "/v1/licences", commitment_due_before="2026-13-01"), 422, "validation.date", "query.commitment_due_before")


# -- bundles ---------------------------------------------------------------------------------------


def test_the_bundle_is_the_bytes_eledger_prove_writes_for_the_same_height(world):
    doc = fresh(world)
    height = world.service.chain.height
    fresh(world)  # the tip moves on
    for role in (Role.AUDITOR, Role.ISSUER):
        for asked in ({}, {"height": str(height)}):
            response = get(world, f"/v1/licences/{doc.licence.id}/bundle", ("beijing", role), region="tianjin", **asked)
            assert response.status_code == 200 and response.headers["content-type"] == "application/json"
            expected = build_licence_bundle(world.service.view(), doc.licence.id, "tianjin", int(asked["height"]) if asked else None).to_bytes()
            assert response.content == expected
            assert "eledger-receipt" not in response.headers
    offline = verify_licence_bundle(response.content, world.service.genesis, asking_region="tianjin", licence_id=doc.licence.id)
    assert offline.verdict.verdict.value == "valid" and offline.proven.height == height


def test_a_partners_bundle_states_a_purpose_and_is_recorded_with_a_receipt(world):
    doc = fresh(world)
    before = recorded(world)
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle"), 422, "auth.purpose_required", "query.item_code")
    partial = {"item_code": PURPOSE["item_code"], "item_name": PURPOSE["item_name"]}
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle", **partial), 422, "auth.purpose_required", "query.serial")
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle", region="beijing", **PURPOSE), 403, "auth.wrong_region", "query.region")
    assert recorded(world) == before
    response = get(world, f"/v1/licences/{doc.licence.id}/bundle", **PURPOSE)
    assert response.status_code == 200
    assert response.content == build_licence_bundle(world.service.view(), doc.licence.id, "tianjin").to_bytes()
    text = response.headers["eledger-receipt"]
    receipt = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    proven = verify_receipt(receipt, world.service.genesis)
    assert recorded(world) == before + 1
    assert proven.record["presented"] == "id" and proven.record["verdict"] == "valid" and proven.record["purpose"] == PURPOSE
    assert proven.record["height"] == world.service.chain.height and proven.record["licence_id"] == doc.licence.id


def test_a_bundle_of_an_absent_licence_proves_its_absence_and_is_recorded_invalid(world):
    doc = world.document(next(SERIALS))
    response = get(world, f"/v1/licences/{doc.licence.id}/bundle", **PURPOSE)
    assert response.status_code == 200
    text = response.headers["eledger-receipt"]
    assert verify_receipt(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), world.service.genesis).record["verdict"] == "invalid"
    offline = verify_licence_bundle(response.content, world.service.genesis, asking_region="tianjin", licence_id=doc.licence.id)
    assert offline.verdict.verdict.value == "invalid"


def test_a_bundle_above_the_tip_or_of_an_unknown_region_is_refused(world):
    doc = fresh(world)
    above = str(world.service.chain.height + 1)
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle", ("hebei", Role.AUDITOR), height=above), 422, "bundle.unknown_height", "query.height")
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle", ("hebei", Role.AUDITOR), region="macau"), 422, "verify.unknown_region", "query.region")
    expect_error(get(world, f"/v1/licences/{doc.licence.id}/bundle", ("hebei", Role.AUDITOR), height="01"), 422, "api.invalid_parameter", "query.height")
