"""The SQL behind the experimentation report: four statements whatever the data size.

Over non-archived experiments of non-archived projects in scope. The counts and the spend
are sums of the rows of `experimentation_summaries` (per unit and month or day, kept by
triggers; `rigour` by the rule of `app.experiments.rigour`); the overdue list reads the
experiments through a partial index. Due and overdue are computed against the `today`
passed in, never stored.
"""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, case, false, func, or_, select, true
from sqlmodel import Session, col

from app.experiments.models import (
    FINISHED_STATUSES,
    Experiment,
)
from app.projects.models import Project
from app.reports import experimentation_summaries as summaries
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


def _month_sums(root_id: int | None, start: date, end: date, columns: Iterable[str]) -> Any:
    """The sums of ``columns`` over the month rows of the year [start, end) in scope, and
    ``written`` (rows written since the last compaction among them)."""
    table = summaries.month_counts
    return (
        select(
            *(func.coalesce(func.sum(table.c[name]), 0).label(name) for name in columns),
            _written(table),
        )
        .where(table.c.month >= start, table.c.month < end)
        .where(_in_scope(table.c.unit_id, root_id, "month_scope"))
    )


def _written(table: Any) -> Any:
    return func.coalesce(func.sum(case((table.c.compacted == false(), 1), else_=0)), 0).label(
        "written"
    )


def started(*, session: Session, root_id: int | None, start: date, end: date) -> Row[Any]:
    """One row over the experiments started within the year: ``comparison_<value>``,
    ``rigour_<0-5>`` counts, and ``written``."""
    statement = _month_sums(root_id, start, end, summaries.STARTED_COLUMNS)
    return session.execute(statement).one()


def publication(
    *, session: Session, root_id: int | None, start: date, end: date, cutoff: date
) -> Row[Any]:
    """One row over the experiments that ended within the year, completed or stopped:
    `finished`, `published`, `due`, `overdue`, for each result `<result>_finished`,
    `<result>_published` (completed ones only), and ``written``.

    Overdue are the due ones that ended before ``cutoff`` (today - due days): all the
    year's due ones less those that ended on or after the cutoff, a range of days at most
    the due days long read from the day rows."""
    months = _month_sums(root_id, start, end, summaries.FINISHED_COLUMNS).subquery("months")
    days_table = summaries.due_by_day
    recent = (
        select(
            func.coalesce(func.sum(days_table.c.due), 0).label("not_yet_overdue"),
            _written(days_table),
        )
        .where(days_table.c.ended_on >= max(start, cutoff), days_table.c.ended_on < end)
        .where(_in_scope(days_table.c.unit_id, root_id, "day_scope"))
        .subquery("recent")
    )
    due = months.c.finished - months.c.published
    statement = select(
        *(months.c[name] for name in summaries.FINISHED_COLUMNS),
        due.label("due"),
        (due - recent.c.not_yet_overdue).label("overdue"),
        (months.c.written + recent.c.written).label("written"),
    ).select_from(months.join(recent, true()))
    return session.execute(statement).one()


def spend_rows(
    *, session: Session, root_id: int | None, year: int, start: date, end: date
) -> Sequence[Row[Any]]:
    """One row per non-archived unit in scope with a commitment for `year` or the cost of
    an experiment it owns itself that started within the year: unit_id, code, name,
    program_funds, target_share (null without a commitment), experiment_spend_cents (0
    without cost), by code."""
    table = summaries.month_counts
    spend = (
        select(
            table.c.unit_id.label("unit_id"),
            func.sum(table.c.cost_cents).label("cents"),
        )
        .where(table.c.month >= start, table.c.month < end)
        .where(_in_scope(table.c.unit_id, root_id))
        .group_by(table.c.unit_id)
        .having(func.sum(table.c.costed) > 0)
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
            func.coalesce(spend.c.cents, 0).label("experiment_spend_cents"),
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
    # On the connection: a row per unit (1,000 at L), which the ORM's result machinery
    # took longer to hand over than the database took to compute.
    return session.connection().execute(statement).all()


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
