"""GET /reports/*: read by every role, scoped to a unit's subtree on request."""

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from app.api import csv_export
from app.api.deps import SettingsDep
from app.core import fiscal
from app.core.db import SessionDep, today
from app.core.errors import READ_ONE, problem_responses
from app.projects.models import Stage, WorkMode
from app.reports import catalog, experimentation, service
from app.reports.answers import Answer
from app.reports.catalog import ReportRequest
from app.reports.conditional import NOT_MODIFIED, ReportRoot
from app.reports.schemas import (
    BarometerReport,
    DeterminantsReport,
    FlowReport,
    OutcomesReport,
    PortfolioReport,
    ReportName,
    SpreadReport,
    TrendsReport,
)
from app.reports.window import MAX_POINTS, Interval

# Every report takes its scope from `ReportRoot`, which also sets the ETag from the data
# revision: a matching If-None-Match is a 304 after the scope checks and before any report
# query runs (app.reports.conditional).
router = APIRouter(prefix="/reports", tags=["reports"], responses=NOT_MODIFIED)

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


def rows_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header row, then one row per item; cells as in every CSV export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_export.cell(value) for value in row)
    return buffer.getvalue()


R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class CsvTable(Generic[R]):
    """The rows of a report its CSV representation lists."""

    columns: Sequence[str]
    rows: Callable[[R], Iterable[Sequence[Any]]]
    # When set, the CSV comes as a download (Content-Disposition) under this name.
    filename: str | None = None

    def render(self, report: R) -> str:
        return rows_csv(self.columns, self.rows(report))


async def get_report_request(
    request: Request, session: SessionDep, settings: SettingsDep, root_id: ReportRoot
) -> ReportRequest:
    """What every report route passes on: its scope (after `ReportRoot`'s checks and ETag),
    today and the worker's answers by ETag; each route adds its own options with
    `dataclasses.replace`."""
    return ReportRequest(
        session=session,
        settings=settings,
        root_id=root_id,
        today=today(),
        answers=request.app.state.report_answers,
    )


ReportRequestDep = Annotated[ReportRequest, Depends(get_report_request)]
AcceptHeader = Annotated[str | None, Header(max_length=1000, include_in_schema=False)]


