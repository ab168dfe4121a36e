"""GET /reports/*: read by every role, scoped to a unit's subtree on request."""

import csv
import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from app.api import csv_export
from app.api.deps import SettingsDep
from app.auth.dependencies import Reader
from app.core.db import MAX_ID, SessionDep, today
from app.core.errors import READ_ONE, problem_responses
from app.reports import service
from app.reports.conditional import NOT_MODIFIED, ReportETag
from app.reports.schemas import (
    BarometerReport,
    DeterminantsReport,
    OutcomesReport,
    PortfolioReport,
    SpreadReport,
)

# Every report carries an ETag from the data revision; a matching If-None-Match is a 304
# before any report query runs (app.core.revision.conditional).
router = APIRouter(
    prefix="/reports", tags=["reports"], dependencies=[ReportETag], responses=NOT_MODIFIED
)

UnitScope = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ID,
        description="Restrict the report to this unit and its whole subtree. A submitter key "
        "is always restricted to its own subtree; a unit outside it is 404.",
    ),
]

SPREAD_CSV_COLUMNS = (
    "unit_id",
    "code",
    "name",
    "kind",
    "parent_id",
    "active_projects",
    "side_of_desk",
    "dedicated",
    "core_business",
    "status",
)
SPREAD_CSV_EXAMPLE = (
    ",".join(SPREAD_CSV_COLUMNS)
    + "\r\n3,TAX-OPS,Tax operations,business_line,1,5,1,0,4,embedded\r\n"
    + "4,LAB,Innovation lab,innovation_lab,1,3,0,3,0,mixed\r\n"
)


def _csv(columns: tuple[str, ...], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_export.cell(value) for value in row)
    return buffer.getvalue()


def csv_response(body: str, response: Response) -> Response:
    # A returned Response replaces the injected one: carry its ETag headers over.
    return Response(
        body,
        media_type=f"{csv_export.CSV_MEDIA_TYPE}; charset=utf-8",
        headers=dict(response.headers),
    )


def csv_doc(description: str, example: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": description,
            "content": {
                csv_export.CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": example}
            },
        }
    }


def spread_csv(report: SpreadReport) -> str:
    return _csv(
        SPREAD_CSV_COLUMNS,
        [
            [
                unit.unit_id,
                unit.code,
                unit.name,
                unit.kind.value,
                unit.parent_id,
                unit.active_projects,
                unit.by_work_mode.side_of_desk,
                unit.by_work_mode.dedicated,
                unit.by_work_mode.core_business,
                unit.status.value,
            ]
            for unit in report.units
        ],
    )


BAROMETER_CSV_COLUMNS = ("unit_id", "code", "adopted_in", "adopted_out")
BAROMETER_CSV_EXAMPLE = (
    ",".join(BAROMETER_CSV_COLUMNS) + "\r\n12,CITY-PARK,0,4\r\n31,CITY-BUILD,2,0\r\n"
)


def barometer_csv(report: BarometerReport) -> str:
    return _csv(
        BAROMETER_CSV_COLUMNS,
        [
            [flow.unit_id, flow.code, flow.adopted_in, flow.adopted_out]
            for flow in report.diffusion.unit_flows
        ],
    )


def json_response(report: BaseModel, response: Response) -> Response:
    """The report serialized once, straight to JSON bytes, with the injected response's
    headers (its ETag). Returning the model would have FastAPI validate it again against
    `response_model` (a thousand unit rows at L) and serialize it through Python objects;
    the route keeps `response_model` for the OpenAPI document, and the JSON is the same."""
    return Response(
        report.model_dump_json(), media_type="application/json", headers=dict(response.headers)
    )


