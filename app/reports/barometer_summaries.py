"""Counts behind the barometer report, by unit and day, kept by triggers.

The report's window is two arbitrary days (`from`, `to`, both inclusive), so the
summaries are keyed by day and the window is a range of that key at read time: nothing
here depends on today. Two tables (and a third in a family of its own, each source's
reach, for the ranked sources: "the sources' reach" below):

- ``barometer_innovation_days``: per (``embedded_on``, owner unit), the non-archived
  projects embedded that day and their counts by novelty, initiator, type, collaborator,
  value and evaluation (one column per count, named as `app.reports.barometer` labels
  them). ``units_innovating`` is the number of distinct units with a row in the window
  whose ``innovations`` is positive: exact, because a row never goes below zero.
- ``barometer_adoption_days``: per (start day, source project, source's unit, adopter's
  unit), the non-archived projects adopted from that source that started that day (the
  adopter's `started_on`, else the UTC date of its `created_at`). Cross-unit adoptions,
  unit flows and the distinct adopting units per source are all read from it; a row is
  one (source, adopter unit) pair on one day, so distinct counts stay exact.

The source's unit is part of the key, so moving a source moves its adoptions: the
trigger of an UPDATE of projects subtracts the adoptions of every project adopting a
moved one under the old unit and adds them under the new. Archiving a source keeps its
adoptions (the report does); archiving an adopter removes its own.

The triggers follow `app.reports.summaries` (migration 0008): the same SQL on both
databases (but for the UTC date of a timestamp, `_started_on`, and PostgreSQL's share lock
on the sources an adopter reads, `trigger_ddl`), one statement-level trigger per event
over transition tables on PostgreSQL,
row triggers over one-row selects of NEW and OLD on SQLite; each write adds the rows as
they are after it and subtracts them as they were, as one upsert per table grouped per
key, in key order, skipping keys whose difference is zero. A key whose counts drop to
zero keeps its row; reads ignore it. Unlike the outcome logs (0009) these are counters
updated in place: two writers only wait for each other when they touch the same unit on
the same day (or the same source, adopter unit and day).

Why days and no coarser key: the window's edges are arbitrary days, and at L (200,000
projects over 1,000 units) a unit embeds or adopts about one project a month, so month
rows would hold hardly fewer rows than day rows in a two-year window. The reads are index
ranges of the day key over narrow rows (about one per innovation or adoption in the
window, a fraction of the projects), where the base tables needed a scan of every project
(`started_on` or `created_at` is not indexable as one date).

Changing a rule here needs a migration that drops and recreates the triggers and calls
`rebuild`; so does a SQLite batch migration that recreates projects (it drops them).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from app.core import triggers
from app.core.flags import FlagSet
from app.core.triggers import Family, Trigger
from app.projects.models import (
    COLLABORATORS,
    INNOVATION_TYPES,
    VALUE_TYPES,
    Evaluation,
    Initiator,
    Novelty,
)


def _is(column: str, value: str | None) -> str:
    return f"r.{column} IS NULL" if value is None else f"r.{column} = '{value}'"


def _innovation_counts() -> dict[str, str]:
    """Column -> condition on an innovation (a project row ``r``), counted when true."""
    counts = {"innovations": "1 = 1"}
    counts |= {f"novelty_{n.value}": _is("novelty", n.value) for n in Novelty}
    counts["novelty_unknown"] = _is("novelty", None)
    counts |= {f"initiator_{i.value}": _is("initiated_by", i.value) for i in Initiator}
    counts["initiator_unknown"] = _is("initiated_by", None)
    flag_sets: tuple[tuple[FlagSet[Any], str, str], ...] = (
        (INNOVATION_TYPES, "innovation_types_mask", "type_"),
        (COLLABORATORS, "collaborators_mask", "collaborator_"),
        (VALUE_TYPES, "value_types_mask", "value_"),
    )
    for flags, column, prefix in flag_sets:
        counts |= {
            f"{prefix}{member.value}": f"(r.{column} & {flags.bit[member]}) <> 0"
            for member in flags.members
        }
    counts["collaborating"] = "r.collaborators_mask <> 0"
    counts["evaluated"] = (
        f"r.evaluation IN ('{Evaluation.internal.value}', '{Evaluation.external.value}')"
    )
    counts["evaluation_known"] = "r.evaluation IS NOT NULL"
    return counts


@dataclass(frozen=True)
class DaySummary:
    table: str
    keys: tuple[str, ...]
    counts: dict[str, str]  # column -> condition (innovations) or expression (adoptions)

    def columns(self) -> list[sa.Column[Any]]:
        key_types: dict[str, Any] = {"embedded_on": sa.Date(), "started_on": sa.Date()}
        return [
            *(
                sa.Column(
                    name, key_types.get(name, sa.Integer()), primary_key=True, autoincrement=False
                )
                for name in self.keys
            ),
            *(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
                for name in self.counts
            ),
        ]


INNOVATIONS = DaySummary(
    "barometer_innovation_days", ("embedded_on", "unit_id"), _innovation_counts()
)
ADOPTIONS = DaySummary(
    "barometer_adoption_days",
    ("started_on", "source_id", "source_unit", "adopter_unit"),
    {"adoptions": "1"},
)
SUMMARIES = (INNOVATIONS, ADOPTIONS)

# On SQLModel.metadata, so Alembic's comparison with the migrations covers them. The
# primary keys lead with the day: a window is one index range.
innovation_days = sa.Table(INNOVATIONS.table, SQLModel.metadata, *INNOVATIONS.columns())
adoption_days = sa.Table(ADOPTIONS.table, SQLModel.metadata, *ADOPTIONS.columns())
TABLES = (innovation_days, adoption_days)


# --- the rows each summary counts ------------------------------------------------------
# From SQL relations (table names, transition tables, one-row selects of NEW/OLD): one
# row per counted project. Every rule of "what counts" is here once; triggers and
# `rebuild` use it.


def _started_on(dialect: str, row: str) -> str:
    """The adopter's start for the window: `started_on`, else the UTC date of
    `created_at` (SQLite's `date()` reads the stored offset; on PostgreSQL the session's
    time zone must not matter, a loader's may not be UTC)."""
    if dialect == "postgresql":
        created_on = f"CAST({row}.created_at AT TIME ZONE 'UTC' AS DATE)"
    else:
        created_on = f"date({row}.created_at)"
    return f"coalesce({row}.started_on, {created_on})"


def innovation_rows(projects: str) -> str:
    contributions = ", ".join(
        f"CASE WHEN {condition} THEN 1 ELSE 0 END AS {name}"
        for name, condition in INNOVATIONS.counts.items()
    )
    return (
        f"SELECT r.embedded_on AS embedded_on, r.unit_id AS unit_id, {contributions} "
        f"FROM {projects} r WHERE NOT r.archived AND r.embedded_on IS NOT NULL"
    )


def adoption_rows(dialect: str, adopters: str, sources: str) -> str:
    """Adopters (projects ``a``) joined with their sources (``s``: id and unit_id)."""
    return (
        f"SELECT {_started_on(dialect, 'a')} AS started_on, s.id AS source_id, "
        "s.unit_id AS source_unit, a.unit_id AS adopter_unit, 1 AS adoptions "
        f"FROM {adopters} a JOIN {sources} s ON s.id = a.adopted_from WHERE NOT a.archived"
    )


def _totals(summary: DaySummary, rows: str) -> str:
    keys = ", ".join(summary.keys)
    sums = ", ".join(f"sum({name}) AS {name}" for name in summary.counts)
    return f"SELECT {keys}, {sums} FROM ({rows}) AS counted WHERE 1 = 1 GROUP BY {keys}"


def _apply(summary: DaySummary, added: Sequence[str], removed: Sequence[str]) -> str:
    return triggers.upsert_delta(summary.table, summary.keys, list(summary.counts), added, removed)


# --- triggers --------------------------------------------------------------------------

# The columns of projects the summaries read, for SQLite's one-row NEW/OLD selects (and,
# but for `id`, what an update must change for SQLite's triggers to run).
_READ_COLUMNS = (
    "id",
    "unit_id",
    "archived",
    "embedded_on",
    "novelty",
    "initiated_by",
    "evaluation",
    "innovation_types_mask",
    "collaborators_mask",
    "value_types_mask",
    "adopted_from",
    "started_on",
    "created_at",
)
_EVENTS = ("INSERT", "UPDATE", "DELETE")


Rows = Callable[[str, str], str]  # (adopters, sources) -> one row per counted adopter


def _adoption_changes(event: str, new: str, old: str, rows: Rows) -> tuple[list[str], list[str]]:
    """The adopters' rows (`rows`) one write of projects adds and removes: ``new`` and
    ``old`` are the written rows as they are and as they were."""
    if event == "INSERT":
        # A new project has no adopters yet (outside its own statement).
        return [rows(new, "projects")], []
    # The sources as they were: the written rows' old versions, the others as they are.
    sources_before = (
        f"(SELECT id, unit_id FROM {old} UNION ALL "
        f"SELECT id, unit_id FROM projects WHERE id NOT IN (SELECT id FROM {old}))"
    )
    # Projects adopting a written one, not written themselves.
    others = f"(SELECT * FROM projects WHERE id NOT IN (SELECT id FROM {old}))"
    if event == "DELETE":
        return [], [rows(old, sources_before), rows(others, old)]
    moved = (
        "(SELECT {side}.id, {side}.unit_id FROM {new} n JOIN {old} o ON o.id = n.id "
        "WHERE n.unit_id <> o.unit_id)"
    )
    return (
        [rows(new, "projects"), rows(others, moved.format(side="n", new=new, old=old))],
        [rows(old, sources_before), rows(others, moved.format(side="o", new=new, old=old))],
    )


def _statements(dialect: str, event: str, new: str, old: str) -> list[str]:
    """The upserts that keep both summaries in step with one write of projects: ``new``
    and ``old`` are the written rows as they are and as they were."""
    innovations = {
        "INSERT": ([innovation_rows(new)], []),
        "DELETE": ([], [innovation_rows(old)]),
        "UPDATE": ([innovation_rows(new)], [innovation_rows(old)]),
    }[event]
    adoptions = _adoption_changes(
        event, new, old, lambda adopters, sources: adoption_rows(dialect, adopters, sources)
    )
    return [_apply(INNOVATIONS, *innovations), _apply(ADOPTIONS, *adoptions)]


# What an adoption depends on in the adopter's row.
_ADOPTION_COLUMNS = ("adopted_from", "unit_id", "archived", "started_on")


def _sources_read(event: str) -> str:
    """PostgreSQL: the sources a write of projects reads for its adopters' rows."""
    if event == "INSERT":
        return "SELECT adopted_from FROM new_rows"
    if event == "DELETE":
        return "SELECT adopted_from FROM old_rows"
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in _ADOPTION_COLUMNS)
    return " UNION ALL ".join(
        f"SELECT {side}.adopted_from FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed}"
        for side in ("n", "o")
    )


