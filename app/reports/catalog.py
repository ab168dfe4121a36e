"""Every report by name: the one entry point of the API's report routes and of the CLI's
`portfolio report`. One table, so a new report is one row here."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from app.core.config import Settings
from app.core.revision import service as revision
from app.reports import experimentation, flow, service, trends
from app.reports.answers import AnswerCache
from app.reports.experimentation import ExperimentationReport
from app.reports.schemas import BarometerReport, Report, ReportName
from app.reports.window import Interval


@dataclass(frozen=True)
class ReportRequest:
    """What any report may take; each report reads the options that apply to it."""

    session: Session
    settings: Settings
    root_id: int | None
    today: date
    as_of: date | None = None  # spread: as at the end of this day
    year: int | None = None  # experimentation: the fiscal year (default: today's)
    start: date | None = None  # trends, flow, barometer: the window
    end: date | None = None
    interval: Interval = Interval.quarter  # trends
    answers: AnswerCache | None = None  # the API's answers by ETag; the CLI has none

    def scope(self) -> dict[str, Any]:
        """The arguments every report that reads settings takes first."""
        return {"session": self.session, "settings": self.settings, "root_id": self.root_id}


def _barometer(request: ReportRequest) -> BarometerReport:
    start, end = service.barometer_window(
        today=request.today, from_date=request.start, to_date=request.end
    )
    return service.barometer(
        session=request.session, root_id=request.root_id, from_date=start, to_date=end
    )


REPORTS: dict[ReportName, Callable[[ReportRequest], Report | ExperimentationReport]] = {
    ReportName.spread: lambda r: service.spread(**r.scope(), as_of=r.as_of),
    ReportName.portfolio: lambda r: service.portfolio(session=r.session, root_id=r.root_id),
    ReportName.outcomes: lambda r: service.outcomes(**r.scope(), today=r.today),
    ReportName.determinants: lambda r: service.determinants(session=r.session, root_id=r.root_id),
    ReportName.trends: lambda r: trends.trends(
        **r.scope(), start=r.start, end=r.end, interval=r.interval, today=r.today
    ),
    ReportName.flow: lambda r: flow.flow(**r.scope(), start=r.start, end=r.end, today=r.today),
    ReportName.experimentation: lambda r: experimentation.build(
        **r.scope(), year=r.year, today=r.today
    ),
    ReportName.barometer: _barometer,
}


# The kinds of data each report reads (app.core.revision): its ETag is made of their
# revisions, so a write of another kind leaves it current. Through the summary tables too:
# the determinants' tags of archived experiments do not count, so they read their owners.
_TODAY = ("units", "projects")
_TIMELINE = (*_TODAY, "project_periods")
READS: dict[ReportName, frozenset[str]] = {
    ReportName.spread: frozenset(_TIMELINE),
    ReportName.portfolio: frozenset((*_TODAY, "experiments")),
    ReportName.outcomes: frozenset((*_TODAY, "experiments", "criteria", "measurements")),
    # Experiments as the owners of tags only: a new one has none.
    ReportName.determinants: frozenset((*_TODAY, "experiment_owners", "determinant_tags")),
    ReportName.trends: frozenset(_TIMELINE),
    ReportName.flow: frozenset(_TIMELINE),
    # Experiments with a date or finished only: a proposed one is not counted until it has.
    ReportName.experimentation: frozenset(
        (*_TODAY, "dated_experiments", "criteria", "unit_commitments")
    ),
    ReportName.barometer: frozenset(_TODAY),
}


_READS_BY_PATH_NAME = {name.value: kinds for name, kinds in READS.items()}
_EVERY_KIND = frozenset(revision.KINDS)


def reads(report: str) -> frozenset[str]:
    """The kinds of data the report named `report` reads; every kind for a name that is no
    report (a 404 whatever the tag)."""
    return _READS_BY_PATH_NAME.get(report, _EVERY_KIND)


# Reports whose JSON PostgreSQL can build ready-made, the same bytes as the model's.
READY_MADE_JSON: dict[ReportName, Callable[[ReportRequest], bytes]] = {
    ReportName.spread: lambda r: service.spread_json(**r.scope(), as_of=r.as_of),
    ReportName.determinants: lambda r: service.determinants_json(
        session=r.session, root_id=r.root_id
    ),
    ReportName.experimentation: lambda r: experimentation.build_json(
        **r.scope(), year=r.year, today=r.today
    ),
}


def build(name: ReportName, request: ReportRequest) -> Report | ExperimentationReport:
    """The report `name`, computed by the same queries for the API and the CLI."""
    return REPORTS[name](request)


def build_json(name: ReportName, request: ReportRequest) -> bytes:
    """The report `name` as the API's JSON: ready-made where the report has it, else the
    model serialized once."""
    ready_made = READY_MADE_JSON.get(name)
    if ready_made is not None:
        return ready_made(request)
    return build(name, request).model_dump_json().encode()
