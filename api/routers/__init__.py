"""The API's routers, one per resource, all mounted under /v1 by api.main (docs/spec/api.md §2).

Routers translate HTTP to NodeService calls and back; they must never hold node logic nor
build error responses themselves (raise a LedgerError; api.errors maps it).
"""

from __future__ import annotations

from api.routers import blocks, licences, receipts, status, transactions, uses, verify

ROUTERS = (transactions.router, status.router, blocks.router, verify.router, licences.router, uses.router, receipts.router)
