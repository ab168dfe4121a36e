"""Summaries behind the outcomes report, kept by database triggers, so the report reads a
few thousand rows whatever the portfolio's size.

What the report counts, and where it is kept:

- ``outcome_criteria_counts``: live criteria of live owners and how many of them are met,
  per (owner unit, kind). ``met`` does not depend on the date.
- ``unmet_criteria_by_due``: the unmet ones with a due date, per (due date, owner unit,
  kind). ``missed`` on a day T is the sum of the rows due before T (an index range);
  ``pending`` is live - met - missed. Nothing here freezes "today": a criterion turns
  missed when T passes its due date, with no write.
- ``project_outcome_criteria``: per project, its live outcome criteria, its own and its
  live experiments' (a counter, so a trigger sees when a project becomes covered).
- ``outcome_coverage_counts``: per unit, live projects past the idea stage and how many
  of them are covered.

The three count tables are logs of signed changes (+1 / -1 rows), never updated in place:
writers only INSERT, so concurrent submissions in one unit neither wait on a shared
counter row nor deadlock on two of them. The report sums the rows; when it has read more
than `COMPACT_ABOVE` of them it compacts the logs (`compact`) in its own transaction:
the rows are deleted with RETURNING and their sums written back in the same transaction,
so a row written concurrently is either summed or left alone, never lost or counted twice.
Compaction also folds the rows due before today into one row per (unit, kind), dated the
day before (``collapsed``), so the range a report reads stays a day or so long. Those rows
are exact for any later day; a report asked for an earlier day (a clock set back) sees a
collapsed row dated on or after its day and counts from the criteria instead.

The triggers are the same statements on SQLite and PostgreSQL (a trigger body there, a
trigger function here), installed by migration 0009_outcome_summaries. They cover every
write path: ORM writes, the textual bulk inserts, COPY, batch submissions, archives,
project moves (which move experiments) and experiment moves. Hard deletes of projects
and experiments do not happen in the application and are not followed; `rebuild`
recomputes everything from the criteria.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlmodel import Session, SQLModel

from app.core import triggers
from app.core.triggers import Family, RowTrigger, changed
from app.criteria.models import CriterionKind, CriterionStatus
from app.units.service import in_subtree

log = logging.getLogger(__name__)

# Compacted, the logs hold at most this many rows per unit in scope: one coverage row, one
# count row per criterion kind, one folded row of past due dates per kind. A report
# compacts when it reads more than that plus COMPACT_ABOVE rows of changes since the last
# compaction. A fixed bound alone (6,000) was below the compacted size at L (1,000 units:
# up to 5,000 rows), so every outcomes report at L compacted: six writes per read.
COMPACTED_ROWS_PER_UNIT = 1 + 2 * len(CriterionKind)
COMPACT_ABOVE = 6_000

outcome_criteria_counts = Table(
    "outcome_criteria_counts",
    SQLModel.metadata,
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("criteria", Integer, nullable=False),
    Column("met", Integer, nullable=False),
)

unmet_criteria_by_due = Table(
    "unmet_criteria_by_due",
    SQLModel.metadata,
    Column("due_on", Date, nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("criteria", Integer, nullable=False),
    Column("collapsed", Boolean, nullable=False),
    Index("ix_unmet_criteria_by_due_due_on", "due_on"),
    Index("ix_unmet_criteria_by_due_collapsed", "collapsed", "due_on"),
)

project_outcome_criteria = Table(
    "project_outcome_criteria",
    SQLModel.metadata,
    Column(
        "project_id",
        Integer,
        ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("outcome_criteria", Integer, nullable=False),
)

outcome_coverage_counts = Table(
    "outcome_coverage_counts",
    SQLModel.metadata,
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("projects", Integer, nullable=False),
    Column("with_outcome", Integer, nullable=False),
)

TABLES = (
    outcome_criteria_counts,
    unmet_criteria_by_due,
    project_outcome_criteria,
    outcome_coverage_counts,
)


# The tables a compaction rewrites.
COMPACTED = (outcome_criteria_counts, outcome_coverage_counts, unmet_criteria_by_due)


# --- triggers -------------------------------------------------------------------------


def _reached(row: str) -> str:
    """1 when the criterion ``row`` is met, else 0: the rule of
    app.criteria.models.criterion_status (and reports.queries.criterion_status_sql)."""
    return (
        f"CASE WHEN {row}.latest_value IS NOT NULL AND ("
        f"({row}.direction = 'increase' AND {row}.latest_value >= {row}.target) OR "
        f"({row}.direction = 'decrease' AND {row}.latest_value <= {row}.target)"
        ") THEN 1 ELSE 0 END"
    )


def _criterion_rows(row: str, sign: int) -> str:
    """The change that criterion ``row`` (NEW or OLD) makes to the counts, from its live
    owner's unit: no row when it or its owner is archived."""
    owner_unit = (
        f"SELECT p.unit_id FROM projects p WHERE p.id = {row}.project_id AND NOT p.archived "
        "UNION ALL SELECT e.unit_id FROM experiments e JOIN projects p ON p.id = e.project_id "
        f"WHERE e.id = {row}.experiment_id AND NOT e.archived AND NOT p.archived"
    )
    return (
        f"SELECT o.unit_id AS unit_id, {row}.kind AS kind, {_reached(row)} AS reached, "
        f"{row}.due_on AS due_on, {sign} AS sign FROM ({owner_unit}) o WHERE NOT {row}.archived"
    )


