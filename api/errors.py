"""How errors leave the API: RFC 9457 problem details, one mapping from codes to HTTP (docs/spec/api.md §3).

Every error answer is `application/problem+json`: `{"type", "title", "status", "detail", "code",
"field"?}` (api.schemas.Problem). Domain errors (`LedgerError` and its subclasses, from ledger/,
node/ and this package) keep their stable code; the HTTP status is chosen from the code first,
then from the error's class; `type` and `title` follow from the code alone. Framework errors (bad
query or path parameters, unknown routes, wrong methods) and unexpected exceptions are put in
the same shape. This module must never put an unexpected exception's message, a traceback or key
material in a response.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import PROBLEM_TYPE_PREFIX, CommitTimeout, Problem
from ledger.errors import CryptoError, EncodingError, LedgerError, StoreError, ValidationError

log = logging.getLogger("eledger.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(LedgerError):
    """A request the API itself refuses before the ledger sees it (size, JSON syntax)."""

    code = "api.invalid"


# -- the status of a code (api.md §3.3) ----------------------------------------------------------

# Exact codes first: these say more than the class that carries them.
STATUS_BY_CODE: dict[str, int] = {
    "api.bad_json": 400,
    "api.too_large": 413,
    "tx.too_large": 413,
    "mempool.too_large": 413,
    "encoding.too_large": 413,
    "mempool.full": 503,
    "node.stopping": 503,
    "node.starting": 503,
    "auth.certificate_required": 403,
    "auth.certificate_refused": 403,
    "auth.revoked": 403,
    "auth.forbidden": 403,
    "auth.wrong_region": 403,
    "auth.not_concerned": 403,
    "auth.purpose_required": 422,
    "api.rate_limited": 429,
    "gateway.closed": 503,
    "gateway.timeout": 503,
    "gateway.busy": 503,
    "gateway.snapshot_gone": 503,
    "mempool.duplicate": 409,
    "mempool.dropped": 409,
    "tx.replay": 409,
    "api.no_block": 404,
    "api.no_transaction": 404,
    "api.no_log_size": 404,
    "api.no_seal": 404,
    "api.no_department": 404,
    "node.syncing": 503,
    "node.stalled": 503,
    "api.commit_timeout": 504,
    "node.uses_unavailable": 503,
    "uses.not_holder": 403,
    "receipt.not_committed": 404,
    "state.pruned": 410,
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
    """The HTTP status of `error` (api.md §3.3): by exact code, by code suffix, then by class."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    suffix = error.code.rsplit(".", 1)[-1]
    if suffix in STATUS_BY_SUFFIX:
        return STATUS_BY_SUFFIX[suffix]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 422


# -- the type and title of a code (api.md §3.2) --------------------------------------------------

