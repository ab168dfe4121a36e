"""Per-unit counts behind the spread, portfolio and determinants reports, kept by triggers.

Three summary tables hold, per unit, the counts those reports add up: one row per unit,
one column per count, the columns named as the reports' queries label them (`queries`).
At L (200,000 projects, 800,000 experiments, 600,000 tags, 1,000 units) a report then sums
at most 1,000 rows instead of reading every project, experiment and tag
(bench/RESULTS.md, "Summaries").

- `unit_project_counts`: non-archived projects by the unit that owns them;
- `unit_experiment_counts`: non-archived experiments of non-archived projects, by the
  experiment's unit;
- `unit_determinant_counts`: determinant tags on live projects and live experiments, by
  the owner's unit.

Units themselves are not summarized: reports join the (small) units table at read time
for their names, `archived`, `kind` and scope.

The database keeps the tables in step, in the transaction of every write, with triggers
generated here (`trigger_ddl`, installed by migration 0008_report_summaries): the ORM,
`app.core.bulk`'s textual inserts, moves, archives, COPY and hand-written SQL all pass
through them. Each trigger adds the contributions of the rows as they are after the write
and subtracts those of the rows as they were, grouped per unit, in one upsert per table;
groups whose difference is zero are left alone, so a write that changes nothing counted
(a title, a note) locks no summary row. PostgreSQL runs them once per statement over its
transition tables (a 1,000-row batch is one upsert per table, not 1,000); SQLite, which
has no statement triggers, once per row over `NEW` and `OLD`. Both run the same SQL,
built from one `Contribution` per summary, which `rebuild` also uses to recompute the
tables from the base tables. A row whose counts all drop to zero stays: reads sum and
never care.

Changing a column's rule here changes what new databases get; existing ones keep the
triggers they were migrated with, so such a change needs a migration that drops and
recreates the triggers (`FAMILY.drop_triggers`, `FAMILY.install_triggers`) and calls
`rebuild`. So does a migration that recreates projects, experiments or determinant_tags
(SQLite's batch mode copies a table into a new one, without its triggers): a test checks
they exist at head.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import SQLModel

from app.core import triggers
from app.core.triggers import Family, Trigger
from app.determinants.models import Determinant, Effect
from app.experiments.models import ExperimentResult, ExperimentStatus, Method
from app.projects.models import Facet, RiskBand, SponsorLevel, Stage, WorkMode

ACTIVE_STAGES = (Stage.exploration, Stage.experiment, Stage.scaling)
# A project whose risk_of_not_innovating is at least this judged doing nothing as dangerous.
JUSTIFYING_RISK_OF_NOT_INNOVATING = 4

FACET_KEYS: tuple[Facet | None, ...] = (*Facet, None)
BAND_KEYS: tuple[RiskBand | None, ...] = (*RiskBand, None)


def key(value: StrEnum | None) -> str:
    """The response key of an enum value; ``unspecified`` for a missing one."""
    return "unspecified" if value is None else value.value


def _is(column: str, value: StrEnum | None) -> str:
    return f"r.{column} IS NULL" if value is None else f"r.{column} = '{value.value}'"


def _active() -> str:
    stages = ", ".join(f"'{stage.value}'" for stage in ACTIVE_STAGES)
    return f"r.stage IN ({stages})"


def _project_counts() -> dict[str, str]:
    """Column -> condition on a project row ``r`` (counted when true)."""
    counts = {"projects": "1 = 1"}
    counts |= {f"stage_{s.value}": _is("stage", s) for s in Stage}
    counts |= {f"mode_{m.value}": _is("work_mode", m) for m in WorkMode}
    counts |= {f"sponsor_{s.value}": _is("sponsor_level", s) for s in SponsorLevel}
    counts |= {
        f"facet_{key(facet)}__{key(band)}": f"{_is('facet', facet)} AND {_is('risk_band', band)}"
        for facet in FACET_KEYS
        for band in BAND_KEYS
    }
    counts["high_risk_justified"] = (
        f"r.risk_band = '{RiskBand.high.value}' "
        f"AND r.risk_of_not_innovating >= {JUSTIFYING_RISK_OF_NOT_INNOVATING}"
    )
    counts["without_risk_profile"] = f"r.stage <> '{Stage.idea.value}' AND r.risk_score IS NULL"
    # The spread report counts active projects only (idea, embedded and stopped do not).
    counts["active_projects"] = _active()
    counts |= {f"active_mode_{m.value}": f"{_active()} AND {_is('work_mode', m)}" for m in WorkMode}
    counts |= {
        f"active_sponsor_{s.value}": f"{_active()} AND {_is('sponsor_level', s)}"
        for s in SponsorLevel
    }
    return counts


def _experiment_counts() -> dict[str, str]:
    """Column -> condition on an experiment row ``r``."""
    counts = {"experiments": "1 = 1"}
    counts |= {f"status_{s.value}": _is("status", s) for s in ExperimentStatus}
    counts |= {f"method_{m.value}": _is("method", m) for m in Method}
    counts |= {f"result_{r.value}": _is("result", r) for r in ExperimentResult}
    counts["completed_with_lessons"] = (
        f"r.status = '{ExperimentStatus.completed.value}' AND trim(coalesce(r.lessons, '')) <> ''"
    )
    return counts


def _determinant_counts() -> dict[str, str]:
    """Column -> condition on a tag row ``r``."""
    return {
        f"{d.value}__{e.value}": f"{_is('determinant', d)} AND {_is('effect', e)}"
        for d in Determinant
        for e in Effect
    }


@dataclass(frozen=True)
class Summary:
    table: str
    counts: dict[str, str]

    def columns(self) -> list[sa.Column[int]]:
        return [
            sa.Column("unit_id", sa.Integer(), primary_key=True, autoincrement=False),
            *(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
                for name in self.counts
            ),
        ]

    def contributions(self) -> str:
        """The select list of one row's counts, from a row aliased ``r``."""
        return ", ".join(
            f"CASE WHEN {condition} THEN 1 ELSE 0 END AS {name}"
            for name, condition in self.counts.items()
        )