def _owned_criteria_rows(unit: str, where: str, sign: int, experiments: bool = False) -> str:
    """The change made by the live criteria of an owner whose unit is ``unit``."""
    source = (
        "experiments e JOIN criteria c ON c.experiment_id = e.id" if experiments else "criteria c"
    )
    return (
        f"SELECT {unit} AS unit_id, c.kind AS kind, {_reached('c')} AS reached, "
        f"c.due_on AS due_on, {sign} AS sign FROM {source} WHERE NOT c.archived AND {where}"
    )


def _apply_criteria(*sources: str) -> list[str]:
    changes = " UNION ALL ".join(sources)
    return [
        "INSERT INTO outcome_criteria_counts (unit_id, kind, criteria, met) "
        "SELECT d.unit_id, d.kind, SUM(d.sign), SUM(d.sign * d.reached) "
        f"FROM ({changes}) d WHERE d.unit_id IS NOT NULL GROUP BY d.unit_id, d.kind "
        "HAVING SUM(d.sign) <> 0 OR SUM(d.sign * d.reached) <> 0",
        "INSERT INTO unmet_criteria_by_due (due_on, unit_id, kind, criteria, collapsed) "
        "SELECT d.due_on, d.unit_id, d.kind, SUM(d.sign), FALSE "
        f"FROM ({changes}) d WHERE d.unit_id IS NOT NULL AND d.reached = 0 "
        "AND d.due_on IS NOT NULL GROUP BY d.due_on, d.unit_id, d.kind HAVING SUM(d.sign) <> 0",
    ]


def _project_outcomes(row: str, sign: str) -> str:
    """Counts criterion ``row`` on the project it covers (its own, or its experiment's
    while that experiment is live)."""
    return (
        f"UPDATE project_outcome_criteria SET outcome_criteria = outcome_criteria {sign} 1 "
        f"WHERE NOT {row}.archived AND {row}.kind = 'outcome' AND project_id IN ("
        f"SELECT {row}.project_id UNION ALL SELECT e.project_id FROM experiments e "
        f"WHERE e.id = {row}.experiment_id AND NOT e.archived)"
    )


def _experiment_outcomes(row: str, sign: str) -> str:
    return (
        f"UPDATE project_outcome_criteria SET outcome_criteria = outcome_criteria {sign} "
        "(SELECT COUNT(*) FROM criteria c WHERE c.experiment_id = "
        f"{row}.id AND NOT c.archived AND c.kind = 'outcome') "
        f"WHERE project_id = {row}.project_id AND NOT {row}.archived"
    )


def _coverage_rows(row: str, sign: int, covered: str) -> str:
    return (
        f"SELECT {row}.unit_id AS unit_id, {sign} AS projects, "
        f"{sign} * ({covered}) AS with_outcome "
        f"WHERE NOT {row}.archived AND {row}.stage <> 'idea'"
    )


