"""GET /v1/headers/{height}: a committed block's header and its commit certificate, for light
clients (api.md §2.7).

Like blocks (api.md §2.3), the answer is canonical JSON built around the stored canonical bytes
of the header and the commit, never parsed: a client re-encodes `header`, hashes it to `hash`,
and checks `commit` against the validator set for that height (blocks.md §4) without trusting
the node. Reads in a worker thread. Must never answer for a height above the tip.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import HeightPath, ServiceDep
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.read_schemas import HeaderAtHeight
from api.service import NodeService
from ledger.encoding import b64encode
from ledger.errors import StoreError
from ledger.hashing import tagged_hash

router = APIRouter(tags=["blocks"])
HeadersCaller = CallerOf("headers")


@router.get("/headers/{height}", response_model=HeaderAtHeight, responses=error_responses(404, 422, *CALLER_ROUTE))
async def get_header(height: HeightPath, service: ServiceDep, caller: HeadersCaller) -> Response:
    """The header of block `height` and its commit. 404 "api.no_block" above the tip."""
    return Response(await run_in_threadpool(read_header, service, height), media_type="application/json")


def read_header(service: NodeService, height: int) -> bytes:
    """The answer for header `height` (blocking reads). Raises ApiError "api.no_block" above the
    tip, StoreError "store.missing_commit" / "store.missing_block" for a damaged store."""
    view = service.view()
    header, commit = view.header_bytes(height), view.commit_bytes(height)
    if header is None:
        raise ApiError(f"no committed block at height {height}; GET /v1/status gives the tip height", code="api.no_block", field="path.height")
    if commit is None:
        raise StoreError(f"block {height} is stored without its commit", code="store.missing_commit", field="path.height")
    return render_header(height, header, commit)


def render_header(height: int, header: bytes, commit: bytes) -> bytes:
    """`{"commit", "hash", "header", "height"}` as canonical JSON (members in canonical order,
    encoding.md §3.5) around the stored canonical bytes of the header and the commit."""
    return b"".join((
        b'{"commit":', commit,
        b',"hash":"', b64encode(tagged_hash("header", header)).encode("ascii"),
        b'","header":', header,
        b',"height":', str(height).encode("ascii"), b"}",
    ))
