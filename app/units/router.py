from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.api.deps import IfMatch, IncludeArchived, PathId, SettingsDep
from app.api.etags import NOT_MODIFIED, IfNoneMatch, set_etag
from app.api.idempotency.dependency import Idempotent, creating_responses
from app.api.large_bodies import LargeBodyRoute
from app.api.openapi import etag_responses
from app.auth.dependencies import Admin, Reader
from app.core import fiscal
from app.core.db import MAX_ID, SessionDep
from app.core.errors import READ, READ_ONE, WRITE, problem_responses
from app.core.history import service as history_service
from app.core.history.models import HistoryPage
from app.core.pagination import PageParams, page_params
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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitPublic,
    responses=creating_responses(*WRITE, etag=True),
    summary="Create a unit (admin)",
)
def create_unit(
    unit_in: UnitCreate,
    session: SessionDep,
    actor: Admin,
    idempotency: Idempotent,
    response: Response,
):
    """Create a unit under `parent_id` (or a root unit). Codes are unique."""
    unit = service.create(session=session, actor=actor, unit_in=unit_in)
    set_etag(response, unit.version)
    return unit


@router.get("", response_model=UnitsPage, responses=problem_responses(*READ), summary="List units")
def list_units(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[list[UnitKind] | None, Query(description="Any of these kinds.")] = None,
    parent_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Direct children of this unit.")
    ] = None,
    unit_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="This unit and its whole subtree.")
    ] = None,
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


@router.get(
    "/{unit_id}",
    response_model=UnitPublic,
    responses=etag_responses({**problem_responses(*READ_ONE), **NOT_MODIFIED}, 200, 304),
    summary="Get a unit",
)
def get_unit(
    unit_id: PathId,
    session: SessionDep,
    actor: Reader,
    response: Response,
    if_none_match: IfNoneMatch = None,
):
    """One unit, with its version as `ETag` for `If-Match` on a later update."""
    unit = service.get(session=session, actor=actor, unit_id=unit_id)
    set_etag(response, unit.version, if_none_match=if_none_match)
    return unit


@router.patch(
    "/{unit_id}",
    response_model=UnitPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Update a unit (admin)",
)
def update_unit(
    unit_id: PathId,
    unit_in: UnitUpdate,
    session: SessionDep,
    actor: Admin,
    expected_version: IfMatch,
    response: Response,
):
    """Change some fields; send `If-Match` with the ETag you read to avoid overwriting someone
    else's change. A unit cannot become its own descendant.
    """
    unit = service.update(
        session=session,
        actor=actor,
        unit_id=unit_id,
        unit_in=unit_in,
        expected_version=expected_version,
    )
    set_etag(response, unit.version)
    return unit


@router.delete(
    "/{unit_id}",
    response_model=UnitPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Archive a unit (admin)",
    description="Sets `archived`; the row is kept. 409 while it owns active projects.",
)
def archive_unit(
    unit_id: PathId,
    session: SessionDep,
    actor: Admin,
    expected_version: IfMatch,
    response: Response,
):
    unit = service.archive(
        session=session, actor=actor, unit_id=unit_id, expected_version=expected_version
    )
    set_etag(response, unit.version)
    return unit


@router.get(
    "/{unit_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(*READ_ONE),
    summary="A unit's change history",
    description="Creates, updates and archiving of the unit itself, newest first "
    "(its projects have their own history).",
)
def unit_history(
    unit_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
):
    unit = service.get(session=session, actor=actor, unit_id=unit_id)
    visible = service.history_visibility(session=session, actor=actor, unit=unit)
    items, cursor = history_service.list_for(
        session=session, unit_id=unit_id, params=page, visible=visible
    )
    return HistoryPage(items=items, next_cursor=cursor)  # type: ignore[arg-type]


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
def list_commitments(unit_id: PathId, session: SessionDep, settings: SettingsDep, actor: Reader):
    """The unit's experimentation commitments (program funds and target share), oldest
    year first."""
    return service.list_commitments(
        session=session,
        actor=actor,
        unit_id=unit_id,
        start_month=settings.fiscal_year_start_month,
    )


@router.get(
    "/{unit_id}/commitments/{year}",
    response_model=CommitmentPublic,
    responses=problem_responses(*READ_ONE),
    summary="A unit's experimentation commitment for one year",
)
def get_commitment(
    unit_id: PathId, year: FiscalYear, session: SessionDep, settings: SettingsDep, actor: Reader
):
    """The unit's commitment for one fiscal year; 404 when it has none."""
    return service.get_commitment(
        session=session,
        actor=actor,
        unit_id=unit_id,
        year=year,
        start_month=settings.fiscal_year_start_month,
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
    settings: SettingsDep,
    actor: Admin,
    response: Response,
):
    commitment, created = service.put_commitment(
        session=session,
        actor=actor,
        unit_id=unit_id,
        year=year,
        commitment_in=commitment_in,
        start_month=settings.fiscal_year_start_month,
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
