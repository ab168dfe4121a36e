"""flow summaries: the whole organization's moves, stays, open runs and start changes

Revision ID: 0014_flow_summaries
Revises: 0013_period_runs
Create Date: 2026-12-01 23:00:00

Four tables and the triggers that keep them (`app.reports.flow_summaries`, which
explains them), an index of the live projects by stage and stage start (the stalled
projects per unit today), then a rebuild from the existing periods and their run columns
(0013).
The triggers are created from that module, so a later change to them needs a migration
that drops and recreates them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import flow_summaries

revision: str = "0014_flow_summaries"
down_revision: str | None = "0013_period_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_day_moves",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prev_stage", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "prev_stage", "stage"),
    )
    op.create_table(
        "flow_month_stays",
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month_start", "stage", "days"),
    )
    op.create_table(
        "flow_open_runs",
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("stage_since", sa.Date(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "stage_since"),
    )
    op.create_table(
        "flow_month_start_changes",
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value_now", sa.String(32), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month_start", "kind", "value_now"),
    )
    op.create_index(
        "ix_projects_stalled",
        "projects",
        ["stage", "stage_since", "unit_id"],
        postgresql_where=sa.text("NOT archived"),
        sqlite_where=sa.text("NOT archived"),
    )
    connection = op.get_bind()
    flow_summaries.FAMILY.install_triggers(connection)
    flow_summaries.FAMILY.rebuild(connection)


def downgrade() -> None:
    flow_summaries.FAMILY.drop_triggers(op.get_bind())
    op.drop_index("ix_projects_stalled", table_name="projects")
    op.drop_table("flow_month_start_changes")
    op.drop_table("flow_open_runs")
    op.drop_table("flow_month_stays")
    op.drop_table("flow_day_moves")
