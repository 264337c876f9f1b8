"""GET /v1/blocks/{height}: a committed block with its commit certificate (api.md §2.3).

The answer is canonical JSON (encoding.md §3) built from the stored canonical bytes of the block
and the commit, which are sent as stored, never parsed: a client can re-encode `block` and get
exactly the bytes whose header hash is `hash`, and check `commit` against the validators
(blocks.md §4). The store is read in a worker thread, never on the event loop. Must never
re-encode a block in another form nor answer for a height above the tip.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import HeightPath, ServiceDep
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.schemas import BlockAtHeight
from api.service import NodeService
from ledger.encoding import b64encode
from ledger.errors import StoreError
from ledger.hashing import tagged_hash

BlocksCaller = CallerOf("blocks")
router = APIRouter(tags=["blocks"])


@router.get("/blocks/{height}", response_model=BlockAtHeight, responses=error_responses(404, 422, *CALLER_ROUTE))
async def get_block(height: HeightPath, service: ServiceDep, caller: BlocksCaller) -> Response:
    """Block `height` and its commit. 404 "api.no_block" above the tip. Open to anyone; a
    presented certificate is judged (api.md §6.1)."""
    return Response(await run_in_threadpool(read_block, service, height), media_type="application/json")


def read_block(service: NodeService, height: int) -> bytes:
    """The answer for block `height` (blocking reads). Raises ApiError "api.no_block" above the
    tip, StoreError "store.missing_commit" / "store.missing_block" for a damaged store."""
    view = service.view()
    block, header, commit = view.block_bytes(height), view.header_bytes(height), view.commit_bytes(height)
    if block is None:
        raise ApiError(f"no committed block at height {height}; GET /v1/status gives the tip height", code="api.no_block", field="path.height")
    if commit is None:
        raise StoreError(f"block {height} is stored without its commit", code="store.missing_commit", field="path.height")
    if header is None:
        raise StoreError(f"block {height} is stored without its header", code="store.missing_block", field="path.height")
    return render_block(height, block, tagged_hash("header", header), commit)


def render_block(height: int, block: bytes, block_hash: bytes, commit: bytes) -> bytes:
    """`{"block", "commit", "hash", "height"}` as canonical JSON: the members are written in
    canonical order (encoding.md §3.5) around the stored canonical bytes of the block and the
    commit; `block_hash` is the hash of the block's header (blocks.md §1)."""
    return b"".join((
        b'{"block":', block,
        b',"commit":', commit,
        b',"hash":"', b64encode(block_hash).encode("ascii"),
        b'","height":', str(height).encode("ascii"), b"}",
    ))
