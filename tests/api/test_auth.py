"""api.auth: callers are their certificates (role and region from the certificate, validated
against the genesis CAs at the current time, revocations read from the ledger), and a route
refuses the roles its entry in ROUTES does not allow; api.limits: 429 with Retry-After."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.auth import ANONYMOUS, ROUTES, Authenticator, Caller, caller_for
from api.errors import ApiError, install_error_handlers
from api.limits import ClientLimits, Limiter, LimitMiddleware
from api.main import create_app, genesis_roots
from api.routers import ROUTERS
from certs.roles import Role
from client.signing import AdminClient
from tests.api.pki import make_pki, presenting
from tests.api.service import LocalNodeService

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("auth") / "net")


@pytest.fixture
def service(pki):
    return LocalNodeService(pki.net)


def probe_app(service) -> FastAPI:
    """One route per entry of ROUTES, answering the caller it was given."""
    app = FastAPI()
    app.state.service = service
    app.state.authenticator = Authenticator(genesis_roots(service))
    install_error_handlers(app)
    for route in ROUTES:
        def make(route=route):
            async def endpoint(caller: Caller = Depends(caller_for(route))) -> dict:
                return {"role": caller.role, "region": caller.region, "name": caller.name}
            return endpoint
        app.get(f"/probe/{route}")(make())
    return app


def call(service, pem, route):
    with TestClient(presenting(probe_app(service), pem)) as client:
        return client.get(f"/probe/{route}")


ROLES = [Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN, Role.VALIDATOR]


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("role", [None, *ROLES], ids=lambda r: getattr(r, "value", "anonymous"))
def test_every_route_admits_exactly_the_roles_of_its_entry(pki, service, route, role):
    pem = None if role is None else pki.pem("tianjin", role)
    response = call(service, pem, route)
    allowed = ROUTES[route]
    if allowed is None or (role is not None and role in allowed):
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["role"] == (ANONYMOUS if role is None else role.value)
        assert body["region"] == (None if role is None else "tianjin")
    else:
        assert response.status_code == 403
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["code"] == ("auth.certificate_required" if role is None else "auth.forbidden")


def test_role_and_region_come_from_the_certificate(pki, service):
    body = call(service, pki.pem("hebei", Role.STAFF), "verify").json()
    assert body == {"role": "staff", "region": "hebei", "name": "hebei-window-1"}


def test_an_expired_or_not_yet_valid_certificate_is_refused(pki, service):
    short = pki.issue("tianjin", Role.PARTNER, "short-gateway", start=NOW, days=1)
    early = pki.issue("tianjin", Role.PARTNER, "new-gateway", start=NOW + timedelta(days=1), days=30)
    roots = genesis_roots(service)
    for pem, clock, reason in ((short, NOW + timedelta(days=2), "expired"), (early, NOW, "not_yet_valid"), (short, NOW + timedelta(hours=1), None)):
        authenticator = Authenticator(roots, clock=lambda clock=clock: clock)
        if reason is None:
            assert authenticator.identify([pem], None).name == "short-gateway"
            continue
        with pytest.raises(ApiError) as err:
            authenticator.identify([pem], None)
        assert err.value.code == "auth.certificate_refused" and err.value.fields["reason"] == f"cert.{reason}"


def test_a_certificate_of_a_foreign_ca_is_refused_even_on_public_routes(pki, service, tmp_path):
    other = make_pki(tmp_path / "other")
    response = call(service, other.pem("tianjin", Role.PARTNER), "status")
    assert response.status_code == 403 and response.json()["code"] == "auth.certificate_refused"


def test_a_certificate_revoked_on_the_ledger_is_refused_from_the_next_block(pki, service):
    pem = pki.issue("tianjin", Role.PARTNER, "leaked-gateway", start=NOW - timedelta(minutes=1), days=30)
    assert call(service, pem, "verify").status_code == 200
    from cryptography import x509

    serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
    admin = AdminClient(pki.network.admin_keys["tianjin"], pki.net.genesis.chain_id)
    asyncio.run(service.submit(admin.sign("cert.revoke", {"serial": serial, "reason": "key_leaked"}), wait=False, timeout_s=0))
    assert call(service, pem, "verify").status_code == 200  # not committed yet
    service.produce()
    response = call(service, pem, "verify")
    assert response.status_code == 403 and response.json()["code"] == "auth.revoked"
    assert call(service, pki.pem("tianjin", Role.PARTNER), "verify").status_code == 200  # only that one


def judges_its_caller(dependant) -> bool:
    """Whether a route's dependencies include an entry's caller (`caller_for`)."""
    return any(getattr(d.call, "__qualname__", "").startswith("caller_for.") or judges_its_caller(d) for d in dependant.dependencies)


def test_every_v1_route_judges_its_caller():
    # Found by the end-to-end test (tests/e2e/test_verification.py): GET /v1/status and
    # GET /v1/blocks/{height} took no caller, so a certificate revoked on the ledger was still
    # answered there, against §6.1; the matrix above probes the entries, not the routes.
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    assert len(routes) >= 20  # the routes create_app mounts under /v1
    assert [f"{sorted(r.methods)} {r.path}" for r in routes if not judges_its_caller(r.dependant)] == []


def test_a_revoked_certificate_is_refused_on_the_open_routes_of_the_app(pki, service):
    pem = pki.issue("tianjin", Role.PARTNER, "leaked-reader", start=NOW - timedelta(minutes=1), days=30)
    from cryptography import x509

    serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
    admin = AdminClient(pki.network.admin_keys["tianjin"], pki.net.genesis.chain_id)
    asyncio.run(service.submit(admin.sign("cert.revoke", {"serial": serial, "reason": "key_leaked"}), wait=False, timeout_s=0))
    service.produce()
    with TestClient(presenting(create_app(service), pem)) as client:
        for path in ("/v1/status", "/v1/blocks/1", "/v1/headers/1", "/v1/regions"):
            response = client.get(path)
            assert (response.status_code, response.json()["code"]) == (403, "auth.revoked"), path
        assert client.get("/healthz").status_code == 200  # a probe reads no certificate (§7)
    with TestClient(create_app(service)) as anonymous:
        assert anonymous.get("/v1/status").status_code == anonymous.get("/v1/blocks/1").status_code == 200


def test_a_caller_carries_what_a_use_record_needs(pki):
    authenticator = Authenticator([__import__("cryptography").x509.load_der_x509_certificate(r.ca_cert) for r in pki.net.genesis.regions])
    caller = authenticator.identify([pki.pem("beijing", Role.STAFF)], None)
    assert isinstance(caller, Caller) and caller.recorded and len(caller.certificate) == 32
    assert caller.to_record() == {"region": "beijing", "role": "staff", "name": "beijing-window-1", "certificate": caller.certificate}
    assert not authenticator.identify([pki.pem("beijing", Role.AUDITOR)], None).recorded


def limited_app(limits: ClientLimits, clock):
    app = FastAPI()
    state = {"busy": 0}

    @app.get("/x")
    async def x() -> dict:
        return state

    return LimitMiddleware(app, Limiter(limits, clock=clock))


def test_a_client_over_its_rate_gets_429_with_retry_after_and_others_do_not(pki):
    now = [0.0]
    app = limited_app(ClientLimits(rate=1, burst=3, anonymous_rate=1, anonymous_burst=2), lambda: now[0])
    with TestClient(presenting(app, pki.pem("tianjin", Role.PARTNER))) as eager, TestClient(presenting(app, pki.pem("hebei", Role.PARTNER))) as calm:
        assert [eager.get("/x").status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = eager.get("/x")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "api.rate_limited" and refused.headers["content-type"] == "application/problem+json"
        assert calm.get("/x").status_code == 200
        now[0] += 2.0
        assert eager.get("/x").status_code == 200


def test_requests_in_flight_are_capped_per_client():
    limiter = Limiter(ClientLimits(in_flight=2, burst=100, rate=100))
    assert limiter.acquire(b"a", True) is None and limiter.acquire(b"a", True) is None
    assert limiter.acquire(b"a", True) == 1.0
    assert limiter.acquire(b"b", True) is None
    limiter.release(b"a")
    assert limiter.acquire(b"a", True) is None
