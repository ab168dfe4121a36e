"""Trends: the spread report's headline numbers at every interval end of a window.

Two statements whatever the number of points and the portfolio's size: the points go to
the database as one VALUES list and the counts come from the trends summaries
(`timeline_summaries`: signed changes per unit and month, and each unit's spans of active
projects), not from the periods, so a point costs a few rows per month of history rather
than a scan of every period (at L, 200,000 projects, about 70,000 month rows against
500,000 periods); the business lines in scope are counted once (they are the current
units, the same at every point). Shares and verdicts follow from the counts by the spread
report's own rules (`service.spread_headline`), so each point equals the spread report as
of that day.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Row,
    and_,
    case,
    column,
    false,
    func,
    or_,
    select,
    true,
    union_all,
    values,
)
from sqlmodel import Session, col

from app.core.config import Settings
from app.projects.models import ProjectPeriod, SponsorLevel, Stage, WorkMode
from app.reports import periods, service, timeline_summaries, window
from app.reports.schemas import TrendPoint, TrendsReport
from app.units.models import Unit, UnitKind
from app.units.service import in_subtree


def _edge(day: date) -> tuple[date, date, date, int]:
    """How a point's own month is read: ``(month_after, first, last, sign)``. The month
    rows before ``month_after`` count whole, and the periods dated from ``first`` to
    ``last`` count with ``sign``: the days of the month up to the point (+1), or, when
    fewer, the whole month from its row less the days after the point (-1). So at most half
    a month of periods is read, whatever the day (at L a late point read ~11,000 periods
    of its month where it now reads a few hundred)."""
    last = window.month_end(day.year, day.month)
    if (last - day).days < day.day:
        return last + timedelta(days=1), day + timedelta(days=1), last, -1
    month_start = day.replace(day=1)
    return month_start, month_start, day, 1


def _point_counts(
    *, session: Session, root_id: int | None, days: list[date]
) -> dict[date, Row[Any]]:
    """Per point: ``projects``, ``stage_*``, ``active_projects``, ``mode_*``, ``sponsor_*``,
    ``lab_projects`` and ``with_innovation`` (business lines owning an active project).

    A point's counts are the signed changes of the periods dated on or before it
    (`timeline_summaries`): the month rows of the months before its ``month_after``,
    summed per month over the units in scope once (a hundred or so months, however many
    periods), plus, for a point that is not a month end, the periods starting or ending in
    its month up to it, or, when fewer, less those after it. The business lines are
    counted from their active spans."""
    # (as_of, month_after, edge_first, edge_last, edge_sign) per point.
    edges = [(day, *_edge(day)) for day in days]
    points = (
        values(
            column("idx", Integer),
            column("as_of", Date),
            column("month_after", Date),
            column("edge_first", Date),
            column("edge_last", Date),
            column("edge_sign", Integer),
            name="points",
        )
        .data([(index, *edge) for index, edge in enumerate(edges)])
        .cte("points")
    )
    names = list(timeline_summaries.COUNTS)
    labels = [*names, "lab_projects"]
    lab = and_(col(Unit.kind) == UnitKind.innovation_lab, col(Unit.archived) == false())

    months_table = timeline_summaries.period_month_counts
    months = (
        select(
            months_table.c.month_start,
            *(func.sum(months_table.c[name]).label(name) for name in names),
            func.sum(case((lab, months_table.c.active_projects), else_=0)).label("lab_projects"),
        )
        .join(Unit, col(Unit.id) == months_table.c.unit_id)
        .where(periods.unit_in_scope(root_id, "months_scope"))
        .group_by(months_table.c.month_start)
        .cte("months")
    )
    before = (
        select(points.c.idx, *(func.sum(months.c[label]).label(label) for label in labels))
        .join(months, months.c.month_start < points.c.month_after)
        .group_by(points.c.idx)
        .subquery("before")
    )

    # The changes dated in a point's own month, up to it, or after it to be taken out
    # (`_edge`; none for a month end).
    tracked = {
        "stage": col(ProjectPeriod.stage),
        "work_mode": col(ProjectPeriod.work_mode),
        "sponsor_level": col(ProjectPeriod.sponsor_level),
    }

    # The days those changes can fall on, as constants: an index range of the periods'
    # `valid_from` (`valid_to`) where the join with the points alone read every period
    # (at L 200 ms for the default window, whose last point is today).
    partial = [(first, last) for _, _, first, last, _ in edges if first <= last]
    first_day = min((first for first, _ in partial), default=None)
    last_day = max((last for _, last in partial), default=None)

    def dated(day: Any, sign: int, scope_name: str) -> Any:
        signed = points.c.edge_sign * sign
        counted = {
            name: case((timeline_summaries.condition(tracked, name), signed), else_=0)
            for name in names
        }
        counted["lab_projects"] = case(
            (and_(lab, periods.is_active(tracked["stage"])), signed), else_=0
        )
        return (
            select(points.c.idx, *(counted[label].label(label) for label in labels))
            .select_from(periods.periods_with_units())
            .join(points, day.between(points.c.edge_first, points.c.edge_last))
            .where(
                ~periods.of_archived_project(),
                periods.unit_in_scope(root_id, scope_name),
                day.between(first_day, last_day) if partial else false(),
            )
        )

    changes = union_all(
        dated(col(ProjectPeriod.valid_from), 1, "started_scope"),
        dated(col(ProjectPeriod.valid_to), -1, "ended_scope"),
    ).subquery("changes")
    this_month = (
        select(changes.c.idx, *(func.sum(changes.c[label]).label(label) for label in labels))
        .group_by(changes.c.idx)
        .subquery("this_month")
    )

    spans = timeline_summaries.unit_active_spans
    lines = (
        select(points.c.idx, func.count().label("with_innovation"))
        .select_from(points)
        .join(
            spans,
            and_(
                spans.c.valid_from <= points.c.as_of,
                or_(spans.c.valid_to.is_(None), spans.c.valid_to > points.c.as_of),
            ),
        )
        .join(Unit, col(Unit.id) == spans.c.unit_id)
        .where(
            col(Unit.kind) == UnitKind.business_line,
            col(Unit.archived) == false(),
            periods.unit_in_scope(root_id, "lines_scope"),
        )
        .group_by(points.c.idx)
        .subquery("lines")
    )
    statement = (
        select(
            points.c.as_of,
            *(
                (func.coalesce(before.c[label], 0) + func.coalesce(this_month.c[label], 0)).label(
                    label
                )
                for label in labels
            ),
            func.coalesce(lines.c.with_innovation, 0).label("with_innovation"),
        )
        .select_from(points)
        .outerjoin(before, before.c.idx == points.c.idx)
        .outerjoin(this_month, this_month.c.idx == points.c.idx)
        .outerjoin(lines, lines.c.idx == points.c.idx)
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
    return TrendPoint(
        as_of=day,
        active_projects=active,
        **service.spread_headline(
            active=active,
            by_work_mode=by_mode,
            individual=count(f"sponsor_{SponsorLevel.individual.value}"),
            with_innovation=count("with_innovation"),
            business_lines=business_lines,
            lab_projects=count("lab_projects"),
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
