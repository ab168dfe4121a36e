"""The SQL behind the reports: conditional aggregates computed in the database.

Each function issues one statement whatever the portfolio's size and returns counts, never
the rows counted. ``root_id`` restricts a query to a unit's subtree (None: everything).
Archived rows never count, nor do the experiments, criteria and tags of archived projects.
The spread (today), portfolio and determinants reports sum the per-unit rows of
`app.reports.summaries`, which hold those rules; the rest reads the base tables.
"""

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import Session, col

from app.criteria.models import Criterion, CriterionKind, CriterionStatus, Direction
from app.determinants.models import Determinant, Effect
from app.experiments.models import Experiment
from app.projects.models import Project, ProjectPeriod, SponsorLevel, WorkMode
from app.reports import outcome_summaries, summaries, unit_status
from app.reports.summaries import ACTIVE_STAGES, BAND_KEYS, FACET_KEYS, key
from app.units.models import Unit, UnitKind
from app.units.service import in_subtree

__all__ = ["ACTIVE_STAGES", "BAND_KEYS", "FACET_KEYS", "key"]


def _in_scope(column: Any, root_id: int | None, name: str = "scope") -> ColumnElement[bool]:
    return true() if root_id is None else in_subtree(column, root_id, name)


def _count_where(condition: ColumnElement[bool], label: str) -> Any:
    # COUNT(CASE WHEN ... THEN 1 END): the portable form of COUNT(*) FILTER (WHERE ...).
    return func.count(case((condition, 1))).label(label)


def _counts_by(column: Any, values: Iterable[StrEnum], prefix: str) -> list[Any]:
    return [_count_where(column == value, f"{prefix}{value.value}") for value in values]


def counts(row: Row[Any], prefix: str, values: Iterable[StrEnum]) -> dict[str, int]:
    """Pick the ``prefix``-labelled counts of ``values`` out of an aggregate row."""
    mapping = row._mapping
    return {value.value: int(mapping[f"{prefix}{value.value}"]) for value in values}


def unit_id_by_code(*, session: Session, code: str) -> int | None:
    statement = select(col(Unit.id)).where(func.lower(Unit.code) == code.lower())
    return session.execute(statement).scalar_one_or_none()


def _unit_columns() -> list[Any]:
    """The columns of a per-unit row (UnitRow), selected and grouped by."""
    return [
        col(Unit.id).label("unit_id"),
        col(Unit.code),
        col(Unit.name),
        col(Unit.kind),
        col(Unit.parent_id),
    ]


# --- spread ---------------------------------------------------------------------------


def projects_as_of(as_of: date | None) -> Any:
    """The projects with their tracked values at the end of day ``as_of``: a selectable with
    the columns ``id``, ``unit_id``, ``stage``, ``work_mode``, ``sponsor_level``,
    ``archived``.

    ``None`` is now: the projects table itself, whose row holds the values of the last
    period. A date reads the period containing it (``valid_from <= D < valid_to``, an open
    ``valid_to`` never ending); a project whose first period begins after ``D`` has none
    and does not exist yet.
    """
    if as_of is None:
        return Project.__table__  # type: ignore[attr-defined]
    return (
        select(
            col(ProjectPeriod.project_id).label("id"),
            col(ProjectPeriod.unit_id).label("unit_id"),
            col(ProjectPeriod.stage).label("stage"),
            col(ProjectPeriod.work_mode).label("work_mode"),
            col(ProjectPeriod.sponsor_level).label("sponsor_level"),
            col(Project.archived).label("archived"),
        )
        .join(Project, col(Project.id) == col(ProjectPeriod.project_id))
        .where(
            col(ProjectPeriod.valid_from) <= as_of,
            or_(col(ProjectPeriod.valid_to).is_(None), col(ProjectPeriod.valid_to) > as_of),
        )
        .subquery("projects_as_of")
    )


def _is_active(projects: Any) -> ColumnElement[bool]:
    return and_(projects.c.archived == false(), projects.c.stage.in_(ACTIVE_STAGES))


def _spread_scope(projects: Any, root_id: int | None, owner: Any) -> ColumnElement[bool]:
    """Whose active projects a spread report counts. Scoped to a subtree, only those of
    its non-archived units: a project whose unit (at the report's date) has since been
    archived counts in the whole organization's report only. ``owner`` is the joined
    unit of the project."""
    if root_id is None:
        return true()
    return and_(in_subtree(projects.c.unit_id, root_id, "scope"), owner.archived == false())


