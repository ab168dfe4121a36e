"""Summaries behind the experimentation report, kept by database triggers, so the report
sums a few rows per unit and month instead of reading every experiment.

What the report counts, and where it is kept (live experiments of live projects only):

- ``experiment_month_counts``: per (month, unit) the experiments *started* that month by
  comparison and by rigour, how many carry a cost and its sum in cents; and those
  *finished* (completed or stopped) that month, how many are published, and the completed
  ones by result. A fiscal year is twelve whole months (`app.core.fiscal`), so the report
  sums the rows of the months in its year, whatever the start month configured.
- ``due_publications_by_day``: per (day the experiment ended, unit) the finished
  experiments not yet published. An experiment is overdue once ``ended_on`` is before
  today - due days; the report counts the due ones of its year (from the month rows) less
  those that ended on or after that day (a range of these rows, at most the due days
  long). Nothing here freezes "today": an experiment turns overdue with no write.

The overdue experiments themselves (at most 100, with titles) are read from the
experiments table through a partial index of the unpublished finished ones
(``ix_experiments_due_publication``).

Both tables are logs of signed changes, as in `outcome_summaries`: writers only INSERT
(no shared counter row to wait on), and a report that read more than `COMPACT_ABOVE`
rows written since the last compaction compacts them in its own transaction (`compact`).

The rigour of an experiment depends on its criteria (the `baseline` feature), so the
criteria triggers move an experiment between rigour columns when its baseline changes.
The rules come from `app.experiments.rigour`, compiled to each dialect's SQL.

The triggers are written like `summaries`': one SQL text per write, run on PostgreSQL
once per statement over its transition tables and on SQLite once per row over one-row
selects of NEW and OLD (installed by migration 0010_experimentation_summaries). They
follow ORM writes, `app.core.bulk`'s textual inserts, COPY, moves and archives. Hard
deletes of experiments are not made by the application; one whose criteria go with it
(a cascade) is not followed exactly, and `rebuild` recomputes everything.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, delete, insert, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from app.core import triggers
from app.core.triggers import Family, Trigger
from app.criteria.models import Criterion
from app.experiments import rigour
from app.experiments.models import (
    FINISHED_STATUSES,
    Comparison,
    Experiment,
    ExperimentResult,
    ExperimentStatus,
)

log = logging.getLogger(__name__)

# A report compacts the logs once it has read more than this many rows written since the
# last compaction (each write adds one to three rows).
COMPACT_ABOVE = 6_000

# 0 to 5: how many of the rigour features hold.
RIGOUR_LEVELS = range(len(rigour.conditions(Experiment.__table__, true())) + 1)  # type: ignore[attr-defined]

STARTED_COLUMNS = (
    *(f"comparison_{c.value}" for c in Comparison),
    *(f"rigour_{level}" for level in RIGOUR_LEVELS),
    "costed",
    "cost_cents",
)
FINISHED_COLUMNS = (
    "finished",
    "published",
    *(f"{r.value}_{state}" for r in ExperimentResult for state in ("finished", "published")),
)
MONTH_COLUMNS = (*STARTED_COLUMNS, *FINISHED_COLUMNS)


def _unit_id() -> sa.Column[int]:
    return sa.Column(
        "unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
    )


@dataclass(frozen=True)
class _Log:
    """A log of signed changes per (day or month, unit): its rows are summed per key."""

    table: sa.Table
    key: tuple[str, str]
    values: tuple[str, ...]

    @classmethod
    def create(cls, name: str, day: str, values: dict[str, Any]) -> "_Log":
        """The log ``name`` keyed by ``day`` and the unit, with ``values`` (name -> type),
        and its table on SQLModel.metadata."""
        table = sa.Table(
            name,
            SQLModel.metadata,
            sa.Column(day, sa.Date, nullable=False),
            _unit_id(),
            sa.Column("compacted", sa.Boolean, nullable=False),
            *(sa.Column(column, type_, nullable=False) for column, type_ in values.items()),
            sa.Index(f"ix_{name}_{day}", day, "unit_id"),
            sa.Index(f"ix_{name}_compacted", "compacted"),
        )
        return cls(table, (day, "unit_id"), tuple(values))


MONTH_LOG = _Log.create(
    "experiment_month_counts",
    "month",
    {name: sa.BigInteger if name == "cost_cents" else sa.Integer for name in MONTH_COLUMNS},
)
DUE_LOG = _Log.create("due_publications_by_day", "ended_on", {"due": sa.Integer})
LOGS = (MONTH_LOG, DUE_LOG)
month_counts = MONTH_LOG.table
due_by_day = DUE_LOG.table
TABLES = (month_counts, due_by_day)


# --- the rows each experiment contributes -----------------------------------------------

_DIALECTS = {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}
_EXPERIMENTS = Experiment.__table__  # type: ignore[attr-defined]
_CRITERIA = Criterion.__table__  # type: ignore[attr-defined]


def _compiled(expression: Any, dialect: str) -> str:
    return str(
        expression.compile(dialect=_DIALECTS[dialect], compile_kwargs={"literal_binds": True})
    )


def _month(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


def baseline_in(criteria: str, dialect: str, *, experiment: str = "r.id", extra: str = "") -> str:
    """EXISTS: a criterion of ``criteria`` (a relation) gives ``experiment`` the baseline
    feature (the rule of `rigour.baseline_criteria`)."""
    alias = _CRITERIA.alias("c")
    condition = _compiled(sa.and_(*rigour.baseline_conditions(alias)), dialect)
    return (
        f"EXISTS (SELECT 1 FROM {criteria} c WHERE c.experiment_id = {experiment} "
        f"AND {condition}{extra})"
    )


def _rigour(dialect: str, baseline: str) -> str:
    """The rigour (0-5) of the experiment row ``r``, given its baseline feature as SQL."""
    return _compiled(rigour.score(_EXPERIMENTS.alias("r"), sa.literal_column(baseline)), dialect)


_LIVE = "NOT r.archived AND NOT p.archived"


def started_rows(experiments: str, projects: str, dialect: str, baseline: str) -> str:
    """One row per live experiment of ``experiments`` with a start date: its month and
    unit, and its STARTED_COLUMNS (the FINISHED_COLUMNS 0)."""
    comparisons = ", ".join(
        f"CASE WHEN s.comparison = '{c.value}' THEN 1 ELSE 0 END AS comparison_{c.value}"
        for c in Comparison
    )
    levels = ", ".join(
        f"CASE WHEN s.rigour = {level} THEN 1 ELSE 0 END AS rigour_{level}"
        for level in RIGOUR_LEVELS
    )
    zeros = ", ".join(f"0 AS {name}" for name in FINISHED_COLUMNS)
    return (
        f"SELECT s.month AS month, s.unit_id AS unit_id, {comparisons}, {levels}, "
        "CASE WHEN s.cost IS NULL THEN 0 ELSE 1 END AS costed, "
        "COALESCE(CAST(ROUND(s.cost * 100) AS BIGINT), 0) AS cost_cents, "
        f"{zeros} FROM (SELECT {_month('r.started_on', dialect)} AS month, "
        f"r.unit_id AS unit_id, r.comparison AS comparison, r.cost AS cost, "
        f"{_rigour(dialect, baseline)} AS rigour FROM {experiments} r "
        f"JOIN {projects} p ON p.id = r.project_id "
        f"WHERE {_LIVE} AND r.started_on IS NOT NULL) s"
    )


_FINISHED = f"r.status IN ({_quoted(FINISHED_STATUSES)}) AND r.ended_on IS NOT NULL"


def finished_rows(experiments: str, projects: str, dialect: str) -> str:
    """One row per live finished experiment of ``experiments``: the month it ended, its
    unit and its FINISHED_COLUMNS (the STARTED_COLUMNS 0)."""
    published = "r.published_on IS NOT NULL"
    by_result = []
    for result in ExperimentResult:
        has = f"r.status = '{ExperimentStatus.completed.value}' AND r.result = '{result.value}'"
        by_result += [
            f"CASE WHEN {has} THEN 1 ELSE 0 END AS {result.value}_finished",
            f"CASE WHEN {has} AND {published} THEN 1 ELSE 0 END AS {result.value}_published",
        ]
    zeros = ", ".join(f"0 AS {name}" for name in STARTED_COLUMNS)
    return (
        f"SELECT {_month('r.ended_on', dialect)} AS month, r.unit_id AS unit_id, {zeros}, "
        f"1 AS finished, CASE WHEN {published} THEN 1 ELSE 0 END AS published, "
        f"{', '.join(by_result)} FROM {experiments} r JOIN {projects} p ON p.id = r.project_id "
        f"WHERE {_LIVE} AND {_FINISHED}"
    )


def due_rows(experiments: str, projects: str) -> str:
    """One row per live finished unpublished experiment: the day it ended, its unit."""
    return (
        "SELECT r.ended_on AS ended_on, r.unit_id AS unit_id, 1 AS due "
        f"FROM {experiments} r JOIN {projects} p ON p.id = r.project_id "
        f"WHERE {_LIVE} AND {_FINISHED} AND r.published_on IS NULL"
    )


def _append(log_: _Log, added: list[str], removed: list[str]) -> str:
    """One INSERT into the log of the changes: the added rows' values less the removed
    rows', summed per key; keys whose change is zero everywhere are left out."""
    keys = ", ".join(log_.key)
    signed = [f"SELECT * FROM ({rows}) AS a" for rows in added]
    negated = ", ".join(f"-{name} AS {name}" for name in log_.values)
    signed += [f"SELECT {keys}, {negated} FROM ({rows}) AS s" for rows in removed]
    sums = ", ".join(f"SUM({name})" for name in log_.values)
    changed = " OR ".join(f"SUM({name}) <> 0" for name in log_.values)
    return (
        f"INSERT INTO {log_.table.name} ({keys}, compacted, {', '.join(log_.values)}) "
        f"SELECT {keys}, FALSE, {sums} FROM ({' UNION ALL '.join(signed)}) AS d "
        f"GROUP BY {keys} HAVING {changed}"
    )


