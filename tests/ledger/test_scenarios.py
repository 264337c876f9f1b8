"""ledger.scenarios: `scenario.declare` through real blocks (declare, replace, withdraw, each
refusal with its code and field) and the reads `scenario`, `read_scenario` and `list_scenarios`
at a committed height (docs/spec/domain.md §11)."""

from __future__ import annotations

import pytest

from ledger.crypto import PrivateKey
from ledger.errors import ValidationError
from ledger.scenarios import KIND, MAX_SCENARIOS, count_key, list_scenarios, read_scenario, scenario

from .test_governance import Ledger, type_code, uscc
from .test_registry import view_of


def body(code: str, types: list[str], *, region: str = "beijing", name: str = "食品经营许可核查", **more: object) -> dict[str, object]:
    return {"code": code, "name": name, "region": region, "licence_types": types, **more}


@pytest.fixture
def ledger(net) -> Ledger:
    return Ledger(net)


@pytest.fixture
def types(ledger) -> list[str]:
    return ledger.register_types("beijing", 1, 2)


def test_a_declared_scenario_is_stored_with_sorted_types_and_its_time(ledger, types):
    t1, t2 = types
    at = ledger.next_time
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-SP-001", [t2, t1], name_en="Food business licence check")))
    expected = {
        "code": "BJ-SP-001", "name": "食品经营许可核查", "name_en": "Food business licence check", "region": "beijing",
        "licence_types": [t1, t2], "withdrawn": False, "declared_at": at,
    }
    assert read_scenario(ledger.state, "beijing", "BJ-SP-001") == expected
    view = view_of(ledger)
    assert scenario(view, "beijing", "BJ-SP-001") == expected
    assert list_scenarios(view, "beijing") == [expected]
    assert list_scenarios(view, "tianjin") == [] and scenario(view, "tianjin", "BJ-SP-001") is None


def test_name_en_is_optional_and_null_when_absent(ledger, types):
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-KH-001", types[:1], name="企业开户核验")))
    assert read_scenario(ledger.state, "beijing", "BJ-KH-001")["name_en"] is None


def test_declaring_a_code_again_replaces_it_and_withdrawn_ones_are_listed_only_when_asked(ledger, types):
    t1, t2 = types
    ledger.accept(
        ledger.admin("beijing", KIND, body("BJ-YS-001", [t1], name="道路运输经营许可变更")),
        ledger.admin("beijing", KIND, body("BJ-KH-001", [t1], name="企业开户核验")),
        ledger.admin("beijing", KIND, body("BJ-SP-001", [t1])),
    )
    at = ledger.next_time
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-SP-001", [t2], name="食品经营许可核查（新）")))
    assert read_scenario(ledger.state, "beijing", "BJ-SP-001") == {
        "code": "BJ-SP-001", "name": "食品经营许可核查（新）", "name_en": None, "region": "beijing",
        "licence_types": [t2], "withdrawn": False, "declared_at": at,
    }
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-YS-001", [t1], withdrawn=True)))
    view = view_of(ledger)
    assert [s["code"] for s in list_scenarios(view, "beijing")] == ["BJ-KH-001", "BJ-SP-001"]
    assert [s["code"] for s in list_scenarios(view, "beijing", include_withdrawn=True)] == ["BJ-KH-001", "BJ-SP-001", "BJ-YS-001"]
    assert scenario(view, "beijing", "BJ-YS-001")["withdrawn"] is True
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-YS-001", [t1], withdrawn=False)))
    assert [s["code"] for s in list_scenarios(view_of(ledger), "beijing")] == ["BJ-KH-001", "BJ-SP-001", "BJ-YS-001"]


def test_each_region_keeps_its_own_scenarios_under_the_same_code(ledger, types):
    ledger.accept(
        ledger.admin("beijing", KIND, body("SP-001", types[:1])),
        ledger.admin("tianjin", KIND, body("SP-001", types[1:], region="tianjin", name="食品经营许可核查（天津）")),
    )
    view = view_of(ledger)
    assert [s["licence_types"] for s in list_scenarios(view, "beijing")] == [types[:1]]
    assert [(s["region"], s["licence_types"]) for s in list_scenarios(view, "tianjin")] == [("tianjin", types[1:])]


def refusal(ledger: Ledger, tx) -> tuple[str, str]:
    error = ledger.reject(tx)
    return error.code, error.fields.get("field")