def _summed(column: Any, label: str) -> Any:
    # SUM of no rows is NULL; bigint on both backends (PostgreSQL's SUM of int is bigint).
    return cast(func.coalesce(func.sum(column), 0), BigInteger).label(label)


def _spread_totals_today(root_id: int | None) -> Select[Any]:
    counts = summaries.project_counts.c
    owner = Unit.__table__.alias("owner")  # type: ignore[attr-defined]
    is_lab = and_(owner.c.kind == UnitKind.innovation_lab, owner.c.archived == false())
    return (
        select(
            _summed(counts.active_projects, "active_projects"),
            *(_summed(counts[f"active_mode_{m.value}"], f"mode_{m.value}") for m in WorkMode),
            *(
                _summed(counts[f"active_sponsor_{s.value}"], f"sponsor_{s.value}")
                for s in SponsorLevel
            ),
            _summed(case((is_lab, counts.active_projects), else_=0), "lab_projects"),
        )
        .select_from(summaries.project_counts)
        .join(owner, owner.c.id == counts.unit_id)
        .where(_spread_scope(summaries.project_counts, root_id, owner.c))
    )


def spread_totals(*, session: Session, root_id: int | None, as_of: date | None = None) -> Row[Any]:
    """One row: active projects, by work mode (``mode_*``), by sponsor level (``sponsor_*``),
    and ``lab_projects`` (owned by a non-archived innovation lab)."""
    if as_of is None:
        return session.execute(_spread_totals_today(root_id)).one()
    projects = projects_as_of(as_of)
    owner = Unit.__table__.alias("owner")  # type: ignore[attr-defined]
    statement = (
        select(
            func.count().label("active_projects"),
            *_counts_by(projects.c.work_mode, WorkMode, "mode_"),
            *_counts_by(projects.c.sponsor_level, SponsorLevel, "sponsor_"),
            _count_where(
                and_(owner.c.kind == UnitKind.innovation_lab, owner.c.archived == false()),
                "lab_projects",
            ),
        )
        .select_from(projects)
        .join(owner, owner.c.id == projects.c.unit_id)
        .where(_is_active(projects), _spread_scope(projects, root_id, owner.c))
    )
    return session.execute(statement).one()


def _spread_units_today(root_id: int | None) -> Select[Any]:
    counts = summaries.project_counts.c
    return (
        select(
            *_unit_columns(),
            func.coalesce(counts.active_projects, 0).label("active_projects"),
            *(
                func.coalesce(counts[f"active_mode_{m.value}"], 0).label(f"mode_{m.value}")
                for m in WorkMode
            ),
        )
        .select_from(Unit)
        .outerjoin(summaries.project_counts, counts.unit_id == col(Unit.id))
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
    )


def _spread_units_statement(root_id: int | None, as_of: date | None) -> Select[Any]:
    if as_of is None:
        return _spread_units_today(root_id)
    projects = projects_as_of(as_of)
    active = and_(projects.c.unit_id == col(Unit.id), _is_active(projects))
    return (
        select(
            *_unit_columns(),
            func.count(projects.c.id).label("active_projects"),
            # Counts of a nullable column: the unit rows without a project count 0.
            *_counts_by(projects.c.work_mode, WorkMode, "mode_"),
        )
        .select_from(Unit)
        .outerjoin(projects, active)
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id))
        .group_by(*_unit_columns())
    )


def spread_units(
    *, session: Session, root_id: int | None, as_of: date | None = None
) -> Sequence[Row[Any]]:
    """One row per non-archived unit in scope with the active projects it owns itself
    (at ``as_of``), by work mode (``mode_*``)."""
    statement = _spread_units_statement(root_id, as_of).order_by(Unit.code)
    return session.execute(statement).all()


# A `UnitSpread` as JSON, from a row of `_spread_units_statement` aliased `unit`: the same
# keys in the same order, `status` by the one rule (`unit_status`).
_UNIT_SPREAD_JSON = """json_build_object(
  'unit_id', unit.unit_id, 'code', unit.code, 'name', unit.name, 'kind', unit.kind,
  'parent_id', unit.parent_id, 'active_projects', unit.active_projects,
  'by_work_mode', json_build_object('side_of_desk', unit.mode_side_of_desk,
    'dedicated', unit.mode_dedicated, 'core_business', unit.mode_core_business),
  'status', {status})"""


