"""GET /v1/log/consistency?from=&to=: that the global log at one size extends the log at an
earlier one, with the blocks whose headers show those sizes (api.md §2.6).

A light client that trusted the log root of an older header checks, with the proof, that a newer
header's log still holds every transaction it held (hashing.md §2.3). Reads in a worker thread.
Must never prove a size the tip's log does not reach.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import MAX_HEIGHT, IntQuery, ServiceDep
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.read_schemas import LogConsistency
from api.service import NodeService
from ledger.encoding import encode
from ledger.log_proofs import prove_log_consistency

router = APIRouter(tags=["log"])
LogCaller = CallerOf("log")
FromQuery = IntQuery(0, MAX_HEIGHT, "the earlier log size (leaves)", alias="from", examples=[31])
ToQuery = IntQuery(0, MAX_HEIGHT, "the later log size (default: the log size at this node's tip)", examples=[40])


@router.get("/log/consistency", response_model=LogConsistency, responses=error_responses(404, 422, *CALLER_ROUTE))
async def get_consistency(service: ServiceDep, caller: LogCaller, first: FromQuery, to: ToQuery = None) -> Response:
    """The consistency proof from log size `from` to `to`. 422 "api.bad_range" when from > to;
    404 "api.no_log_size" when a size is beyond the tip's log."""
    return Response(await run_in_threadpool(read_consistency, service, first, to), media_type="application/json")


def read_consistency(service: NodeService, first: int, second: int | None) -> bytes:
    """The answer (canonical JSON) for sizes `first`, `second` (None: the tip's log size)."""
    view = service.view()
    size = view.tip.log_size
    if second is not None and first > second:
        raise ApiError(f"from ({first}) is larger than to ({second}): a log never shrinks", code="api.bad_range", field="query.from")
    end = size if second is None else second
    if max(first, end) > size:
        raise ApiError(
            f"the log holds {size} transactions as of height {view.height}; it has no size {max(first, end)} yet",
            code="api.no_log_size", field="query.from" if second is None else "query.to",
        )
    proof = prove_log_consistency(view, first, end)
    return encode({"from": proof.first.to_json(), "to": proof.second.to_json(), "proof": list(proof.proof)})