# --- triggers ---------------------------------------------------------------------------

_READ_COLUMNS = {
    "experiments": (
        "id",
        "unit_id",
        "project_id",
        "archived",
        "started_on",
        "ended_on",
        "status",
        "result",
        "comparison",
        "preregistered_on",
        "independent_evaluation",
        "cost",
        "published_on",
    ),
    "projects": ("id", "archived"),
    "criteria": ("id", "experiment_id", "kind", "archived", "baseline"),
}
_EVENTS = {
    "experiments": ("INSERT", "UPDATE", "DELETE"),
    "projects": ("UPDATE",),
    "criteria": ("INSERT", "UPDATE", "DELETE"),
}


def _experiment_statements(
    dialect: str, added: list[tuple[str, str]], removed: list[tuple[str, str]]
) -> list[str]:
    """The INSERTs logging the rows of ``added`` less those of ``removed``: each a pair of
    relations, experiments and their projects. Baselines are read from the criteria as
    they are: an experiment or project write does not change them."""
    baseline = baseline_in("criteria", dialect)

    def month(pairs: list[tuple[str, str]]) -> list[str]:
        return [
            part
            for experiments, projects in pairs
            for part in (
                started_rows(experiments, projects, dialect, baseline),
                finished_rows(experiments, projects, dialect),
            )
        ]

    return [
        _append(MONTH_LOG, month(added), month(removed)),
        _append(
            DUE_LOG, [due_rows(*pair) for pair in added], [due_rows(*pair) for pair in removed]
        ),
    ]