def _apply_coverage(*sources: str) -> str:
    changes = " UNION ALL ".join(sources)
    return (
        "INSERT INTO outcome_coverage_counts (unit_id, projects, with_outcome) "
        "SELECT d.unit_id, SUM(d.projects), SUM(d.with_outcome) "
        f"FROM ({changes}) d GROUP BY d.unit_id "
        "HAVING SUM(d.projects) <> 0 OR SUM(d.with_outcome) <> 0"
    )


def _covered(row: str) -> str:
    return (
        "CASE WHEN (SELECT n.outcome_criteria FROM project_outcome_criteria n "
        f"WHERE n.project_id = {row}.id) > 0 THEN 1 ELSE 0 END"
    )


_CRITERION_STATUS = (
    "archived",
    "kind",
    "latest_value",
    "target",
    "direction",
    "due_on",
    "project_id",
    "experiment_id",
)
_CRITERION_OWNER = ("archived", "kind", "project_id", "experiment_id")

TRIGGERS = (
    RowTrigger(
        "criteria_counts_insert",
        "criteria",
        "INSERT",
        [*_apply_criteria(_criterion_rows("NEW", 1)), _project_outcomes("NEW", "+")],
    ),
    RowTrigger(
        "criteria_counts_update",
        "criteria",
        f"UPDATE OF {', '.join(_CRITERION_STATUS)}",
        _apply_criteria(_criterion_rows("OLD", -1), _criterion_rows("NEW", 1)),
        changed(*_CRITERION_STATUS),
    ),
    RowTrigger(
        "criteria_coverage_update",
        "criteria",
        f"UPDATE OF {', '.join(_CRITERION_OWNER)}",
        [_project_outcomes("OLD", "-"), _project_outcomes("NEW", "+")],
        changed(*_CRITERION_OWNER),
    ),
    RowTrigger(
        "criteria_counts_delete",
        "criteria",
        "DELETE",
        [*_apply_criteria(_criterion_rows("OLD", -1)), _project_outcomes("OLD", "-")],
    ),
    RowTrigger(
        "experiments_counts_update",
        "experiments",
        "UPDATE OF archived, unit_id, project_id",
        _apply_criteria(
            *[
                _owned_criteria_rows(
                    f"{row}.unit_id",
                    f"c.experiment_id = {row}.id AND NOT {row}.archived AND EXISTS ("
                    f"SELECT 1 FROM projects p WHERE p.id = {row}.project_id AND NOT p.archived)",
                    sign,
                )
                for row, sign in (("OLD", -1), ("NEW", 1))
            ]
        ),
        changed("archived", "unit_id", "project_id"),
    ),
    RowTrigger(
        "experiments_coverage_update",
        "experiments",
        "UPDATE OF archived, project_id",
        [_experiment_outcomes("OLD", "-"), _experiment_outcomes("NEW", "+")],
        changed("archived", "project_id"),
    ),
    RowTrigger(
        "projects_coverage_insert",
        "projects",
        "INSERT",
        [
            "INSERT INTO project_outcome_criteria (project_id, outcome_criteria) "
            "VALUES (NEW.id, 0)",
            _apply_coverage(_coverage_rows("NEW", 1, "0")),
        ],
    ),
    RowTrigger(
        "projects_coverage_update",
        "projects",
        "UPDATE OF archived, stage, unit_id",
        [
            _apply_coverage(
                _coverage_rows("OLD", -1, _covered("OLD")),
                _coverage_rows("NEW", 1, _covered("NEW")),
            )
        ],
        changed("archived", "stage", "unit_id"),
    ),
    RowTrigger(
        "projects_counts_update",
        "projects",
        "UPDATE OF archived, unit_id",
        _apply_criteria(
            *[
                _owned_criteria_rows(
                    f"{row}.unit_id", f"c.project_id = {row}.id AND NOT {row}.archived", sign
                )
                for row, sign in (("OLD", -1), ("NEW", 1))
            ],
            # A project's archive hides or shows its live experiments' criteria.
            *[
                _owned_criteria_rows(
                    "e.unit_id",
                    f"e.project_id = {row}.id AND NOT e.archived AND NOT {row}.archived",
                    sign,
                    experiments=True,
                )
                for row, sign in (("OLD", -1), ("NEW", 1))
            ],
        ),
        changed("archived", "unit_id"),
    ),
    RowTrigger(
        "project_outcome_criteria_coverage",
        "project_outcome_criteria",
        "UPDATE OF outcome_criteria",
        [
            _apply_coverage(
                "SELECT p.unit_id AS unit_id, 0 AS projects, "
                "CASE WHEN NEW.outcome_criteria > 0 THEN 1 ELSE -1 END AS with_outcome "
                "FROM projects p WHERE p.id = NEW.project_id AND NOT p.archived "
                "AND p.stage <> 'idea'"
            )
        ],
        "(OLD.outcome_criteria > 0) <> (NEW.outcome_criteria > 0)",
    ),
)


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of every trigger (and, on PostgreSQL, their functions): migration
    0009_outcome_summaries, and again after a SQLite batch migration that rebuilds
    criteria, experiments or projects, which drops them."""
    return [statement for trigger in TRIGGERS for statement in trigger.create(dialect)]


# --- rebuild --------------------------------------------------------------------------

_LIVE_CRITERIA = (
    "SELECT COALESCE(p.unit_id, e.unit_id) AS unit_id, c.kind AS kind, "
    f"{_reached('c')} AS reached, c.due_on AS due_on "
    "FROM criteria c "
    "LEFT JOIN projects p ON p.id = c.project_id AND NOT p.archived "
    "LEFT JOIN experiments e ON e.id = c.experiment_id AND NOT e.archived "
    "AND EXISTS (SELECT 1 FROM projects ep WHERE ep.id = e.project_id AND NOT ep.archived) "
    "WHERE NOT c.archived AND COALESCE(p.unit_id, e.unit_id) IS NOT NULL"
)

_REBUILD = (
    "DELETE FROM outcome_criteria_counts",
    "DELETE FROM unmet_criteria_by_due",
    "DELETE FROM outcome_coverage_counts",
    "DELETE FROM project_outcome_criteria",
    "INSERT INTO outcome_criteria_counts (unit_id, kind, criteria, met) "
    f"SELECT unit_id, kind, COUNT(*), SUM(reached) FROM ({_LIVE_CRITERIA}) l "
    "GROUP BY unit_id, kind",
    "INSERT INTO unmet_criteria_by_due (due_on, unit_id, kind, criteria, collapsed) "
    f"SELECT due_on, unit_id, kind, COUNT(*), FALSE FROM ({_LIVE_CRITERIA}) l "
    "WHERE reached = 0 AND due_on IS NOT NULL GROUP BY due_on, unit_id, kind",
    "INSERT INTO project_outcome_criteria (project_id, outcome_criteria) "
    "SELECT p.id, COALESCE(o.n, 0) FROM projects p LEFT JOIN ("
    "SELECT COALESCE(c.project_id, e.project_id) AS project_id, COUNT(*) AS n FROM criteria c "
    "LEFT JOIN experiments e ON e.id = c.experiment_id AND NOT e.archived "
    "WHERE NOT c.archived AND c.kind = 'outcome' "
    "AND COALESCE(c.project_id, e.project_id) IS NOT NULL "
    "GROUP BY COALESCE(c.project_id, e.project_id)) o ON o.project_id = p.id",
    "INSERT INTO outcome_coverage_counts (unit_id, projects, with_outcome) "
    "SELECT p.unit_id, COUNT(*), SUM(CASE WHEN n.outcome_criteria > 0 THEN 1 ELSE 0 END) "
    "FROM projects p JOIN project_outcome_criteria n ON n.project_id = p.id "
    "WHERE NOT p.archived AND p.stage <> 'idea' GROUP BY p.unit_id",
)


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute every outcome summary from the criteria, experiments and
    projects (one transaction; the same on both databases)."""
    return list(_REBUILD)


