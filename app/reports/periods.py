"""SQL over project timelines (`project_periods`), shared by the trends and flow reports.

A project exists at the end of day D when its first period starts on or before D; its
values at D are those of the period with valid_from <= D < valid_to (valid_to null: open).
Archived projects never count. Scope (`root_id`) applies to the project's unit at D, with
the current unit tree; a unit archived since then is outside every subtree, so its projects
count only for the whole organization (as the spread report as of a date).
"""

from collections.abc import Callable
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


def of_archived_project() -> ColumnElement[bool]:
    """The period's project is archived. Its negation keeps the periods of live projects as
    an anti-join with the few archived projects (an index range of
    `ix_projects_archived_ids`) rather than a lookup of each period's project: at L, a
    month of periods (~70,000) looked up as many projects, and a subtree's flow every
    project of its periods (1.9 -> 1.1 s for a 150-unit subtree)."""
    return (
        select(col(Project.id))
        .where(col(Project.id) == col(ProjectPeriod.project_id), col(Project.archived))
        .exists()
    )


def periods_with_units() -> Any:
    """FROM project_periods JOIN units (the period's unit); the periods of live projects
    with `~of_archived_project()`."""
    return join(ProjectPeriod, Unit, col(Unit.id) == col(ProjectPeriod.unit_id))


def is_active(stage: Any) -> ColumnElement[bool]:
    return stage.in_(ACTIVE_STAGES)


def count_where(condition: ColumnElement[bool], label: str) -> Any:
    return func.count(case((condition, 1))).label(label)


# Whole days per bucket of the medians' first level (`median_of_levels`). The flow
# summaries keep their stays per bucket of this width too
# (`app.reports.flow_summaries.flow_month_stay_buckets`): changing it needs a migration
# that rebuilds that table.
MEDIAN_BUCKET_DAYS = 32


def bucket_of(value: Any) -> Any:
    """The first-level bucket of a whole number of days (at least 0)."""
    return value // literal(MEDIAN_BUCKET_DAYS, Integer)


def median_of_levels(coarse: Any, fine: Callable[[Any], Any], groups: list[str]) -> Any:
    """Per group of ``groups``: ``stays``, how many values it has, and ``median_days``, their
    median (whole numbers, at least 0): the mean of the two middle values when their number
    is even, as percentile_cont(0.5).

    Taken from histograms, not from the values sorted, in two levels. ``coarse`` is a
    selectable of ``*groups, bucket, n``: how many values (``n``, rows summed; a row may
    take values out again, never more than the others put in) fall in each bucket
    (`bucket_of`) of `MEDIAN_BUCKET_DAYS` days. Running counts over the buckets find
    the bucket of each middle value (the lower middle value is the first whose running
    count reaches half the total, the upper one the first to pass it). ``fine(chosen)``
    then gives ``*groups, value, n`` for the values of the chosen buckets only (at least
    those whose bucket is between ``chosen.c.lower_bucket`` and ``chosen.c.upper_bucket``,
    of the group ``chosen``'s columns name), counted one by one. At L a year's stays are
    15,000 distinct lengths; the first level is a few hundred buckets and the second a few
    hundred lengths (the sort of every length was 25 of the flow report's 80 ms); the
    whole organization's buckets and lengths come from summaries kept per bucket and per
    length, so neither level reads every length (bench/RESULTS.md, eighth pass).
    Portable: SQLite has no percentile_cont, and sorting every row for it spilled to disk
    at L (bench/RESULTS.md, flow)."""
    counted = coarse.subquery("counted")
    keys = [counted.c[name] for name in groups]
    bucketed = (
        select(*keys, counted.c.bucket, func.sum(counted.c.n).label("n"))
        .group_by(*keys, counted.c.bucket)
        .subquery("buckets")
    )
    b = bucketed.c
    by_bucket = [b[name] for name in groups]
    running = select(
        *by_bucket,
        b.bucket,
        func.sum(b.n).over(partition_by=by_bucket, order_by=b.bucket).label("upto"),
        func.sum(b.n).over(partition_by=by_bucket).label("total"),
    ).subquery("running_buckets")
    r = running.c
    by_running = [r[name] for name in groups]
    # The buckets of the two middle values, and the count of every value before each.
    chosen = (
        select(
            *by_running,
            func.max(r.total).label("total"),
            func.min(case((2 * r.upto >= r.total, r.bucket))).label("lower_bucket"),
            func.min(case((2 * r.upto > r.total, r.bucket))).label("upper_bucket"),
            func.coalesce(func.max(case((2 * r.upto < r.total, r.upto))), 0).label("before"),
        )
        .group_by(*by_running)
        # A group whose values were all taken out again (a summary's month less its days
        # outside a window) has none.
        .having(func.max(r.total) > 0)
        # Read twice (the values of its buckets, then the medians): computed once.
        .cte("chosen")
    )
    c = chosen.c
    by_chosen = [c[name] for name in groups]
    # The buckets in between are empty (the upper one is the next after the lower), so
    # the running count over the values of the two buckets, after `before`, is every
    # value's running count in the whole group.
    values = fine(chosen).subquery("values")
    v = values.c
    by_value = [v[name] for name in groups]
    summed = (
        select(*by_value, v.value, func.sum(v.n).label("n"))
        .group_by(*by_value, v.value)
        .subquery("fine")
    )
    f = summed.c
    by_fine = [f[name] for name in groups]
    fine_running = select(
        *by_fine,
        f.value,
        func.sum(f.n).over(partition_by=by_fine, order_by=f.value).label("upto"),
    ).subquery("fine_running")
    fr = fine_running.c
    upto = c.before + fr.upto
    lower = func.min(case((2 * upto >= c.total, fr.value)))
    upper = func.min(case((2 * upto > c.total, fr.value)))
    return (
        select(
            *by_chosen,
            func.max(c.total).label("stays"),
            ((lower + upper) / literal(2.0)).label("median_days"),
        )
        .select_from(chosen)
        .join(fine_running, and_(*(fr[name] == c[name] for name in groups)))
        .group_by(*by_chosen)
    )


def median_by(source: Any, value: str, groups: list[str], weight: str) -> Any:
    """`median_of_levels` of the values of column ``value`` of the CTE ``source`` (read
    twice: computed once), each row standing for ``weight`` of them, per ``groups``."""
    keys = [source.c[name] for name in groups]
    values, weights = source.c[value], source.c[weight]

    def fine(chosen: Any) -> Any:
        c = chosen.c
        return (
            select(*keys, values.label("value"), weights.label("n"))
            .join(chosen, and_(*(key == c[key.name] for key in keys)))
            .where(or_(bucket_of(values) == c.lower_bucket, bucket_of(values) == c.upper_bucket))
        )

    coarse = select(*keys, bucket_of(values).label("bucket"), weights.label("n"))
    return median_of_levels(coarse, fine, groups)


def at(day: date) -> Any:
    """A date as a bound DATE parameter."""
    return literal(day, Date)
