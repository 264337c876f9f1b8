"""GET /metrics (api/routers/health.py, api/metrics.py, api.md §8): Prometheus text that parses,
with every named metric; the node's report rendered (gauges, counters by label, histograms with
cumulative buckets); HTTP latency labelled by route template, never by path; verdicts counted by
`count_verdict`; rate refusals counted."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.deps import Settings
from api.limits import ClientLimits
from api.main import create_app
from certs.roles import Role
from api.metrics import CONTENT_TYPE, VERIFY_REQUESTS, count_verdict
from api.service import Distribution, NodeReport
from ledger.verify import Outcome
from tests.api.pki import presenting
from tests.api.service import LocalNodeService

NAMED = {
    "eledger_node_reachable": "gauge", "eledger_node_syncing": "gauge", "eledger_height": "gauge", "eledger_round": "gauge",
    "eledger_block_time_seconds": "gauge", "eledger_block_interval_seconds": "histogram", "eledger_commit_latency_seconds": "histogram",
    "eledger_mempool_txs": "gauge", "eledger_mempool_bytes": "gauge", "eledger_peers_connected": "gauge", "eledger_peers": "gauge",
    "eledger_txs_admitted": "counter", "eledger_txs_refused": "counter", "eledger_verify_requests": "counter",
    "eledger_http_request_duration_seconds": "histogram", "eledger_http_rate_limited": "counter",
}


class Reporting(LocalNodeService):
    changes: dict[str, object] = {}

    def report(self) -> NodeReport:
        return dataclasses.replace(super().report(), **self.changes)


def scrape(client) -> dict[str, object]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(family, name: str | None = None) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if name is None or s.name == name}


def test_every_named_metric_is_present_with_its_type(client):
    families = scrape(client)
    assert {name: families[name].type for name in NAMED} == NAMED


def test_the_node_report_is_rendered(net, pki):
    service = Reporting(net)
    service.changes = {
        "height": 42, "round": 3, "syncing": True, "block_time": 1_767_225_612_345, "mempool_txs": 7, "mempool_bytes": 4096,
        "peers_connected": 2, "peers": 3, "admitted": (("api", 10), ("peer", 4)),
        "refused": (("api", "mempool.duplicate", 2), ("peer", "tx.replay", 1)),
        "block_interval": Distribution((0.5, 1.0, 2.0), (1, 5, 2, 1), 11.5),
        "commit_latency": Distribution((0.1,), (3, 0), 0.12),
    }
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        families = scrape(client)
    value = {name: families[name].samples[0].value for name in ("eledger_height", "eledger_round", "eledger_node_syncing", "eledger_mempool_txs", "eledger_mempool_bytes", "eledger_peers_connected", "eledger_peers")}
    assert value == {"eledger_height": 42, "eledger_round": 3, "eledger_node_syncing": 1, "eledger_mempool_txs": 7, "eledger_mempool_bytes": 4096, "eledger_peers_connected": 2, "eledger_peers": 3}
    assert families["eledger_block_time_seconds"].samples[0].value == pytest.approx(1_767_225_612.345)
    assert samples(families["eledger_txs_admitted"], "eledger_txs_admitted_total") == {(("source", "api"),): 10, (("source", "peer"),): 4}
    assert samples(families["eledger_txs_refused"], "eledger_txs_refused_total") == {
        (("code", "mempool.duplicate"), ("source", "api")): 2, (("code", "tx.replay"), ("source", "peer")): 1,
    }
    interval = families["eledger_block_interval_seconds"]
    assert samples(interval, "eledger_block_interval_seconds_bucket") == {(("le", "0.5"),): 1, (("le", "1.0"),): 6, (("le", "2.0"),): 8, (("le", "+Inf"),): 9}
    assert samples(interval, "eledger_block_interval_seconds_count") == {(): 9} and samples(interval, "eledger_block_interval_seconds_sum") == {(): 11.5}
    assert samples(families["eledger_commit_latency_seconds"], "eledger_commit_latency_seconds_count") == {(): 3}


def test_a_node_without_distributions_or_a_tip_still_names_every_metric(net, pki):
    service = Reporting(net)
    service.changes = {"reachable": False, "started": False, "block_time": None}
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        families = scrape(client)
    assert set(NAMED) <= set(families)
    assert families["eledger_node_reachable"].samples[0].value == 0
    assert families["eledger_block_time_seconds"].samples == [] and families["eledger_block_interval_seconds"].samples == []


def test_http_latency_is_labelled_by_route_template_never_by_path(client):
    for path in ("/v1/blocks/1", "/v1/blocks/2", "/v1/blocks/x", "/v1/no/such/route/123", "/healthz"):
        client.get(path)
    client.delete("/v1/status")
    counts = samples(scrape(client)["eledger_http_request_duration_seconds"], "eledger_http_request_duration_seconds_count")
    assert counts[(("method", "GET"), ("route", "/v1/blocks/{height}"), ("status", "404"))] == 2
    assert counts[(("method", "GET"), ("route", "/v1/blocks/{height}"), ("status", "422"))] == 1
    assert counts[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 1
    assert counts[(("method", "GET"), ("route", "/healthz"), ("status", "200"))] == 1
    assert counts[(("method", "DELETE"), ("route", "/v1/status"), ("status", "405"))] == 1
    assert not any("123" in dict(labels)["route"] or "/1" in dict(labels)["route"] for labels in counts)


def test_verdicts_are_counted_by_verdict_and_asking_region(client):
    def counted(verdict: str, region: str) -> float:
        return samples(scrape(client)["eledger_verify_requests"], "eledger_verify_requests_total").get((("asking_region", region), ("verdict", verdict)), 0)

    before = counted("valid", "tianjin"), counted("invalid", "hebei")
    count_verdict("valid", "tianjin")
    count_verdict(Outcome.VALID, "tianjin")
    count_verdict("invalid", "hebei")
    assert (counted("valid", "tianjin"), counted("invalid", "hebei")) == (before[0] + 2, before[1] + 1)


@pytest.mark.parametrize("verdict, region", [("maybe", "tianjin"), ("valid", "Tianjin"), ("valid", "a" * 33), ("valid", None)])
def test_count_verdict_refuses_what_is_not_a_verdict_or_a_region(verdict, region):
    before = len(list(VERIFY_REQUESTS.collect()[0].samples))
    with pytest.raises(ValueError):
        count_verdict(verdict, region)
    assert len(list(VERIFY_REQUESTS.collect()[0].samples)) == before


def test_requests_refused_for_a_clients_rate_are_counted(net):
    limits = ClientLimits(anonymous_rate=0.001, anonymous_burst=2)
    app = create_app(LocalNodeService(net), Settings(client_limits=limits))
    with TestClient(app) as client:
        statuses = [client.get("/healthz").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    families = {f.name: f for f in text_string_to_metric_families(app.state.metrics.render().decode())}
    assert samples(families["eledger_http_rate_limited"], "eledger_http_rate_limited_total") == {(): 2}
    counts = samples(families["eledger_http_request_duration_seconds"], "eledger_http_request_duration_seconds_count")
    assert counts == {(("method", "GET"), ("route", "/healthz"), ("status", "200")): 2}
