"""The node's HTTP API application (docs/spec/api.md): `create_app` assembles it and does
nothing else. Routes live in api.routers, dependencies in api.deps, the error mapping in
api.errors; the node behind it is any NodeService (api.service). Must never start a server,
open a store or read the clock.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.deps import Settings
from api.errors import install_error_handlers
from api.routers import ROUTERS
from api.service import NodeService

API_PREFIX = "/v1"


def create_app(service: NodeService, settings: Settings | None = None) -> FastAPI:
    """An ASGI app serving `service` under /v1, with its OpenAPI schema at /openapi.json."""
    app = FastAPI(
        title="eledger node API",
        version="1",
        description="Submit signed transactions, read committed blocks and the node's status (docs/spec/api.md).",
        docs_url=None,  # the interactive pages load scripts from a CDN; nodes serve no third-party assets
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings if settings is not None else Settings()
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app
