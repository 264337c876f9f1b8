"""Receipts and committed use records (docs/spec/api.md §2.17–§2.18, receipts.md, domain.md §10.4).

`POST /v1/receipts/committed` gives a receipt back with its place and proof once its record is
committed (404 `receipt.not_committed` with Retry-After before); `GET /v1/uses/{use_id}` gives
the committed record `<node>:<seq>` and its place. A receipt is verified against the genesis
before anything is read; who may read which record is api.access's. Reads run in a worker
thread over one view.

Must never answer for a receipt it has not verified, nor show a record to a caller api.access
refuses.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api import examples
from api.access import check_record_reader
from api.auth import Caller, CallerOf
from api.deps import ServiceDep, TextPath, parse_json, read_body
from api.errors import CALLER_ROUTE, error_responses, problem_content
from api.licence_schemas import CommittedReceiptJson, ReceiptJson, UseAnswer, answer, request_body
from api.reading import TipState, as_of
from api.spelling import USE_ID_PATTERN
from api.service import NodeService
from ledger.errors import StoreError, ValidationError
from ledger.receipt import MAX_RECEIPT_BYTES, Receipt, build_committed_receipt, verify_receipt
from ledger.uses import find_record, parse_use_id

#: api.md §5: a receipt in either form, in any formatting.
MAX_RECEIPT_BODY_BYTES = 2 * MAX_RECEIPT_BYTES
#: api.md §2.17: how long to wait before asking again for a receipt not yet committed.
RETRY_AFTER_S = 2

router = APIRouter(tags=["receipts"])
ReceiptCaller = CallerOf("receipt")


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")



@router.post(
    "/receipts/committed",
    response_class=Response,
    responses={
        200: answer(CommittedReceiptJson, "the receipt with its place and proof (receipts.md §2), as canonical JSON", {"committed": examples.COMMITTED_RECEIPT}),
        404: {"description": "`receipt.not_committed`: the record is not committed yet; ask again after Retry-After seconds", "content": problem_content()},
        **error_responses(400, 413, 422, *CALLER_ROUTE),
    },
    openapi_extra={"requestBody": request_body(ReceiptJson, "a receipt as the node answered it (either form, any formatting)", {"receipt": examples.RECEIPT})},
)
async def post_committed_receipt(request: Request, caller: ReceiptCaller, service: ServiceDep) -> Response:
    """The committed form of a receipt this chain's validator signed (receipts.md §2)."""
    obj = parse_json(await read_body(request, MAX_RECEIPT_BODY_BYTES))
    raw = await run_in_threadpool(commit_receipt, service, caller, obj)
    return Response(raw, media_type="application/json")


def commit_receipt(service: NodeService, caller: Caller, obj: object) -> bytes:
    """The committed receipt's canonical bytes (blocking). Raises verify_receipt's `receipt.*`
    errors for a receipt that does not verify against the genesis, api.access's refusal, and
    "receipt.not_committed" (404, with Retry-After) while the record is not committed."""
    receipt = Receipt.from_json(obj)
    verify_receipt(receipt, service.genesis)
    view = service.view()
    check_record_reader(caller, receipt.record, TipState(view), "receipt.record")
    try:
        return build_committed_receipt(view, receipt).to_bytes()
    except ValidationError as exc:
        if exc.code != "receipt.not_committed":
            raise
        raise ValidationError(
            f"{exc}; records are committed within a few blocks of their answer: ask again in {RETRY_AFTER_S} s",
            code=exc.code, **{**exc.fields, "retry_after": RETRY_AFTER_S},
        ) from None


UseIdPath = TextPath(
    USE_ID_PATTERN, "a use record's name <node>:<seq>, seq in decimal without leading zeros",
    "a use record's name `<node>:<seq>`", check=parse_use_id, examples=["beijing-1:42"],
)


@router.get(
    "/uses/{use_id}",
    response_model=UseAnswer,
    responses={200: answer(UseAnswer, "the committed record and its place", {"committed": examples.USE_ANSWER}), **error_responses(404, 422, *CALLER_ROUTE)},
)
async def get_use(use_id: UseIdPath, caller: ReceiptCaller, service: ServiceDep) -> Response:
    """The committed use record `<node>:<seq>` and where it is (domain.md §10.4)."""
    node, seq = parse_use_id(use_id, "path.use_id")
    return _json(await run_in_threadpool(read_use, service, caller, node, seq))


def read_use(service: NodeService, caller: Caller, node: str, seq: int) -> dict[str, object]:
    view = service.view()
    found = find_record(view, node, seq)
    if found is None:
        raise ValidationError(
            f"no use record {node}:{seq} is committed at height {view.height}; a record is committed within a few blocks of its answer",
            code="use.not_found", field="path.use_id",
        )
    record, place = found
    check_record_reader(caller, record, TipState(view), "path.use_id")
    header = view.header(place.height)
    if header is None:
        raise StoreError(f"the store lacks block {place.height}", code="store.missing_block", height=place.height)
    return {"id": f"{node}:{seq}", "record": record, "place": place._asdict(), "block_time": header.time, "as_of": as_of(view)}
