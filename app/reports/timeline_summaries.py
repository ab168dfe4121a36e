"""Summaries behind the trends report, kept by database triggers, so a trend point reads a
row per month and unit instead of every period of every project.

A trend point at day D counts the live periods holding D (valid_from <= D < valid_to),
by stage, work mode and sponsor level, per unit. A period adds itself from its
`valid_from` and takes itself away from its `valid_to`; a count at D is the sum of those
signed changes dated on or before D. Two tables keep what the report needs of them:

- ``period_month_counts``: per (unit, month) the signed changes dated in that month, one
  column per count (`COUNTS`, labelled as the report labels them). Trend points are
  month ends, and a month end's counts are the sum of the rows of its month and every
  month before: about a hundred months, not the periods. Only `to`, when it is not a
  month end, adds the changes dated in its own month up to it, read from the periods
  (their `valid_from` and `valid_to` are indexed): one month of them.
- ``unit_active_spans``: per unit, the spans of days during which it owns at least one
  live project in an active stage (overlapping and touching active periods merged), for
  the business lines' coverage. A unit owning active projects without a break since 2019
  has one row.

Nothing here depends on today: an open period has no end row, so it counts at every later
point; the report applies its window at read time. Units are not summarized: their kind,
`archived` and place in the tree are read at report time (a unit archived or moved since
counts as it is now, as before the summaries).

The triggers (row triggers on both databases, the same statements; only the month of a
date is written per dialect) follow every write of periods: inserts, corrections,
closing a period, moves (a new period in another unit), and the archive of a project
(all its periods leave the counts; un-archiving brings them back). ``rebuild`` recomputes
both tables from the periods. Changing a rule here changes what new databases get;
existing ones keep the triggers they were migrated with, so such a change needs a
migration that drops and recreates them and calls ``rebuild``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from app.core.triggers import Family, RowTrigger, changed, sums_sql, upsert_sums
from app.projects.models import SponsorLevel, Stage, WorkMode
from app.reports.summaries import ACTIVE_STAGES

# --- what is counted ---------------------------------------------------------------------

# A count: the conjunction of "column IN values" over a period row.
Condition = tuple[tuple[str, tuple[str, ...]], ...]
_ACTIVE = (("stage", tuple(stage.value for stage in ACTIVE_STAGES)),)

COUNTS: dict[str, Condition] = {
    "projects": (),
    **{f"stage_{stage.value}": (("stage", (stage.value,)),) for stage in Stage},
    "active_projects": _ACTIVE,
    # The trends report counts work modes and sponsor levels among active projects.
    **{f"mode_{mode.value}": (*_ACTIVE, ("work_mode", (mode.value,))) for mode in WorkMode},
    **{
        f"sponsor_{level.value}": (*_ACTIVE, ("sponsor_level", (level.value,)))
        for level in SponsorLevel
    },
}


def _condition_sql(row: str, condition: Condition) -> str:
    if not condition:
        return "1 = 1"
    return " AND ".join(
        f"{row}.{column} IN ({', '.join(repr(v) for v in values)})" for column, values in condition
    )


def contributions_sql(row: str, sign: str) -> str:
    """The select list of one period row's counts, times ``sign`` (an SQL expression)."""
    return ", ".join(
        f"{sign} * CASE WHEN {_condition_sql(row, condition)} THEN 1 ELSE 0 END AS {name}"
        for name, condition in COUNTS.items()
    )


def condition(columns: Mapping[str, Any], name: str) -> ColumnElement[bool]:
    """The count ``name`` as a SQLAlchemy condition over the given period columns."""
    clauses = [columns[column].in_(values) for column, values in COUNTS[name]]
    return sa.and_(sa.true(), *clauses)


# --- tables ----------------------------------------------------------------------------

period_month_counts = sa.Table(
    "period_month_counts",
    SQLModel.metadata,
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    # The first day of the month whose changes the row holds.
    sa.Column("month_start", sa.Date, nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in COUNTS),
    sa.PrimaryKeyConstraint("unit_id", "month_start"),
)

unit_active_spans = sa.Table(
    "unit_active_spans",
    SQLModel.metadata,
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    # Exclusive, as a period's; null while the unit owns an open active period.
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Index("ix_unit_active_spans_unit_id", "unit_id"),
)

TABLES = (period_month_counts, unit_active_spans)


def month_start_sql(day: str, dialect: str) -> str:
    """The first day of ``day``'s month, as a DATE (PostgreSQL) or ISO text (SQLite)."""
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', CAST({day} AS TIMESTAMP)) AS DATE)"
    return f"date({day}, 'start of month')"


# --- the changes a set of periods makes -----------------------------------------------------