def _lock_sources(trigger: Trigger) -> list[str]:
    """PostgreSQL, first: share-lock the sources the write's adopters read (`trigger_ddl`)."""
    return [
        "PERFORM 1 FROM projects s WHERE s.id IN "
        f"({_sources_read(trigger.event)}) ORDER BY s.id FOR SHARE OF s"
    ]


_TRIGGERS = [
    Trigger(f"barometer_projects_{event.lower()}", "projects", event, _READ_COLUMNS)
    for event in _EVENTS
]


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of the triggers on projects (and, on PostgreSQL, functions)."""
    # A written adopter reads its sources' units: share-lock them, so a concurrent move
    # of a source (whose trigger moves the adoptions it sees, not this uncommitted one)
    # commits before this reads its unit, or waits for this to commit and then sees it.
    # Only adopters whose adoption can change: the others' rows cancel out. SQLite's
    # writers run one at a time.
    return triggers.create_all(
        _TRIGGERS,
        dialect,
        lambda t, new, old: _statements(dialect, t.event, new, old),
        _lock_sources,
    )


# --- rebuild ---------------------------------------------------------------------------


def computed_statements(dialect: str) -> dict[str, str]:
    """Per summary table, the SELECT of its rows computed from projects."""
    return {
        INNOVATIONS.table: _totals(INNOVATIONS, innovation_rows("projects")),
        ADOPTIONS.table: _totals(ADOPTIONS, adoption_rows(dialect, "projects", "projects")),
    }


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute both summaries from projects (one transaction)."""
    computed = computed_statements(dialect)
    return [
        statement
        for summary in SUMMARIES
        for statement in triggers.refill_sql(
            summary.table, (*summary.keys, *summary.counts), computed[summary.table]
        )
    ]


