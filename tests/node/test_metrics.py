"""node.metrics: the counters a node keeps for its operators and sends in its status event
(docs/spec/api.md §8): bucket counts of block intervals and commit latencies, transactions
admitted and refused by source and code."""

from __future__ import annotations

import pytest

from ledger.errors import LedgerError
from node.metrics import MAX_REFUSAL_SERIES, OTHER_CODE, Buckets, NodeMetrics


def test_an_observation_counts_in_the_first_bucket_whose_bound_holds_it():
    buckets = Buckets((10, 100))
    for value in (0, 10, 11, 100, 101, 5000):
        buckets.observe(value)
    assert buckets.counts == [2, 2, 2]
    assert buckets.to_event() == {"bounds": [10, 100], "counts": [2, 2, 2], "sum": 5222}


def test_a_negative_observation_counts_as_zero():
    buckets = Buckets((10,))
    buckets.observe(-40)
    assert buckets.counts == [1, 0] and buckets.total == 0


@pytest.mark.parametrize("bounds", [(), (0, 5), (5, 5), (10, 5), (1.5,)])
def test_buckets_refuse_bounds_that_are_not_increasing_positive_integers(bounds):
    with pytest.raises(ValueError):
        Buckets(bounds)


def test_admissions_are_counted_by_source_and_refusals_by_code():
    metrics = NodeMetrics()
    duplicate = LedgerError("held", code="mempool.duplicate")
    metrics.count_admissions("api", [None, duplicate, None])
    metrics.count_admissions("peer", [duplicate])
    event = metrics.to_event()
    assert event["admitted"] == {"api": 2}
    assert event["refused"] == [["api", "mempool.duplicate", 1], ["peer", "mempool.duplicate", 1]]
    assert set(event) == {"admitted", "refused", "block_interval", "commit_latency"}


def test_refusal_codes_beyond_the_series_limit_are_counted_together():
    metrics = NodeMetrics()
    metrics.count_admissions("api", [LedgerError("x", code=f"tx.code_{i}") for i in range(MAX_REFUSAL_SERIES + 5)])
    assert len(metrics.refused) == MAX_REFUSAL_SERIES + 1
    assert metrics.refused[("api", OTHER_CODE)] == 5
