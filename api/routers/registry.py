"""Registry reads (api.md §2.10): licence types, departments (all, or one with its licence types
and seals, and its seals page by page), recognition rules (by asking region, by region pair),
regions and validators. All public governance records (domain.md §3, §8.2); none is personal.

Each route reads one committed height through ledger.registry in a worker thread and answers its
`height`. Listings of state come a page at a time (`limit`, and `after` = the `next_cursor` of
the page before); regions and validators come whole. The ledger's refusals of a query name the
parameter they concern (`query.after`). Must never list anything but what ledger.registry lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import CountQuery, ServiceDep, UsccPath
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.read_schemas import (
    DepartmentDetail, DepartmentPage, LicenceTypePage, RecognitionRulePage, RegionList, SealPage, ValidatorList,
)
from api.spelling import B64_PATTERN, REGION_PATTERN
from api.service import NodeService
from ledger.errors import ValidationError
from ledger.pages import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT
from ledger.registry import (
    department, list_departments, list_licence_types, list_recognition_rules, list_regions, list_seals, list_validators,
)
from ledger.view import ChainView

router = APIRouter(tags=["registry"])
RegistryCaller = CallerOf("registry")

AfterQuery = Annotated[str, Query(
    description="the `next_cursor` of the page before (absent: the first page)", min_length=1, max_length=MAX_CURSOR_CHARS, pattern=B64_PATTERN,
)]
LimitQuery = CountQuery(MAX_LIMIT, f"how many items a page holds at most (default {DEFAULT_LIMIT})", examples=[DEFAULT_LIMIT])
RegionQuery = Annotated[str, Query(description="only those of this region", pattern=REGION_PATTERN, max_length=32, examples=["beijing"])]
AskingQuery = Annotated[str, Query(description="only the rules this region declared (the region that accepts)", pattern=REGION_PATTERN, max_length=32, examples=["tianjin"])]
FromRegionQuery = Annotated[str, Query(description="only the rules about licences issued in this region", pattern=REGION_PATTERN, max_length=32, examples=["beijing"])]

_T = TypeVar("_T")
ERRORS = error_responses(422, *CALLER_ROUTE)


async def read(service: NodeService, answer: Callable[[ChainView], _T]) -> _T:
    """`answer(view)` at the last committed height, in a worker thread. A refusal of a query
    parameter by the ledger ("query.*", field `after`, `limit`, `region`…) names it as
    `query.<name>`."""

    def run() -> _T:
        try:
            return answer(service.view())
        except ValidationError as exc:
            field = exc.fields.get("field")
            if exc.code.startswith("query.") and isinstance(field, str):
                raise ValidationError(str(exc), code=exc.code, **{**exc.fields, "field": f"query.{field}"}) from None
            raise

    return await run_in_threadpool(run)


@router.get("/licence-types", response_model=LicenceTypePage, responses=ERRORS)
async def get_licence_types(service: ServiceDep, caller: RegistryCaller, after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT) -> LicenceTypePage:
    """Registered licence types, by code."""

    def answer(view: ChainView) -> LicenceTypePage:
        items, next_cursor = list_licence_types(view, after=after, limit=limit)
        return LicenceTypePage(height=view.height, items=items, next_cursor=next_cursor)  # type: ignore[arg-type]

    return await read(service, answer)


@router.get("/departments", response_model=DepartmentPage, responses=ERRORS)
async def get_departments(
    service: ServiceDep, caller: RegistryCaller, region: RegionQuery = None, after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
) -> DepartmentPage:
    """Admitted organisations (issuing departments), by USCC; of one region when `region` is given."""

    def answer(view: ChainView) -> DepartmentPage:
        items, next_cursor = list_departments(view, region=region, after=after, limit=limit)
        return DepartmentPage(height=view.height, items=items, next_cursor=next_cursor)  # type: ignore[arg-type]

    return await read(service, answer)


@router.get("/departments/{uscc}", response_model=DepartmentDetail, responses=error_responses(404, 422, *CALLER_ROUTE))
async def get_department(uscc: UsccPath, service: ServiceDep, caller: RegistryCaller) -> DepartmentDetail:
    """One organisation with its licence types named and the first page of its seals. 404
    "api.no_department" when no organisation of that USCC is admitted."""

    def answer(view: ChainView) -> DepartmentDetail:
        shown = department(view, uscc)
        if shown is None:
            raise ApiError(f"no organisation {uscc} is admitted as of height {view.height}", code="api.no_department", field="path.uscc")
        return DepartmentDetail(height=view.height, **shown)  # type: ignore[arg-type]

    return await read(service, answer)


@router.get("/departments/{uscc}/seals", response_model=SealPage, responses=ERRORS)
async def get_department_seals(
    uscc: UsccPath, service: ServiceDep, caller: RegistryCaller, after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
) -> SealPage:
    """The seals the organisation registered, revoked ones included, by seal id (an empty page
    for an organisation that registered none, or is not admitted)."""

    def answer(view: ChainView) -> SealPage:
        items, next_cursor = list_seals(view, uscc, after=after, limit=limit)
        return SealPage(height=view.height, items=items, next_cursor=next_cursor)  # type: ignore[arg-type]

    return await read(service, answer)


@router.get("/recognition-rules", response_model=RecognitionRulePage, responses=ERRORS)
async def get_recognition_rules(
    service: ServiceDep, caller: RegistryCaller, region: AskingQuery = None, from_region: FromRegionQuery = None,
    after: AfterQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
) -> RecognitionRulePage:
    """Recognition rules (`region` accepts `type` issued in `from_region` as its `as_type`), by
    region, issuing region and type; filtered by the accepting region, the issuing region, or the
    pair."""

    def answer(view: ChainView) -> RecognitionRulePage:
        items, next_cursor = list_recognition_rules(view, region=region, from_region=from_region, after=after, limit=limit)
        return RecognitionRulePage(height=view.height, items=items, next_cursor=next_cursor)  # type: ignore[arg-type]

    return await read(service, answer)


@router.get("/regions", response_model=RegionList, responses=error_responses(*CALLER_ROUTE))
async def get_regions(service: ServiceDep, caller: RegistryCaller) -> RegionList:
    """The genesis regions, in genesis order, with their administrators and current validators."""
    return await read(service, lambda view: RegionList(height=view.height, items=list_regions(view)))  # type: ignore[arg-type]


@router.get("/validators", response_model=ValidatorList, responses=error_responses(*CALLER_ROUTE))
async def get_validators(service: ServiceDep, caller: RegistryCaller) -> ValidatorList:
    """The validator set for the block after the last committed one, in its order."""
    return await read(service, lambda view: ValidatorList(height=view.height, items=list_validators(view)))  # type: ignore[arg-type]