FAMILY = Family(TABLES, rebuild_sql, ("projects",), trigger_ddl, _TRIGGERS)
rebuild = FAMILY.rebuild


# --- the sources' reach ----------------------------------------------------------------
# The report ranks the sources of the window by the distinct other units adopting them
# there: a distinct count per source over a rolling window, which no sum of day or month
# rows gives. What bounds it is additive: a source's adopters in other units in the window
# are never more than its non-archived adopters in other units at any time. So per source,
# ``cross_adoptions``: those adopters, all time, against the source's unit now. The report
# reads the window's rows of the few sources whose bound can reach its top ranks
# (`app.reports.barometer.top_sources`), by `ix_barometer_adoption_days_source`, where it
# aggregated every adoption of the window (23,500 at L, 22,000 sources). A family of its
# own, so that 0011 still installs exactly the tables it created (migration 0018).

REACH = DaySummary(
    "barometer_source_reach",
    ("source_id",),
    {"cross_adoptions": "CASE WHEN a.unit_id <> s.unit_id THEN 1 ELSE 0 END"},
)
source_reach = sa.Table(REACH.table, SQLModel.metadata, *REACH.columns())
sa.Index(
    "ix_barometer_source_reach_cross", source_reach.c.cross_adoptions, source_reach.c.source_id
)
# The few adoptions within one unit (22 of 23,500 in a two-year window at L): the report
# takes the others from its unit flows.
sa.Index(
    "ix_barometer_adoption_days_same_unit",
    adoption_days.c.started_on,
    postgresql_include=["adopter_unit", "adoptions"],
    postgresql_where=adoption_days.c.adopter_unit == adoption_days.c.source_unit,
    sqlite_where=adoption_days.c.adopter_unit == adoption_days.c.source_unit,
)
sa.Index(
    "ix_barometer_adoption_days_source",
    adoption_days.c.source_id,
    adoption_days.c.started_on,
    postgresql_include=["source_unit", "adopter_unit", "adoptions"],
)


