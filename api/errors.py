"""How errors leave the API: one mapping from LedgerError codes to HTTP (docs/spec/api.md §3).

Every error response has the body `{"error": {"code", "message", "field"?}}`. Domain errors
(`LedgerError` and its subclasses, from ledger/, node/ and this package) keep their stable code;
the HTTP status is chosen from the code first, then from the error's class. Framework errors
(bad query or path parameters, unknown routes, wrong methods) and unexpected exceptions are put
in the same shape. This module must never put an unexpected exception's message, a traceback or
key material in a response.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ErrorBody, ErrorDetail
from ledger.errors import CryptoError, EncodingError, LedgerError, StoreError, ValidationError

log = logging.getLogger("eledger.api")


class ApiError(LedgerError):
    """A request the API itself refuses before the ledger sees it (size, JSON syntax)."""

    code = "api.invalid"


# Exact codes first (api.md §3): these say more than the class that carries them.
STATUS_BY_CODE: dict[str, int] = {
    "api.bad_json": 400,
    "api.too_large": 413,
    "tx.too_large": 413,
    "mempool.too_large": 413,
    "encoding.too_large": 413,
    "mempool.full": 503,
    "node.stopping": 503,
    "mempool.duplicate": 409,
    "mempool.dropped": 409,
    "tx.replay": 409,
    "api.no_block": 404,
}
# Then the last segment of the code: a state conflict ("anchor.exists", "licence.exists") or a
# missing resource ("document.not_found").
STATUS_BY_SUFFIX: dict[str, int] = {"exists": 409, "not_found": 404}
# Then the class, most specific first. Anything else a LedgerError carries is a request the
# ledger's rules reject: 422.
STATUS_BY_CLASS: tuple[tuple[type[LedgerError], int], ...] = (
    (StoreError, 500),
    (EncodingError, 422),
    (CryptoError, 422),
    (ValidationError, 422),
)
RETRY_AFTER_S = 1


def status_for(error: LedgerError) -> int:
    """The HTTP status of `error` (api.md §3): by exact code, by code suffix, then by class."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    suffix = error.code.rsplit(".", 1)[-1]
    if suffix in STATUS_BY_SUFFIX:
        return STATUS_BY_SUFFIX[suffix]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 422


def error_detail(error: LedgerError) -> ErrorDetail:
    """The `error` member of a response for `error`: its code, message and field, if any."""
    field = error.fields.get("field")
    return ErrorDetail(code=error.code, message=str(error), field=field if isinstance(field, str) else None)


def error_response(status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON response `{"error": detail}` with `status`; `field` is left out when absent."""
    return JSONResponse(ErrorBody(error=detail).model_dump(exclude_none=True), status_code=status, headers=headers)


async def handle_ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
    """The one mapping of domain errors to HTTP. 503 carries Retry-After (api.md §3)."""
    status = status_for(exc)
    if status >= 500 and status != 503:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.code)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return error_response(status, error_detail(exc), headers)


async def handle_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A query or path parameter FastAPI could not accept: 422 "api.invalid_parameter"."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    message = f"{field}: {first.get('msg', 'invalid value')}"
    return error_response(422, ErrorDetail(code="api.invalid_parameter", message=message, field=field))


async def handle_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Routing errors of the framework (no such route, method not allowed) in the error shape."""
    code = {404: "api.no_route", 405: "api.method_not_allowed"}.get(exc.status_code, f"api.http_{exc.status_code}")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(exc.status_code, ErrorDetail(code=code, message=message), exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Any other exception: 500 "api.internal"; the details go to the node's log only."""
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, ErrorDetail(code="api.internal", message="internal error; the node's log has the details"))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(LedgerError, handle_ledger_error)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries for the error `statuses` a route can answer."""
    descriptions = {
        400: "the body is not JSON",
        404: "nothing at this address",
        409: "the transaction is already held or committed, or conflicts with the state",
        413: "the body or the transaction is too large",
        422: "a field or parameter is invalid, or the ledger's rules reject the transaction",
        500: "the node's store is damaged or the node failed",
        503: "the mempool is full or the node is stopping; retry after Retry-After seconds",
    }
    return {status: {"model": ErrorBody, "description": descriptions[status]} for status in statuses}