def unit_spread_json(threshold: float) -> str:
    status = unit_status.status_sql(
        "unit.active_projects", lambda mode: f"unit.mode_{mode.value}", threshold
    )
    return _UNIT_SPREAD_JSON.format(status=status)


def _spread_per_unit_as_of(root_id: int | None, as_of: date) -> tuple[Any, Any]:
    """The `totals` and `unit` subqueries of `spread_in_one_scan` from the periods: the
    active projects counted once per unit, work mode and sponsor level, totals and unit
    rows summed from those few thousand groups."""
    projects = projects_as_of(as_of)
    per_statement = select(
        projects.c.unit_id,
        projects.c.work_mode,
        projects.c.sponsor_level,
        func.count().label("projects"),
    ).where(_is_active(projects))
    if root_id is not None:
        # Scoped: only the projects of non-archived units count (`_spread_scope`).
        owner = Unit.__table__.alias("owner")  # type: ignore[attr-defined]
        per_statement = per_statement.join(owner, owner.c.id == projects.c.unit_id).where(
            _spread_scope(projects, root_id, owner.c)
        )
    per = per_statement.group_by(
        projects.c.unit_id, projects.c.work_mode, projects.c.sponsor_level
    ).cte("per_unit")

    def total(label: str, condition: ColumnElement[bool] | None = None) -> Any:
        projects: Any = func.sum(per.c.projects)
        if condition is not None:
            projects = projects.filter(condition)
        return cast(func.coalesce(projects, 0), BigInteger).label(label)

    totals = (
        select(
            total("active_projects"),
            *(total(f"mode_{m.value}", per.c.work_mode == m) for m in WorkMode),
            *(total(f"sponsor_{s.value}", per.c.sponsor_level == s) for s in SponsorLevel),
            total(
                "lab_projects",
                and_(col(Unit.kind) == UnitKind.innovation_lab, col(Unit.archived) == false()),
            ),
        )
        .select_from(per)
        .join(Unit, col(Unit.id) == per.c.unit_id)
        .subquery("totals")
    )
    unit = (
        select(
            *_unit_columns(),
            total("active_projects"),
            *(total(f"mode_{m.value}", per.c.work_mode == m) for m in WorkMode),
        )
        .select_from(Unit)
        .outerjoin(per, per.c.unit_id == col(Unit.id))
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
        .group_by(*_unit_columns())
        .subquery("unit")
    )
    return totals, unit


def spread_in_one_scan(
    *, session: Session, root_id: int | None, threshold: float, as_of: date | None = None
) -> Row[Any]:
    """PostgreSQL only: the whole spread report in one statement.

    One row: the columns of `spread_totals`, then `units` (the report's unit rows as JSON
    text, by code), `business_lines` and `with_innovation` (business lines among them, and
    those owning an active project). Today's report sums the per-unit summary rows; one as
    of a date counts the periods (`_spread_per_unit_as_of`). Building 1,000 unit rows in
    Python cost more than the queries (bench/RESULTS.md, spread).
    """
    if as_of is None:
        totals = _spread_totals_today(root_id).subquery("totals")
        unit = _spread_units_today(root_id).subquery("unit")
    else:
        totals, unit = _spread_per_unit_as_of(root_id, as_of)
    business_line = unit.c.kind == UnitKind.business_line
    unit_json: ColumnElement[Any] = literal_column(unit_spread_json(threshold))
    units = (
        select(
            cast(
                func.coalesce(
                    func.json_agg(aggregate_order_by(unit_json, unit.c.code)),
                    literal_column("'[]'::json"),
                ),
                Text,
            ).label("units"),
            _count_where(business_line, "business_lines"),
            _count_where(and_(business_line, unit.c.active_projects > 0), "with_innovation"),
        )
        .select_from(unit)
        .subquery("units")
    )
    # Two one-row subqueries side by side: an explicit join on true, not a cartesian product.
    return session.execute(select(totals, units).select_from(totals.join(units, true()))).one()


# --- portfolio ------------------------------------------------------------------------


