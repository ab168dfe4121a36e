"""Flow: what moved between stages within a window, how long stages took, what is stuck.

Six statements whatever the portfolio's size. Each reads the same common table
`runs`: every period starting on or before `to` of the projects in scope (those existing
at `to` whose unit at `to` is in scope), with its run columns, stored on the period when it
was written (`ProjectPeriod`): the previous period's stage (`prev_stage`), the period's
`stage_since` (the `from` of the earliest period of the unbroken run of periods with its
stage, up to this period) and the previous period's (`prev_stage_since`). They once came
from window functions over every period of every project in scope, in each statement:
5.5 s at L (bench/RESULTS.md, "Flow at L").
"""

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, case, false, func, literal, or_, select, union_all
from sqlmodel import Session, col

from app.core.config import Settings
from app.projects.models import Project, ProjectPeriod, SponsorLevel, Stage, WorkMode
from app.reports import periods, queries, service, window
from app.reports.schemas import FlowReport, StalledProject, StalledUnit, Transition
from app.units.models import Unit

# Stages whose stays are measured: a project can still leave them for a later stage.
MEASURED_STAGES = (Stage.idea, Stage.exploration, Stage.experiment, Stage.scaling)
STAGE_ORDER = {stage: index for index, stage in enumerate(Stage)}
MAX_STALLED_PROJECTS = 100


def _runs(root_id: int | None, end: date) -> Any:
    if root_id is None:
        # The whole organization: every live project, whatever its unit at `to`. One that
        # did not exist yet has no period from on or before `to`, so none in `runs`.
        in_scope = (
            select(col(Project.id).label("project_id"))
            .where(col(Project.archived) == false())
            .subquery("in_scope")
        )
    else:
        in_scope = (
            select(col(ProjectPeriod.project_id).label("project_id"))
            .select_from(periods.live_periods())
            .where(periods.contains(periods.at(end)), periods.unit_in_scope(root_id))
            .subquery("in_scope")
        )
    return (
        select(
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
        .join(in_scope, in_scope.c.project_id == col(ProjectPeriod.project_id))
        .where(col(ProjectPeriod.valid_from) <= periods.at(end))
        .cte("runs")
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


def _moves(session: Session, runs: Any, start: date) -> list[Row[Any]]:
    """(prev_stage, stage, moves) for the periods starting within the window that begin a
    project (prev_stage null) or change its stage."""
    statement = (
        select(runs.c.prev_stage, runs.c.stage, func.count().label("moves"))
        .where(
            runs.c.valid_from >= periods.at(start),
            or_(runs.c.prev_stage.is_(None), runs.c.prev_stage != runs.c.stage),
        )
        .group_by(runs.c.prev_stage, runs.c.stage)
    )
    return list(session.execute(statement).all())


def _stays(session: Session, runs: Any, start: date, end: date) -> dict[tuple[str, str], Row[Any]]:
    """(kind, stage) -> stays, median_days; kind `completed` (left within the window, length
    from entering to leaving) or `current` (in the stage at `to`, length `to` - stage_since)."""
    completed = select(
        literal("completed").label("kind"),
        runs.c.prev_stage.label("stage"),
        periods.days_between(runs.c.valid_from, runs.c.prev_stage_since).label("days"),
    ).where(
        _changes(runs),
        runs.c.valid_from >= periods.at(start),
        runs.c.prev_stage.in_(MEASURED_STAGES),
    )
    current = select(
        literal("current").label("kind"),
        runs.c.stage.label("stage"),
        periods.days_between(periods.at(end), runs.c.stage_since).label("days"),
    ).where(_holds(runs, periods.at(end)), runs.c.stage.in_(MEASURED_STAGES))
    stays = union_all(completed, current).subquery("stays")
    statement = periods.median_by(stays.c.days, [stays.c.kind, stays.c.stage])
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


def _stalled_at_end(runs: Any, end: date, settings: Settings) -> Any:
    """The periods holding `to` of the projects stalled then, with their days in stage."""
    limits = settings.stall_days
    days = periods.days_between(periods.at(end), runs.c.stage_since)
    limit = case(
        (runs.c.stage == Stage.exploration, limits.exploration),
        (runs.c.stage == Stage.experiment, limits.experiment),
        (runs.c.stage == Stage.scaling, limits.scaling),
    )
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


def _stalled_by_stage(session: Session, stalled: Any) -> Row[Any]:
    statement = select(
        func.count().label("total"),
        *(
            periods.count_where(stalled.c.stage == stage, f"stage_{stage.value}")
            for stage in periods.ACTIVE_STAGES
        ),
    ).select_from(stalled)
    return session.execute(statement).one()


def _stalled_units(session: Session, runs: Any, stalled: Any, end: date) -> list[Row[Any]]:
    """Per non-archived unit owning a stalled project at `to`: stalled and active counts."""
    per_unit = (
        select(runs.c.unit_id, func.count().label("active"))
        .where(_holds(runs, periods.at(end)), periods.is_active(runs.c.stage))
        .group_by(runs.c.unit_id)
        .subquery("active_per_unit")
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
        .order_by(stalled.c.days.desc(), stalled.c.project_id)
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
    moves = _moves(session, runs, span.start)
    stays = _stays(session, runs, span.start, span.end)
    start_end = _start_and_end(session, runs, span.start, span.end)
    stalled = _stalled_at_end(runs, span.end, settings)
    by_stage = _stalled_by_stage(session, stalled)
    units = _stalled_units(session, runs, stalled, span.end)
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
            "units": [StalledUnit.model_validate(row._mapping) for row in units],
            "projects": [StalledProject.model_validate(row._mapping) for row in projects],
        },
    )
