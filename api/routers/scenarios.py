"""Use scenarios (事项) of a region (api.md §2.19): the list a window clerk picks the purpose of a
check from (domain.md §11). Public governance records, open to anyone (route `scenarios`).

Reads one committed height through ledger.scenarios in a worker thread and answers its `height`;
the list of a region is whole (at most 256). Must never list anything but what
ledger.scenarios lists.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CallerOf
from api.deps import ServiceDep
from api.errors import CALLER_ROUTE, error_responses
from api.read_schemas import ScenarioList
from api.routers.registry import read
from api.spelling import REGION_PATTERN
from ledger.scenarios import list_scenarios
from ledger.view import ChainView

router = APIRouter(tags=["registry"])
ScenariosCaller = CallerOf("scenarios")


class Withdrawn(str, Enum):
    EXCLUDE = "exclude"  # only the scenarios in force (the default)
    INCLUDE = "include"  # withdrawn ones too


RegionQuery = Annotated[str, Query(description="the region whose scenarios to list", pattern=REGION_PATTERN, max_length=32, examples=["tianjin"])]
WithdrawnQuery = Annotated[Withdrawn, Query(description="include: list withdrawn scenarios too")]


@router.get("/scenarios", response_model=ScenarioList, responses=error_responses(422, *CALLER_ROUTE))
async def get_scenarios(service: ServiceDep, caller: ScenariosCaller, region: RegionQuery, withdrawn: WithdrawnQuery = Withdrawn.EXCLUDE) -> ScenarioList:
    """The use scenarios (事项) `region` declared, by code: those in force, or with
    `withdrawn=include` the withdrawn ones too. Empty for a region that declared none."""

    def answer(view: ChainView) -> ScenarioList:
        items = list_scenarios(view, region, include_withdrawn=withdrawn is Withdrawn.INCLUDE)
        return ScenarioList(height=view.height, region=region, scenarios=items)  # type: ignore[arg-type]

    return await read(service, answer)