FAMILY = Family(
    TABLES,
    rebuild_sql,
    ("criteria", "experiments", "projects"),
    trigger_ddl,
    TRIGGERS,
    # As the SQLite loader always did: the triggers fill the logs row by row there.
    sqlite_load_with_triggers=True,
)
rebuild = FAMILY.rebuild


# --- reading --------------------------------------------------------------------------


def _scope(column: Any, root_id: int | None, name: str) -> Any:
    return true() if root_id is None else in_subtree(column, root_id, name)


@dataclass(frozen=True)
class Coverage:
    projects: int
    with_outcome: int
    rows_read: int
    units: int  # with a coverage row, in scope


def coverage(*, session: Session, root_id: int | None) -> Coverage:
    """Live projects past the idea stage in scope, and those with a live outcome
    criterion (their own or a live experiment's)."""
    table = outcome_coverage_counts
    statement = select(
        func.coalesce(func.sum(table.c.projects), 0),
        func.coalesce(func.sum(table.c.with_outcome), 0),
        func.count(),
        func.count(func.distinct(table.c.unit_id)),
    ).where(_scope(table.c.unit_id, root_id, "coverage_scope"))
    projects, with_outcome, rows, units = session.execute(statement).one()
    return Coverage(int(projects), int(with_outcome), int(rows), int(units))


