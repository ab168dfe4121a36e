"""The SQL behind the barometer report: four statements whatever the portfolio's size.

Innovations are non-archived projects in scope with `embedded_on` in the window; adoptions
are non-archived projects in scope with an `adopted_from` that started in the window
(`started_on`, or the date of `created_at`). The sets are bitmasks (`app.core.flags`), so
their per-value counts are conditional counts in the same scan as everything else.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Row,
    and_,
    cast,
    distinct,
    false,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.projects.models import (
    COLLABORATORS,
    INNOVATION_TYPES,
    VALUE_TYPES,
    Evaluation,
    Initiator,
    Novelty,
    Project,
)
from app.reports.queries import _count_where, _counts_by, _in_scope
from app.units.models import Unit

# How many adopted projects `sources` lists.
TOP_SOURCES = 20


def _innovation(root_id: int | None, from_date: date, to_date: date) -> ColumnElement[bool]:
    return and_(
        col(Project.archived) == false(),
        col(Project.embedded_on).between(from_date, to_date),
        _in_scope(Project.unit_id, root_id),
    )


def totals(*, session: Session, root_id: int | None, from_date: date, to_date: date) -> Row[Any]:
    """One row over the innovations: ``innovations``; ``novelty_*`` (and
    ``novelty_unknown``), ``initiator_*`` (and ``initiator_unknown``), ``type_*``,
    ``collaborator_*``, ``value_*``; ``collaborating``, ``evaluated``, ``evaluation_known``,
    ``units_innovating``; and ``units`` (non-archived units in scope)."""
    units = (
        select(func.count())
        .select_from(Unit)
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
        .scalar_subquery()
    )
    statement = select(
        func.count().label("innovations"),
        *_counts_by(Project.novelty, Novelty, "novelty_"),
        _count_where(col(Project.novelty).is_(None), "novelty_unknown"),
        *_counts_by(Project.initiated_by, Initiator, "initiator_"),
        _count_where(col(Project.initiated_by).is_(None), "initiator_unknown"),
        *INNOVATION_TYPES.count_each(col(Project.innovation_types_mask), "type_"),
        *COLLABORATORS.count_each(col(Project.collaborators_mask), "collaborator_"),
        *VALUE_TYPES.count_each(col(Project.value_types_mask), "value_"),
        _count_where(col(Project.collaborators_mask) != 0, "collaborating"),
        _count_where(
            col(Project.evaluation).in_([Evaluation.internal, Evaluation.external]), "evaluated"
        ),
        _count_where(col(Project.evaluation).is_not(None), "evaluation_known"),
        # A unit owning a non-archived project is never archived (units.archive refuses).
        func.count(distinct(col(Project.unit_id))).label("units_innovating"),
        units.label("units"),
    ).where(_innovation(root_id, from_date, to_date))
    return session.execute(statement).one()


def _started_on(session: Session) -> Any:
    """A project's start for the window: `started_on`, else the (UTC) date of `created_at`.
    SQLite stores timestamps as text that `date()` reads; PostgreSQL sessions run in UTC
    (`app.core.db.create_db_engine`), so the cast gives the UTC date."""
    if session.get_bind().dialect.name == "sqlite":
        created_on: Any = func.date(Project.created_at)
    else:
        created_on = cast(Project.created_at, Date)
    return func.coalesce(col(Project.started_on), created_on)


def _adoptions(
    session: Session, root_id: int | None, from_date: date, to_date: date, *, sources_too: bool
) -> Any:
    """The adoptions in the window: (adopter id, adopter unit, source id, source unit);
    the source's title and whether it is in scope too when ``sources_too``."""
    source = aliased(Project, name="source")
    columns: list[Any] = [
        col(Project.id).label("adopter_id"),
        col(Project.unit_id).label("adopter_unit"),
        col(source.id).label("source_id"),
        col(source.unit_id).label("source_unit"),
    ]
    conditions = [
        col(Project.archived) == false(),
        col(Project.adopted_from).is_not(None),
        _started_on(session).between(from_date, to_date),
        _in_scope(Project.unit_id, root_id),
    ]
    if sources_too:
        columns.append(col(source.title).label("source_title"))
        conditions.append(_in_scope(source.unit_id, root_id, "source_scope"))
    return (
        select(*columns)
        .select_from(Project)
        .join(source, col(source.id) == col(Project.adopted_from))
        .where(*conditions)
    )


def diffusion_totals(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> Row[Any]:
    """One row: ``adoptions`` and ``cross_unit_adoptions``."""
    adoptions = _adoptions(session, root_id, from_date, to_date, sources_too=False).subquery()
    statement = select(
        func.count().label("adoptions"),
        _count_where(adoptions.c.adopter_unit != adoptions.c.source_unit, "cross_unit_adoptions"),
    ).select_from(adoptions)
    return session.execute(statement).one()


def unit_flows(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> Sequence[Row[Any]]:
    """Per non-archived unit in scope with a cross-unit adoption either way, by code:
    ``unit_id``, ``code``, ``adopted_in``, ``adopted_out``."""
    adoptions = _adoptions(session, root_id, from_date, to_date, sources_too=False).subquery()
    cross = (
        select(adoptions.c.adopter_unit, adoptions.c.source_unit)
        .where(adoptions.c.adopter_unit != adoptions.c.source_unit)
        .cte("cross_unit")
    )
    ends = union_all(
        select(
            cross.c.adopter_unit.label("unit_id"),
            literal(1).label("adopted_in"),
            literal(0).label("adopted_out"),
        ),
        select(
            cross.c.source_unit.label("unit_id"),
            literal(0).label("adopted_in"),
            literal(1).label("adopted_out"),
        ),
    ).subquery("ends")
    statement: Any = (
        select(
            col(Unit.id).label("unit_id"),
            col(Unit.code),
            func.sum(ends.c.adopted_in).label("adopted_in"),
            func.sum(ends.c.adopted_out).label("adopted_out"),
        )
        .select_from(ends)
        .join(Unit, col(Unit.id) == ends.c.unit_id)
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
        .group_by(col(Unit.id), col(Unit.code))
        .order_by(col(Unit.code))
    )
    return session.execute(statement).all()


def top_sources(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> Sequence[Row[Any]]:
    """The `TOP_SOURCES` projects in scope adopted by the most distinct other units:
    ``project_id``, ``title``, ``unit_id``, ``adopting_units``, ``adoptions``."""
    adoptions = _adoptions(session, root_id, from_date, to_date, sources_too=True).subquery()
    other_unit = func.count(
        distinct(
            func.nullif(adoptions.c.adopter_unit, adoptions.c.source_unit),
        )
    )
    statement: Any = (
        select(
            adoptions.c.source_id.label("project_id"),
            adoptions.c.source_title.label("title"),
            adoptions.c.source_unit.label("unit_id"),
            other_unit.label("adopting_units"),
            func.count().label("adoptions"),
        )
        .group_by(adoptions.c.source_id, adoptions.c.source_title, adoptions.c.source_unit)
        .having(other_unit > 0)
        .order_by(other_unit.desc(), adoptions.c.source_id)
        .limit(TOP_SOURCES)
    )
    return session.execute(statement).all()
