"""Trends: the spread report's headline numbers at every interval end of a window.

Two statements whatever the number of points and the portfolio's size: the points go to
the database as one VALUES list, every period is joined to the points it contains and
counted per point; the business lines in scope are counted once (they are the current
units, the same at every point). Shares and verdicts follow from the counts by the spread
report's own rules (`service.spread_verdict`), so each point equals the spread report as
of that day.
"""

from datetime import date
from typing import Any

from sqlalchemy import Date, Row, and_, case, column, false, func, select, true, values
from sqlmodel import Session, col

from app.core.config import Settings
from app.projects.models import ProjectPeriod, SponsorLevel, Stage, WorkMode
from app.reports import periods, service, window
from app.reports.schemas import TrendPoint, TrendsReport
from app.units.models import Unit, UnitKind
from app.units.service import in_subtree


def _point_counts(
    *, session: Session, root_id: int | None, days: list[date]
) -> dict[date, Row[Any]]:
    """Per point that has any project: ``projects``, ``stage_*``, ``active_projects``,
    ``mode_*``, ``sponsor_*``, ``lab_projects`` and ``with_innovation`` (business lines
    owning an active project)."""
    points = values(column("as_of", Date), name="points").data([(day,) for day in days])
    points_cte = points.cte("points")
    point = points_cte.c.as_of
    stage = col(ProjectPeriod.stage)
    active = periods.is_active(stage)
    business_line = and_(col(Unit.kind) == UnitKind.business_line, col(Unit.archived) == false())
    statement = (
        select(
            point.label("as_of"),
            func.count().label("projects"),
            *(periods.count_where(stage == value, f"stage_{value.value}") for value in Stage),
            periods.count_where(active, "active_projects"),
            *(
                periods.count_where(
                    and_(active, col(ProjectPeriod.work_mode) == mode), f"mode_{mode.value}"
                )
                for mode in WorkMode
            ),
            *(
                periods.count_where(
                    and_(active, col(ProjectPeriod.sponsor_level) == level),
                    f"sponsor_{level.value}",
                )
                for level in SponsorLevel
            ),
            periods.count_where(
                and_(active, col(Unit.kind) == UnitKind.innovation_lab), "lab_projects"
            ),
            func.count(
                func.distinct(case((and_(active, business_line), col(ProjectPeriod.unit_id))))
            ).label("with_innovation"),
        )
        .select_from(periods.live_periods())
        .join(points_cte, periods.contains(point))
        .where(periods.unit_in_scope(root_id))
        .group_by(point)
    )
    return {row.as_of: row for row in session.execute(statement).all()}


def _business_lines(*, session: Session, root_id: int | None) -> int:
    statement = select(func.count()).where(
        col(Unit.kind) == UnitKind.business_line,
        col(Unit.archived) == false(),
        true() if root_id is None else in_subtree(col(Unit.id), root_id),
    )
    return int(session.execute(statement).scalar_one())


def _point(day: date, row: Row[Any] | None, business_lines: int, settings: Settings) -> TrendPoint:
    mapping = row._mapping if row is not None else {}

    def count(label: str) -> int:
        return int(mapping.get(label, 0))

    active = count("active_projects")
    by_mode = {mode.value: count(f"mode_{mode.value}") for mode in WorkMode}
    side_share = service.share(by_mode[WorkMode.side_of_desk], active)
    core_share = service.share(by_mode[WorkMode.core_business], active)
    individual_share = service.share(count(f"sponsor_{SponsorLevel.individual.value}"), active)
    coverage = service.share(count("with_innovation"), business_lines)
    lab_share = service.share(count("lab_projects"), active)
    return TrendPoint(
        as_of=day,
        active_projects=active,
        side_of_desk_share=side_share,
        core_business_share=core_share,
        individual_sponsor_share=individual_share,
        business_line_coverage=coverage,
        lab_share=lab_share,
        verdict=service.spread_verdict(
            active=active,
            side_share=side_share,
            core_share=core_share,
            individual_share=individual_share,
            coverage=coverage,
            lab_share=lab_share,
            settings=settings,
        ),
        by_stage={stage.value: count(f"stage_{stage.value}") for stage in Stage},
        by_work_mode=by_mode,
    )


def trends(
    *,
    session: Session,
    settings: Settings,
    root_id: int | None,
    start: date | None,
    end: date | None,
    interval: window.Interval,
    today: date,
) -> TrendsReport:
    span = window.window(start=start, end=end, years=2, today=today)
    days = window.points(span.start, span.end, interval)
    counts = _point_counts(session=session, root_id=root_id, days=days)
    business_lines = _business_lines(session=session, root_id=root_id)
    session.commit()
    return TrendsReport(
        unit_id=root_id,
        from_=span.start,
        to=span.end,
        interval=interval,
        thresholds=service.thresholds(settings),
        points=[_point(day, counts.get(day), business_lines, settings) for day in days],
    )
