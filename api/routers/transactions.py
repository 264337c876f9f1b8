"""POST /v1/transactions: submit a signed transaction, optionally waiting for its commit
(api.md §2.1).

The body is read within its size limit, parsed as JSON and checked by `Tx.from_json` (api.deps);
the NodeService admits it to the mempool and, with `wait=commit`, awaits the commit for at most
`timeout` seconds. Must never answer 200 for a transaction that is not committed, nor drop a
transaction whose wait expired (it stays in the mempool).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DEFAULT_WAIT_S, TimeoutQuery, TxBody, ServiceDep, Wait, WaitQuery
from api.errors import error_responses
from api.schemas import ErrorDetail, Submitted, SubmitTimeout, TxJson, inline_json_schema
from api.service import SubmitStatus

router = APIRouter(tags=["transactions"])

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
        504: {"model": SubmitTimeout, "description": "not committed within `timeout`; still in the mempool"},
        **error_responses(400, 409, 413, 422, 503),
    },
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def submit_transaction(
    tx: TxBody, service: ServiceDep, wait: WaitQuery = Wait.NONE, timeout: TimeoutQuery = DEFAULT_WAIT_S,
) -> JSONResponse:
    """Admit the transaction; with wait=commit, answer when it is committed or `timeout` expired."""
    result = await service.submit(tx, wait=wait is Wait.COMMIT, timeout_s=timeout)
    if result.status is SubmitStatus.TIMEOUT:
        detail = ErrorDetail(
            code="api.commit_timeout",
            message=f"not committed within {timeout:g} s; the transaction stays in the mempool and may still be committed",
        )
        return JSONResponse(SubmitTimeout(tx_id=result.tx_id, status="timeout", error=detail).model_dump(exclude_none=True), status_code=504)
    body = Submitted(tx_id=result.tx_id, status=result.status.value, height=result.height, index=result.index)
    status = 200 if result.status is SubmitStatus.COMMITTED else 202
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)
