"""The node's HTTP API application (docs/spec/api.md): `create_app` assembles it and does
nothing else. Routes live in api.routers, dependencies in api.deps, the error mapping in
api.errors, who may call what in api.auth, per-client limits in api.limits; the node behind it
is any NodeService (api.service). Must never start a server or open a store.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography import x509
from fastapi import FastAPI

from api.auth import Authenticator
from api.deps import Settings
from api.disconnect import ClientGoneMiddleware
from api.errors import install_error_handlers
from api.limits import Limiter, LimitMiddleware
from api.metrics import ApiMetrics, MetricsMiddleware
from api.routers import ROOT_ROUTERS, ROUTERS
from api.service import NodeService
from api.web import WEB_ROUTERS
from ledger.sigcache import SharedSignatureCache

API_PREFIX = "/v1"


def create_app(
    service: NodeService, settings: Settings | None = None, *, authenticator: Authenticator | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """An ASGI app serving `service` under /v1, its probes and metrics at the root (/healthz,
    /readyz, /metrics), and its OpenAPI schema at /openapi.json. Callers are identified by
    `authenticator` (default: against the CA certificates of the service's genesis regions, at
    the current time); `clock` (seconds since the epoch) dates the node's last block for /readyz."""
    app = FastAPI(
        title="eledger node API",
        version="1",
        description="Submit signed transactions, read committed blocks and the node's status (docs/spec/api.md).",
        docs_url=None,  # the interactive pages load scripts from a CDN; nodes serve no third-party assets
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings = settings if settings is not None else Settings()
    app.state.authenticator = authenticator if authenticator is not None else Authenticator(genesis_roots(service))
    app.state.limiter = Limiter(settings.client_limits)
    app.state.clock = clock
    app.state.signatures = SharedSignatureCache()  # seal signatures verdicts verified (pure checks)
    routes = [(API_PREFIX + route.path, route.methods) for router in ROUTERS for route in router.routes]  # type: ignore[attr-defined]
    routes += [(route.path, route.methods) for router in (*ROOT_ROUTERS, *WEB_ROUTERS) for route in router.routes]  # type: ignore[attr-defined]
    app.state.metrics = ApiMetrics(service, app.state.limiter, [*routes, (app.openapi_url or "/openapi.json", {"GET", "HEAD"})])
    app.add_middleware(ClientGoneMiddleware)  # inside the metrics, which count what it ended as 499
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(LimitMiddleware, limiter=app.state.limiter)  # outermost: refuses before anything runs
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router in ROOT_ROUTERS:
        app.include_router(router)
    for router in WEB_ROUTERS:  # the window page and the explorer (api.web)
        app.include_router(router)
    return app


def genesis_roots(service: NodeService) -> list[x509.Certificate]:
    """The region CA certificates the genesis of `service` lists (pki.md §1)."""
    return [x509.load_der_x509_certificate(region.ca_cert) for region in service.genesis.regions]
