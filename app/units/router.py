from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.api import objects
from app.api.deps import IncludeArchived, PathId, SettingsDep, id_query
from app.api.large_bodies import LargeBodyRoute
from app.auth.dependencies import Admin, Reader
from app.core import fiscal
from app.core.db import SessionDep
from app.core.errors import READ, READ_ONE, WRITE, problem_responses
from app.core.pagination import PageDep
from app.units import service
from app.units.models import (
    CommitmentIn,
    CommitmentList,
    CommitmentPublic,
    UnitCreate,
    UnitKind,
    UnitPublic,
    UnitsPage,
    UnitUpdate,
)

router = APIRouter(prefix="/units", tags=["units"], route_class=LargeBodyRoute)


@router.post("", response_model=UnitPublic, summary="Create a unit (admin)", **objects.CREATE)
def create_unit(unit_in: UnitCreate, actor: Admin, call: objects.Create):
    """Create a unit under `parent_id` (or a root unit). Codes are unique."""
    return call(service.create, actor, unit_in=unit_in)


@router.get("", response_model=UnitsPage, responses=problem_responses(*READ), summary="List units")
def list_units(
    session: SessionDep,
    actor: Reader,
    page: PageDep,
    kind: Annotated[list[UnitKind] | None, Query(description="Any of these kinds.")] = None,
    parent_id: Annotated[int | None, id_query("Direct children of this unit.")] = None,
    unit_id: Annotated[int | None, id_query("This unit and its whole subtree.")] = None,
    include_archived: IncludeArchived = False,
):
    """Units by id, paged; filter by kind, parent or subtree. Archived units only with
    `include_archived=true`.
    """
    items, cursor = service.list_units(
        session=session,
        actor=actor,
        params=page,
        kind=kind,
        parent_id=parent_id,
        unit_id=unit_id,
        include_archived=include_archived,
    )
    return UnitsPage(items=items, next_cursor=cursor)


@router.get("/{unit_id}", response_model=UnitPublic, summary="Get a unit", **objects.GET)
def get_unit(unit_id: PathId, actor: Reader, call: objects.Read):
    """One unit, with its version as `ETag` for `If-Match` on a later update."""
    return call(service.get, actor, unit_id=unit_id)


@router.patch(
    "/{unit_id}", response_model=UnitPublic, summary="Update a unit (admin)", **objects.UPDATE
)
def update_unit(unit_id: PathId, unit_in: UnitUpdate, actor: Admin, call: objects.Write):
    """Change some fields; send `If-Match` with the ETag you read to avoid overwriting someone
    else's change. A unit cannot become its own descendant.
    """
    return call(service.update, actor, unit_id=unit_id, unit_in=unit_in)


@router.delete(
    "/{unit_id}",
    response_model=UnitPublic,
    summary="Archive a unit (admin)",
    description="Sets `archived`; the row is kept. 409 while it owns active projects.",
    **objects.UPDATE,
)
def archive_unit(unit_id: PathId, actor: Admin, call: objects.Write):
    return call(service.archive, actor, unit_id=unit_id)


@router.get(
    "/{unit_id}/history",
    summary="A unit's change history",
    description="Creates, updates and archiving of the unit itself, newest first "
    "(its projects have their own history).",
    **objects.HISTORY,
)
def unit_history(unit_id: PathId, session: SessionDep, actor: Reader, page: PageDep):
    visible = service.history_visibility(session=session, actor=actor, unit_id=unit_id)
    return objects.history(session=session, page=page, visible=visible, unit_id=unit_id)


async def fiscal_year_start_month(settings: SettingsDep) -> int:
    return settings.fiscal_year_start_month


StartMonth = Annotated[int, Depends(fiscal_year_start_month)]
FiscalYear = Annotated[
    int,
    Path(
        ge=fiscal.FIRST_YEAR,
        le=fiscal.LAST_YEAR,
        description="Fiscal year, named by the calendar year it starts in (it starts on the "
        "first day of month `PORTFOLIO_FISCAL_YEAR_START_MONTH`).",
    ),
]


@router.get(
    "/{unit_id}/commitments",
    response_model=CommitmentList,
    responses=problem_responses(*READ_ONE),
    summary="A unit's experimentation commitments, by year",
)
def list_commitments(unit_id: PathId, session: SessionDep, start: StartMonth, actor: Reader):
    """The unit's experimentation commitments (program funds and target share), oldest
    year first."""
    return service.list_commitments(
        session=session, actor=actor, unit_id=unit_id, start_month=start
    )


@router.get(
    "/{unit_id}/commitments/{year}",
    response_model=CommitmentPublic,
    responses=problem_responses(*READ_ONE),
    summary="A unit's experimentation commitment for one year",
)
def get_commitment(
    unit_id: PathId, year: FiscalYear, session: SessionDep, start: StartMonth, actor: Reader
):
    """The unit's commitment for one fiscal year; 404 when it has none."""
    return service.get_commitment(
        session=session, actor=actor, unit_id=unit_id, year=year, start_month=start
    )


@router.put(
    "/{unit_id}/commitments/{year}",
    response_model=CommitmentPublic,
    responses={
        201: {"model": CommitmentPublic, "description": "Created: the unit had none that year."},
        **problem_responses(*WRITE, 404),
    },
    summary="Set a unit's experimentation commitment for a year (admin)",
    description="Creates the commitment (201) or replaces it (200). The report "
    "`experimentation` sets the unit's experiment spend against it.",
)
def put_commitment(
    unit_id: PathId,
    year: FiscalYear,
    commitment_in: CommitmentIn,
    session: SessionDep,
    start: StartMonth,
    actor: Admin,
    response: Response,
):
    commitment, created = service.put_commitment(
        session=session,
        actor=actor,
        unit_id=unit_id,
        year=year,
        commitment_in=commitment_in,
        start_month=start,
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return commitment


@router.delete(
    "/{unit_id}/commitments/{year}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*WRITE, 404),
    summary="Remove a unit's experimentation commitment for a year (admin)",
)
def delete_commitment(unit_id: PathId, year: FiscalYear, session: SessionDep, actor: Admin):
    """Remove the unit's commitment for one fiscal year (recorded in the unit's history)."""
    service.delete_commitment(session=session, actor=actor, unit_id=unit_id, year=year)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
