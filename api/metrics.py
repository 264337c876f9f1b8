"""Prometheus metrics of a node and its API, served by GET /metrics (docs/spec/api.md §8).

Three sources. The node's last report (`NodeService.report()`: height, round, block interval,
commit latency, mempool, peers, transactions admitted and refused by code), read when /metrics
is scraped and never asked of the node then. The HTTP requests the app answers, timed by
`MetricsMiddleware` and labelled by route template. The verdicts of POST /v1/verify, which its
route counts with `count_verdict(verdict, region)`.

`count_verdict` is a function of this module (the verify route needs no handle on the app), so
its counter is one per process; a node's API process serves one app. Everything else belongs to
the app (`ApiMetrics`, made by api.main.create_app). Never blocks, never reaches the node, never
labels a series with text a caller chose: routes by their template, methods from a fixed set,
regions only as the verify route checked them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import compile_path

from api.disconnect import CLIENT_GONE_STATUS, client_gone
from api.limits import Limiter
from api.service import Distribution, NodeService
from ledger.validators import NAME_RE

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: The text exposition format 0.0.4, which every Prometheus reads (our names need no escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
VERDICTS = ("valid", "invalid", "indeterminate")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
#: Seconds; from a cached read to a wait=commit of up to 60 s.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

VERIFY_REQUESTS = Counter(
    "eledger_verify_requests", "Verifications answered (POST /v1/verify), by verdict and asking region.",
    ("verdict", "asking_region"), registry=None,
)


def count_verdict(verdict: object, region: str) -> None:
    """Count one verification answered with `verdict` ("valid", "invalid", "indeterminate", or
    ledger.verify.Outcome) for `region`, the asking region. Precondition: `region` is a region
    of the chain (the verdict was judged for it). Raises ValueError for another verdict or a
    text that is not a region name."""
    name = getattr(verdict, "value", verdict)
    if name not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not isinstance(region, str) or not NAME_RE.fullmatch(region):
        raise ValueError(f"{region!r} is not a region name")
    VERIFY_REQUESTS.labels(verdict=name, asking_region=region).inc()


class ApiMetrics:
    """The registry /metrics renders for one app: the node's report, HTTP latency (labelled by
    route template: `routes` are the app's (path template, methods), in its order), rate
    refusals of `limiter`, and the process's verdict counter."""

    def __init__(self, service: NodeService, limiter: Limiter, routes: Iterable[tuple[str, Iterable[str]]] = ()) -> None:
        self.routes: list[tuple[re.Pattern[str], str, frozenset[str]]] = [
            (compile_path(template)[0], template, frozenset(methods)) for template, methods in routes
        ]
        self.registry = CollectorRegistry()
        self.http = Histogram(
            "eledger_http_request_duration_seconds", "Time to answer an HTTP request, by method, route template and status.",
            ("method", "route", "status"), buckets=HTTP_BUCKETS, registry=self.registry,
        )
        self.registry.register(VERIFY_REQUESTS)
        self.registry.register(NodeCollector(service, limiter))

    def route_of(self, method: str, path: str) -> str:
        """The template of the first route that matches `path` and `method` (as the router picks
        it), else of the first that matches `path` (a 405), else UNMATCHED."""
        first = None
        for pattern, template, methods in self.routes:
            if pattern.match(path):
                if method in methods:
                    return template
                first = first or template
        return first or UNMATCHED

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http.labels(method=method if method in METHODS else "other", route=route, status=str(status)).observe(seconds)

    def render(self) -> bytes:
        """The text exposition (format 0.0.4) of every metric."""
        return generate_latest(self.registry)


class NodeCollector(Collector):
    """The node's report as metric families, made afresh at each scrape."""

    def __init__(self, service: NodeService, limiter: Limiter) -> None:
        self.service = service
        self.limiter = limiter

    def collect(self) -> Iterator[Metric]:
        report = self.service.report()
        yield GaugeMetricFamily("eledger_node_reachable", "1 while the API process reaches its node.", value=int(report.reachable))
        yield GaugeMetricFamily("eledger_node_syncing", "1 while the node catches up by block sync.", value=int(report.syncing))
        yield GaugeMetricFamily("eledger_height", "Height of the node's last committed block.", value=report.height)
        yield GaugeMetricFamily("eledger_round", "The consensus round the node is in (0 when not running consensus).", value=report.round)
        block_time = GaugeMetricFamily("eledger_block_time_seconds", "Time of the node's last committed block (seconds since the epoch).")
        if report.block_time is not None:
            block_time.add_metric([], report.block_time / 1000)
        yield block_time
        yield _histogram("eledger_block_interval_seconds", "Time between consecutive committed blocks (their header times).", report.block_interval)
        yield _histogram("eledger_commit_latency_seconds", "From a block's time (its proposal) to its commit by this node's consensus.", report.commit_latency)
        yield GaugeMetricFamily("eledger_mempool_txs", "Transactions held in the node's mempool.", value=report.mempool_txs)
        yield GaugeMetricFamily("eledger_mempool_bytes", "Canonical bytes of the transactions held in the mempool.", value=report.mempool_bytes)
        yield GaugeMetricFamily("eledger_peers_connected", "Peers the node has a connection to.", value=report.peers_connected)
        yield GaugeMetricFamily("eledger_peers", "Peers the node is configured with.", value=report.peers)
        admitted = CounterMetricFamily("eledger_txs_admitted", "Transactions admitted to the mempool since the node started, by source.", labels=("source",))
        for source, count in report.admitted:
            admitted.add_metric([source], count)
        yield admitted
        refused = CounterMetricFamily("eledger_txs_refused", "Transactions the mempool refused since the node started, by source and code.", labels=("source", "code"))
        for source, code, count in report.refused:
            refused.add_metric([source, code], count)
        yield refused
        yield CounterMetricFamily("eledger_http_rate_limited", "Requests refused 429 for a client's rate or requests in flight.", value=self.limiter.refused)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # made at each scrape; nothing to check in advance


def _histogram(name: str, documentation: str, distribution: Distribution | None) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation)
    if distribution is None:
        return family
    buckets, running = [], 0
    for bound, count in zip(distribution.bounds, distribution.counts):
        running += count
        buckets.append((_bound(bound), running))
    buckets.append(("+Inf", running + distribution.counts[-1]))
    family.add_metric([], buckets, distribution.total)
    return family


def _bound(value: float) -> str:
    return repr(float(value))


class MetricsMiddleware:
    """Times every HTTP request `app` answers and counts it in `metrics` by method, route
    template (`ApiMetrics.route_of`, e.g. "/v1/blocks/{height}"; UNMATCHED for none) and status
    (500 when the app raised; CLIENT_GONE_STATUS, 499, when the client went away before its answer
    was complete, api.disconnect). Added inside the rate limiter: a refused request never reaches it
    (the collector counts those)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
            if client_gone(scope):
                status = CLIENT_GONE_STATUS
        finally:
            seconds = time.perf_counter() - start
            method = scope.get("method", "")
            self.metrics.observe(method, self.metrics.route_of(method, scope.get("path", "")), status, seconds)
