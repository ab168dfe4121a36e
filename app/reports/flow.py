"""Flow: what moved between stages within a window, how long stages took, what is stuck.

Six statements whatever the portfolio's size. Each reads the same common table
`runs`: every period starting on or before `to` of the projects in scope (those existing
at `to` whose unit at `to` is in scope), with its run columns, stored on the period when it
was written (`ProjectPeriod`): the previous period's stage (`prev_stage`), the period's
`stage_since` (the `from` of the earliest period of the unbroken run of periods with its
stage, up to this period) and the previous period's (`prev_stage_since`). They once came
from window functions over every period of every project in scope, in each statement:
5.5 s at L (bench/RESULTS.md, "Flow at L").

For the whole organization (no `unit_id`) the moves and the completed stays come from the
day and month summaries of `app.reports.flow_summaries` (the window's whole months, their
medians in two levels: stays per bucket of lengths, then the lengths of two buckets; the
days at its edges from the periods, or an edge month whole less its days outside the
window when those are fewer), and when `to` is today (the dashboards' default), the
current stays, stalled counts and start-of-window counts from its other tables, and the
stalled units and projects from the projects' own rows, which hold their last period's
values.
Same numbers, same six statements; what is left to grow with the data is in
bench/RESULTS.md ("Issue 17, eighth pass").
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Row, and_, case, false, func, literal, or_, select, union_all
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.db import as_dicts
from app.projects.models import Project, ProjectPeriod, SponsorLevel, Stage, WorkMode
from app.reports import flow_summaries, periods, queries, service, window
from app.reports.schemas import FlowReport, StalledProject, StalledUnit, Transition
from app.reports.summaries import project_counts
from app.units.models import Unit

# Stages whose stays are measured: a project can still leave them for a later stage.
MEASURED_STAGES = flow_summaries.MEASURED_STAGES
STAGE_ORDER = {stage: index for index, stage in enumerate(Stage)}
MAX_STALLED_PROJECTS = 100


def _live_today(end: date) -> Any:
    """The whole organization at `to` when it is today, as the rows of `_runs` holding
    `to`: every live project's own row, which holds its last period's values (the period
    holding today: a period never starts after the day it is written), one row per
    project where the periods are several."""
    return (
        select(
            col(Project.id).label("project_id"),
            # Every row holds `to` (`_holds`).
            periods.at(end).label("valid_from"),
            literal(None, Date).label("valid_to"),
            col(Project.stage),
            col(Project.work_mode),
            col(Project.sponsor_level),
            col(Project.unit_id),
            col(Project.stage_since),
        )
        .where(col(Project.archived) == false())
        .cte("live_today")
        .prefix_with("NOT MATERIALIZED", dialect="postgresql")
    )


def _runs(root_id: int | None, end: date, name: str = "runs") -> Any:
    columns = (
        col(ProjectPeriod.project_id),
        col(ProjectPeriod.valid_from),
        col(ProjectPeriod.valid_to),
        col(ProjectPeriod.stage),
        col(ProjectPeriod.work_mode),
        col(ProjectPeriod.sponsor_level),
        col(ProjectPeriod.unit_id),
        col(ProjectPeriod.prev_stage),
        col(ProjectPeriod.stage_since),
        col(ProjectPeriod.prev_stage_since),
    )
    if root_id is None:
        # The whole organization: the periods of every live project, whatever its unit at
        # `to` (one that did not exist yet has no period from on or before `to`). Said as
        # "not of an archived project": the few archived ones are an index range, where
        # joining the live ones made PostgreSQL read all 200,000 projects at L to keep a
        # month of periods.
        runs = select(*columns).where(~periods.of_archived_project())
    else:
        in_scope = (
            select(col(ProjectPeriod.project_id).label("project_id"))
            .select_from(periods.periods_with_units())
            .where(
                ~periods.of_archived_project(),
                periods.contains(periods.at(end)),
                periods.unit_in_scope(root_id),
            )
            .subquery("in_scope")
        )
        runs = select(*columns).join(
            in_scope, in_scope.c.project_id == col(ProjectPeriod.project_id)
        )
    return (
        runs.where(col(ProjectPeriod.valid_from) <= periods.at(end))
        .cte(name)
        # A plain join now, so each statement's planner may push its own conditions into
        # it (the periods holding a day are an index range) rather than write every row
        # out once and filter that (at L: 490,000 rows, half a second per statement).
        .prefix_with("NOT MATERIALIZED", dialect="postgresql")
    )


def _holds(runs: Any, day: Any) -> Any:
    return and_(runs.c.valid_from <= day, or_(runs.c.valid_to.is_(None), runs.c.valid_to > day))


def _changes(runs: Any) -> Any:
    """Periods that are not a project's first and change its stage."""
    return and_(runs.c.prev_stage.is_not(None), runs.c.prev_stage != runs.c.stage)


