"""timeline: project_periods, projects.stage_since, history.effective_on

Revision ID: 0005_timeline
Revises: 0004_bench
Create Date: 2026-12-01 10:50:00

Every existing project gets one period starting on its `created_at` date (UTC) with its
current values, and that date as its `stage_since`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_timeline"
down_revision: str | None = "0004_bench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGE = sa.Enum(
    "idea",
    "exploration",
    "experiment",
    "scaling",
    "embedded",
    "stopped",
    name="stage",
    native_enum=False,
    length=32,
)
WORK_MODE = sa.Enum(
    "side_of_desk", "dedicated", "core_business", name="workmode", native_enum=False, length=32
)
SPONSOR_LEVEL = sa.Enum(
    "individual", "organizational", "system", name="sponsorlevel", native_enum=False, length=32
)


def _created_on() -> str:
    """The UTC calendar date of `projects.created_at`, in this database's SQL.

    PostgreSQL stores a timestamptz (converted at UTC whatever the session's time zone);
    SQLite stores the UTC timestamp as text, whose first ten characters are the date."""
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
    return "date(created_at)"


def upgrade() -> None:
    op.create_table(
        "project_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("work_mode", WORK_MODE, nullable=False),
        sa.Column("sponsor_level", SPONSOR_LEVEL, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_periods_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_project_periods_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_periods")),
        sa.UniqueConstraint("project_id", "valid_from", name=op.f("uq_project_periods_project_id")),
    )
    with op.batch_alter_table("project_periods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_periods_unit_id"), ["unit_id"], unique=False)

    created_on = _created_on()
    op.execute(
        "INSERT INTO project_periods "
        "(project_id, valid_from, valid_to, stage, work_mode, sponsor_level, unit_id) "
        f"SELECT id, {created_on}, NULL, stage, work_mode, sponsor_level, unit_id "
        "FROM projects ORDER BY id"
    )

    # SQLite cannot make an added column NOT NULL without rebuilding the table, and a
    # rebuild drops `projects`, which the foreign keys of its children forbid. So the column
    # comes with a placeholder default that the UPDATE below replaces on every row; it is
    # dropped again where ALTER can (PostgreSQL). The application always sets the value.
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stage_since", sa.Date(), nullable=False, server_default="1970-01-01")
        )
        batch_op.create_index(batch_op.f("ix_projects_stage_since"), ["stage_since"], unique=False)
    op.execute(f"UPDATE projects SET stage_since = {created_on}")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("projects", "stage_since", server_default=None)

    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effective_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_column("effective_on")
    op.drop_index(op.f("ix_projects_stage_since"), table_name="projects")
    # Not in batch mode: rebuilding `projects` on SQLite would drop the table its children's
    # foreign keys point at (see upgrade). SQLite 3.35+ drops an unindexed column in place.
    op.execute("ALTER TABLE projects DROP COLUMN stage_since")
    op.drop_index(op.f("ix_project_periods_unit_id"), table_name="project_periods")
    op.drop_table("project_periods")
