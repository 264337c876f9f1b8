"""GET /v1/status: the node's chain tip, validators, peers, mempool and sync state (api.md §2.2).

Must never compute anything about the node itself: the NodeService reports, this route renders.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CallerOf
from api.deps import ServiceDep
from api.errors import CALLER_ROUTE, error_responses
from api.schemas import NodeStatus

StatusCaller = CallerOf("status")
router = APIRouter(tags=["node"])


@router.get("/status", response_model=NodeStatus, responses=error_responses(*CALLER_ROUTE))
async def get_status(service: ServiceDep, caller: StatusCaller) -> NodeStatus:
    """The node's status; binary values are base64url. Open to anyone; a presented certificate
    is judged (api.md §6.1)."""
    return NodeStatus.model_validate(await service.status())