# Built once per table and scope, then reused: building the SUM of each of a summary
# table's ~60 columns (and the statement's cache key) took more of a report's time than
# PostgreSQL took to run it, on every poll after a write. Statements are immutable.
@functools.lru_cache(maxsize=256)
def _sums(table: Any, root_id: int | None) -> Select[Any]:
    """One row: every count column of a summary table summed over the units in scope."""
    return select(
        *(_summed(column, column.name) for column in table.c if column.name != "unit_id")
    ).where(_in_scope(table.c.unit_id, root_id))


def project_balance(*, session: Session, root_id: int | None) -> Row[Any]:
    """One row of counts over non-archived projects: ``projects``; ``stage_*``, ``mode_*``,
    ``sponsor_*``; ``facet_<facet>__<band>`` for the cross-table (``unspecified`` for a missing
    facet or band); ``high_risk_justified`` and ``without_risk_profile`` (the rules in
    `summaries`)."""
    return session.execute(_sums(summaries.project_counts, root_id)).one()


def experiment_counts(*, session: Session, root_id: int | None) -> Row[Any]:
    """One row of counts over non-archived experiments of non-archived projects, by the
    experiment's unit: ``experiments``; ``status_*``, ``method_*``, ``result_*``;
    ``completed_with_lessons``."""
    return session.execute(_sums(summaries.experiment_counts, root_id)).one()


# --- outcomes -------------------------------------------------------------------------


def outcome_coverage(*, session: Session, root_id: int | None) -> outcome_summaries.Coverage:
    """``projects`` (non-archived, past idea) and ``with_outcome`` (those with a live
    outcome criterion on the project or on one of its live experiments), from the
    per-unit counts the triggers keep (app.reports.outcome_summaries): reading every
    criterion took 3.3 s at L (bench/RESULTS.md)."""
    return outcome_summaries.coverage(session=session, root_id=root_id)


def criterion_status_sql(today: date) -> Any:
    """The criterion status rule of app.criteria.models.criterion_status, in SQL.

    Keep the two in step: `met` when latest_value reaches the target in its direction
    (>= for increase, <= for decrease), else `missed` when due_on is before ``today`` (the
    UTC date), else `pending`.
    """
    reached = or_(
        and_(
            col(Criterion.direction) == Direction.increase,
            col(Criterion.latest_value) >= col(Criterion.target),
        ),
        and_(
            col(Criterion.direction) == Direction.decrease,
            col(Criterion.latest_value) <= col(Criterion.target),
        ),
    )
    return case(
        (and_(col(Criterion.latest_value).is_not(None), reached), CriterionStatus.met.value),
        (
            and_(col(Criterion.due_on).is_not(None), col(Criterion.due_on) < today),
            CriterionStatus.missed.value,
        ),
        else_=CriterionStatus.pending.value,
    )


def _live_owner_unit(owner_project_id: Any, owner_experiment_id: Any) -> tuple[Any, Any, Any]:
    """Outer joins from a row owned by a project or an experiment (criteria, tags) to its
    live owner: (live projects, live experiments, owner unit_id). The unit id is null when
    the owner is archived, or is an experiment of an archived project."""
    live_projects = (
        select(col(Project.id).label("id"), col(Project.unit_id).label("unit_id"))
        .where(col(Project.archived) == false())
        .subquery("live_projects")
    )
    live_experiments = (
        select(col(Experiment.id).label("id"), col(Experiment.unit_id).label("unit_id"))
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .where(col(Experiment.archived) == false(), col(Project.archived) == false())
        .subquery("live_experiments")
    )
    owner_unit = func.coalesce(live_projects.c.unit_id, live_experiments.c.unit_id)
    return (
        (live_projects, live_projects.c.id == owner_project_id),
        (live_experiments, live_experiments.c.id == owner_experiment_id),
        owner_unit,
    )


def criteria_by_kind_and_status(
    *, session: Session, root_id: int | None, today: date
) -> outcome_summaries.CriteriaCounts:
    """``counts[kind][status]`` over live criteria of live owners, from the summaries:
    per (unit, kind) the live and met ones, and the unmet ones due before ``today``.
    When a compaction ran on a later day than ``today`` (a clock set back), the summaries
    cannot tell which folded criteria were due before it: one more statement counts
    the criteria themselves."""
    summarized = outcome_summaries.criteria_counts(session=session, root_id=root_id, today=today)
    if summarized.exact:
        return summarized
    row = criteria_by_kind_and_status_from_criteria(session=session, root_id=root_id, today=today)
    return outcome_summaries.CriteriaCounts(
        counts={
            kind.value: {
                state.value: int(row._mapping[f"{kind.value}__{state.value}"])
                for state in CriterionStatus
            }
            for kind in CriterionKind
        },
        rows_read=summarized.rows_read,
        exact=True,
    )


