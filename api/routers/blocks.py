"""GET /v1/blocks/{height}: a committed block with its commit certificate (api.md §2.3).

The answer is canonical JSON (encoding.md §3) built from the stored canonical bytes of the block
and the commit, so a client can re-encode `block` and get exactly the bytes whose header hash is
`hash`, and check `commit` against the validators (blocks.md §4). Must never re-encode a block
in another form nor answer for a height above the tip.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import HeightPath, ServiceDep
from api.errors import ApiError, error_responses
from api.schemas import BlockAtHeight
from ledger.block import Block
from ledger.commit import Commit
from ledger.encoding import b64encode
from ledger.errors import StoreError

router = APIRouter(tags=["blocks"])


@router.get("/blocks/{height}", response_model=BlockAtHeight, responses=error_responses(404, 422, 500))
async def get_block(height: HeightPath, service: ServiceDep) -> Response:
    """Block `height` and its commit. 404 "api.no_block" above the tip."""
    block = service.block(height)
    if block is None:
        raise ApiError(f"no committed block at height {height}; GET /v1/status gives the tip height", code="api.no_block", field="path.height")
    commit = service.commit(height)
    if commit is None:
        raise StoreError(f"block {height} is stored without its commit", code="store.missing_commit", field="path.height")
    return Response(render_block(height, block, commit), media_type="application/json")


def render_block(height: int, block: Block, commit: Commit) -> bytes:
    """`{"block", "commit", "hash", "height"}` as canonical JSON: the members are written in
    canonical order (encoding.md §3.5) around the canonical bytes of the block and the commit."""
    return b"".join((
        b'{"block":', block.to_bytes(),
        b',"commit":', commit.to_bytes(),
        b',"hash":"', b64encode(block.hash).encode("ascii"),
        b'","height":', str(height).encode("ascii"), b"}",
    ))
