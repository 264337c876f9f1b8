"""GET /healthz and GET /readyz (api/routers/health.py, api.md §7): the process answers; ready
only while the node is reachable, has announced its chain, is not syncing and committed a block
recently, else 503 naming why, with Retry-After. Time comes from the app's clock."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from api.deps import DEFAULT_MAX_BLOCK_AGE_S, Settings
from api.main import create_app
from api.read_schemas import Health, Readiness
from api.routers.health import judge_readiness
from api.service import NodeReport
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error


class Reporting(LocalNodeService):
    """A node whose report a test sets (`changes` replace members of the real one)."""

    changes: dict[str, object] = {}

    def report(self) -> NodeReport:
        return dataclasses.replace(super().report(), **self.changes)

    def view(self):
        raise AssertionError("a probe read the chain")


def client_for(net, *, seconds_after_block: float = 1.0, settings: Settings | None = None, **changes) -> TestClient:
    service = Reporting(net)
    service.changes = changes
    block_time = service.chain.tip.time
    return TestClient(create_app(service, settings, clock=lambda: block_time / 1000 + seconds_after_block))


def test_healthz_answers_while_the_process_runs_whatever_the_node(net):
    with client_for(net, reachable=False, started=False) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    Health.model_validate(response.json())


def test_readyz_answers_the_height_and_the_age_of_the_last_block(net):
    with client_for(net, seconds_after_block=2.5) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    body = Readiness.model_validate(response.json())
    assert (body.status, body.height, body.block_age_ms) == ("ready", 0, 2500)


@pytest.mark.parametrize("changes, code", [
    ({"reachable": False}, "gateway.closed"),
    ({"started": False, "block_time": None}, "node.starting"),
    ({"syncing": True}, "node.syncing"),
    ({"reachable": False, "syncing": True}, "gateway.closed"),
])
def test_readyz_is_503_with_the_reason_while_the_node_cannot_serve(net, changes, code):
    with client_for(net, **changes) as client:
        response = client.get("/readyz")
    problem = expect_error(response, 503, code)
    assert response.headers["retry-after"] == "1"
    assert problem["detail"]


def test_readyz_is_503_once_the_last_block_is_older_than_the_threshold(net):
    with client_for(net, seconds_after_block=DEFAULT_MAX_BLOCK_AGE_S) as client:
        assert client.get("/readyz").status_code == 200
    with client_for(net, seconds_after_block=DEFAULT_MAX_BLOCK_AGE_S + 0.01) as client:
        expect_error(client.get("/readyz"), 503, "node.stalled")
    with client_for(net, seconds_after_block=65) as client:
        problem = expect_error(client.get("/readyz"), 503, "node.stalled")
    assert "(height 0) is 65 s old, more than 60 s" in problem["detail"]
    with client_for(net, seconds_after_block=100, settings=Settings(max_block_age_s=120)) as client:
        assert client.get("/readyz").status_code == 200


def test_a_block_time_ahead_of_the_clock_counts_as_no_age():
    ready = judge_readiness(NodeReport(reachable=True, started=True, height=3, block_time=10_000), 9_000, 60)
    assert ready.block_age_ms == 0


def test_settings_refuse_a_threshold_that_is_not_positive():
    with pytest.raises(ValueError):
        Settings(max_block_age_s=0)