def _with_etag(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """A route's own 200 (a CSV representation's) replaces the router's whole, so it gets
    the router's `ETag` header here: every report's 200 carries one."""
    if 200 not in responses:
        return responses
    return {**responses, 200: {**NOT_MODIFIED[200], **responses[200]}}


def report_route(
    name: ReportName,
    response_model: type[BaseModel],
    *,
    summary: str,
    description: str,
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`GET /reports/{name}`, documented with the problems any report can answer besides
    `responses` (a CSV representation's 200)."""
    return router.get(
        f"/{name.value}",
        response_model=response_model,
        responses={**_with_etag(responses or {}), **problem_responses(*READ_ONE)},
        summary=summary,
        description=description,
    )


def respond(
    response: Response,
    name: ReportName,
    report_request: ReportRequest,
    *,
    accept: str | None = None,
    csv: CsvTable[Any] | None = None,
) -> Response:
    """A report route's answer, after `ReportRoot` set the ETag (or answered 304): with
    `Accept: text/csv` and a `csv` table, its rows as CSV; otherwise the JSON
    (`catalog.build_json`). An answer already computed for the same ETag is reused
    (app.reports.answers).

    Serialized here rather than returned: FastAPI would validate the model again against
    `response_model` (a thousand unit rows at L) and serialize it through Python objects;
    the route keeps `response_model` for the OpenAPI document, and the JSON is the same.
    A returned Response replaces the injected one, so its headers (the ETag) carry over."""
    headers = dict(response.headers)

    def build() -> Answer:
        if csv is not None and csv_export.prefers_csv(accept or ""):
            return Answer(
                csv.render(catalog.build(name, report_request)).encode(),
                f"{csv_export.CSV_MEDIA_TYPE}; charset=utf-8",
                tuple(csv_export.attachment(csv.filename).items()) if csv.filename else (),
            )
        return Answer(catalog.build_json(name, report_request), "application/json")

    answers = report_request.answers
    etag = headers.get("etag")
    answer = answers.answer(etag, build) if answers is not None and etag else build()
    return Response(
        answer.body, media_type=answer.media_type, headers={**headers, **dict(answer.headers)}
    )


def csv_doc(description: str, example: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {
                csv_export.CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": example}
            },
        }
    }


SPREAD_CSV = CsvTable[SpreadReport](
    SPREAD_CSV_COLUMNS,
    lambda report: (
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
    ),
    filename="spread.csv",
)


BAROMETER_CSV_COLUMNS = ("unit_id", "code", "adopted_in", "adopted_out")
BAROMETER_CSV_EXAMPLE = (
    ",".join(BAROMETER_CSV_COLUMNS) + "\r\n12,CITY-PARK,0,4\r\n31,CITY-BUILD,2,0\r\n"
)


BAROMETER_CSV = CsvTable[BarometerReport](
    BAROMETER_CSV_COLUMNS,
    lambda report: (
        [flow.unit_id, flow.code, flow.adopted_in, flow.adopted_out]
        for flow in report.diffusion.unit_flows
    ),
)


@report_route(
    ReportName.spread,
    SpreadReport,
    responses=csv_doc(
        "The report as JSON, or with `Accept: text/csv` its `units` rows as CSV (a "
        "header row, then one row per unit; `parent_id` empty for a root).",
        SPREAD_CSV_EXAMPLE,
    ),
    summary="Is innovation spread across the core business or stuck as side-of-desk work?",
    description="Active projects (stage `exploration`, `experiment` or `scaling`) by work mode "
    "and sponsor level, business-line coverage, lab share, a verdict, findings, and one row "
    "per unit.",
)
def spread_report(
    response: Response,
    report_request: ReportRequestDep,
    as_of: Annotated[
        date | None,
        Query(
            description="Compute the report as at the end of this day (UTC; not after "
            "today), from the projects' timelines: the projects that existed then, with the "
            "stage, work mode, sponsor level and unit they had then; the units as they are "
            "now. Default: now.",
            examples=["2026-03-31"],
        ),
    ] = None,
    accept: AcceptHeader = None,
):
    service.check_as_of(as_of, report_request.today)
    return respond(
        response,
        ReportName.spread,
        replace(report_request, as_of=as_of),
        accept=accept,
        csv=SPREAD_CSV,
    )


@report_route(
    ReportName.portfolio,
    PortfolioReport,
    summary="Balance of the portfolio",
    description="Projects by stage, facet, risk band, sponsor level and work mode; facet x risk "
    "band; experiments by status, method and result; the stage funnel; adoption; risk balance.",
)
def portfolio_report(response: Response, report_request: ReportRequestDep):
    return respond(response, ReportName.portfolio, report_request)


@report_route(
    ReportName.outcomes,
    OutcomesReport,
    summary="Is the portfolio outcome-based or activity-based?",
    description="Projects with outcome criteria, criteria by kind and status, completed "
    "experiments with lessons and results.",
)
def outcomes_report(response: Response, report_request: ReportRequestDep):
    return respond(response, ReportName.outcomes, report_request)


@report_route(
    ReportName.determinants,
    DeterminantsReport,
    summary="Clarity, parity, suitability, normality: enablers and barriers",
    description="Tag counts per determinant with its prompting question and leadership "
    "levers, the weakest determinant, and barrier counts per unit for a heat map.",
)
def determinants_report(response: Response, report_request: ReportRequestDep):
    return respond(response, ReportName.determinants, report_request)


# --- timeline reports -----------------------------------------------------------------

WindowTo = Annotated[
    date | None,
    Query(
        description="Last day of the window (inclusive). Default: today (UTC); not after today.",
        examples=["2026-04-15"],
    ),
]


def _window_from(default: str, example: str) -> Any:
    return Query(
        alias="from",
        description="First day of the window (inclusive). Default: "
        f"{default} before `to`, the same day of the month, or the month's last day when it "
        "has none (29 February). Not after `to`.",
        examples=[example],
    )


TRENDS_CSV_COLUMNS = (
    "as_of",
    "active_projects",
    "side_of_desk_share",
    "core_business_share",
    "individual_sponsor_share",
    "business_line_coverage",
    "lab_share",
    "verdict",
    *(f"stage_{stage.value}" for stage in Stage),
    *(f"work_mode_{mode.value}" for mode in WorkMode),
)


TRENDS_CSV = CsvTable[TrendsReport](
    TRENDS_CSV_COLUMNS,
    lambda report: (
        [
            point.as_of.isoformat(),
            point.active_projects,
            point.side_of_desk_share,
            point.core_business_share,
            point.individual_sponsor_share,
            point.business_line_coverage,
            point.lab_share,
            point.verdict.value,
            *point.by_stage.model_dump().values(),
            *point.by_work_mode.model_dump().values(),
        ]
        for point in report.points
    ),
)
TRENDS_CSV_EXAMPLE = rows_csv(
    TRENDS_CSV_COLUMNS,
    [
        ["2026-03-31", 10, 0.3, 0.4, 0.4, 0.75, 0.2, "mixed", 3, 3, 4, 3, 2, 1, 3, 3, 4],
        ["2026-04-15", 10, 0.2, 0.5, 0.4, 0.75, 0.2, "spread", 3, 3, 4, 3, 2, 1, 2, 3, 5],
    ],
)


@report_route(
    ReportName.trends,
    TrendsReport,
    responses=csv_doc(
        "The report as JSON, or with `Accept: text/csv` its `points` as CSV: a header row, "
        "then one row per point, oldest first (a null share is an empty cell).",
        TRENDS_CSV_EXAMPLE,
    ),
    summary="How the spread of innovation moved over time",
    description="The spread report's headline numbers (active projects, shares, business-line "
    "coverage, lab share, verdict) plus projects by stage and active projects by work mode, "
    "as at the end of every interval end within the window and of its last day. At most "
    f"{MAX_POINTS} points: a longer window is a 422 on `from`.",
)
def trends_report(
    response: Response,
    report_request: ReportRequestDep,
    start: Annotated[date | None, _window_from("two years", "2024-04-15")] = None,
    to: WindowTo = None,
    interval: Annotated[
        Interval,
        Query(
            description="`month` (every month's last day), `quarter` (31 March, 30 June, "
            "30 September, 31 December) or `year` (31 December).",
            examples=["quarter"],
        ),
    ] = Interval.quarter,
    accept: AcceptHeader = None,
):
    return respond(
        response,
        ReportName.trends,
        replace(report_request, start=start, end=to, interval=interval),
        accept=accept,
        csv=TRENDS_CSV,
    )


STALLED_CSV_COLUMNS = ("project_id", "title", "unit_id", "stage", "since", "days")


FLOW_CSV = CsvTable[FlowReport](
    STALLED_CSV_COLUMNS,
    lambda report: (
        [p.project_id, p.title, p.unit_id, p.stage.value, p.since.isoformat(), p.days]
        for p in report.stalled.projects
    ),
)
FLOW_CSV_EXAMPLE = rows_csv(
    STALLED_CSV_COLUMNS,
    [
        [42, "Chatbot for benefit questions", 5, "exploration", "2025-06-02", 317],
        [17, "Shared case notes", 5, "exploration", "2025-08-20", 238],
    ],
)


@report_route(
    ReportName.flow,
    FlowReport,
    responses=csv_doc(
        "The report as JSON, or with `Accept: text/csv` its stalled projects "
        "(`stalled.projects`, at most 100, longest stay first) as CSV.",
        FLOW_CSV_EXAMPLE,
    ),
    summary="What moved between stages, how long stages took, what is stuck",
    description="Over the projects existing at `to` whose unit at `to` is in scope: stage "
    "transitions and entries within the window, time in stage (finished and ongoing stays), "
    "mainstreaming of side-of-desk work, institutionalisation of individual sponsorship, and "
    "the projects stalled at `to` (longer in their stage than `PORTFOLIO_STALL_DAYS`).",
)
def flow_report(
    response: Response,
    report_request: ReportRequestDep,
    start: Annotated[date | None, _window_from("one year", "2025-04-15")] = None,
    to: WindowTo = None,
    accept: AcceptHeader = None,
):
    return respond(
        response,
        ReportName.flow,
        replace(report_request, start=start, end=to),
        accept=accept,
        csv=FLOW_CSV,
    )


EXPERIMENTATION_CSV_COLUMNS = (
    "unit_id",
    "code",
    "name",
    "program_funds",
    "target_share",
    "target_amount",
    "experiment_spend",
    "spend_share",
    "meets_target",
)
EXPERIMENTATION_CSV_EXAMPLE = (
    ",".join(EXPERIMENTATION_CSV_COLUMNS)
    + "\r\n3,TAX-OPS,Tax operations,12000000.0,0.05,600000.0,420000.0,0.035,false\r\n"
    + "4,LAB,Innovation lab,,,,15000.0,,\r\n"
)


EXPERIMENTATION_CSV = CsvTable[experimentation.ExperimentationReport](
    EXPERIMENTATION_CSV_COLUMNS,
    lambda report: (
        [data[column] for column in EXPERIMENTATION_CSV_COLUMNS]
        for data in (row.model_dump(mode="json") for row in report.spend)
    ),
)


@report_route(
    ReportName.experimentation,
    experimentation.ExperimentationReport,
    responses=csv_doc(
        "The report as JSON, or with `Accept: text/csv` its `spend` rows as CSV (a header "
        "row, then one row per unit; empty cells for null).",
        EXPERIMENTATION_CSV_EXAMPLE,
    ),
    summary="Is the experimentation mandate kept: rigour, publication, spend?",
    description="For one fiscal year: the experiments started by comparison and rigour; the "
    "results published, due and overdue by result, and the publication gap between successes "
    "and failures; each unit's experiment spend against its commitment; the overdue "
    "experiments; findings.",
)
def experimentation_report(
    response: Response,
    report_request: ReportRequestDep,
    year: Annotated[
        int | None,
        Query(
            ge=fiscal.FIRST_YEAR,
            le=fiscal.LAST_YEAR,
            description="Fiscal year, named by the calendar year it starts in; default: the "
            "year containing today (UTC).",
        ),
    ] = None,
    accept: AcceptHeader = None,
):
    return respond(
        response,
        ReportName.experimentation,
        replace(report_request, year=year),
        accept=accept,
        csv=EXPERIMENTATION_CSV,
    )


@report_route(
    ReportName.barometer,
    BarometerReport,
    responses=csv_doc(
        "The report as JSON, or with `Accept: text/csv` its `diffusion.unit_flows` rows "
        "as CSV (a header row, then one row per unit).",
        BAROMETER_CSV_EXAMPLE,
    ),
    summary="The innovation barometer: novelty, reuse, collaboration, value, evaluation",
    description="The Innovation Barometer's indicators over the innovations embedded in the "
    "window (non-archived projects with `embedded_on` in it), how innovations spread between "
    "units, and the national figures beside this organization's.",
)
def barometer_report(
    response: Response,
    report_request: ReportRequestDep,
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
    accept: AcceptHeader = None,
):
    return respond(
        response,
        ReportName.barometer,
        replace(report_request, start=from_date, end=to_date),
        accept=accept,
        csv=BAROMETER_CSV,
    )