@dataclass(frozen=True)
class CriteriaCounts:
    """``counts[kind][status]``; ``exact`` is False when a compaction ran on a later day
    than ``today`` (a clock set back) and the counts must come from the criteria."""

    counts: dict[str, dict[str, int]]
    rows_read: int
    exact: bool


def criteria_counts(*, session: Session, root_id: int | None, today: date) -> CriteriaCounts:
    """One statement: per kind, live criteria and met ones, the unmet due before today,
    and whether a collapsed row is dated on or after today."""
    counts_table, due = outcome_criteria_counts, unmet_criteria_by_due
    totals = (
        select(
            counts_table.c.kind.label("kind"),
            func.sum(counts_table.c.criteria).label("criteria"),
            func.sum(counts_table.c.met).label("met"),
            literal(0).label("missed"),
            func.count().label("rows_read"),
        )
        .where(_scope(counts_table.c.unit_id, root_id, "counts_scope"))
        .group_by(counts_table.c.kind)
    )
    missed = (
        select(
            due.c.kind.label("kind"),
            literal(0).label("criteria"),
            literal(0).label("met"),
            func.sum(due.c.criteria).label("missed"),
            func.count().label("rows_read"),
        )
        .where(due.c.due_on < today, _scope(due.c.unit_id, root_id, "due_scope"))
        .group_by(due.c.kind)
    )
    # A row folded on a later day than today may hold criteria due today or after.
    ahead = select(
        literal(None).label("kind"),
        literal(0).label("criteria"),
        literal(0).label("met"),
        literal(0).label("missed"),
        func.count().label("rows_read"),
    ).where(due.c.collapsed == true(), due.c.due_on >= today)
    live: dict[str, int] = defaultdict(int)
    met: dict[str, int] = defaultdict(int)
    missed_by_kind: dict[str, int] = defaultdict(int)
    rows_read, exact = 0, True
    for kind, criteria, met_count, missed_count, rows in session.execute(
        union_all(totals, missed, ahead)
    ):
        if kind is None:
            exact = int(rows) == 0
            continue
        live[kind] += int(criteria)
        met[kind] += int(met_count)
        missed_by_kind[kind] += int(missed_count)
        rows_read += int(rows)
    counts = {
        kind.value: {
            CriterionStatus.met.value: met[kind.value],
            CriterionStatus.missed.value: missed_by_kind[kind.value],
            CriterionStatus.pending.value: live[kind.value]
            - met[kind.value]
            - missed_by_kind[kind.value],
        }
        for kind in CriterionKind
    }
    return CriteriaCounts(counts, rows_read, exact)


# --- compaction -----------------------------------------------------------------------


def _sum_rows(rows: Iterable[Any], key_length: int) -> dict[tuple[Any, ...], list[int]]:
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        key, values = tuple(row[:key_length]), row[key_length:]
        total = sums.setdefault(key, [0] * len(values))
        for index, value in enumerate(values):
            total[index] += int(value)
    return sums