PROJECTS = Summary("unit_project_counts", _project_counts())
EXPERIMENTS = Summary("unit_experiment_counts", _experiment_counts())
DETERMINANTS = Summary("unit_determinant_counts", _determinant_counts())
SUMMARIES = (PROJECTS, EXPERIMENTS, DETERMINANTS)

# On SQLModel.metadata, so Alembic's comparison with the migrations covers them.
project_counts = sa.Table(PROJECTS.table, SQLModel.metadata, *PROJECTS.columns())
experiment_counts = sa.Table(EXPERIMENTS.table, SQLModel.metadata, *EXPERIMENTS.columns())
determinant_counts = sa.Table(DETERMINANTS.table, SQLModel.metadata, *DETERMINANTS.columns())
TABLES = (project_counts, experiment_counts, determinant_counts)


# --- the rows each summary counts, from given relations --------------------------------
# Each function takes SQL relations (table names, transition tables, or one-row selects of
# NEW/OLD) and returns a SELECT of `unit_id` and the summary's columns, one row per
# counted row. Every rule of "what counts" is here once: the triggers and `rebuild` use it.


def project_rows(projects: str) -> str:
    return (
        f"SELECT r.unit_id AS unit_id, {PROJECTS.contributions()} "
        f"FROM {projects} r WHERE NOT r.archived"
    )


def experiment_rows(experiments: str, projects: str = "projects") -> str:
    return (
        f"SELECT r.unit_id AS unit_id, {EXPERIMENTS.contributions()} FROM {experiments} r "
        f"JOIN {projects} p ON p.id = r.project_id WHERE NOT r.archived AND NOT p.archived"
    )


def tag_rows(
    tags: str,
    *,
    projects: str | None = "projects",
    experiments: str | None = "experiments",
    experiment_projects: str = "projects",
) -> str:
    """Tags on live projects (by ``projects``) and on live experiments of live projects
    (by ``experiments``, their projects by ``experiment_projects``); None leaves a kind of
    owner out."""
    parts = []
    if projects is not None:
        parts.append(
            f"SELECT o.unit_id AS unit_id, {DETERMINANTS.contributions()} FROM {tags} r "
            f"JOIN {projects} o ON o.id = r.project_id WHERE NOT o.archived"
        )
    if experiments is not None:
        parts.append(
            f"SELECT o.unit_id AS unit_id, {DETERMINANTS.contributions()} FROM {tags} r "
            f"JOIN {experiments} o ON o.id = r.experiment_id "
            f"JOIN {experiment_projects} p ON p.id = o.project_id "
            "WHERE NOT o.archived AND NOT p.archived"
        )
    return " UNION ALL ".join(parts)


def _totals(summary: Summary, rows: str) -> str:
    sums = ", ".join(f"sum({name}) AS {name}" for name in summary.counts)
    return f"SELECT unit_id, {sums} FROM ({rows}) AS counted WHERE 1 = 1 GROUP BY unit_id"


