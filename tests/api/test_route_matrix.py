"""The role x route matrix over the app's real routes (docs/spec/api.md §6): every route names its
entry of api.auth.ROUTES, and every role (and an anonymous caller) is refused exactly where that
entry does not allow it, with the precise problem, changing nothing (no use record numbered, no
transaction held). Row-level refusals (another region's licence, a holder's document that does
not match) are the routes' own tests; here only the role decides."""

from __future__ import annotations

import pytest

from api.auth import ROUTES
from api.routers import ROOT_ROUTERS, ROUTERS
from certs.roles import Role
from ledger.encoding import b64encode
from tests.api.world import PURPOSE, make_world

ROLES = [None, Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN, Role.VALIDATOR]
AUTH_REFUSALS = {"auth.certificate_required", "auth.forbidden"}


def _caller_entries(dependant) -> list[str]:
    found = []
    for dependency in dependant.dependencies:
        route = getattr(dependency.call, "route", None)
        if route is not None:
            found.append(route)
        found += _caller_entries(dependency)
    return found


def real_routes() -> list[tuple[str, str, str]]:
    """(method, path template, ROUTES entry) of every route the app serves."""
    out = []
    for prefix, routers in (("/v1", ROUTERS), ("", ROOT_ROUTERS)):
        for router in routers:
            for route in router.routes:
                entries = _caller_entries(route.dependant)
                assert len(entries) == 1, f"{route.path} names {entries}: every route names exactly one entry of ROUTES"
                for method in sorted(route.methods - {"HEAD"}):
                    out.append((method, prefix + route.path, entries[0]))
    return out


ROUTE_LIST = real_routes()


def test_every_entry_of_the_table_is_used_by_a_route():
    assert {entry for _, _, entry in ROUTE_LIST} == set(ROUTES)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("matrix"))
    doc = world.document(1)
    world.issue(doc)
    world.licence_id = doc.licence.id
    world.tx_id = b64encode(world.service.chain.block(world.service.chain.height).txs[0].id)
    yield world
    world.close()


def fill(path: str, world) -> str:
    values = {
        "{height}": "1", "{licence_id}": world.licence_id, "{tx_id}": world.tx_id, "{seal_id}": world.seal_id,
        "{uscc}": world.dept_uscc, "{use_id}": "beijing-1:0",
    }
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


BODIES = {
    "/v1/verify": {"licence_id": None, "purpose": PURPOSE},
    "/v1/transactions": None,
    "/v1/transactions/batch": {"txs": []},
    "/v1/seals/verify": {"document_hash": b64encode(bytes(32))},
    "/v1/licences/{licence_id}/uses": {"qr": "EL1:"},
    "/v1/receipts/committed": {"receipt": {}},
}


def call(world, role, method, path):
    client = world.client("tianjin", role) if role is not None else world.client()
    url = fill(path, world)
    if method == "GET":
        return client.get(url)
    body = dict(BODIES.get(path) or {})
    if "licence_id" in body:
        body["licence_id"] = world.licence_id
    return client.post(url, json=body)


@pytest.mark.parametrize("method, path, entry", ROUTE_LIST, ids=[f"{m} {p}" for m, p, _ in ROUTE_LIST])
def test_each_role_is_refused_exactly_where_the_route_entry_does_not_allow_it(world, method, path, entry):
    allowed = ROUTES[entry]
    for role in ROLES:
        journal, held = world.service.journal.next_seq, len(world.service.pending_ids())
        response = call(world, role, method, path)
        code = response.json().get("code") if response.headers.get("content-type", "").startswith("application/problem+json") else None
        permitted = allowed is None or (role is not None and role in allowed)
        who = getattr(role, "value", "anonymous")
        if permitted:
            assert code not in AUTH_REFUSALS, f"{method} {path} refused {who}: {response.text[:300]}"
            assert response.status_code < 500 or code in ("node.stalled",), f"{method} {path} as {who}: {response.text[:300]}"
        else:
            assert response.status_code == 403, f"{method} {path} admitted {who}: {response.status_code}"
            assert code == ("auth.certificate_required" if role is None else "auth.forbidden")
            assert (world.service.journal.next_seq, len(world.service.pending_ids())) == (journal, held), "a refusal changed something"


def test_a_verification_as_a_partner_of_another_region_than_asked_is_refused_and_records_nothing(world):
    before = world.service.journal.next_seq
    response = world.client("tianjin", Role.PARTNER).post("/v1/verify", json={"licence_id": world.licence_id, "asking_region": "hebei", "purpose": PURPOSE})
    assert response.status_code == 403 and response.json()["code"] == "auth.wrong_region"
    assert world.service.journal.next_seq == before


def test_the_table_has_no_unknown_roles():
    known = {r.value for r in Role}
    for entry, allowed in ROUTES.items():
        assert allowed is None or set(allowed) <= known, entry