def _moves(session: Session, runs: Any, span: window.Window, whole: bool) -> list[Row[Any]]:
    """(prev_stage, stage, moves) for the periods starting within the window that begin a
    project (prev_stage null) or change its stage; the whole organization's from its day
    summaries."""
    if whole:
        days = flow_summaries.flow_day_moves.c
        total = func.sum(days.moves)
        summed = (
            select(
                func.nullif(days.prev_stage, flow_summaries.FIRST).label("prev_stage"),
                days.stage,
                total.label("moves"),
            )
            .where(days.day.between(periods.at(span.start), periods.at(span.end)))
            .group_by(days.prev_stage, days.stage)
            .having(total != 0)
        )
        return list(session.execute(summed).all())
    start = span.start
    statement = (
        select(runs.c.prev_stage, runs.c.stage, func.count().label("moves"))
        .where(
            runs.c.valid_from >= periods.at(start),
            or_(runs.c.prev_stage.is_(None), runs.c.prev_stage != runs.c.stage),
        )
        .group_by(runs.c.prev_stage, runs.c.stage)
    )
    return list(session.execute(statement).all())


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class _StaySpans:
    """Where the whole organization's stays completed in a window are read: ``months``, its
    whole months [first day, first day after them) from the month summaries, if any; and
    ``days`` from the periods, by their start: ([from, to), sign) ranges counted +1, or -1
    for the days of a month read whole from the summaries that lie outside the window."""

    months: tuple[date, date] | None
    days: tuple[tuple[date, date, int], ...]


def _edge(day: date, *, window_after: bool) -> tuple[date, tuple[date, date, int]]:
    """An edge of the window inside a month (``day`` is not its first; the window goes on
    after it when ``window_after``, else stops before it): where the summaries' months
    begin or end there, and the days of that month read from the periods. Those are the
    days inside the window (+1), or when fewer the days outside it (-1), the month then
    read whole from the summaries."""
    month, next_month = day.replace(day=1), _first_of_next_month(day)
    before, after = (month, day), (day, next_month)
    inside, outside = (after, before) if window_after else (before, after)
    if outside[1] - outside[0] < inside[1] - inside[0]:
        return (month if window_after else next_month), (*outside, -1)
    return (next_month if window_after else month), (*inside, 1)


def _stay_spans(span: window.Window) -> _StaySpans:
    start, after_end = span.start, span.end + timedelta(days=1)
    if start.replace(day=1) == after_end.replace(day=1):
        # Within one month and short of its end: the days themselves.
        return _StaySpans(None, ((start, after_end, 1),))
    first, after, days = start, after_end, []
    if start.day != 1:
        first, edge_days = _edge(start, window_after=True)
        days.append(edge_days)
    if after_end.day != 1:
        after, edge_days = _edge(after_end, window_after=False)
        days.append(edge_days)
    return _StaySpans((first, after) if first < after else None, tuple(days))


def _completed_stays(runs: Any, days: tuple[date, date], sign: int) -> Any:
    """A select of (kind `completed`, stage left, days, n = ``sign``): the stays completed on
    ``days`` ([from, to), by the start of the period that ends them), from entering the
    stage to leaving it."""
    return select(
        literal("completed").label("kind"),
        runs.c.prev_stage.label("stage"),
        periods.days_between(runs.c.valid_from, runs.c.prev_stage_since).label("days"),
        literal(sign).label("n"),
    ).where(
        _changes(runs),
        runs.c.valid_from >= periods.at(days[0]),
        runs.c.valid_from < periods.at(days[1]),
        runs.c.prev_stage.in_(MEASURED_STAGES),
    )


# A part of the stays the medians read (`periods.median_of_levels`): its counts per
# (kind, stage, bucket), and given the chosen buckets, its counts per value in them.
_Level = tuple[Any, Callable[[Any], Any]]


