"""The SQL behind the barometer report: four statements whatever the portfolio's size.

Innovations are non-archived projects in scope with `embedded_on` in the window; adoptions
are non-archived projects in scope with an `adopted_from` that started in the window
(`started_on`, or the date of `created_at`). Both are read from the day-keyed summaries
of `app.reports.barometer_summaries` (kept by triggers): the window is an index range of
their day key, the scope a filter on their unit columns, so every number is what the
projects say on the day asked, with nothing frozen.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Row,
    bindparam,
    case,
    distinct,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlmodel import Session, col

from app.projects.models import Project
from app.reports.barometer_summaries import (
    INNOVATIONS,
    adoption_days,
    innovation_days,
    source_reach,
)
from app.reports.queries import _in_scope
from app.units.models import Unit

# How many adopted projects `sources` lists.
TOP_SOURCES = 20
# How many sources, by reach, `top_sources` first reads the window's rows of.
REACH_CANDIDATES = 5 * TOP_SOURCES


# Zero written into the SQL, as the window's days are (`_within`): bound, a prepared
# statement's plan for any value expects far fewer rows of nonzero adoptions than there
# are, and chose sorts where it now hashes.
NONE: ColumnElement[int] = literal_column("0")


def _within(day: Any, from_date: date, to_date: date) -> ColumnElement[bool]:
    """`day` in the window, its two days written into the SQL rather than bound. The
    driver prepares a statement run often, and PostgreSQL then plans it once for any
    window: as wide as a third of the rows, where the default window reads about half of
    them at L and a narrow one a few (the adoptions' flows and ranked sources took twice
    as long). With the days written in, each window is a statement of its own, planned
    for its days."""
    return day.between(
        literal(from_date, Date(), literal_execute=True),
        literal(to_date, Date(), literal_execute=True),
    )


def totals(*, session: Session, root_id: int | None, from_date: date, to_date: date) -> Row[Any]:
    """One row over the innovations: ``innovations``; ``novelty_*`` (and
    ``novelty_unknown``), ``initiator_*`` (and ``initiator_unknown``), ``type_*``,
    ``collaborator_*``, ``value_*``; ``collaborating``, ``evaluated``, ``evaluation_known``,
    ``units_innovating``; and ``units`` (non-archived units in scope)."""
    days = innovation_days.c
    units = (
        select(func.count())
        .select_from(Unit)
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
        .scalar_subquery()
    )
    statement = select(
        *(func.coalesce(func.sum(days[name]), 0).label(name) for name in INNOVATIONS.counts),
        # A row never drops below zero, so a unit innovates in the window when one of its
        # rows there is positive. A unit owning a non-archived project is never archived.
        func.count(distinct(case((days.innovations > 0, days.unit_id)))).label("units_innovating"),
        units.label("units"),
    ).where(_within(days.embedded_on, from_date, to_date), _in_scope(days.unit_id, root_id))
    return session.execute(statement).one()


def _adoptions(root_id: int | None, from_date: date, to_date: date) -> list[ColumnElement[bool]]:
    """The summary rows of adoptions in the window whose adopter is in scope."""
    rows = adoption_days.c
    return [
        _within(rows.started_on, from_date, to_date),
        rows.adoptions != NONE,
        _in_scope(rows.adopter_unit, root_id),
    ]


def same_unit_totals(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> Row[Any]:
    """One row: ``adoptions``, those of the window within one unit (adopter and source:
    few, read by `ix_barometer_adoption_days_same_unit`; the others are the unit flows'
    `adopted_in`, summed by the caller); and ``reach_bound``, the reach (`cross_adoptions`)
    of the `REACH_CANDIDATES`-th source by reach (one step down an index), for
    `top_sources`: read here to spare it a round trip."""
    rows = adoption_days.c
    reach = source_reach.c
    bound = (
        select(reach.cross_adoptions)
        .order_by(reach.cross_adoptions.desc())
        .offset(REACH_CANDIDATES - 1)
        .limit(1)
        .scalar_subquery()
    )
    statement = select(
        func.coalesce(func.sum(rows.adoptions), 0).label("adoptions"),
        bound.label("reach_bound"),
    ).where(*_adoptions(root_id, from_date, to_date), rows.adopter_unit == rows.source_unit)
    return session.execute(statement).one()


def unit_flows(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> Sequence[Row[Any]]:
    """Per non-archived unit in scope with a cross-unit adoption either way, by code:
    ``unit_id``, ``code``, ``adopted_in``, ``adopted_out``. Every cross-unit adoption in
    scope is some unit's `adopted_in`: its adopter's unit is in scope and never archived
    (it owns a live project)."""
    rows = adoption_days.c
    cross = [*_adoptions(root_id, from_date, to_date), rows.adopter_unit != rows.source_unit]

    def per_unit(end: Any, name: str) -> Any:
        # One aggregate per end, each over its own scan of the window: cheaper than one
        # over both ends' rows appended (~47,000 at L), which had to be sorted or hashed
        # whole.
        return (
            select(end.label("unit_id"), func.sum(rows.adoptions).label("adoptions"))
            .where(*cross)
            .group_by(end)
            .subquery(name)
        )

    adopted_in = per_unit(rows.adopter_unit, "adopted_in")
    adopted_out = per_unit(rows.source_unit, "adopted_out")
    statement: Any = (
        select(
            col(Unit.id).label("unit_id"),
            col(Unit.code),
            func.coalesce(adopted_in.c.adoptions, 0).label("adopted_in"),
            func.coalesce(adopted_out.c.adoptions, 0).label("adopted_out"),
        )
        .select_from(Unit)
        .outerjoin(adopted_in, adopted_in.c.unit_id == col(Unit.id))
        .outerjoin(adopted_out, adopted_out.c.unit_id == col(Unit.id))
        .where(
            col(Unit.archived) == false(),
            _in_scope(Unit.id, root_id, "unit_scope"),
            or_(adopted_in.c.unit_id.is_not(None), adopted_out.c.unit_id.is_not(None)),
        )
        .order_by(col(Unit.code))
    )
    return session.execute(statement).all()


def _ranked(rows: Any, *where: ColumnElement[bool]) -> Any:
    """Per source in ``rows`` (adoption summary rows) meeting ``where``, with a cross-unit
    adoption: ``source_id``, ``source_unit``, ``adopting_units``, ``adoptions``."""
    other_unit = func.count(
        distinct(case((rows.adopter_unit != rows.source_unit, rows.adopter_unit)))
    )
    # Rows of a source under a unit it has left are all zero (filtered out), so one
    # group per source.
    return (
        select(
            rows.source_id,
            rows.source_unit,
            other_unit.label("adopting_units"),
            func.sum(rows.adoptions).label("adoptions"),
        )
        .where(*where)
        .group_by(rows.source_id, rows.source_unit)
        .having(other_unit > 0)
    )


def top_sources(
    *,
    session: Session,
    root_id: int | None,
    from_date: date,
    to_date: date,
    reach_bound: int | None,
) -> Sequence[Row[Any]]:
    """The `TOP_SOURCES` projects in scope adopted by the most distinct other units:
    ``project_id``, ``title``, ``unit_id``, ``adopting_units``, ``adoptions``.

    ``reach_bound`` is `same_unit_totals`'s (none: fewer sources; taken as 1). A source
    whose reach is below it has fewer adopting units in any window and scope, so when
    `TOP_SOURCES` of the sources reaching it have at least that many adopting units here,
    the ranked ones are among those: only their rows are read (by source). Otherwise every
    adoption of the window is (one-time conditions: the database runs one branch)."""
    bound = max(reach_bound or 1, 1)
    rows = adoption_days.c
    in_window = [
        *_adoptions(root_id, from_date, to_date),
        _in_scope(rows.source_unit, root_id, "source_scope"),
    ]
    reach = source_reach.c
    # Written into the SQL, not bound: a plan made for any bound (the driver prepares a
    # statement run often) would take a third of the sources for candidates, and read
    # every adoption of the window to join them.
    at_least: ColumnElement[int] = bindparam("reach_bound", bound, literal_execute=True)
    candidates = (
        select(reach.source_id).where(reach.cross_adoptions >= at_least).subquery("candidates")
    )
    reaching = _ranked(
        rows, *in_window, rows.source_id.in_(select(candidates.c.source_id))
    ).cte("reaching")
    enough = (
        select(func.count())
        .select_from(reaching)
        .where(reaching.c.adopting_units >= at_least)
        .scalar_subquery()
        >= TOP_SOURCES
    )
    ranked = union_all(
        select(reaching).where(enough),
        _ranked(rows, *in_window, ~enough),
    ).subquery("ranked")
    top = (
        select(ranked)
        .order_by(ranked.c.adopting_units.desc(), ranked.c.source_id)
        .limit(TOP_SOURCES)
        .subquery("top")
    )
    statement: Any = (
        select(
            top.c.source_id.label("project_id"),
            col(Project.title).label("title"),
            top.c.source_unit.label("unit_id"),
            top.c.adopting_units,
            top.c.adoptions,
        )
        .select_from(top)
        .join(Project, col(Project.id) == top.c.source_id)
        .order_by(top.c.adopting_units.desc(), top.c.source_id)
    )
    return session.execute(statement).all()
