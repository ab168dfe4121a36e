"""Summaries behind the flow report for the whole organization, kept by database triggers,
so that the dashboards' flow (every unit, the year up to today) reads summary rows
instead of every period of every project (at L tens of thousands instead of 500,000).

Why the whole organization only: flow's scope is the unit a project has *at `to`*, so a
summary per unit would have to move a project's whole history each time it changes unit,
and at L a subtree query already sums a thousand units' rows. The organization's scope
is every live project, whatever its unit, so its rows never move: the unit-scoped report
keeps reading the periods (`app.reports.flow`), the organization's reads these.

Four tables, and two finer ones added later as a family of their own (``DETAILS``, so
that migration 0014 still installs exactly the four), all over the periods of live
(non-archived) projects, with their run
columns (`ProjectPeriod.prev_stage`, `stage_since`, `prev_stage_since`):

- ``flow_day_moves``: per (day, previous stage, stage), the periods starting that day
  that begin a project (previous stage ``''``) or change its stage. Any window of the
  report is a range of days.
- ``flow_month_stays``: per (month, stage, days), the stays completed in that month:
  periods that change the stage from a measured one, and how many days the left stage
  lasted (the period's start minus its previous run's start). The report's medians need
  the lengths of every stay completed in its window; its whole months are read from
  here (at L 39,000 rows for a year, 7,000 distinct lengths, for 72,500 stays), and only
  the days at its two edges from the periods (their `valid_from` is indexed).
- ``flow_month_stay_buckets`` (one of the two finer tables, ``DETAILS``): the same stays
  per (month, stage, bucket of 32 days of length). The first level of the report's
  medians reads these, its second only the lengths of the two chosen buckets from
  ``flow_month_stays`` (by ``ix_flow_month_stays_lengths``).
- ``flow_open_runs``: per (stage, stage since), the projects whose open period (the last,
  holding today: a period never starts after the day it is written) is in a measured
  stage. The days a project has spent in its stage today are today minus its stage's
  start, computed at read time, so nothing here depends on today: the report's current
  stays and stalled counts when `to` is today.
- ``flow_month_start_changes``: per (month, kind, value now), the signed changes of the
  periods in an active stage that are side-of-desk (kind ``side_of_desk``, value now the
  project's work mode today) or individually sponsored (kind ``individual``, its sponsor
  level today): +1 in the month a period starts, -1 in the month it ends. The projects of
  a kind active at `from` and their values at `to` (the mainstreaming and
  institutionalisation figures, when `to` is today) are the running sum of the months
  before `from`'s, plus that month's changes up to `from`, read from the periods. The
  value now is the project's own row: when it changes (or the project is archived or
  un-archived) the project's periods move from the old value to the new one.
- ``flow_day_start_changes`` (the other finer table): the same start changes per day, for
  the month of `from` up to it (a few rows a day instead of the ~700 periods a day
  starting or ending at L).

The triggers are row triggers on both databases with the same statements (but for a
month's first day and a number of days between two dates), like the timeline summaries':
each write of a period subtracts the rows it made as it was and adds those it makes now,
one upsert per table grouped per key, in key order, skipping keys whose change is zero;
archiving a project takes all its periods out, un-archiving brings them back, and a
change of its work mode or sponsor level moves its periods' start changes. A key whose
count drops to zero keeps its row; reads ignore it. ``rebuild`` recomputes the four
tables from the periods. Changing a rule here needs a migration that drops and recreates
the triggers and calls ``rebuild``; so does a SQLite batch migration that recreates
project_periods or projects (it drops them). The rows are the whole organization's,
shared by every writer of periods: on PostgreSQL those writers take one advisory lock
first (`app.projects.service._lock_timelines`), so they lock them in one order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from app.core.triggers import Family, RowTrigger, changed, refill_sql, upsert_sums
from app.projects.models import SponsorLevel, Stage, WorkMode
from app.reports.periods import MEDIAN_BUCKET_DAYS
from app.reports.summaries import ACTIVE_STAGES
from app.reports.timeline_summaries import month_start_sql

# Stages whose stays are measured: a project can still leave them for a later stage (the
# flow report's `time_in_stage`).
MEASURED_STAGES = (Stage.idea, Stage.exploration, Stage.experiment, Stage.scaling)
_MEASURED = ", ".join(f"'{stage.value}'" for stage in MEASURED_STAGES)

# The previous stage of a project's first period (a key column cannot be null).
FIRST = ""

# --- tables ----------------------------------------------------------------------------

flow_day_moves = sa.Table(
    "flow_day_moves",
    SQLModel.metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("prev_stage", sa.String(32), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("moves", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("day", "prev_stage", "stage"),
)

flow_month_stays = sa.Table(
    "flow_month_stays",
    SQLModel.metadata,
    # The first day of the month the stays were completed in.
    sa.Column("month_start", sa.Date, nullable=False),
    # The stage left.
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("stays", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("month_start", "stage", "days"),
)

# The same stays per (month, stage, bucket of lengths): the first level of the report's
# medians (`app.reports.periods.median_of_levels`) reads these, a few hundred rows a month
# instead of a few thousand lengths; its second level reads only the lengths of the chosen
# buckets, by `ix_flow_month_stays_lengths`.
flow_month_stay_buckets = sa.Table(
    "flow_month_stay_buckets",
    SQLModel.metadata,
    sa.Column("month_start", sa.Date, nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    # days // MEDIAN_BUCKET_DAYS
    sa.Column("bucket", sa.Integer, nullable=False),
    sa.Column("stays", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("month_start", "stage", "bucket"),
)
sa.Index(
    "ix_flow_month_stays_lengths",
    flow_month_stays.c.stage,
    flow_month_stays.c.days,
    flow_month_stays.c.month_start,
    postgresql_include=["stays"],
)

# The same start changes per day (the month of `from` up to it: at most 31 days of a few
# rows each, where the periods starting or ending on them are ~700 a day at L).
flow_day_start_changes = sa.Table(
    "flow_day_start_changes",
    SQLModel.metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("value_now", sa.String(32), nullable=False),
    sa.Column("changes", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("day", "kind", "value_now"),
)

flow_open_runs = sa.Table(
    "flow_open_runs",
    SQLModel.metadata,
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("stage_since", sa.Date, nullable=False),
    sa.Column("projects", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("stage", "stage_since"),
)

flow_month_start_changes = sa.Table(
    "flow_month_start_changes",
    SQLModel.metadata,
    sa.Column("month_start", sa.Date, nullable=False),
    # `side_of_desk` (work mode) or `individual` (sponsor level).
    sa.Column("kind", sa.String(32), nullable=False),
    # The project's work mode (side_of_desk) or sponsor level (individual) today.
    sa.Column("value_now", sa.String(32), nullable=False),
    sa.Column("changes", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("month_start", "kind", "value_now"),
)

TABLES = (flow_day_moves, flow_month_stays, flow_open_runs, flow_month_start_changes)

# kind -> (the period's column, its value counted, the project's column read as value now)
START_KINDS = {
    "side_of_desk": ("work_mode", WorkMode.side_of_desk.value, "work_mode"),
    "individual": ("sponsor_level", SponsorLevel.individual.value, "sponsor_level"),
}
_ACTIVE = ", ".join(f"'{stage.value}'" for stage in ACTIVE_STAGES)


def days_between_sql(later: str, earlier: str, dialect: str) -> str:
    """``later - earlier`` in whole days, as `app.reports.periods.days_between` reads."""
    if dialect == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


# --- what a set of periods adds -----------------------------------------------------------


@dataclass(frozen=True)
class _Periods:
    """Period rows ``row`` from ``tables`` where ``where`` holds, each counted ``sign``
    times (an SQL expression)."""

    row: str
    tables: str
    where: str
    sign: str
    # The row holding the project's values today (`projects p`, or a trigger's OLD or NEW).
    now: str = "p"

    def _select(self, columns: str, condition: str) -> str:
        return f"SELECT {columns} FROM {self.tables} WHERE {self.where} AND {condition}"

    def moves(self, dialect: str) -> str:
        r = self.row
        return self._select(
            f"{r}.valid_from AS day, COALESCE({r}.prev_stage, '{FIRST}') AS prev_stage, "
            f"{r}.stage AS stage, {self.sign} AS moves",
            f"({r}.prev_stage IS NULL OR {r}.prev_stage <> {r}.stage)",
        )

    def _completes_stay(self) -> str:
        """The period changes the stage from a measured one: it completes a stay."""
        r = self.row
        return (
            f"{r}.prev_stage IS NOT NULL AND {r}.prev_stage <> {r}.stage "
            f"AND {r}.prev_stage IN ({_MEASURED})"
        )

    def stays(self, dialect: str) -> str:
        r = self.row
        days = days_between_sql(f"{r}.valid_from", f"{r}.prev_stage_since", dialect)
        return self._select(
            f"{month_start_sql(f'{r}.valid_from', dialect)} AS month_start, "
            f"{r}.prev_stage AS stage, {days} AS days, {self.sign} AS stays",
            self._completes_stay(),
        )

    def stay_buckets(self, dialect: str) -> str:
        r = self.row
        days = days_between_sql(f"{r}.valid_from", f"{r}.prev_stage_since", dialect)
        return self._select(
            f"{month_start_sql(f'{r}.valid_from', dialect)} AS month_start, "
            f"{r}.prev_stage AS stage, {days} / {MEDIAN_BUCKET_DAYS} AS bucket, "
            f"{self.sign} AS stays",
            self._completes_stay(),
        )

    def open_runs(self, dialect: str) -> str:
        r = self.row
        return self._select(
            f"{r}.stage AS stage, {r}.stage_since AS stage_since, {self.sign} AS projects",
            f"{r}.valid_to IS NULL AND {r}.stage IN ({_MEASURED})",
        )


    def start_changes(self, dialect: str) -> str:
        return self._start_changes(
            lambda day: f"{month_start_sql(f'{self.row}.{day}', dialect)} AS month_start"
        )

    def day_start_changes(self, dialect: str) -> str:
        return self._start_changes(lambda day: f"{self.row}.{day} AS day")

    def _start_changes(self, key: Callable[[str], str]) -> str:
        """The start changes, keyed by ``key(column)``: the month or the day of the period's
        ``valid_from`` (+1) or ``valid_to`` (-1)."""
        r = self.row
        parts = []
        for kind, (column, value, now_column) in START_KINDS.items():
            for day, sign, extra in (
                ("valid_from", self.sign, ""),
                ("valid_to", f"-({self.sign})", f" AND {r}.valid_to IS NOT NULL"),
            ):
                parts.append(
                    self._select(
                        f"{key(day)}, '{kind}' AS kind, {self.now}.{now_column} AS value_now, "
                        f"{sign} AS changes",
                        f"{r}.stage IN ({_ACTIVE}) AND {r}.{column} = '{value}'{extra}",
                    )
                )
        return " UNION ALL ".join(parts)


# (table, key columns, count column, the changes a set of periods makes to it)
_PARTS = (
    (flow_day_moves, ("day", "prev_stage", "stage"), "moves", _Periods.moves),
    (flow_month_stays, ("month_start", "stage", "days"), "stays", _Periods.stays),
    (flow_open_runs, ("stage", "stage_since"), "projects", _Periods.open_runs),
    (
        flow_month_start_changes,
        ("month_start", "kind", "value_now"),
        "changes",
        _Periods.start_changes,
    ),
)


def _apply(sets: list[_Periods], dialect: str, parts: tuple[Any, ...] = _PARTS) -> list[str]:
    """One upsert per table (of ``parts``) adding what ``sets`` of periods make (signed)."""
    return [
        upsert_sums(
            table.name,
            keys,
            [count],
            [changes(periods, dialect) for periods in sets],
            source="d",
            of="d.",
            function="SUM",
        )
        for table, keys, count, changes in parts
    ]


def _live(row: str, sign: str) -> _Periods:
    """The period ``row`` (NEW or OLD) when its project is live."""
    return _Periods(row, "projects p", f"p.id = {row}.project_id AND NOT p.archived", sign)


# --- triggers ---------------------------------------------------------------------------

_PERIOD_COLUMNS = (
    "project_id",
    "valid_from",
    "valid_to",
    "stage",
    "work_mode",
    "sponsor_level",
    "prev_stage",
    "stage_since",
    "prev_stage_since",
)


def _project_periods(where: str, sign: str, now: str) -> _Periods:
    """The periods of the project a projects trigger fires for."""
    return _Periods("r", "project_periods r", f"r.project_id = NEW.id AND {where}", sign, now)


def _family_triggers(
    name: str, parts: tuple[Any, ...], start_change_parts: int, dialect: str
) -> tuple[RowTrigger, ...]:
    """The triggers keeping ``parts`` (their tables) over the periods of live projects, the
    last ``start_change_parts`` of them start changes: as a period is written or deleted,
    as a project is archived or un-archived, and (the start changes, keyed by the
    project's values today) as its work mode or sponsor level changes, which takes its
    periods out as they were counted and puts them back as now."""
    split = len(parts) - start_change_parts
    project_periods = _project_periods("1 = 1", "CASE WHEN NEW.archived THEN -1 ELSE 1 END", "NEW")
    moved = [
        _project_periods("NOT OLD.archived", "-1", "OLD"),
        _project_periods("NOT NEW.archived", "1", "NEW"),
    ]
    return (
        RowTrigger(
            f"{name}_periods_insert",
            "project_periods",
            "INSERT",
            _apply([_live("NEW", "1")], dialect, parts),
        ),
        RowTrigger(
            f"{name}_periods_update",
            "project_periods",
            f"UPDATE OF {', '.join(_PERIOD_COLUMNS)}",
            _apply([_live("OLD", "-1"), _live("NEW", "1")], dialect, parts),
            changed(*_PERIOD_COLUMNS),
        ),
        RowTrigger(
            f"{name}_periods_delete",
            "project_periods",
            "DELETE",
            _apply([_live("OLD", "-1")], dialect, parts),
        ),
        RowTrigger(
            f"{name}_projects_archive",
            "projects",
            "UPDATE OF archived",
            _apply([project_periods], dialect, parts[:split]),
            changed("archived"),
        ),
        RowTrigger(
            f"{name}_projects_values",
            "projects",
            "UPDATE OF archived, work_mode, sponsor_level",
            _apply(moved, dialect, parts[split:]),
            changed("archived", "work_mode", "sponsor_level"),
        ),
    )


def triggers(dialect: str) -> tuple[RowTrigger, ...]:
    return _family_triggers("flow", _PARTS, 1, dialect)


def _ddl(family_triggers: tuple[RowTrigger, ...], dialect: str) -> list[str]:
    """The CREATE statements of ``family_triggers`` (and, on PostgreSQL, their functions)."""
    return [statement for trigger in family_triggers for statement in trigger.create(dialect)]


def trigger_ddl(dialect: str) -> list[str]:
    return _ddl(triggers(dialect), dialect)


TRIGGER_NAMES = tuple(f"trg_{trigger.name}" for trigger in triggers("sqlite"))


# --- rebuild ----------------------------------------------------------------------------


def _rebuild_sql(parts: tuple[Any, ...], dialect: str) -> list[str]:
    """Statements that recompute the tables of ``parts`` from the periods."""
    every = _Periods(
        "r", "project_periods r JOIN projects p ON p.id = r.project_id", "NOT p.archived", "1"
    )
    statements = []
    for table, keys, count, changes in parts:
        grouped = ", ".join(f"d.{key}" for key in keys)
        select = (
            f"SELECT {grouped}, SUM(d.{count}) FROM ({changes(every, dialect)}) d "
            f"GROUP BY {grouped} HAVING SUM(d.{count}) <> 0"
        )
        statements += refill_sql(table.name, [*keys, count], select)
    return statements


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute the four tables from the periods (one transaction)."""
    return _rebuild_sql(_PARTS, dialect)


FAMILY = Family(
    TABLES, rebuild_sql, ("project_periods", "projects"), trigger_ddl, triggers("sqlite")
)
rebuild = FAMILY.rebuild

# The finer summaries added after the four (migration 0017): the stays per bucket of
# lengths and the start changes per day. A family of their own, so that migration 0014
# still installs and rebuilds exactly the four; their triggers fire beside theirs.
_DETAIL_PARTS = (
    (
        flow_month_stay_buckets,
        ("month_start", "stage", "bucket"),
        "stays",
        _Periods.stay_buckets,
    ),
    (
        flow_day_start_changes,
        ("day", "kind", "value_now"),
        "changes",
        _Periods.day_start_changes,
    ),
)


def detail_triggers(dialect: str) -> tuple[RowTrigger, ...]:
    return _family_triggers("flow_details", _DETAIL_PARTS, 1, dialect)


def detail_trigger_ddl(dialect: str) -> list[str]:
    return _ddl(detail_triggers(dialect), dialect)


DETAIL_TRIGGER_NAMES = tuple(f"trg_{trigger.name}" for trigger in detail_triggers("sqlite"))

DETAILS = Family(
    (flow_month_stay_buckets, flow_day_start_changes),
    lambda dialect: _rebuild_sql(_DETAIL_PARTS, dialect),
    ("project_periods", "projects"),
    detail_trigger_ddl,
    detail_triggers("sqlite"),
)