@dataclass(frozen=True)
class _Periods:
    """Period rows ``row`` from ``tables`` where ``where`` holds."""

    row: str
    tables: str
    where: str

    def changes(self, sign: str, dialect: str) -> str:
        parts = []
        for day, day_sign, extra in (
            ("valid_from", sign, ""),
            ("valid_to", f"-({sign})", f" AND {self.row}.valid_to IS NOT NULL"),
        ):
            parts.append(
                f"SELECT {self.row}.unit_id AS unit_id, "
                f"{month_start_sql(f'{self.row}.{day}', dialect)} AS month_start, "
                f"{contributions_sql(self.row, day_sign)} "
                f"FROM {self.tables} WHERE {self.where}{extra}"
            )
        return " UNION ALL ".join(parts)


def _live(row: str) -> _Periods:
    """The period ``row`` (NEW or OLD) when its project is live."""
    return _Periods(row, "projects p", f"p.id = {row}.project_id AND NOT p.archived")


def _apply_months(changes: Sequence[str]) -> str:
    """One upsert adding the changes per (unit, month); groups that sum to zero are left
    alone. In key order, so two writers lock month rows in the same order."""
    return upsert_sums(
        "period_month_counts",
        ("unit_id", "month_start"),
        list(COUNTS),
        changes,
        source="d",
        of="d.",
        function="SUM",
    )


# Far after any real date: an open period's end, for the running maximum of the spans.
_OPEN = "'9999-12-31'"


def spans_select(units: str | None) -> str:
    """The active spans of the ``units`` (an SQL list; None: every unit), from the live
    periods in an active stage: gaps and islands, an island starting at a period that
    begins after every earlier period of its unit has ended."""
    active = ", ".join(f"'{stage.value}'" for stage in ACTIVE_STAGES)
    in_units = "" if units is None else f" AND pp.unit_id IN ({units})"
    periods = (
        f"SELECT pp.unit_id AS unit_id, pp.valid_from AS valid_from, "
        f"COALESCE(pp.valid_to, {_OPEN}) AS reach FROM project_periods pp "
        "JOIN projects p ON p.id = pp.project_id AND NOT p.archived "
        f"WHERE pp.stage IN ({active}){in_units}"
    )
    earlier = (
        "PARTITION BY a.unit_id ORDER BY a.valid_from, a.reach "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    )
    starts = (
        "SELECT a.unit_id AS unit_id, a.valid_from AS valid_from, a.reach AS reach, "
        f"CASE WHEN a.valid_from <= MAX(a.reach) OVER ({earlier}) THEN 0 ELSE 1 END "
        f"AS starts FROM ({periods}) a WHERE a.valid_from < a.reach"
    )
    islands = (
        "SELECT b.unit_id AS unit_id, b.valid_from AS valid_from, b.reach AS reach, "
        "SUM(b.starts) OVER (PARTITION BY b.unit_id ORDER BY b.valid_from, b.reach "
        f"ROWS UNBOUNDED PRECEDING) AS island FROM ({starts}) b"
    )
    return (
        f"SELECT c.unit_id, MIN(c.valid_from), NULLIF(MAX(c.reach), {_OPEN}) "
        f"FROM ({islands}) c WHERE 1 = 1 GROUP BY c.unit_id, c.island"
    )


def _respan(units: str) -> list[str]:
    return [
        f"DELETE FROM unit_active_spans WHERE unit_id IN ({units})",
        f"INSERT INTO unit_active_spans (unit_id, valid_from, valid_to) {spans_select(units)}",
    ]


# --- triggers ---------------------------------------------------------------------------


_PERIOD_COLUMNS = (
    "project_id",
    "valid_from",
    "valid_to",
    "stage",
    "work_mode",
    "sponsor_level",
    "unit_id",
)


def _lock_units(units: str, dialect: str) -> list[str]:
    """PostgreSQL: one writer at a time per unit, until it commits, taken first. Without
    it two writers in one unit each delete the spans they see and insert spans computed
    without the other's periods, and both sets stay (under READ COMMITTED each statement
    sees what committed before it, so the second writer, once the lock is free, deletes
    and recounts everything). In unit order, so two moves between the same units cannot
    deadlock on it. SQLite has a single writer."""
    if dialect != "postgresql":
        return []
    return [
        "PERFORM pg_advisory_xact_lock(hashtext('unit_active_spans'), s.id) "
        f"FROM (SELECT u.id FROM units u WHERE u.id IN ({units}) ORDER BY u.id) s"
    ]