def _apply(summary: Summary, added: Sequence[str], removed: Sequence[str]) -> str:
    """Per unit (`app.core.triggers.upsert_delta`)."""
    return triggers.upsert_delta(summary.table, ["unit_id"], list(summary.counts), added, removed)


# --- triggers ------------------------------------------------------------------------

# The columns of each base table the summaries read, for SQLite's one-row NEW/OLD selects.
_READ_COLUMNS = {
    "projects": (
        "id",
        "unit_id",
        "archived",
        "stage",
        "work_mode",
        "sponsor_level",
        "facet",
        "risk_band",
        "risk_of_not_innovating",
        "risk_score",
    ),
    "experiments": (
        "id",
        "unit_id",
        "archived",
        "project_id",
        "status",
        "method",
        "result",
        "lessons",
    ),
    "determinant_tags": ("id", "project_id", "experiment_id", "determinant", "effect"),
}
# What moves an owner's children between units or in and out of the counts.
_OWNER_COLUMNS = {
    "projects": ("unit_id", "archived"),
    "experiments": ("unit_id", "archived", "project_id"),
}


def _changed_owners(new: str, old: str, table: str, side: str) -> str:
    """The ``side`` (``n`` or ``o``) rows of an update whose owner columns changed."""
    differs = " OR ".join(f"n.{c} <> o.{c}" for c in _OWNER_COLUMNS[table])
    return f"(SELECT {side}.* FROM {new} n JOIN {old} o ON o.id = n.id WHERE {differs})"


# Per base table: the summary its rows count in, and those rows from a relation of them.
_COUNTED_IN: dict[str, tuple[Summary, Callable[[str], str]]] = {
    "projects": (PROJECTS, project_rows),
    "experiments": (EXPERIMENTS, experiment_rows),
    "determinant_tags": (DETERMINANTS, tag_rows),
}


def _children(table: str, owners: str) -> list[tuple[Summary, str]]:
    """The summaries counting the children of ``owners`` (rows of ``table``), and the
    children's rows."""
    if table == "projects":
        return [
            (EXPERIMENTS, experiment_rows("experiments", owners)),
            (
                DETERMINANTS,
                tag_rows("determinant_tags", projects=owners, experiment_projects=owners),
            ),
        ]
    return [(DETERMINANTS, tag_rows("determinant_tags", projects=None, experiments=owners))]


def _statements(table: str, event: str, new: str, old: str) -> list[str]:
    """The upserts that keep every summary in step with one write of ``table``."""
    summary, rows = _COUNTED_IN[table]
    added = [new] if event in ("INSERT", "UPDATE") else []
    removed = [old] if event in ("UPDATE", "DELETE") else []
    statements = [_apply(summary, [rows(r) for r in added], [rows(r) for r in removed])]
    if event == "UPDATE" and table in _OWNER_COLUMNS:
        # A new owner has no children yet, and a deleted one has none left (keys).
        now = _children(table, _changed_owners(new, old, table, "n"))
        before = _children(table, _changed_owners(new, old, table, "o"))
        statements += [
            _apply(child, [rows_now], [rows_before])
            for (child, rows_now), (_, rows_before) in zip(now, before, strict=True)
        ]
    return statements


_EVENTS = ("INSERT", "UPDATE", "DELETE")
_TRIGGERS = [
    Trigger(f"summaries_{table}_{event.lower()}", table, event, columns)
    for table, columns in _READ_COLUMNS.items()
    for event in _EVENTS
]


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of every summary trigger (and, on PostgreSQL, their functions)."""
    return triggers.create_all(
        _TRIGGERS, dialect, lambda t, new, old: _statements(t.table, t.event, new, old)
    )


# --- rebuild -------------------------------------------------------------------------


def computed_statements() -> dict[str, str]:
    """Per summary table, the SELECT of its rows computed from the base tables."""
    return {
        PROJECTS.table: _totals(PROJECTS, project_rows("projects")),
        EXPERIMENTS.table: _totals(EXPERIMENTS, experiment_rows("experiments")),
        DETERMINANTS.table: _totals(DETERMINANTS, tag_rows("determinant_tags")),
    }


def rebuild_sql(dialect: str) -> list[str]:
    """Statements that recompute every summary from the base tables (one transaction; the
    same on both databases)."""
    computed = computed_statements()
    return [
        statement
        for summary in SUMMARIES
        for statement in triggers.refill_sql(
            summary.table, ["unit_id", *summary.counts], computed[summary.table]
        )
    ]


FAMILY = Family(
    TABLES, rebuild_sql, ("projects", "experiments", "determinant_tags"), trigger_ddl, _TRIGGERS
)
rebuild = FAMILY.rebuild