TITLE_BY_CODE: dict[str, str] = {
    "api.bad_json": "Body is not JSON",
    "api.batch_empty": "Empty batch",
    "api.commit_timeout": "Not committed in time",
    "api.internal": "Internal error",
    "api.invalid_parameter": "Invalid parameter",
    "api.method_not_allowed": "Method not allowed",
    "api.no_block": "No such block",
    "api.no_transaction": "No such transaction",
    "api.no_log_size": "Log size not reached",
    "api.no_seal": "No such seal",
    "api.no_department": "No such department",
    "api.bad_range": "Sizes out of order",
    "api.no_route": "No such route",
    "api.too_large": "Request too large",
    "encoding.too_large": "Value too large",
    "mempool.dropped": "Transaction dropped",
    "mempool.duplicate": "Transaction already held",
    "mempool.full": "Mempool full",
    "mempool.too_large": "Transaction too large",
    "node.stopping": "Node stopping",
    "node.starting": "Node starting",
    "node.syncing": "Node syncing",
    "node.stalled": "No recent block",
    "auth.certificate_required": "Client certificate required",
    "auth.certificate_refused": "Client certificate refused",
    "auth.revoked": "Client certificate revoked",
    "auth.forbidden": "Role not allowed",
    "auth.wrong_region": "Other region",
    "auth.not_concerned": "Not this caller's",
    "auth.purpose_required": "Purpose of use required",
    "api.rate_limited": "Too many requests",
    "gateway.closed": "Node unreachable",
    "gateway.timeout": "Node busy",
    "gateway.busy": "Node busy",
    "gateway.snapshot_gone": "Height no longer held",
    "tx.replay": "Transaction already committed",
    "tx.too_large": "Transaction too large",
    "node.uses_unavailable": "Node keeps no use records",
    "licence.not_found": "No such licence",
    "use.not_found": "No such use record",
    "uses.not_holder": "Not the holder's document",
    "receipt.not_committed": "Not committed yet",
    "state.pruned": "Height no longer kept",
}
# By the first segment of the code (its family), for the codes not named above.
TITLE_BY_FAMILY: dict[str, str] = {
    "anchor": "Document anchor refused",
    "block": "Invalid block",
    "bundle": "Invalid proof bundle",
    "cert": "Certificate refused",
    "commit": "Invalid commit certificate",
    "crypto": "Invalid key or signature",
    "document": "Invalid licence document",
    "encoding": "Not canonical JSON",
    "evidence": "Evidence refused",
    "gov": "Governance transaction refused",
    "identity": "Signing identity refused",
    "ids": "Invalid identifier",
    "licence": "Licence transaction refused",
    "ltype": "Licence type refused",
    "mempool": "Refused by the mempool",
    "org": "Organisation refused",
    "proof": "Invalid proof",
    "qr": "Invalid QR code",
    "query": "Invalid query",
    "receipt": "Invalid receipt",
    "recognition": "Recognition rule refused",
    "seal": "Seal refused",
    "store": "Node store failure",
    "tx": "Transaction refused",
    "use": "Invalid use record",
    "uses": "Use list refused",
    "validation": "Invalid field",
    "validators": "Validator set refused",
    "verify": "Verification refused",
}


def problem_type(code: str) -> str:
    """The problem type URI of `code` (RFC 9457 §3.1.1): stable for as long as the code is."""
    return PROBLEM_TYPE_PREFIX + code


def title_for(code: str, status: int) -> str:
    """The title of `code` (RFC 9457 §3.1.3): by exact code, by family, else by the class of
    `status` (a code's status never changes, so neither does its title)."""
    if code in TITLE_BY_CODE:
        return TITLE_BY_CODE[code]
    family = code.split(".", 1)[0]
    if family in TITLE_BY_FAMILY:
        return TITLE_BY_FAMILY[family]
    return "Request refused" if status < 500 else "Node failure"


def problem(status: int, code: str, detail: str, field: str | None = None) -> Problem:
    """The problem object of an occurrence of `code` answered with `status`."""
    return Problem(type=problem_type(code), title=title_for(code, status), status=status, detail=detail, code=code, field=field)


def problem_of(error: LedgerError) -> Problem:
    """The problem object for `error`: its status (§3.3), code, message as `detail`, and its
    field when it names one."""
    field = error.fields.get("field")
    return problem(status_for(error), error.code, str(error), field if isinstance(field, str) else None)


