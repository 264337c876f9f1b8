"""The end-to-end tests run real node processes; when one fails, its report carries the last
lines of every node's output (node.out, api.out) of the cluster the test used."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        cluster = value if isinstance(value, Cluster) else getattr(value, "cluster", None)
        if isinstance(cluster, Cluster):
            report.sections.append(("node output", cluster.tails()))
            return