def criteria_by_kind_and_status_from_criteria(
    *, session: Session, root_id: int | None, today: date
) -> Row[Any]:
    """One row: ``<kind>__<status>`` counts over live criteria of live owners, read from
    every criterion (the summaries' fallback, and their reference in the tests)."""
    status = criterion_status_sql(today)
    project_join, experiment_join, owner_unit = _live_owner_unit(
        col(Criterion.project_id), col(Criterion.experiment_id)
    )
    statement = (
        select(
            *[
                _count_where(
                    and_(col(Criterion.kind) == kind, status == state.value),
                    f"{kind.value}__{state.value}",
                )
                for kind in CriterionKind
                for state in CriterionStatus
            ]
        )
        .select_from(Criterion)
        .outerjoin(*project_join)
        .outerjoin(*experiment_join)
        .where(
            col(Criterion.archived) == false(),
            owner_unit.is_not(None),
            _in_scope(owner_unit, root_id),
        )
    )
    return session.execute(statement).one()


# --- determinants ---------------------------------------------------------------------


def determinant_totals(*, session: Session, root_id: int | None) -> Row[Any]:
    """One row: ``<determinant>__<effect>`` counts of the tags on live projects and
    experiments, by the owner's unit."""
    return session.execute(_sums(summaries.determinant_counts, root_id)).one()


def _barriers_by_unit(root_id: int | None) -> Select[Any]:
    counts = summaries.determinant_counts.c
    return (
        select(
            *_unit_columns(),
            *(
                func.coalesce(counts[f"{d.value}__{Effect.barrier.value}"], 0).label(
                    f"barrier_{d.value}"
                )
                for d in Determinant
            ),
        )
        .select_from(Unit)
        .outerjoin(summaries.determinant_counts, counts.unit_id == col(Unit.id))
        .where(col(Unit.archived) == false(), _in_scope(Unit.id, root_id, "unit_scope"))
    )


def barriers_by_unit(*, session: Session, root_id: int | None) -> Sequence[Row[Any]]:
    """One row per non-archived unit in scope with its barrier tag counts
    (``barrier_<determinant>``), counting the projects and experiments it owns itself."""
    return session.execute(_barriers_by_unit(root_id).order_by(Unit.code)).all()


def _json_text(value: str) -> str:
    """PostgreSQL: a text value as a JSON string, escaped as Pydantic escapes it: quote,
    backslash and control characters only, the latter as lowercase hex."""
    return f"to_json({value})::text"


# A `UnitBarriers` as compact JSON text from a row of `_barriers_by_unit` aliased `unit`:
# the same keys, order and bytes as `model_dump_json` (json_build_object would add spaces).
_UNIT_BARRIERS_JSON = (
    "'{\"unit_id\":' || unit.unit_id || ',\"code\":' || "
    + _json_text("unit.code")
    + " || ',\"name\":' || "
    + _json_text("unit.name")
    + " || ',\"kind\":' || "
    + _json_text("unit.kind")
    + " || ',\"parent_id\":' || coalesce(unit.parent_id::text, 'null') || "
    + "',\"barriers\":{' || "
    + " || ',' || ".join(f"'\"{d.value}\":' || unit.barrier_{d.value}" for d in Determinant)
    + " || '}}'"
)


def barriers_by_unit_json(*, session: Session, root_id: int | None) -> str:
    """PostgreSQL only: the rows of `barriers_by_unit` as the report's `units` JSON array,
    built by the database in one statement. Building 1,000 unit rows in Python cost
    more than the query (bench/RESULTS.md, determinants), as it did for spread."""
    unit = _barriers_by_unit(root_id).subquery("unit")
    rows = f"'[' || coalesce(string_agg({_UNIT_BARRIERS_JSON}, ',' ORDER BY unit.code), '') || ']'"
    statement: Any = select(literal_column(rows)).select_from(unit)
    return str(session.execute(statement).scalar_one())
