"""SQL over project timelines (`project_periods`), shared by the trends and flow reports.

A project exists at the end of day D when its first period starts on or before D; its
values at D are those of the period with valid_from <= D < valid_to (valid_to null: open).
Archived projects never count. Scope (`root_id`) applies to the project's unit at D, with
the current unit tree; a unit archived since then is outside every subtree, so its projects
count only for the whole organization (as the spread report as of a date).
"""

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    false,
    func,
    join,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from app.projects.models import Project, ProjectPeriod
from app.reports.queries import ACTIVE_STAGES
from app.units.models import Unit
from app.units.service import in_subtree


class days_between(FunctionElement[int]):  # noqa: N801 (a SQL function, named like one)
    """``later - earlier`` in whole days, for two DATE expressions."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # PostgreSQL: date - date is an integer number of days.
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # SQLite keeps dates as ISO text; julianday() of two dates differs by whole days.
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


def contains(day: Any) -> ColumnElement[bool]:
    """The period that holds ``day`` (a date or a DATE column)."""
    return and_(
        col(ProjectPeriod.valid_from) <= day,
        or_(col(ProjectPeriod.valid_to).is_(None), col(ProjectPeriod.valid_to) > day),
    )


def unit_in_scope(root_id: int | None, name: str = "scope") -> ColumnElement[bool]:
    """For a statement joined to the period's `Unit`: the unit is in the report's scope."""
    if root_id is None:
        return true()
    return and_(col(Unit.archived) == false(), in_subtree(col(Unit.id), root_id, name))


def live_periods() -> Any:
    """FROM project_periods JOIN projects (not archived) JOIN units (the period's unit)."""
    not_archived = and_(
        col(Project.id) == col(ProjectPeriod.project_id), col(Project.archived) == false()
    )
    return join(ProjectPeriod, Project, not_archived).join(
        Unit, col(Unit.id) == col(ProjectPeriod.unit_id)
    )


def is_active(stage: Any) -> ColumnElement[bool]:
    return stage.in_(ACTIVE_STAGES)


def count_where(condition: ColumnElement[bool], label: str) -> Any:
    return func.count(case((condition, 1))).label(label)


def median_by(values: Any, groups: list[Any], weights: Any = None) -> Any:
    """Per group of ``groups`` (columns of the same subquery as ``values``, whole numbers):
    ``stays``, how many values, and ``median_days``, their median (the mean of the two
    middle values when their number is even, as percentile_cont(0.5)). ``weights``, a
    column of the same subquery: how many times each row's value counts (a summary row
    standing for that many values); every row counts once without it.

    Taken from the histogram of the values, not from the values sorted: one hash
    aggregate over the rows, then running counts over the distinct values (whole days:
    a few thousand at most, whatever the number of rows). The lower middle value is the
    first whose running count reaches half the rows, the upper one the first to pass
    half. Portable: SQLite has no percentile_cont, and sorting every row for it
    spilled to disk at L (bench/RESULTS.md, flow)."""
    histogram = (
        select(
            *groups,
            values.label("value"),
            (func.count() if weights is None else func.sum(weights)).label("n"),
        )
        .group_by(*groups, values)
        .subquery("histogram")
    )
    keys = [histogram.c[group.name] for group in groups]
    value, n = histogram.c.value, histogram.c.n
    running = select(
        *keys,
        value,
        func.sum(n).over(partition_by=keys, order_by=value).label("upto"),
        func.sum(n).over(partition_by=keys).label("total"),
    ).subquery("running")
    r = running.c
    lower = func.min(case((2 * r.upto >= r.total, r.value)))
    upper = func.min(case((2 * r.upto > r.total, r.value)))
    by = [r[group.name] for group in groups]
    return select(
        *by,
        func.max(r.total).label("stays"),
        ((lower + upper) / literal(2.0)).label("median_days"),
    ).group_by(*by)


def at(day: date) -> Any:
    """A date as a bound DATE parameter."""
    return literal(day, Date)
