"""POST /v1/transactions: submit a signed transaction, optionally waiting for its commit
(api.md §2.1); POST /v1/transactions/batch: submit up to 1000 of them in one request (§2.4);
GET /v1/transactions/{id}: pending, committed with its inclusion proofs, or unknown (§2.5).

The body is read within its size limit, parsed as JSON and checked by `Tx.from_json` (api.deps);
the NodeService admits it to the mempool and, with `wait=commit`, awaits the commit for at most
`timeout` seconds. A batch is read within its own size limit, and each of its entries is parsed
and admitted on its own: a bad one is reported at its position and fails none of the others.
A lookup reads the committed chain in a worker thread and asks the node's mempool only when the
chain does not hold the transaction. Must never answer "committed" for a transaction that is not
committed, nor drop a transaction whose wait expired (it stays in the mempool).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import DEFAULT_WAIT_S, TimeoutQuery, TxBody, TxIdPath, ServiceDep, Wait, WaitQuery, parse_json, read_body
from api.errors import CALLER_ROUTE, ApiError, error_responses, problem_content, problem_of, problem_response
from api.read_schemas import TxCommitted, TxPending
from api.routing import literal_first
from api.schemas import BatchJson, BatchSubmitted, CommitTimeout, Problem, Submitted, TxJson, inline_json_schema
from api.service import NodeService, SubmitResult, SubmitStatus
from ledger.encoding import b64decode, b64encode, decode, encode
from ledger.errors import LedgerError, ValidationError
from ledger.log_proofs import CommittedTx, find_transaction
from ledger.tx import Tx

#: api.md §5: a batch body may hold 1000 transactions of any formatting, up to 8 MiB in all.
MAX_BATCH_BODY_BYTES = 8 << 20
MAX_BATCH_TXS = 1000

router = APIRouter(tags=["transactions"], route_class=literal_first())  # POST /transactions/batch beside GET /transactions/{tx_id}
TransactionCaller = CallerOf("transaction")
SubmitCaller = CallerOf("submit")

_REQUEST_BODY = {
    "required": True,
    "description": "a signed transaction envelope (transactions.md §1); any JSON formatting, at most 1 MiB",
    "content": {"application/json": {"schema": inline_json_schema(TxJson)}},
}


@router.post(
    "/transactions",
    status_code=202,
    response_model=Submitted,
    responses={
        200: {"model": Submitted, "description": "committed (wait=commit)"},
        202: {"model": Submitted, "description": "accepted into the mempool"},
        504: {"description": "not committed within `timeout`; still in the mempool", "content": problem_content(CommitTimeout)},
        **error_responses(400, 409, 413, 422, *CALLER_ROUTE),
    },
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def submit_transaction(
    caller: SubmitCaller, tx: TxBody, service: ServiceDep, wait: WaitQuery = Wait.NONE, timeout: TimeoutQuery = DEFAULT_WAIT_S,
) -> JSONResponse:
    """Admit the transaction; with wait=commit, answer when it is committed or `timeout` expired."""
    result = await service.submit(tx, wait=wait is Wait.COMMIT, timeout_s=timeout)
    if result.status is SubmitStatus.TIMEOUT:
        return problem_response(CommitTimeout(**commit_timeout(timeout).model_dump(exclude_none=True), tx_id=b64encode(result.tx_id)))
    body = Submitted(tx_id=result.tx_id, status=result.status.value, height=result.height, index=result.index)
    status = 200 if result.status is SubmitStatus.COMMITTED else 202
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


_BATCH_BODY = {
    "required": True,
    "description": f"`{{\"txs\": [...]}}` with 1 to {MAX_BATCH_TXS} signed transactions; at most 8 MiB",
    "content": {"application/json": {"schema": inline_json_schema(BatchJson)}},
}


def read_batch(data: bytes) -> list[object]:
    """The entries of a batch body (api.md §2.4), not yet parsed as transactions. Raises ApiError
    "api.bad_json" (400) as api.deps.parse_json does, ValidationError "validation.type" /
    "validation.missing_field" / "validation.unknown_field" (422) for a body that is not
    `{"txs": [...]}`, ApiError "api.batch_empty" (422) for no entries and "api.too_large" (413)
    for more than MAX_BATCH_TXS."""
    obj = parse_json(data)
    if not isinstance(obj, dict):
        raise ValidationError("the body must be an object {\"txs\": [...]}", code="validation.type", field="body")
    extra = sorted(set(obj) - {"txs"})
    if extra:
        raise ValidationError(f"the body has the unknown member {extra[0]!r}", code="validation.unknown_field", field=extra[0])
    if "txs" not in obj:
        raise ValidationError("the body lacks the member \"txs\"", code="validation.missing_field", field="txs")
    entries = obj["txs"]
    if not isinstance(entries, list):
        raise ValidationError("\"txs\" must be an array of transactions", code="validation.type", field="txs")
    if not entries:
        raise ApiError("the batch holds no transactions; send 1 or more", code="api.batch_empty", field="txs")
    if len(entries) > MAX_BATCH_TXS:
        raise ApiError(f"the batch holds {len(entries)} transactions; at most {MAX_BATCH_TXS}", code="api.too_large", field="txs")
    return entries


def commit_timeout(timeout: float) -> Problem:
    """The problem "api.commit_timeout" (504) of a transaction admitted but not committed within
    `timeout` seconds (api.md §2.1, §2.4)."""
    message = f"not committed within {timeout:g} s; the transaction stays in the mempool and may still be committed"
    return problem_of(ApiError(message, code="api.commit_timeout"))


def render_entry(outcome: SubmitResult | LedgerError, tx_id: bytes | None, timeout: float) -> dict[str, object]:
    """One member of `results` (api.md §2.4) for the outcome of the tx `tx_id` (None: unparsed)."""
    if isinstance(outcome, LedgerError):
        entry: dict[str, object] = {"status": "rejected", "error": problem_of(outcome).model_dump(exclude_none=True)}
        if tx_id is not None:
            entry["tx_id"] = b64encode(tx_id)
        return entry
    entry = {"tx_id": b64encode(outcome.tx_id), "status": outcome.status.value}
    if outcome.status is SubmitStatus.COMMITTED:
        entry["height"], entry["index"] = outcome.height, outcome.index
    elif outcome.status is SubmitStatus.TIMEOUT:
        entry["error"] = commit_timeout(timeout).model_dump(exclude_none=True)
    return entry


@router.post(
    "/transactions/batch",
    status_code=200,
    response_model=BatchSubmitted,
    responses={
        200: {"model": BatchSubmitted, "description": "one result per transaction, in the order sent"},
        **error_responses(400, 413, 422, *CALLER_ROUTE),
    },
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def submit_batch(
    caller: SubmitCaller, request: Request, service: ServiceDep, wait: WaitQuery = Wait.NONE, timeout: TimeoutQuery = DEFAULT_WAIT_S,
) -> JSONResponse:
    """Parse and admit each transaction of the batch in order; with wait=commit, answer when all
    admitted ones are committed or `timeout` expired (api.md §2.4)."""
    entries = read_batch(await read_body(request, MAX_BATCH_BODY_BYTES))
    parsed: list[Tx | LedgerError] = []
    for entry in entries:
        try:
            parsed.append(Tx.from_json(entry))
        except LedgerError as exc:
            parsed.append(exc)
    txs = [item for item in parsed if isinstance(item, Tx)]
    outcomes = iter(await service.submit_many(txs, wait=wait is Wait.COMMIT, timeout_s=timeout) if txs else [])
    results = [
        render_entry(next(outcomes), item.id, timeout) if isinstance(item, Tx) else render_entry(item, None, timeout)
        for item in parsed
    ]
    return JSONResponse({"results": results})


@router.get(
    "/transactions/{tx_id}",
    response_model=TxCommitted | TxPending,
    responses={200: {"description": "committed (with its proofs) or pending in this node's mempool"}, **error_responses(404, 422, *CALLER_ROUTE)},
)
async def get_transaction(tx_id: TxIdPath, service: ServiceDep, caller: TransactionCaller) -> Response:
    """Where the transaction is: committed (with its inclusion proofs), pending in this node's
    mempool, or 404 "api.no_transaction". The chain is read first; the mempool is asked only if
    the chain does not hold it, and the chain is read again after a negative answer, so a
    transaction committed meanwhile is never reported unknown (api.md §2.5)."""
    wanted = b64decode(tx_id)
    found, height = await run_in_threadpool(lookup_committed, service, wanted)
    if found is None:
        if await service.pending(wanted):
            body = TxPending(tx_id=tx_id, status="pending", tip_height=height)
            return JSONResponse(body.model_dump())
        found, height = await run_in_threadpool(lookup_committed, service, wanted)
    if found is None:
        raise ApiError(
            f"transaction {tx_id} is not committed as of height {height} and not in this node's mempool; "
            "another node's mempool may hold it, or it was never admitted",
            code="api.no_transaction", field="path.tx_id",
        )
    return Response(render_committed(found), media_type="application/json")


def lookup_committed(service: NodeService, tx_id: bytes) -> tuple[CommittedTx | None, int]:
    """The committed transaction `tx_id` with its proofs (None if not committed), and the height
    read (blocking reads)."""
    view = service.view()
    return find_transaction(view, tx_id), view.height


def render_committed(found: CommittedTx) -> bytes:
    """The committed answer (api.md §2.5) as canonical JSON: `tx` re-encodes to the log's leaf."""
    return encode({
        "tx_id": found.tx_id, "status": "committed", "height": found.height, "index": found.index, "time": found.time,
        "log_index": found.log_index, "tx": decode(found.tx),
        "inclusion": {"block": found.at_block.to_json(), "tip": found.at_tip.to_json()},
    })