def test_an_administrator_declares_only_for_its_own_region(ledger, types):
    assert refusal(ledger, ledger.admin("tianjin", KIND, body("BJ-SP-001", types))) == ("gov.other_region", "tx.body.region")
    assert read_scenario(ledger.state, "beijing", "BJ-SP-001") is None


def test_only_a_region_administrator_may_declare(ledger, types):
    key = PrivateKey.generate()
    ledger.admit("beijing", uscc(21), key, types=types)
    assert refusal(ledger, ledger.signed(key, KIND, body("BJ-SP-001", types)))[0] == "tx.forbidden"


@pytest.mark.parametrize("change, code, field", [
    ({"code": "BJ SP 001"}, "validation.format", "tx.body.code"),
    ({"code": "事项"}, "validation.format", "tx.body.code"),
    ({"code": "A" * 65}, "validation.length", "tx.body.code"),
    ({"code": ""}, "validation.length", "tx.body.code"),
    ({"name": ""}, "validation.length", "tx.body.name"),
    ({"name": "食品\n核查"}, "validation.format", "tx.body.name"),
    ({"name": "食" * 129}, "validation.length", "tx.body.name"),
    ({"name_en": "x" * 129}, "validation.length", "tx.body.name_en"),
    ({"name_en": None}, "validation.type", "tx.body.name_en"),
    ({"region": "Bei Jing"}, "validation.format", "tx.body.region"),
    ({"withdrawn": "no"}, "validation.type", "tx.body.withdrawn"),
    ({"licence_types": []}, "validation.length", "tx.body.licence_types"),
    ({"licence_types": "x"}, "validation.type", "tx.body.licence_types"),
    ({"licence_types": ["nope"]}, "ids.bad_type_code", "tx.body.licence_types[0]"),
    ({"licence_types": [type_code(9)]}, "ltype.unknown", "tx.body.licence_types[0]"),
    ({"licence_types": [type_code(1), type_code(1)]}, "validation.duplicate", "tx.body.licence_types[1]"),
    ({"licence_types": [type_code(1)] * 65}, "validation.length", "tx.body.licence_types"),
    ({"extra": 1}, "validation.unknown_field", "tx.body.extra"),
])
def test_a_malformed_declaration_is_refused_naming_its_field(ledger, types, change, code, field):
    assert refusal(ledger, ledger.admin("beijing", KIND, {**body("BJ-SP-001", types[:1]), **change})) == (code, field)


@pytest.mark.parametrize("missing", ["code", "name", "region", "licence_types"])
def test_a_declaration_without_a_required_member_is_refused(ledger, types, missing):
    declared = body("BJ-SP-001", types[:1])
    del declared[missing]
    assert refusal(ledger, ledger.admin("beijing", KIND, declared)) == ("validation.missing_field", f"tx.body.{missing}")


def test_withdrawing_a_code_never_declared_is_refused(ledger, types):
    assert refusal(ledger, ledger.admin("beijing", KIND, body("BJ-SP-009", types, withdrawn=True))) == ("scenario.unknown", "tx.body.code")


def test_a_region_declares_at_most_max_scenarios_codes_but_may_still_replace_them(ledger, types):
    ledger.accept(*(ledger.admin("beijing", KIND, body(f"BJ-{n:03d}", types[:1])) for n in range(MAX_SCENARIOS - 1)))
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-LAST", types[:1], withdrawn=False)))
    assert refusal(ledger, ledger.admin("beijing", KIND, body("BJ-MORE", types[:1]))) == ("scenario.too_many", "tx.body.code")
    ledger.accept(ledger.admin("beijing", KIND, body("BJ-000", types[1:], withdrawn=True)))
    ledger.accept(ledger.admin("tianjin", KIND, body("TJ-000", types[:1], region="tianjin")))
    assert len(list_scenarios(view_of(ledger), "beijing", include_withdrawn=True)) == MAX_SCENARIOS
    assert ledger.state.get(count_key("beijing")) is not None


@pytest.mark.parametrize("region, code, error, field", [
    ("Bei Jing", "BJ-SP-001", "query.bad_region", "region"),
    ("beijing", "BJ SP", "query.bad_code", "code"),
])
def test_the_reads_refuse_a_malformed_region_or_code(ledger, region, code, error, field):
    view = view_of(ledger)
    with pytest.raises(ValidationError) as caught:
        scenario(view, region, code)
    assert (caught.value.code, caught.value.fields["field"]) == (error, field)
    if error == "query.bad_region":
        with pytest.raises(ValidationError) as caught:
            list_scenarios(view, region)
        assert (caught.value.code, caught.value.fields["field"]) == (error, field)