def _chosen_days(chosen: Any) -> tuple[Any, Any]:
    """The first and last length of the chosen buckets (the ones between are empty)."""
    width = periods.MEDIAN_BUCKET_DAYS
    return chosen.lower_bucket * width, chosen.upper_bucket * width + (width - 1)


def _month_stays(months: tuple[date, date]) -> _Level:
    """The stays completed in whole ``months``: their counts per (stage, bucket) from
    `flow_month_stay_buckets`, their lengths in the chosen buckets from `flow_month_stays`
    (an index range per stage)."""
    first, after = periods.at(months[0]), periods.at(months[1])
    buckets = flow_summaries.flow_month_stay_buckets.c
    coarse = select(
        literal("completed").label("kind"),
        buckets.stage,
        buckets.bucket,
        buckets.stays.label("n"),
    ).where(buckets.month_start >= first, buckets.month_start < after, buckets.stays != 0)

    def fine(chosen: Any) -> Any:
        lengths, c = flow_summaries.flow_month_stays.c, chosen.c
        return (
            select(
                literal("completed").label("kind"),
                lengths.stage,
                lengths.days.label("value"),
                lengths.stays.label("n"),
            )
            .join(chosen, and_(c.kind == "completed", c.stage == lengths.stage))
            .where(
                lengths.days.between(*_chosen_days(c)),
                lengths.month_start >= first,
                lengths.month_start < after,
            )
        )

    return coarse, fine


def _open_run_stays(end: date) -> _Level:
    """The current stays when `to` is today, from the open runs (a few thousand rows, one
    per stage and start: their lengths depend on today, so they are bucketed here)."""
    runs_today = flow_summaries.flow_open_runs.c
    days = periods.days_between(periods.at(end), runs_today.stage_since)
    coarse = select(
        literal("current").label("kind"),
        runs_today.stage,
        periods.bucket_of(days).label("bucket"),
        runs_today.projects.label("n"),
    ).where(runs_today.projects != 0)

    def fine(chosen: Any) -> Any:
        c = chosen.c
        return (
            select(
                literal("current").label("kind"),
                runs_today.stage,
                days.label("value"),
                runs_today.projects.label("n"),
            )
            .join(chosen, and_(c.kind == "current", c.stage == runs_today.stage))
            .where(days.between(*_chosen_days(c)), runs_today.projects != 0)
        )

    return coarse, fine


def _row_stays(rows: Any) -> _Level:
    """Stays as rows (kind, stage, days, n) of the CTE ``rows``, read once."""
    c = rows.c
    coarse = select(c.kind, c.stage, periods.bucket_of(c.days).label("bucket"), c.n)

    def fine(chosen: Any) -> Any:
        return (
            select(c.kind, c.stage, c.days.label("value"), c.n)
            .join(chosen, and_(chosen.c.kind == c.kind, chosen.c.stage == c.stage))
            .where(c.days.between(*_chosen_days(chosen.c)))
        )

    return coarse, fine


def _current_stays(runs: Any, end: date) -> Any:
    """A select of (kind `current`, stage, days, n): the projects in a measured stage at
    `to` and how long they have been in it, from the periods."""
    return select(
        literal("current").label("kind"),
        runs.c.stage.label("stage"),
        periods.days_between(periods.at(end), runs.c.stage_since).label("days"),
        literal(1).label("n"),
    ).where(_holds(runs, periods.at(end)), runs.c.stage.in_(MEASURED_STAGES))


def _one_union(selects: list[Any]) -> Any:
    return selects[0] if len(selects) == 1 else union_all(*selects)


