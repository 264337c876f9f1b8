"""GET /healthz, GET /readyz and GET /metrics: the probes and the metrics of a node (api.md §7,
§8), outside /v1 (they are not part of the versioned API).

/healthz answers as long as the API process runs, asking nothing of the node. /readyz answers
503 unless the node can take requests: the API process reaches it, it announced its chain, it
is not syncing, and its last block is at most `Settings.max_block_age_s` old by this process's
clock. /metrics renders api.metrics. All three read only what the node last reported
(`NodeService.report()`): a probe never waits on the node, and never reads a client certificate.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import ServiceDep, SettingsDep
from api.errors import ApiError, error_responses
from api.metrics import CONTENT_TYPE, ApiMetrics
from api.read_schemas import Health, Readiness
from api.service import NodeReport

ProbeCaller = CallerOf("health", identify=False)  # answered without reading a certificate or the chain
MetricsCaller = CallerOf("metrics", identify=False)
router = APIRouter(tags=["node"])

METRICS_EXAMPLE = """# HELP eledger_height Height of the node's last committed block.
# TYPE eledger_height gauge
eledger_height 15.0
"""


@router.get("/healthz", response_model=Health, responses=error_responses())
async def get_health(caller: ProbeCaller) -> Health:
    """The API process answers (nothing else is checked)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=error_responses(503))
async def get_ready(caller: ProbeCaller, request: Request, service: ServiceDep, settings: SettingsDep) -> Readiness:
    """Ready to take requests, or 503 naming why not (api.md §7)."""
    now_ms = int(request.app.state.clock() * 1000)
    return judge_readiness(service.report(), now_ms, settings.max_block_age_s)


def judge_readiness(report: NodeReport, now_ms: int, max_block_age_s: float) -> Readiness:
    """The readiness of a node that last reported `report`, at `now_ms`. Raises ApiError, 503,
    with the first reason that holds: "gateway.closed" (the API process lost its node),
    "node.starting" (no chain announced yet), "node.syncing", "node.stalled" (the last block is
    older than `max_block_age_s`)."""
    if not report.reachable:
        raise ApiError("the API process has lost its node (it is stopping or restarting)", code="gateway.closed")
    if not report.started or report.block_time is None:
        raise ApiError("the node has not announced its chain yet", code="node.starting")
    if report.syncing:
        raise ApiError(f"the node is catching up by block sync (at height {report.height})", code="node.syncing")
    age_ms = now_ms - report.block_time
    if age_ms > max_block_age_s * 1000:
        raise ApiError(
            f"the node's last block (height {report.height}) is {age_ms / 1000:.0f} s old, more than {max_block_age_s:g} s: "
            "the network commits no blocks, or this node is cut off from it",
            code="node.stalled", age_ms=age_ms,
        )
    return Readiness(status="ready", height=report.height, block_time=report.block_time, block_age_ms=max(0, age_ms))


@router.get(
    "/metrics", response_class=Response,
    responses={200: {"description": "Prometheus text exposition format 0.0.4", "content": {CONTENT_TYPE: {"schema": {"type": "string"}, "example": METRICS_EXAMPLE}}}, **error_responses()},
)
async def get_metrics(caller: MetricsCaller, request: Request) -> Response:
    """Every metric of api.md §8 in the Prometheus text format."""
    metrics: ApiMetrics = request.app.state.metrics
    return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE)