@router.get(
    "/spread",
    response_model=SpreadReport,
    responses={
        **csv_doc(
            "The report as JSON, or with `Accept: text/csv` its `units` rows as CSV (a header "
            "row, then one row per unit; `parent_id` empty for a root).",
            SPREAD_CSV_EXAMPLE,
        ),
        **problem_responses(*READ_ONE),
    },
    summary="Is innovation spread across the core business or stuck as side-of-desk work?",
    description="Active projects (stage `exploration`, `experiment` or `scaling`) by work mode "
    "and sponsor level, business-line coverage, lab share, a verdict, findings, and one row "
    "per unit.",
)
def spread_report(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    response: Response,
    unit_id: UnitScope = None,
    accept: Annotated[str | None, Header(max_length=1000, include_in_schema=False)] = None,
):
    root_id = service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    if csv_export.prefers_csv(accept or ""):
        report = service.spread(session=session, settings=settings, root_id=root_id)
        return csv_response(spread_csv(report), response)
    body = service.spread_json(session=session, settings=settings, root_id=root_id)
    return Response(body, media_type="application/json", headers=dict(response.headers))


@router.get(
    "/portfolio",
    response_model=PortfolioReport,
    responses=problem_responses(*READ_ONE),
    summary="Balance of the portfolio",
    description="Projects by stage, facet, risk band, sponsor level and work mode; facet x risk "
    "band; experiments by status, method and result; the stage funnel; adoption; risk balance.",
)
def portfolio_report(
    session: SessionDep, actor: Reader, response: Response, unit_id: UnitScope = None
):
    root_id = service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    return json_response(service.portfolio(session=session, root_id=root_id), response)


@router.get(
    "/outcomes",
    response_model=OutcomesReport,
    responses=problem_responses(*READ_ONE),
    summary="Is the portfolio outcome-based or activity-based?",
    description="Projects with outcome criteria, criteria by kind and status, completed "
    "experiments with lessons and results.",
)
def outcomes_report(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    response: Response,
    unit_id: UnitScope = None,
):
    root_id = service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    report = service.outcomes(session=session, settings=settings, root_id=root_id, today=today())
    return json_response(report, response)


@router.get(
    "/determinants",
    response_model=DeterminantsReport,
    responses=problem_responses(*READ_ONE),
    summary="Clarity, parity, suitability, normality: enablers and barriers",
    description="Tag counts per determinant with its prompting question and leadership "
    "levers, the weakest determinant, and barrier counts per unit for a heat map.",
)
def determinants_report(
    session: SessionDep, actor: Reader, response: Response, unit_id: UnitScope = None
):
    root_id = service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    return json_response(service.determinants(session=session, root_id=root_id), response)


@router.get(
    "/barometer",
    response_model=BarometerReport,
    responses={
        **csv_doc(
            "The report as JSON, or with `Accept: text/csv` its `diffusion.unit_flows` rows "
            "as CSV (a header row, then one row per unit).",
            BAROMETER_CSV_EXAMPLE,
        ),
        **problem_responses(*READ_ONE),
    },
    summary="The innovation barometer: novelty, reuse, collaboration, value, evaluation",
    description="The Innovation Barometer's indicators over the innovations embedded in the "
    "window (non-archived projects with `embedded_on` in it), how innovations spread between "
    "units, and the national figures beside this organization's.",
)
def barometer_report(
    session: SessionDep,
    actor: Reader,
    response: Response,
    unit_id: UnitScope = None,
    from_date: Annotated[
        date | None,
        Query(
            alias="from",
            description="First day of the window (inclusive); default: `to` two years back.",
        ),
    ] = None,
    to_date: Annotated[
        date | None,
        Query(alias="to", description="Last day of the window (inclusive); default: today."),
    ] = None,
    accept: Annotated[str | None, Header(max_length=1000, include_in_schema=False)] = None,
):
    start, end = service.barometer_window(today=today(), from_date=from_date, to_date=to_date)
    root_id = service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    report = service.barometer(session=session, root_id=root_id, from_date=start, to_date=end)
    if csv_export.prefers_csv(accept or ""):
        return csv_response(barometer_csv(report), response)
    return json_response(report, response)