def _stays(
    session: Session, runs: Any, span: window.Window, *, whole: bool, current: bool
) -> dict[tuple[str, str], Row[Any]]:
    """(kind, stage) -> stays, median_days; kind `completed` (left within the window, length
    from entering to leaving) or `current` (in the stage at `to`, length `to` - stage_since).
    For the whole organization the window's months from the month summaries
    (`_stay_spans`) and, when `to` is today, the current stays from the open runs."""
    after_end = span.end + timedelta(days=1)
    if not whole:
        stays = union_all(
            _completed_stays(runs, (span.start, after_end), 1), _current_stays(runs, span.end)
        ).cte("stays")
        statement = periods.median_by(stays, "days", ["kind", "stage"], "n")
        return {(row.kind, row.stage): row for row in session.execute(statement).all()}
    spans = _stay_spans(span)
    # Days taken out after `to` are read from the periods up to the last of them.
    beyond = max((until for _, until, _ in spans.days), default=after_end)
    edges = runs if beyond <= after_end else _runs(None, beyond - timedelta(days=1), "edges")
    rows = [_completed_stays(edges, (since, until), sign) for since, until, sign in spans.days]
    if not current:
        rows.append(_current_stays(runs, span.end))
    levels = [_month_stays(spans.months)] if spans.months else []
    if current:
        levels.append(_open_run_stays(span.end))
    if rows:
        levels.append(_row_stays(_one_union(rows).cte("stays")))
    statement = periods.median_of_levels(
        _one_union([coarse for coarse, _ in levels]),
        lambda chosen: _one_union([fine(chosen) for _, fine in levels]),
        ["kind", "stage"],
    )
    return {(row.kind, row.stage): row for row in session.execute(statement).all()}


def _start_and_end(session: Session, runs: Any, start: date, end: date) -> Row[Any]:
    """Projects active at `from` that were side-of-desk (``side_at_start``) or had an
    individual sponsor (``individual_at_start``) then, and their ``end_mode_*`` and
    ``end_sponsor_*`` counts at `to`."""
    at_start = runs.alias("at_start")
    at_end = runs.alias("at_end")
    active_at_start = periods.is_active(at_start.c.stage)
    side = and_(active_at_start, at_start.c.work_mode == WorkMode.side_of_desk)
    individual = and_(active_at_start, at_start.c.sponsor_level == SponsorLevel.individual)
    statement = (
        select(
            periods.count_where(side, "side_at_start"),
            *(
                periods.count_where(and_(side, at_end.c.work_mode == mode), f"end_mode_{mode}")
                for mode in WorkMode
            ),
            periods.count_where(individual, "individual_at_start"),
            *(
                periods.count_where(
                    and_(individual, at_end.c.sponsor_level == level), f"end_sponsor_{level}"
                )
                for level in SponsorLevel
            ),
        )
        .select_from(at_start)
        .join(at_end, at_end.c.project_id == at_start.c.project_id)
        .where(
            _holds(at_start, periods.at(start)),
            _holds(at_end, periods.at(end)),
            # Only these count: the join need not pair the other projects.
            or_(side, individual),
        )
    )
    return session.execute(statement).one()


def _stall_limits(settings: Settings) -> tuple[tuple[Stage, int], ...]:
    """Each active stage and the days in it after which a project counts as stalled."""
    limits = settings.stall_days
    return (
        (Stage.exploration, limits.exploration),
        (Stage.experiment, limits.experiment),
        (Stage.scaling, limits.scaling),
    )


def _stall_limit(stage: Any, settings: Settings) -> Any:
    """The days in ``stage`` (an active one) after which a project counts as stalled."""
    return case(*((stage == active, limit) for active, limit in _stall_limits(settings)))


def _start_and_end_today(session: Session, start: date) -> Row[Any]:
    """`_start_and_end` when `to` is today, for the whole organization: the start changes
    (each keyed by the project's value today) of `flow_summaries.flow_month_start_changes`
    before `from`'s month, and of `flow_day_start_changes` in that month up to `from`."""
    months = flow_summaries.flow_month_start_changes.c
    days = flow_summaries.flow_day_start_changes.c
    month = periods.at(start.replace(day=1))
    selects: list[Any] = [
        select(months.kind, months.value_now, months.changes.label("n")).where(
            months.month_start < month, months.changes != 0
        ),
        select(days.kind, days.value_now, days.changes.label("n")).where(
            days.day.between(month, periods.at(start)), days.changes != 0
        ),
    ]
    rows = union_all(*selects).subquery("start_counts")

    def total(condition: Any, label: str) -> Any:
        return func.coalesce(func.sum(case((condition, rows.c.n))), 0).label(label)

    side = rows.c.kind == "side_of_desk"
    individual = rows.c.kind == "individual"
    statement = select(
        total(side, "side_at_start"),
        *(total(and_(side, rows.c.value_now == mode), f"end_mode_{mode}") for mode in WorkMode),
        total(individual, "individual_at_start"),
        *(
            total(and_(individual, rows.c.value_now == level), f"end_sponsor_{level}")
            for level in SponsorLevel
        ),
    )
    return session.execute(statement).one()


