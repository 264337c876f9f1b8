"""node.http.limits: HttpLimits refuses values out of range, naming the field."""

from __future__ import annotations

import pytest

from node.http.limits import HttpError, HttpLimits


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": True}, "max_connections"),
        ({"header_timeout": 0}, "header_timeout"),
        ({"body_timeout": float("inf")}, "body_timeout"),
        ({"write_timeout": "5"}, "write_timeout"),
        ({"keepalive_timeout": 20.0}, "keepalive_timeout"),
        ({"max_header_bytes": 100}, "max_header_bytes"),
        ({"max_requests_per_connection": 1.5}, "max_requests_per_connection"),
    ],
)
def test_limits_refuse_bad_values_naming_the_field(changes, field):
    with pytest.raises(HttpError) as caught:
        HttpLimits(**changes)
    assert caught.value.code == "http.bad_limit" and caught.value.field == field


def test_limits_defaults_are_valid():
    limits = HttpLimits()
    assert limits.keepalive_timeout <= limits.header_timeout
    assert limits.max_connections == 512
