"""The API's routers, one per resource, all mounted under /v1 by api.main (docs/spec/api.md §2).

Routers translate HTTP to NodeService calls and back; they must never hold node logic nor
build error responses themselves (raise a LedgerError; api.errors maps it).
"""

from __future__ import annotations

from api.routers import blocks, headers, health, licences, log, receipts, registry, scenarios, seals, status, transactions, uses, verify

#: In the order requests are matched: the framework tries each router in turn, so the one that
#: carries the most traffic (POST /v1/verify) comes first.
ROUTERS = (
    verify.router, transactions.router, status.router, blocks.router, headers.router, log.router, seals.router, registry.router,
    scenarios.router, licences.router, uses.router, receipts.router,
)
#: Mounted at the root, not under /v1: the probes and the metrics (api.md §7, §8).
ROOT_ROUTERS = (health.router,)