def triggers(dialect: str) -> tuple[RowTrigger, ...]:
    archived_sign = "CASE WHEN NEW.archived THEN -1 ELSE 1 END"
    moved_units = "OLD.unit_id, NEW.unit_id"
    project_units = "SELECT r.unit_id FROM project_periods r WHERE r.project_id = NEW.id"
    return (
        RowTrigger(
            "timeline_periods_insert",
            "project_periods",
            "INSERT",
            [
                *_lock_units("NEW.unit_id", dialect),
                _apply_months([_live("NEW").changes("1", dialect)]),
                *_respan("NEW.unit_id"),
            ],
        ),
        RowTrigger(
            "timeline_periods_update",
            "project_periods",
            f"UPDATE OF {', '.join(_PERIOD_COLUMNS)}",
            [
                *_lock_units(moved_units, dialect),
                _apply_months(
                    [_live("OLD").changes("-1", dialect), _live("NEW").changes("1", dialect)]
                ),
                *_respan(moved_units),
            ],
            changed(*_PERIOD_COLUMNS),
        ),
        RowTrigger(
            "timeline_periods_delete",
            "project_periods",
            "DELETE",
            [
                *_lock_units("OLD.unit_id", dialect),
                _apply_months([_live("OLD").changes("-1", dialect)]),
                *_respan("OLD.unit_id"),
            ],
        ),
        RowTrigger(
            "timeline_projects_archive",
            "projects",
            "UPDATE OF archived",
            [
                *_lock_units(project_units, dialect),
                _apply_months(
                    [
                        _Periods("r", "project_periods r", "r.project_id = NEW.id").changes(
                            archived_sign, dialect
                        )
                    ]
                ),
                *_respan(project_units),
            ],
            changed("archived"),
        ),
    )


def trigger_ddl(dialect: str) -> list[str]:
    """The CREATE statements of every trigger (and, on PostgreSQL, their functions):
    migration 0012_timeline_summaries, and again after a SQLite batch migration that
    rebuilds project_periods or projects, which drops them."""
    return [statement for trigger in triggers(dialect) for statement in trigger.create(dialect)]


TRIGGER_NAMES = tuple(f"trg_{trigger.name}" for trigger in triggers("sqlite"))


# --- rebuild ----------------------------------------------------------------------------


def computed_months_sql(dialect: str) -> str:
    """The rows of ``period_month_counts`` computed from the periods."""
    changes = _Periods(
        "r", "project_periods r JOIN projects p ON p.id = r.project_id", "NOT p.archived"
    ).changes("1", dialect)
    sums, changed = sums_sql(list(COUNTS), of="d.", function="SUM")
    return (
        f"SELECT d.unit_id, d.month_start, {sums} FROM ({changes}) d "
        f"GROUP BY d.unit_id, d.month_start HAVING {changed}"
    )


# The run columns of every period (`ProjectPeriod.prev_stage`, `stage_since`,
# `prev_stage_since`), recomputed from the periods in date order: a run of a stage starts
# at a project's first period and at every change of stage. The application sets them as
# it writes a period (`app.projects.service`); this fills them in migration 0013 and
# repairs them (`portfolio summaries rebuild`). Not part of `rebuild`, which migration
# 0012 runs before the columns exist. Plain SQL that PostgreSQL and SQLite (3.33+) run.
_PROJECT_ORDER = "PARTITION BY project_id ORDER BY valid_from"
PERIOD_RUNS_REBUILD = f"""
UPDATE project_periods
   SET prev_stage = runs.prev_stage, stage_since = runs.stage_since,
       prev_stage_since = runs.prev_stage_since
  FROM (SELECT id, prev_stage,
               max(run_start) OVER (
                 {_PROJECT_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
               ) AS stage_since,
               max(run_start) OVER (
                 {_PROJECT_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ) AS prev_stage_since
          FROM (SELECT id, project_id, valid_from,
                       lag(stage) OVER ({_PROJECT_ORDER}) AS prev_stage,
                       CASE WHEN lag(stage) OVER ({_PROJECT_ORDER}) IS NULL
                              OR lag(stage) OVER ({_PROJECT_ORDER}) <> stage
                            THEN valid_from END AS run_start
                  FROM project_periods) AS lagged) AS runs
 WHERE runs.id = project_periods.id
"""


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute both summaries from the periods (one transaction; also
    for a loader on a raw DB-API connection, bench/generate.py)."""
    return [
        "DELETE FROM period_month_counts",
        "DELETE FROM unit_active_spans",
        f"INSERT INTO period_month_counts (unit_id, month_start, {', '.join(COUNTS)}) "
        f"{computed_months_sql(dialect)}",
        f"INSERT INTO unit_active_spans (unit_id, valid_from, valid_to) {spans_select(None)}",
    ]


# The triggers by name and table: the same on both databases (their statements differ).
FAMILY = Family(
    TABLES, rebuild_sql, ("project_periods", "projects"), trigger_ddl, triggers("sqlite")
)
rebuild = FAMILY.rebuild

# Not summaries: columns of the periods the application writes (and the bench generator,
# as it does), so no loader rebuilds them; `portfolio summaries rebuild` repairs them
# before the timeline summaries, which are read beside them.
PERIOD_RUNS = Family((), lambda _: [PERIOD_RUNS_REBUILD])
