"""Strict numbers in paths and queries (api/deps.py, api.md §1.1): the readers against a literal
reference, and the parameter types in a small app, as later routes will use them."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from api.deps import MAX_HEIGHT, CountQuery, HeightPath, HeightQuery, IntQuery, TimeoutQuery, decimal_text_pattern, read_decimal_text, read_int_text
from api.errors import install_error_handlers
from tests.api.test_transactions import expect_error


def reference_int(text: str, minimum: int, maximum: int) -> int | None:
    """The integer `text` spells in its one spelling, or None: literally api.md §1.1."""
    for value in range(minimum, maximum + 1):
        if str(value) == text:
            return value
    return None


def reference_decimal(text: str, minimum: int, maximum: int) -> float | None:
    whole, point, fraction = text.partition(".")
    if reference_int(whole, 0, maximum) is None:
        return None
    if point and not (1 <= len(fraction) <= 9 and all(c in "0123456789" for c in fraction)):
        return None
    value = Decimal(text)
    return float(value) if minimum <= value <= maximum else None


TEXT = st.text(alphabet="0123456789+-_.,eEx \t\n٠١９", max_size=6)


@settings(max_examples=1000, deadline=None)
@given(text=TEXT | st.integers(-5, 1200).map(str))
def test_read_int_text_accepts_exactly_the_one_spelling_of_each_integer_in_range(text):
    expected = reference_int(text, 1, 999)
    if expected is None:
        with pytest.raises(PydanticCustomError):
            read_int_text(text, minimum=1, maximum=999)
    else:
        assert read_int_text(text, minimum=1, maximum=999) == expected


@settings(max_examples=1000, deadline=None)
@given(text=TEXT | st.decimals(-1, 70, places=3).map(str))
def test_read_decimal_text_accepts_exactly_plain_decimals_in_range(text):
    expected = reference_decimal(text, 0, 60)
    if expected is None:
        with pytest.raises(PydanticCustomError):
            read_decimal_text(text, minimum=0, maximum=60)
    else:
        assert read_decimal_text(text, minimum=0, maximum=60) == expected


@pytest.mark.parametrize("text", ["1" * 17, "9" * 5000, str(MAX_HEIGHT + 1)])
def test_read_int_text_refuses_more_digits_than_the_maximum_without_converting(text):
    with pytest.raises(PydanticCustomError) as err:
        read_int_text(text, minimum=1, maximum=MAX_HEIGHT)
    assert err.value.type == "int_text"
    assert len(err.value.message()) < 200  # the text is shown cut


def test_read_int_text_refuses_a_value_that_is_not_text():
    with pytest.raises(PydanticCustomError) as err:
        read_int_text(7, minimum=1, maximum=9)
    assert err.value.message().endswith("got int")


# -- the types in an app -----------------------------------------------------------------------


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{height}")
    async def things(
        height: HeightPath,
        at: HeightQuery = None,
        limit: CountQuery(100) = 10,
        start: IntQuery(0, 1000, "first position", alias="from") = 0,
        timeout: TimeoutQuery = 10,
    ) -> dict[str, object]:
        return {"height": height, "at": at, "limit": limit, "from": start, "timeout": timeout}

    return app


@pytest.fixture(scope="module")
def app_client():
    with TestClient(make_app()) as client:
        yield client


def test_parameter_types_read_canonical_values(app_client):
    assert app_client.get("/things/7").json() == {"height": 7, "at": None, "limit": 10, "from": 0, "timeout": 10}
    answer = app_client.get("/things/7", params={"at": "3", "limit": "100", "from": "0", "timeout": "0.5"}).json()
    assert answer == {"height": 7, "at": 3, "limit": 100, "from": 0, "timeout": 0.5}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"at": "03"}, "query.at"),
        ({"at": "0"}, "query.at"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "101"}, "query.limit"),
        ({"limit": "1e2"}, "query.limit"),
        ({"from": "-1"}, "query.from"),
        ({"from": " 1"}, "query.from"),
        ({"timeout": "1e1"}, "query.timeout"),
    ],
)
def test_parameter_types_refuse_other_spellings_naming_the_parameter(app_client, query, field):
    problem = expect_error(app_client.get("/things/7", params=query), 422, "api.invalid_parameter", field)
    (text,) = query.values()
    assert problem["detail"].startswith(f"{field}: must be ") and problem["detail"].endswith(f"got {json.dumps(text)}")


def test_parameter_types_keep_integer_schemas_with_bounds(app_client):
    parameters = app_client.get("/openapi.json").json()["paths"]["/things/{height}"]["get"]["parameters"]
    schemas = {p["name"]: (p["in"], p["required"], p["schema"]) for p in parameters}
    timeout = schemas.pop("timeout")
    assert {name: (where, required, s["type"], s["minimum"], s["maximum"]) for name, (where, required, s) in schemas.items()} == {
        "height": ("path", True, "integer", 1, MAX_HEIGHT),
        "at": ("query", False, "integer", 1, MAX_HEIGHT),
        "limit": ("query", False, "integer", 1, 100),
        "from": ("query", False, "integer", 0, 1000),
    }
    assert timeout[:2] == ("query", False) and timeout[2]["type"] == "string" and timeout[2]["pattern"] == decimal_text_pattern(60)
    assert all("anyOf" not in schema for _, _, schema in [*schemas.values(), timeout])  # an optional one is never null


@settings(max_examples=300)
@given(st.one_of(st.text("0123456789.e-+ ", max_size=14), st.floats(0, 61).map(repr), st.decimals(0, 61, places=10).map(str)))
def test_the_decimal_pattern_matches_exactly_what_read_decimal_text_accepts(text):
    """The schema of a decimal parameter is a string pattern (api.md §1.1): a `number` would
    admit 1e-05 or a tenth decimal, which the reader refuses."""
    try:
        read_decimal_text(text, minimum=0, maximum=60)
        accepted = True
    except PydanticCustomError:
        accepted = False
    assert (re.search(decimal_text_pattern(60), text) is not None) == accepted
