"""The SQL behind the experimentation report: four statements whatever the data size.

Over non-archived experiments of non-archived projects in scope. `rigour` comes from
`app.experiments.rigour`, the rule every other reader uses; due and overdue are computed
against the `today` passed in, never stored.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, case, false, func, or_, select, true
from sqlmodel import Session, col

from app.experiments import rigour
from app.experiments.models import (
    FINISHED_STATUSES,
    Experiment,
    ExperimentResult,
    ExperimentStatus,
)
from app.projects.models import Project
from app.units.models import Unit, UnitCommitment
from app.units.service import in_subtree

EXPERIMENTS = Experiment.__table__  # type: ignore[attr-defined]
OVERDUE_LIMIT = 100


def _in_scope(column: Any, root_id: int | None, name: str = "scope") -> Any:
    return true() if root_id is None else in_subtree(column, root_id, name)


def _count_where(condition: Any, label: str) -> Any:
    return func.count(case((condition, 1))).label(label)


def _live_experiments(root_id: int | None) -> list[Any]:
    """WHERE conditions: non-archived experiments of non-archived projects in scope."""
    return [
        col(Experiment.archived) == false(),
        col(Project.archived) == false(),
        _in_scope(Experiment.unit_id, root_id),
    ]


def _within(column: Any, start: date, end: date) -> Any:
    """`column` falls within the year [start, end)."""
    return and_(column >= start, column < end)


def _finished() -> Any:
    return col(Experiment.status).in_(FINISHED_STATUSES)


def overdue_condition(*, cutoff: date) -> Any:
    """Due (finished, ended, unpublished) and `ended_on` + due days before today, that is
    `ended_on` before `cutoff` = today - due days."""
    return and_(
        _finished(),
        col(Experiment.ended_on).is_not(None),
        col(Experiment.published_on).is_(None),
        col(Experiment.ended_on) < cutoff,
    )


def started(*, session: Session, root_id: int | None, start: date, end: date) -> Sequence[Row[Any]]:
    """The experiments started within the year, counted per (rigour, comparison): at most
    24 rows. Grouping by the rigour computes it once per experiment; six conditional
    counts would evaluate it (and the EXISTS behind `baseline`) six times."""
    score = rigour.score(EXPERIMENTS).label("rigour")
    statement: Any = (
        select(score, col(Experiment.comparison).label("comparison"), func.count().label("n"))
        .select_from(Experiment)
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .where(*_live_experiments(root_id), _within(col(Experiment.started_on), start, end))
        .group_by(score, col(Experiment.comparison))
    )
    return session.execute(statement).all()


def publication(
    *, session: Session, root_id: int | None, start: date, end: date, cutoff: date
) -> Row[Any]:
    """One row over the experiments that ended within the year, completed or stopped:
    `finished`, `published`, `due`, `overdue`, and for each result `<result>_finished`,
    `<result>_published` (completed ones only)."""
    published = col(Experiment.published_on).is_not(None)
    completed = col(Experiment.status) == ExperimentStatus.completed
    by_result = []
    for result in ExperimentResult:
        has_result = and_(completed, col(Experiment.result) == result)
        by_result += [
            _count_where(has_result, f"{result.value}_finished"),
            _count_where(and_(has_result, published), f"{result.value}_published"),
        ]
    statement: Any = (
        select(
            func.count().label("finished"),
            _count_where(published, "published"),
            _count_where(~published, "due"),
            _count_where(overdue_condition(cutoff=cutoff), "overdue"),
            *by_result,
        )
        .select_from(Experiment)
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .where(
            *_live_experiments(root_id),
            _finished(),
            _within(col(Experiment.ended_on), start, end),
        )
    )
    return session.execute(statement).one()


def spend_rows(
    *, session: Session, root_id: int | None, year: int, start: date, end: date
) -> Sequence[Row[Any]]:
    """One row per non-archived unit in scope with a commitment for `year` or the cost of
    an experiment it owns itself that started within the year: unit_id, code, name,
    program_funds, target_share (null without a commitment), experiment_spend (0 without
    cost), by code."""
    spend = (
        select(
            col(Experiment.unit_id).label("unit_id"),
            func.sum(col(Experiment.cost)).label("experiment_spend"),
        )
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .where(
            *_live_experiments(root_id),
            _within(col(Experiment.started_on), start, end),
            col(Experiment.cost).is_not(None),
        )
        .group_by(col(Experiment.unit_id))
        .subquery("spend")
    )
    commitments = (
        select(UnitCommitment).where(col(UnitCommitment.year) == year).subquery("commitment")
    )
    statement: Any = (
        select(
            col(Unit.id).label("unit_id"),
            col(Unit.code),
            col(Unit.name),
            commitments.c.program_funds,
            commitments.c.target_share,
            func.coalesce(spend.c.experiment_spend, 0).label("experiment_spend"),
        )
        .select_from(Unit)
        .outerjoin(commitments, commitments.c.unit_id == col(Unit.id))
        .outerjoin(spend, spend.c.unit_id == col(Unit.id))
        .where(
            col(Unit.archived) == false(),
            _in_scope(Unit.id, root_id, "unit_scope"),
            or_(commitments.c.id.is_not(None), spend.c.unit_id.is_not(None)),
        )
        .order_by(col(Unit.code))
    )
    return session.execute(statement).all()


def overdue(
    *, session: Session, root_id: int | None, start: date, end: date, cutoff: date
) -> Sequence[Row[Any]]:
    """The overdue experiments that ended within the year, most overdue first (earliest
    `ended_on`, then id), at most OVERDUE_LIMIT: experiment_id, title, unit_id, ended_on."""
    statement: Any = (
        select(
            col(Experiment.id).label("experiment_id"),
            col(Experiment.title),
            col(Experiment.unit_id),
            col(Experiment.ended_on),
        )
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .where(
            *_live_experiments(root_id),
            _within(col(Experiment.ended_on), start, end),
            overdue_condition(cutoff=cutoff),
        )
        .order_by(col(Experiment.ended_on), col(Experiment.id))
        .limit(OVERDUE_LIMIT)
    )
    return session.execute(statement).all()