def _statements(table: str, event: str, new: str, old: str, dialect: str) -> list[str]:
    """The INSERTs that log what one write of ``table`` changes."""
    has_new, has_old = event in ("INSERT", "UPDATE"), event in ("UPDATE", "DELETE")
    if table == "experiments":
        return _experiment_statements(
            dialect,
            [(new, "projects")] if has_new else [],
            [(old, "projects")] if has_old else [],
        )
    if table == "projects":
        # An archive or its undo hides or shows the project's experiments.
        def changed(side: str) -> str:
            return (
                f"(SELECT {side}.* FROM {new} n JOIN {old} o ON o.id = n.id "
                "WHERE n.archived <> o.archived)"
            )

        return _experiment_statements(
            dialect, [("experiments", changed("n"))], [("experiments", changed("o"))]
        )
    # criteria: the experiments whose baseline a criterion may have changed move from
    # their rigour column before the write to the one after.
    owners = " UNION ".join(
        f"SELECT experiment_id FROM {rows}"
        for rows, present in ((new, has_new), (old, has_old))
        if present
    )
    affected = f"(SELECT * FROM experiments WHERE id IN ({owners}))"
    now = baseline_in("criteria", dialect)
    before = baseline_in(
        "criteria", dialect, extra=f" AND c.id NOT IN (SELECT id FROM {new})" if has_new else ""
    )
    if has_old:
        before = f"({before} OR {baseline_in(old, dialect)})"
    return [
        _append(
            MONTH_LOG,
            [started_rows(affected, "projects", dialect, now)],
            [started_rows(affected, "projects", dialect, before)],
        )
    ]