def _stalled_at_end(runs: Any, end: date, settings: Settings) -> Any:
    """The periods holding `to` of the projects stalled then, with their days in stage."""
    days = periods.days_between(periods.at(end), runs.c.stage_since)
    limit = _stall_limit(runs.c.stage, settings)
    return (
        select(
            runs.c.project_id,
            runs.c.unit_id,
            runs.c.stage,
            runs.c.stage_since,
            days.label("days"),
        )
        .where(_holds(runs, periods.at(end)), periods.is_active(runs.c.stage), days > limit)
        .subquery("stalled")
    )


def _stalled_units_today(end: date, settings: Settings) -> Any:
    """The live projects stalled today, their units only (`_stalled_units`), as one index
    range of `ix_projects_stalled` per active stage: a start before today less its
    limit, the same as more days in it than the limit. At L 65,000 index rows read where
    a CASE of limits over every active project read 117,000 (bench/RESULTS.md, eighth
    pass)."""
    ranges = [
        select(col(Project.unit_id)).where(
            col(Project.archived) == false(),
            col(Project.stage) == stage,
            col(Project.stage_since) < periods.at(end - timedelta(days=limit)),
        )
        for stage, limit in _stall_limits(settings)
    ]
    return union_all(*ranges).subquery("stalled")


def _stalled_by_stage(
    session: Session, stalled: Any, end: date, settings: Settings, current: bool
) -> Row[Any]:
    """``total`` and ``stage_*``: the stalled projects at `to`; when `to` is today, from the
    open runs."""
    if current:
        runs_today = flow_summaries.flow_open_runs.c
        stalled_run = and_(
            periods.is_active(runs_today.stage),
            periods.days_between(periods.at(end), runs_today.stage_since)
            > _stall_limit(runs_today.stage, settings),
        )
        summed = select(
            func.coalesce(func.sum(runs_today.projects), 0).label("total"),
            *(
                func.coalesce(
                    func.sum(case((runs_today.stage == stage, runs_today.projects))), 0
                ).label(f"stage_{stage.value}")
                for stage in periods.ACTIVE_STAGES
            ),
        ).where(stalled_run)
        return session.execute(summed).one()
    statement = select(
        func.count().label("total"),
        *(
            periods.count_where(stalled.c.stage == stage, f"stage_{stage.value}")
            for stage in periods.ACTIVE_STAGES
        ),
    ).select_from(stalled)
    return session.execute(statement).one()


def _active_today() -> Any:
    """Per unit, its live projects in an active stage today, from the spread report's unit
    summaries (`app.reports.summaries`, one row per unit)."""
    counts = project_counts.c
    active = sum((counts[f"stage_{stage.value}"] for stage in periods.ACTIVE_STAGES), literal(0))
    return select(counts.unit_id, active.label("active")).subquery("active_per_unit")


def _stalled_units(
    session: Session, runs: Any, stalled: Any, end: date, current: bool
) -> list[Row[Any]]:
    """Per non-archived unit owning a stalled project at `to`: stalled and active counts
    (when `to` is today, the active ones from the unit summaries)."""
    per_unit = (
        _active_today()
        if current
        else (
            select(runs.c.unit_id, func.count().label("active"))
            .where(_holds(runs, periods.at(end)), periods.is_active(runs.c.stage))
            .group_by(runs.c.unit_id)
            .subquery("active_per_unit")
        )
    )
    stalled_per_unit = (
        select(stalled.c.unit_id, func.count().label("stalled"))
        .group_by(stalled.c.unit_id)
        .subquery("stalled_per_unit")
    )
    statement = (
        select(
            col(Unit.id).label("unit_id"),
            col(Unit.code),
            col(Unit.name),
            stalled_per_unit.c.stalled,
            per_unit.c.active,
        )
        .select_from(stalled_per_unit)
        .join(Unit, col(Unit.id) == stalled_per_unit.c.unit_id)
        .join(per_unit, per_unit.c.unit_id == stalled_per_unit.c.unit_id)
        .where(col(Unit.archived) == false())
        .order_by(stalled_per_unit.c.stalled.desc(), col(Unit.code))
    )
    return list(session.execute(statement).all())


