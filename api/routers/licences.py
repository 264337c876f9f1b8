"""Licence reads: one version with its public metadata, its history (追溯), a search, and its
proof bundle (docs/spec/api.md §2.12–§2.15).

`GET /v1/licences/{licence_id}` (the latest version, or `?version=`), `…/history` and
`GET /v1/licences?…` read one view's tip in a worker thread through ledger.licence_query and
ledger.licence_history; time-dependent facts (lapsed, in force, overdue) are told at the API's
current time. `GET /v1/licences/{licence_id}/bundle` answers the canonical bytes of the proof
bundle `eledger prove` writes for the same height (proofs.md §7); for a partner or staff caller
it is a verification like POST /v1/verify: it states a purpose, is recorded, and its receipt
travels in the `Eledger-Receipt` header (api.md §2.15 says why).

Person holders are never searchable. Must never judge or read on the event loop, nor hand a
recorded caller a bundle without its receipt.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api import examples
from api.access import asking_region, purpose_for, use_record
from api.auth import CallerOf
from api.deps import CountQuery, HeightQuery, ServiceDep, TextPath
from api.errors import CALLER_ROUTE, error_responses
from api.licence_schemas import ITEM_CODE_PATTERN, ITEM_NAME_PATTERN, SERIAL_PATTERN, HistoryPage, LicenceAnswer, LicencePage, answer
from api.reading import NowMs, TipState, as_of, as_parameter
from api.spelling import (
    B64_PATTERN, DATE_FORMAT, DATE_PATTERN, LICENCE_ID_FORMAT, LICENCE_ID_PATTERN, REGION_PATTERN, TYPE_CODE_FORMAT, TYPE_CODE_PATTERN, USCC_FORMAT,
    USCC_PATTERN, VERSION_PATTERN,
)
from api.service import NodeService
from ledger.encoding import b64encode, encode
from ledger.errors import LedgerError, StoreError, ValidationError
from ledger.ids import MAX_VERSION, format_licence_id, parse_licence_id
from ledger.licence_bundle import build_licence_bundle
from ledger.licence_history import history_page
from ledger.licence_query import SEARCH_STATUSES, describe_licence, search_licences
from ledger.licences import read_licence
from ledger.pages import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT
from ledger.verify import StateAt, verify_licence

RECEIPT_HEADER = "Eledger-Receipt"

router = APIRouter(tags=["licences"])
LicenceCaller = CallerOf("licence")
BundleCaller = CallerOf("bundle")

LicenceIdPath = TextPath(
    LICENCE_ID_PATTERN, "a licence identifier 1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check> (domain.md §2)",
    "a licence identifier (domain.md §2), any version", check=parse_licence_id, format=LICENCE_ID_FORMAT, examples=[examples.LICENCE_ID],
)
AfterQuery = Annotated[str, Query(
    min_length=1, max_length=MAX_CURSOR_CHARS, pattern=B64_PATTERN, description="the `next_cursor` of the previous page", examples=[examples.CURSOR],
)]
LimitQuery = CountQuery(MAX_LIMIT, examples=[DEFAULT_LIMIT])


def _not_found(licence_id: str, field: str = "path.licence_id") -> ValidationError:
    return ValidationError(f"no licence {licence_id} is recorded", code="licence.not_found", field=field)


def _parsed(licence_id: str) -> str:
    """The text of a licence id LicenceIdPath accepted (checked in full already)."""
    return parse_licence_id(licence_id, "path.licence_id").text


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


# -- one licence -----------------------------------------------------------------------------------


@router.get(
    "/licences/{licence_id}",
    response_model=LicenceAnswer,
    responses={200: answer(LicenceAnswer, "the version's record and public metadata", {"latest": examples.LICENCE_ANSWER}), **error_responses(404, 422, *CALLER_ROUTE)},
)
async def get_licence(
    licence_id: LicenceIdPath, caller: LicenceCaller, service: ServiceDep, now: NowMs,
    version: Annotated[str, Query(pattern=VERSION_PATTERN, description="a version, 001..999; default the latest", examples=["001"])] = None,
) -> Response:
    """The latest version of the licence `licence_id` names, or version `version` of it."""
    text = _parsed(licence_id)
    return _json(await run_in_threadpool(read_version, service, text, version, now))


def read_version(service: NodeService, licence_id: str, version: str | None, at_time: int) -> dict[str, object]:
    """`{"record", "licence", "as_of"}` of the chosen version (blocking reads). Raises
    ValidationError "licence.not_found" (404)."""
    view = service.view()
    state = TipState(view)
    if version is not None:
        parsed = parse_licence_id(licence_id)
        wanted = format_licence_id(parsed.type, parsed.issuer, parsed.serial, version)
        record = read_licence(state, wanted)
        if record is None:
            raise _not_found(wanted, "query.version")
    else:
        record = read_licence(state, licence_id)
        if record is None:
            raise _not_found(licence_id)
        for _ in range(MAX_VERSION):
            successor = record["superseded_by"]
            if successor is None:
                break
            newer = read_licence(state, successor)  # type: ignore[arg-type]
            if newer is None:
                raise StoreError(f"licence {record['id']} names its successor {successor}, which the state lacks", code="store.corrupt_state")
            record = newer
    return {"record": record, "licence": describe_licence(state, record, at_time), "as_of": as_of(view)}


@router.get(
    "/licences/{licence_id}/history",
    response_model=HistoryPage,
    responses={200: answer(HistoryPage, "a page of the licence's history, oldest first", {"issued": examples.HISTORY_PAGE}), **error_responses(404, 422, *CALLER_ROUTE)},
)
async def get_history(
    licence_id: LicenceIdPath, caller: LicenceCaller, service: ServiceDep, after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
) -> Response:
    """Every version and status change of the licence (any of its versions' ids), with height
    and time, a page at a time (domain.md §8.3)."""
    text = _parsed(licence_id)
    return _json(await run_in_threadpool(read_history, service, text, after, limit))


def read_history(service: NodeService, licence_id: str, after: str | None, limit: int) -> dict[str, object]:
    view = service.view()
    try:
        items, cursor = history_page(view, licence_id, after=after, limit=limit)
    except LedgerError as exc:
        raise as_parameter(exc, "query", ["after", "limit"]) from None
    if not items and cursor is None and after is None:
        raise _not_found(licence_id)
    return {"items": items, "next_cursor": cursor, "as_of": as_of(view)}


# -- search ----------------------------------------------------------------------------------------

SEARCH_PARAMETERS = ("holder_uscc", "issuer", "type", "status", "commitment_due_before", "after", "limit")


@router.get(
    "/licences",
    response_model=LicencePage,
    responses={200: answer(LicencePage, "a page of the matching licences' latest versions", {"by_holder": examples.LICENCE_PAGE}), **error_responses(422, *CALLER_ROUTE)},
)
async def search(
    caller: LicenceCaller, service: ServiceDep, now: NowMs,
    holder_uscc: Annotated[str, Query(
        pattern=USCC_PATTERN, json_schema_extra={"format": USCC_FORMAT}, description="an enterprise holder's USCC (persons are never searchable)",
        examples=[examples.HOLDER_USCC],
    )] = None,
    issuer: Annotated[str, Query(pattern=USCC_PATTERN, json_schema_extra={"format": USCC_FORMAT}, description="the issuing department's USCC", examples=[examples.ISSUER_USCC])] = None,
    type: Annotated[str, Query(pattern=TYPE_CODE_PATTERN, json_schema_extra={"format": TYPE_CODE_FORMAT}, description="a licence type code", examples=[examples.TYPE_CODE])] = None,
    status: Annotated[Literal[SEARCH_STATUSES], Query(description="the status now (lapsed derived)", examples=["valid"])] = None,  # type: ignore[valid-type]
    commitment_due_before: Annotated[str, Query(
        pattern=DATE_PATTERN, json_schema_extra={"format": DATE_FORMAT}, description="pending notification-commitments due before this date", examples=["2026-06-30"],
    )] = None,
    after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
) -> Response:
    """The latest versions of the licences matching every filter given (domain.md §8.2), a page
    at a time, each as its public metadata now."""
    filters = {"holder_uscc": holder_uscc, "issuer": issuer, "type": type, "status": status, "commitment_due_before": commitment_due_before}
    return _json(await run_in_threadpool(find, service, filters, after, limit, now))


def find(service: NodeService, filters: dict[str, str | None], after: str | None, limit: int, at_time: int) -> dict[str, object]:
    view = service.view()
    try:
        items, cursor = search_licences(view, **filters, at_time=at_time, after=after, limit=limit)  # type: ignore[arg-type]
    except LedgerError as exc:
        raise as_parameter(exc, "query", SEARCH_PARAMETERS) from None
    return {"items": items, "next_cursor": cursor, "as_of": as_of(view)}


# -- the proof bundle ------------------------------------------------------------------------------


@router.get(
    "/licences/{licence_id}/bundle",
    response_class=Response,
    responses={
        200: {
            "description": "the proof bundle's canonical bytes (proofs.md §2, §7), as `eledger prove` writes them; for a recorded caller the"
            f" `{RECEIPT_HEADER}` header holds its receipt (base64url of the receipt's canonical bytes)",
            "content": {"application/json": {"schema": {"type": "object", "description": "a proof bundle, proofs.md §2"}, "examples": {"bundle": {"value": examples.BUNDLE}}}},
            "headers": {RECEIPT_HEADER: {"description": "base64url of the receipt's canonical bytes (receipts.md §1); recorded callers only", "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$"}}},
        },
        **error_responses(410, 422, *CALLER_ROUTE),
    },
)
async def get_bundle(
    licence_id: LicenceIdPath, caller: BundleCaller, service: ServiceDep, now: NowMs,
    region: Annotated[str, Query(pattern=REGION_PATTERN, max_length=32, description="the asking region; default the caller's", examples=["tianjin"])] = None,
    height: HeightQuery = None,
    item_code: Annotated[str, Query(pattern=ITEM_CODE_PATTERN, description="purpose of use: 事项编码 (partner and staff callers)", examples=[examples.PURPOSE["item_code"]])] = None,
    item_name: Annotated[str, Query(pattern=ITEM_NAME_PATTERN, description="purpose of use: 事项名称", examples=[examples.PURPOSE["item_name"]])] = None,
    serial: Annotated[str, Query(pattern=SERIAL_PATTERN, description="purpose of use: 业务流水号", examples=[examples.PURPOSE["serial"]])] = None,
) -> Response:
    """The proof bundle of the licence for the asking region at `height` (default the tip)."""
    text = _parsed(licence_id)
    asked = asking_region(caller, region, service.genesis, "query.region")
    given = {"item_code": item_code, "item_name": item_name, "serial": serial}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) < len(given):
        if missing:
            raise ValidationError(f"the purpose of use needs item_code, item_name and serial; {missing[0]} is missing", code="auth.purpose_required", field=f"query.{missing[0]}")
        purpose = purpose_for(caller, given, "query.item_code")  # type: ignore[arg-type]
    else:
        purpose = purpose_for(caller, None, "query.item_code")
    raw, verdict, proven_height = await run_in_threadpool(prove, service, text, asked, height, purpose is not None)
    headers = {}
    if purpose is not None:
        record = use_record(caller, purpose, licence_id=text, asking_region=asked, presented="id", verdict=verdict, height=proven_height, time=now)  # type: ignore[arg-type]
        (receipt,) = await service.record_uses([record])
        headers[RECEIPT_HEADER] = b64encode(encode(receipt))
    return Response(raw, media_type="application/json", headers=headers)


def prove(service: NodeService, licence_id: str, region: str, height: int | None, judged: bool) -> tuple[bytes, str | None, int]:
    """The bundle's canonical bytes, the verdict it gives at its block time (when `judged`:
    the use record's), and its height (blocking reads). Raises what build_licence_bundle
    raises, with `height` named as the query parameter."""
    view = service.view()
    try:
        bundle = build_licence_bundle(view, licence_id, region, height)
    except LedgerError as exc:
        raise as_parameter(as_parameter(exc, "query", ["height"]), "path", ["licence_id"]) from None
    proven = bundle.header.height
    verdict = None
    if judged:
        state = TipState(view) if proven == view.height else StateAt(view, proven)
        verdict = verify_licence(state, chain_id=view.chain_id, at_time=bundle.header.time, asking_region=region, licence_id=licence_id).verdict.value
    return bundle.to_bytes(), verdict, proven
