"""api.bodies: a request body is checked against its model strictly, and its first fault is one
ValidationError with the ledger's `validation.*` code naming the member (api.md §1.3)."""

from __future__ import annotations

import pytest

from api.bodies import check_model, field_path
from api.licence_schemas import VerifyRequest
from ledger.errors import ValidationError
from tests.api.world import PURPOSE


def test_field_paths_name_members_and_positions():
    assert field_path(("purpose", "serial")) == "purpose.serial"
    assert field_path(("txs", 3, "nonce")) == "txs[3].nonce"
    assert field_path(()) == "body"


@pytest.mark.parametrize("body, code, field", [
    ([], "validation.type", "body"),
    ({"at_time": 1.5}, "validation.type", "at_time"),
    ({"at_time": True}, "validation.type", "at_time"),
    ({"at_time": "1"}, "validation.type", "at_time"),
    ({"at_time": 2**53}, "validation.range", "at_time"),
    ({"asking_region": None}, "validation.type", "asking_region"),
    ({"asking_region": "Tianjin"}, "validation.format", "asking_region"),
    ({"purpose": {**PURPOSE, "item_name": "事项\ud800"}}, "validation.type", "purpose.item_name"),
    ({"purpose": {"item_code": "A", "item_name": "B"}}, "validation.missing_field", "purpose.serial"),
    ({"document": []}, "validation.type", "document"),
    ({"licence": "x"}, "validation.unknown_field", "licence"),
])
def test_a_body_is_refused_at_its_first_fault_with_a_precise_code(body, code, field):
    with pytest.raises(ValidationError) as err:
        check_model(VerifyRequest, body)
    assert (err.value.code, err.value.fields["field"]) == (code, field)
    assert str(err.value).startswith(field)


def test_a_body_that_fits_is_its_model():
    asked = check_model(VerifyRequest, {"qr": "EL1:X", "at_time": 0, "purpose": PURPOSE})
    assert asked.qr == "EL1:X" and asked.at_time == 0 and asked.purpose.serial == PURPOSE["serial"] and asked.licence_id is None