def _stalled_projects(session: Session, stalled: Any) -> list[Row[Any]]:
    statement = (
        select(
            stalled.c.project_id,
            col(Project.title),
            stalled.c.unit_id,
            stalled.c.stage,
            stalled.c.stage_since.label("since"),
            stalled.c.days,
        )
        .join(Project, col(Project.id) == stalled.c.project_id)
        # Most days first: the earliest start of the stage (an index order on projects).
        .order_by(stalled.c.stage_since, stalled.c.project_id)
        .limit(MAX_STALLED_PROJECTS)
    )
    return list(session.execute(statement).all())


def _share_at_end(
    at_end: dict[str, int], values: tuple[StrEnum, ...], at_start: int
) -> float | None:
    """Of the projects counted at `from`, the share whose value at `to` is one of `values`."""
    return service.share(sum(at_end[value] for value in values), at_start)


def _median(row: Row[Any] | None) -> float | None:
    return None if row is None else float(row.median_days)


def flow(
    *,
    session: Session,
    settings: Settings,
    root_id: int | None,
    start: date | None,
    end: date | None,
    today: date,
) -> FlowReport:
    span = window.window(start=start, end=end, years=1, today=today)
    runs = _runs(root_id, span.end)
    whole = root_id is None
    # The whole organization up to today: its rows holding `to` are the projects' own.
    current = whole and span.end == today
    holding_end = _live_today(span.end) if current else runs
    moves = _moves(session, runs, span, whole)
    stays = _stays(session, runs, span, whole=whole, current=current)
    if current:
        start_end = _start_and_end_today(session, span.start)
    else:
        start_end = _start_and_end(session, runs, span.start, span.end)
    stalled = _stalled_at_end(holding_end, span.end, settings)
    by_stage = _stalled_by_stage(session, stalled, span.end, settings, current)
    stalled_today = _stalled_units_today(span.end, settings) if current else stalled
    units = _stalled_units(session, holding_end, stalled_today, span.end, current)
    projects = _stalled_projects(session, stalled)
    session.commit()

    transitions = sorted(
        (
            Transition(from_stage=row.prev_stage, to_stage=row.stage, count=row.moves)
            for row in moves
            if row.prev_stage is not None
        ),
        key=lambda t: (STAGE_ORDER[t.from_stage], STAGE_ORDER[t.to_stage]),
    )
    entered = {stage.value: 0 for stage in Stage}
    for row in moves:
        entered[Stage(row.stage).value] += int(row.moves)

    def stage_time(stage: Stage) -> dict[str, Any]:
        completed = stays.get(("completed", stage.value))
        current = stays.get(("current", stage.value))
        return {
            "completed_stays": 0 if completed is None else int(completed.stays),
            "median_days": _median(completed),
            "current": 0 if current is None else int(current.stays),
            "current_median_days": _median(current),
        }

    side_at_start = int(start_end.side_at_start)
    mode_at_end = queries.counts(start_end, "end_mode_", WorkMode)
    individual_at_start = int(start_end.individual_at_start)
    sponsor_at_end = queries.counts(start_end, "end_sponsor_", SponsorLevel)
    return FlowReport(
        unit_id=root_id,
        from_=span.start,
        to=span.end,
        stall_days=settings.stall_days,
        transitions=transitions,
        entered=entered,
        time_in_stage={stage.value: stage_time(stage) for stage in MEASURED_STAGES},
        mainstreaming={
            "side_of_desk_at_start": side_at_start,
            "work_mode_at_end": mode_at_end,
            "mainstreamed_share": _share_at_end(
                mode_at_end, (WorkMode.dedicated, WorkMode.core_business), side_at_start
            ),
        },
        institutionalisation={
            "individual_at_start": individual_at_start,
            "sponsor_level_at_end": sponsor_at_end,
            "institutionalised_share": _share_at_end(
                sponsor_at_end,
                (SponsorLevel.organizational, SponsorLevel.system),
                individual_at_start,
            ),
        },
        stalled={
            "total": int(by_stage.total),
            "by_stage": queries.counts(by_stage, "stage_", periods.ACTIVE_STAGES),
            "units": [StalledUnit.model_validate(row) for row in as_dicts(units)],
            "projects": [StalledProject.model_validate(row) for row in as_dicts(projects)],
        },
    )