def _fold(
    connection: Connection, table: Table, keys: list[str], values: list[str], where: Any
) -> None:
    deleted = connection.execute(
        delete(table).where(where).returning(*[table.c[c] for c in keys + values])
    ).all()
    sums = _sum_rows(deleted, len(keys))
    rows = [
        dict(zip(keys, key, strict=True)) | dict(zip(values, total, strict=True))
        for key, total in sums.items()
        if any(total)
    ]
    if rows:
        connection.execute(insert(table), rows)


def compact(connection: Connection, *, today: date) -> None:
    """Sum the logs into one row per key, and fold the unmet criteria due before today
    into one row per (unit, kind) dated yesterday. Safe beside writers and other
    compactions: each deletes rows with RETURNING and writes back the sums of exactly
    the rows it deleted, in one transaction (the caller's)."""
    _fold(connection, outcome_criteria_counts, ["unit_id", "kind"], ["criteria", "met"], true())
    _fold(
        connection,
        outcome_coverage_counts,
        ["unit_id"],
        ["projects", "with_outcome"],
        true(),
    )
    deleted = connection.execute(
        delete(unmet_criteria_by_due)
        .where(unmet_criteria_by_due.c.due_on < today)
        .returning(
            unmet_criteria_by_due.c.unit_id,
            unmet_criteria_by_due.c.kind,
            unmet_criteria_by_due.c.criteria,
        )
    ).all()
    folded = [
        {
            "due_on": today - timedelta(days=1),
            "unit_id": unit_id,
            "kind": kind,
            "criteria": total[0],
            "collapsed": True,
        }
        for (unit_id, kind), total in _sum_rows(deleted, 2).items()
        if total[0]
    ]
    if folded:
        connection.execute(insert(unmet_criteria_by_due), folded)


def compact_if_needed(*, session: Session, rows_read: int, units: int, today: date) -> None:
    """Compact after a report read many rows, in a transaction of its own
    (`app.core.triggers.compact_apart`)."""
    if rows_read <= COMPACT_ABOVE + COMPACTED_ROWS_PER_UNIT * units:
        return
    triggers.compact_apart(
        session,
        lambda writable: compact(writable, today=today),
        log=log,
        name="outcome summaries",
        tables=COMPACTED,
    )


# --- what the summaries say, for tests and checks -------------------------------------


def state(connection: Connection, *, today: date) -> dict[str, Any]:
    """The summaries reduced to what they mean on ``today``: per (unit, kind) live, met
    and missed criteria; per project its outcome criteria; per unit the coverage."""
    criteria: dict[tuple[Any, ...], list[int]] = _sum_rows(
        connection.execute(
            select(
                outcome_criteria_counts.c.unit_id,
                outcome_criteria_counts.c.kind,
                outcome_criteria_counts.c.criteria,
                outcome_criteria_counts.c.met,
                literal(0),
            )
        ),
        2,
    )
    due = unmet_criteria_by_due
    for (unit_id, kind), total in _sum_rows(
        connection.execute(
            select(due.c.unit_id, due.c.kind, due.c.criteria).where(due.c.due_on < today)
        ),
        2,
    ).items():
        criteria.setdefault((unit_id, kind), [0, 0, 0])[2] += total[0]
    coverage = _sum_rows(
        connection.execute(
            select(
                outcome_coverage_counts.c.unit_id,
                outcome_coverage_counts.c.projects,
                outcome_coverage_counts.c.with_outcome,
            )
        ),
        1,
    )
    projects = {
        project_id: int(outcome_criteria)
        for project_id, outcome_criteria in connection.execute(
            select(
                project_outcome_criteria.c.project_id,
                project_outcome_criteria.c.outcome_criteria,
            )
        )
    }
    return {
        "criteria": {key: tuple(v) for key, v in criteria.items() if any(v)},
        "coverage": {key[0]: tuple(v) for key, v in coverage.items() if any(v)},
        "projects": projects,
    }


def as_mapping(counts: CriteriaCounts) -> Mapping[str, int]:
    """``<kind>__<status>`` counts, the labels of reports.queries."""
    return {
        f"{kind}__{status}": value
        for kind, statuses in counts.counts.items()
        for status, value in statuses.items()
    }