def problem_response(body: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """`body` as an `application/problem+json` answer with its own status; absent members
    (`field`) are left out."""
    return JSONResponse(body.model_dump(exclude_none=True), status_code=body.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


# -- the handlers ----------------------------------------------------------------------------------


async def handle_ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
    """The one mapping of domain errors to HTTP. 429 and 503 carry Retry-After, and so does an
    error that says when to retry (its `retry_after` field, e.g. "receipt.not_committed")
    (api.md §3.3)."""
    body = problem_of(exc)
    if body.status >= 500 and body.status != 503:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.code)
    headers = None
    if body.status in (429, 503) or "retry_after" in exc.fields:
        wait = exc.fields.get("retry_after", RETRY_AFTER_S)
        headers = {"Retry-After": str(max(1, math.ceil(wait)) if isinstance(wait, (int, float)) else RETRY_AFTER_S)}
    return problem_response(body, headers)


async def handle_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A query or path parameter FastAPI could not accept: 422 "api.invalid_parameter" naming it
    as `<where>.<name>` ("path.height", "query.timeout")."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"{field}: {first.get('msg', 'invalid value')}"
    return problem_response(problem(422, "api.invalid_parameter", detail, field))


MAX_SHOWN_PATH = 200


async def handle_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Routing errors of the framework (no such route, method not allowed) as problems; the
    framework's headers (Allow) are kept."""
    path = request.url.path
    path = path if len(path) <= MAX_SHOWN_PATH else path[:MAX_SHOWN_PATH] + "…"
    if exc.status_code == 404:
        code, detail = "api.no_route", f"no route {request.method} {path}; /openapi.json lists the routes"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        code, detail = "api.method_not_allowed", f"{request.method} is not allowed on {path}; allowed: {allowed}"
    else:
        code, detail = f"api.http_{exc.status_code}", f"{request.method} {path}: {exc.detail}"
    return problem_response(problem(exc.status_code, code, detail), exc.headers)


INTERNAL_DETAIL = "internal error; the node's log has the details"


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Any other exception: 500 "api.internal", the same body every time; the details go to the
    node's log only."""
    log.exception("%s %s failed", request.method, request.url.path)
    return problem_response(problem(500, "api.internal", INTERNAL_DETAIL))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`, and the problem schemas in its OpenAPI document."""
    app.add_exception_handler(LedgerError, handle_ledger_error)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected)
    _add_problem_schemas(app)


# -- the OpenAPI document ------------------------------------------------------------------------

PROBLEM_SCHEMAS = (Problem, CommitTimeout)
ERROR_DESCRIPTIONS = {
    400: "the body is not JSON",
    403: "no client certificate, a refused or revoked one, or a role, region or holder the route does not allow",
    404: "nothing at this address",
    409: "the transaction is already held or committed, or conflicts with the state",
    410: "the state of that height is no longer kept by this node",
    413: "the body or the transaction is too large",
    422: "a field or parameter is invalid, or the ledger's rules reject the transaction",
    429: "too many requests from this client (api.md §6.6); retry after Retry-After seconds",
    500: "the node's store is damaged or the node failed",
    503: "the node is starting, syncing, stopping, busy or unreachable, or its mempool is full; retry after Retry-After seconds",
}


def problem_content(model: type[Problem] = Problem) -> dict[str, Any]:
    """The `content` of an OpenAPI response whose body is `model`, as application/problem+json."""
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


#: What every request may be answered: over its client's limits (api.md §6.6), a failure.
EVERY_ROUTE = (429, 500)
#: What every route that identifies its caller may answer besides: a certificate refused or
#: revoked, on the open routes too (api.md §6.1), and a node it cannot read (§3.3).
CALLER_ROUTE = (403, 503)
RETRY_AFTER_HEADER = {"Retry-After": {"description": "whole seconds to wait before asking again", "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error `statuses` a route can answer, and those of
    EVERY_ROUTE. A route with path or query parameters must list 422; one with a caller (api.auth)
    the statuses of CALLER_ROUTE."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *EVERY_ROUTE}):
        entries[status] = {"description": ERROR_DESCRIPTIONS[status], "content": problem_content()}
        if status == 429:
            entries[status]["headers"] = RETRY_AFTER_HEADER
    return entries


def _add_problem_schemas(app: FastAPI) -> None:
    """Make the app's OpenAPI document define the problem schemas that `problem_content`
    refers to (FastAPI adds only the models named as a response's `model`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in PROBLEM_SCHEMAS:
            schema = model.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas.setdefault(model.__name__, schema)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