_TRIGGERS = [
    Trigger(f"experimentation_{table}_{event.lower()}", table, event, _READ_COLUMNS[table])
    for table, events in _EVENTS.items()
    for event in events
]


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of every trigger (and, on PostgreSQL, their functions)."""
    return triggers.create_all(
        _TRIGGERS, dialect, lambda t, new, old: _statements(t.table, t.event, new, old, dialect)
    )


# --- rebuild ----------------------------------------------------------------------------


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute both logs from the experiments, one compacted row per
    key (one transaction)."""
    baseline = baseline_in("criteria", dialect)
    sources = {
        MONTH_LOG: " UNION ALL ".join(
            (
                started_rows("experiments", "projects", dialect, baseline),
                finished_rows("experiments", "projects", dialect),
            )
        ),
        DUE_LOG: due_rows("experiments", "projects"),
    }
    statements = []
    for log_, rows in sources.items():
        keys = ", ".join(log_.key)
        sums = ", ".join(f"SUM({name})" for name in log_.values)
        statements += triggers.refill_sql(
            log_.table.name,
            (*log_.key, "compacted", *log_.values),
            f"SELECT {keys}, TRUE, {sums} FROM ({rows}) AS d GROUP BY {keys}",
        )
    return statements


FAMILY = Family(
    TABLES, rebuild_sql, ("experiments", "projects", "criteria"), trigger_ddl, _TRIGGERS
)
rebuild = FAMILY.rebuild


# --- compaction -------------------------------------------------------------------------


def _compact(connection: Connection, log_: _Log) -> None:
    """Replace every row of a key that has rows written since the last compaction by one
    row of their sums. The rows are deleted with RETURNING and exactly their sums written
    back, in the caller's transaction: a row written meanwhile is left for next time."""
    table = log_.table
    keys = [table.c[name] for name in log_.key]
    changed = select(*keys).where(table.c.compacted == sa.false())
    deleted = connection.execute(
        delete(table)
        .where(tuple_(*keys).in_(changed))
        .returning(*keys, *(table.c[name] for name in log_.values))
    ).all()
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in deleted:
        total = sums.setdefault(tuple(row[: len(keys)]), [0] * len(log_.values))
        for index, value in enumerate(row[len(keys) :]):
            total[index] += int(value)
    rows = [
        dict(zip(log_.key, key, strict=True))
        | {"compacted": True}
        | dict(zip(log_.values, total, strict=True))
        for key, total in sums.items()
        if any(total)
    ]
    if rows:
        connection.execute(insert(table), rows)


def compact(connection: Connection) -> None:
    for log_ in LOGS:
        _compact(connection, log_)


def compact_if_needed(*, session: Session, written_since_compaction: int) -> None:
    """Compact after a report read many rows written since the last compaction, in a
    transaction of its own (`app.core.triggers.compact_apart`)."""
    if written_since_compaction <= COMPACT_ABOVE:
        return
    triggers.compact_apart(
        session, compact, log=log, name="experimentation summaries", tables=TABLES
    )


# --- what the logs say, for tests and checks -------------------------------------------


def state(connection: Connection) -> dict[str, dict[tuple[Any, ...], tuple[int, ...]]]:
    """Each log summed per key, the keys whose sums are all zero left out."""
    result = {}
    for log_ in LOGS:
        table = log_.table
        sums: dict[tuple[Any, ...], list[int]] = {}
        for row in connection.execute(
            select(*(table.c[name] for name in (*log_.key, *log_.values)))
        ):
            total = sums.setdefault((_day(row[0]), row[1]), [0] * len(log_.values))
            for index, value in enumerate(row[2:]):
                total[index] += int(value)
        result[table.name] = {key: tuple(v) for key, v in sums.items() if any(v)}
    return result


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