def reach_rows(adopters: str, sources: str) -> str:
    """Adopters (projects ``a``) joined with their sources (``s``: id and unit_id), as
    `adoption_rows` without the day: one row per adopter, 1 when in another unit."""
    return (
        f"SELECT s.id AS source_id, {REACH.counts['cross_adoptions']} AS cross_adoptions "
        f"FROM {adopters} a JOIN {sources} s ON s.id = a.adopted_from WHERE NOT a.archived"
    )


_REACH_TRIGGERS = [
    Trigger(
        f"barometer_reach_projects_{event.lower()}",
        "projects",
        event,
        ("id", "unit_id", "archived", "adopted_from"),
    )
    for event in _EVENTS
]


def reach_trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of the reach's triggers on projects: the adoptions' own changes,
    and the same share lock on the sources read (`trigger_ddl`)."""
    return triggers.create_all(
        _REACH_TRIGGERS,
        dialect,
        lambda t, new, old: [_apply(REACH, *_adoption_changes(t.event, new, old, reach_rows))],
        _lock_sources,
    )


def reach_computed() -> str:
    """The SELECT of the reach's rows computed from projects."""
    return _totals(REACH, reach_rows("projects", "projects"))


REACH_FAMILY = Family(
    (source_reach,),
    lambda dialect: triggers.refill_sql(
        REACH.table, (*REACH.keys, *REACH.counts), reach_computed()
    ),
    ("projects",),
    reach_trigger_ddl,
    _REACH_TRIGGERS,
)
