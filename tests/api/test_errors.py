"""The problem details of api/errors.py (api.md §3): the status of a code, its type and title,
and what `problem_of` makes of an error."""

from __future__ import annotations

import pytest

from api.errors import (
    ERROR_DESCRIPTIONS,
    STATUS_BY_CODE,
    TITLE_BY_CODE,
    ApiError,
    error_responses,
    problem,
    problem_of,
    problem_type,
    status_for,
    title_for,
)
from api.schemas import Problem
from ledger.errors import CryptoError, EncodingError, LedgerError, ProofError, StoreError, ValidationError


@pytest.mark.parametrize(
    "error, status",
    [
        (ApiError("x", code="api.bad_json"), 400),
        (ApiError("x", code="api.no_block"), 404),
        (LedgerError("x", code="document.not_found"), 404),
        (LedgerError("x", code="mempool.duplicate"), 409),
        (ValidationError("x", code="tx.replay"), 409),
        (ValidationError("x", code="licence.exists"), 409),
        (EncodingError("x", code="encoding.too_large"), 413),
        (LedgerError("x", code="mempool.too_large"), 413),
        (EncodingError("x", code="encoding.depth"), 422),
        (CryptoError("x", code="crypto.bad_signature"), 422),
        (ValidationError("x", code="licence.unknown"), 422),
        (LedgerError("x", code="mempool.full"), 503),
        (ApiError("x", code="api.commit_timeout"), 504),
        (StoreError("x", code="store.corrupt"), 500),
    ],
)
def test_status_for_maps_code_then_suffix_then_class(error, status):
    assert status_for(error) == status


def test_problem_of_a_ledger_error_carries_its_code_message_and_field():
    error = ValidationError("transaction … was already committed", code="tx.replay", field="tx.nonce", height=3)
    assert problem_of(error).model_dump(exclude_none=True) == {
        "type": "urn:eledger:problem:tx.replay",
        "title": "Transaction already committed",
        "status": 409,
        "detail": "transaction … was already committed",
        "code": "tx.replay",
        "field": "tx.nonce",
    }


def test_problem_of_an_error_without_a_field_leaves_it_out():
    body = problem_of(LedgerError("the mempool holds 2 transactions", code="mempool.full")).model_dump(exclude_none=True)
    assert "field" not in body and body["status"] == 503 and body["title"] == "Mempool full"


def test_problem_of_an_error_whose_field_is_not_text_leaves_it_out():
    assert problem_of(ValidationError("x", code="validation.type", field=3)).field is None


@pytest.mark.parametrize(
    "code, status, title",
    [
        ("tx.replay", 409, "Transaction already committed"),
        ("tx.bad_signature", 422, "Transaction refused"),
        ("validation.missing_field", 422, "Invalid field"),
        ("proof.too_large", 422, "Invalid proof"),
        ("licence.exists", 409, "Licence transaction refused"),
        ("store.missing_commit", 500, "Node store failure"),
        ("newfamily.thing", 422, "Request refused"),  # a family without a title: by the status class
        ("newfamily.thing", 502, "Node failure"),
    ],
)
def test_title_for_takes_the_code_then_its_family_then_the_status_class(code, status, title):
    assert title_for(code, status) == title


def test_every_code_of_the_api_has_a_title_and_its_type_is_the_code_under_the_prefix():
    for code, status in STATUS_BY_CODE.items():
        assert code in TITLE_BY_CODE, code
        assert problem(status, code, "d").type == problem_type(code) == f"urn:eledger:problem:{code}"


def test_problem_refuses_a_status_that_is_not_an_error():
    with pytest.raises(ValueError):
        problem(200, "api.fine", "d")


def test_error_responses_always_document_429_and_500_as_problem_json():
    responses = error_responses(404)
    assert set(responses) == {404, 429, 500}
    for status, answer in responses.items():
        assert answer["description"] == ERROR_DESCRIPTIONS[status]
        assert answer["content"] == {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{Problem.__name__}"}}}
    assert set(responses[429]["headers"]) == {"Retry-After"}


def test_proof_errors_are_refusals_of_the_request():
    assert problem_of(ProofError("x", code="proof.too_large", field="bundle.entries[1].proof")).status == 422
