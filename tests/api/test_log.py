"""GET /v1/log/consistency (api/routers/log.py, api.md §2.6): proofs between log sizes that
verify with ledger.merkle against the log roots of the signed headers, the heights whose headers
show each size, and the refusals: from > to, sizes beyond the log, integers not in their one
spelling."""

from __future__ import annotations

import asyncio

import pytest

from api.deps import MAX_HEIGHT
from api.read_schemas import LogConsistency
from ledger.encoding import b64decode, decode
from ledger.merkle import EMPTY_ROOT, verify_consistency
from tests.api.service import LocalNodeService
from tests.api.test_transactions import expect_error

SHAPE = (2, 0, 3, 1)  # transactions per block: log sizes 2, 2, 5, 6


@pytest.fixture
def service(net):
    service = LocalNodeService(net)
    for count in SHAPE:
        for _ in range(count):
            asyncio.run(service.submit(net.anchor(), wait=False, timeout_s=0))
        service.produce()
    return service


def log_roots(client) -> dict[int, tuple[int, bytes]]:
    """Log size -> (first height showing it, log root), from the signed headers."""
    roots: dict[int, tuple[int, bytes]] = {}
    for height in range(1, len(SHAPE) + 1):
        header = client.get(f"/v1/headers/{height}").json()["header"]
        roots.setdefault(header["log_size"], (height, b64decode(header["log_root"])))
    return roots


def test_every_pair_of_sizes_is_proven_against_the_headers_roots(client):
    roots = log_roots(client)
    for first in range(7):
        for second in range(first, 7):
            response = client.get("/v1/log/consistency", params={"from": first, "to": second})
            assert response.status_code == 200
            body = decode(response.content)
            LogConsistency.model_validate(body)
            assert (body["from"]["size"], body["to"]["size"]) == (first, second)
            root1, root2 = b64decode(body["from"]["root"]), b64decode(body["to"]["root"])
            verify_consistency(first, second, [b64decode(h) for h in body["proof"]], root1, root2)
            for point, root in ((body["from"], root1), (body["to"], root2)):
                if point["size"] in roots:
                    assert (point["height"], root) == roots[point["size"]]
                else:
                    assert "height" not in point
    assert b64decode(client.get("/v1/log/consistency", params={"from": 0, "to": 0}).json()["from"]["root"]) == EMPTY_ROOT


def test_to_defaults_to_the_tips_log_size(client):
    body = client.get("/v1/log/consistency", params={"from": 2}).json()
    assert body["to"]["size"] == 6 and body["to"]["height"] == 4 and body["from"]["height"] == 1


def test_from_larger_than_to_is_refused(client):
    problem = expect_error(client.get("/v1/log/consistency", params={"from": 5, "to": 2}), 422, "api.bad_range", "query.from")
    assert problem["detail"] == "from (5) is larger than to (2): a log never shrinks"


@pytest.mark.parametrize("params, field", [({"from": 2, "to": 7}, "query.to"), ({"from": 7}, "query.from"), ({"from": 0, "to": MAX_HEIGHT}, "query.to")])
def test_a_size_beyond_the_log_is_404(client, params, field):
    problem = expect_error(client.get("/v1/log/consistency", params=params), 404, "api.no_log_size", field)
    assert "holds 6 transactions as of height 4" in problem["detail"]


@pytest.mark.parametrize("params, field", [
    ({}, "query.from"), ({"from": "01"}, "query.from"), ({"from": "-1"}, "query.from"), ({"from": "1.0"}, "query.from"),
    ({"from": "0", "to": "+3"}, "query.to"), ({"from": "0", "to": str(MAX_HEIGHT + 1)}, "query.to"), ({"from": "0", "to": ""}, "query.to"),
])
def test_sizes_not_in_their_one_spelling_are_422(client, params, field):
    expect_error(client.get("/v1/log/consistency", params=params), 422, "api.invalid_parameter", field)
