"""Stand-ins for the verification routes of docs/spec/api.md (POST /v1/verify, GET
/v1/licences/{id}/bundle, POST /v1/receipts/committed) for the client tests, while api/ gains
the real ones on another branch. `add_missing_routes(app, ...)` puts them after the app's own
routes, so once api/ serves one, the tests run against the real route.

They keep the contract the real routes keep, with the ledger's own functions: the caller from
its certificate (api.auth), a purpose required of partner and staff callers
(`auth.purpose_required`, 422), the verdict of ledger.verify over the tip's state with the
licence's metadata (ledger.licence_query) and `as_of`; a use record signed as a receipt by the
node's validator key (ledger.receipt) and submitted as a use.record transaction so that it is
committed; the bundle's canonical bytes (ledger.licence_bundle) with the receipt of a recorded
caller in the Eledger-Receipt header; the committed form of a receipt. No shortcut in what is
judged or signed: only the plumbing of the API process is left out.
"""

from __future__ import annotations

import os
import threading
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, caller_for
from ledger.crypto import PrivateKey
from ledger.document import LicenceDocument
from ledger.encoding import b64encode, encode
from ledger.errors import ValidationError
from ledger.licence_bundle import build_licence_bundle
from ledger.licence_query import describe_licence
from ledger.qr import decode_qr
from ledger.receipt import Receipt, build_committed_receipt, sign_receipt, verify_receipt
from ledger.uses import record_tx
from ledger.verify import verify_licence
from ledger.view import ChainView

RECEIPT_HEADER = "Eledger-Receipt"


class _TipState:
    """The flat state at a view's tip, with the view's height (what a verdict reports)."""

    def __init__(self, view: ChainView) -> None:
        self.height = view.height
        self._state = view.state()

    def get(self, key: bytes) -> bytes | None:
        return self._state.get(key)


class Uses:
    """The node's use records: numbered, signed as receipts by its validator key, and submitted
    as use.record transactions (the node's journal does this in a real node)."""

    def __init__(self, service, key: PrivateKey) -> None:
        self.service = service
        self.key = key
        self.seq = 0
        self.lock = threading.Lock()

    async def record(self, caller: Caller, purpose: dict, **fields: object) -> dict[str, object]:
        with self.lock:
            seq, self.seq = self.seq, self.seq + 1
        record = {
            "asking_region": fields["asking_region"], "height": fields["height"], "licence_id": fields["licence_id"],
            "node": self.service.node, "presented": fields["presented"], "purpose": purpose, "seq": seq, "time": fields["time"],
            "verdict": fields["verdict"],
            "caller": {"certificate": b64encode(caller.certificate or b""), "name": caller.name, "region": caller.region, "role": caller.role},
        }
        receipt = sign_receipt(record, self.key, self.service.genesis.chain_id)
        await self.service.submit(record_tx(self.service.genesis.chain_id, self.key, [receipt.record], os.urandom(16)), wait=False, timeout_s=0)
        return orjson.loads(receipt.to_bytes())


def _purpose(caller: Caller, purpose: object, field: str) -> dict | None:
    if purpose is None:
        if caller.recorded:
            raise ValidationError(f"a {caller.role} caller must state the purpose of use", code="auth.purpose_required", field=field)
        return None
    return dict(purpose)  # type: ignore[arg-type]


def _as_of(view: ChainView) -> dict[str, object]:
    tip = view.tip
    return {"height": tip.height, "block_hash": b64encode(tip.hash), "state_root": b64encode(tip.state_root), "time": tip.time}


def _router(uses: Uses) -> APIRouter:
    router = APIRouter()
    service = uses.service

    @router.post("/v1/verify")
    async def verify(request: Request, caller: Annotated[Caller, Depends(caller_for("verify"))]) -> Response:
        asked = orjson.loads(await request.body())
        region = asked.get("asking_region", caller.region)
        purpose = _purpose(caller, asked.get("purpose"), "purpose")
        now = service.chain.tip.time + 1

        def judge() -> dict[str, object]:
            view = service.view()
            state = _TipState(view)
            document = LicenceDocument.from_json(asked["document"]) if "document" in asked else None
            claim = decode_qr(asked["qr"]) if "qr" in asked else None
            verdict = verify_licence(
                state, chain_id=view.chain_id, at_time=asked.get("at_time", now), asking_region=region,
                licence_id=asked.get("licence_id"), document=document, claim=claim,
            )
            body = orjson.loads(encode(verdict.to_json()))
            body["licence"] = None if verdict.record is None else orjson.loads(encode(describe_licence(state, verdict.record, verdict.at_time)))
            body["as_of"] = _as_of(view)
            return body

        body = await run_in_threadpool(judge)
        body["receipt"] = None
        if purpose is not None:
            body["receipt"] = await uses.record(
                caller, purpose, licence_id=body["licence_id"], asking_region=region, presented=body["presented"],
                verdict=body["verdict"], height=body["height"], time=now,
            )
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("/v1/licences/{licence_id}/bundle")
    async def bundle(
        licence_id: str, caller: Annotated[Caller, Depends(caller_for("bundle"))], region: str | None = None, height: int | None = None,
        item_code: Annotated[str | None, Query()] = None, item_name: Annotated[str | None, Query()] = None, serial: Annotated[str | None, Query()] = None,
    ) -> Response:
        asked = region or caller.region
        given = None if item_code is None else {"item_code": item_code, "item_name": item_name, "serial": serial}
        purpose = _purpose(caller, given, "query.item_code")
        view = await run_in_threadpool(service.view)
        proof = await run_in_threadpool(build_licence_bundle, view, licence_id, asked, height)
        headers = {}
        if purpose is not None:
            state = _TipState(view)
            verdict = verify_licence(state, chain_id=view.chain_id, at_time=proof.header.time, asking_region=asked, licence_id=licence_id)
            receipt = await uses.record(
                caller, purpose, licence_id=licence_id, asking_region=asked, presented="id", verdict=verdict.verdict.value,
                height=proof.header.height, time=service.chain.tip.time + 1,
            )
            headers[RECEIPT_HEADER] = b64encode(Receipt.from_json(receipt).to_bytes())
        return Response(proof.to_bytes(), media_type="application/json", headers=headers)

    @router.post("/v1/receipts/committed")
    async def committed(request: Request, caller: Annotated[Caller, Depends(caller_for("receipt"))]) -> Response:
        receipt = Receipt.from_json(orjson.loads(await request.body()))
        verify_receipt(receipt, service.genesis)
        try:
            raw = build_committed_receipt(service.view(), receipt).to_bytes()
        except ValidationError as exc:
            if exc.code != "receipt.not_committed":
                raise
            raise ValidationError(str(exc), code=exc.code, **{**exc.fields, "retry_after": 2}) from None
        return Response(raw, media_type="application/json")

    return router


def add_missing_routes(app: FastAPI, service, key: PrivateKey) -> FastAPI:
    """Append the stand-ins after `app`'s own routes. A request is answered by the first route
    that matches it, so where api/ serves a route, its own answers and the stand-in is never
    reached; the stand-in answers only where api/ has no such route."""
    app.router.routes.extend(_router(Uses(service, key)).routes)
    return app
