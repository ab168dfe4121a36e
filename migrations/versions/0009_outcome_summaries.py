"""outcome summaries: the outcomes report's counts kept by triggers

Revision ID: 0009_outcome_summaries
Revises: 0008_report_summaries
Create Date: 2026-12-01 14:00:00

Four tables and the triggers that keep them (`app.reports.outcome_summaries`, which
explains them), then a rebuild from the existing criteria. The triggers are created from
that module, so a later change to them needs a migration that drops and recreates them;
so does a SQLite batch migration of criteria, experiments or projects (the table rebuild
drops their triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import outcome_summaries

revision: str = "0009_outcome_summaries"
down_revision: str | None = "0008_report_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unit_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "unit_id",
        sa.Integer(),
        sa.ForeignKey("units.id", name=None, ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "outcome_criteria_counts",
        _unit_id(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("criteria", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
    )
    op.create_table(
        "unmet_criteria_by_due",
        sa.Column("due_on", sa.Date(), nullable=False),
        _unit_id(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("criteria", sa.Integer(), nullable=False),
        sa.Column("collapsed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_unmet_criteria_by_due_due_on", "unmet_criteria_by_due", ["due_on"])
    op.create_index(
        "ix_unmet_criteria_by_due_collapsed", "unmet_criteria_by_due", ["collapsed", "due_on"]
    )
    op.create_table(
        "project_outcome_criteria",
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("outcome_criteria", sa.Integer(), nullable=False),
    )
    op.create_table(
        "outcome_coverage_counts",
        _unit_id(),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("with_outcome", sa.Integer(), nullable=False),
    )
    connection = op.get_bind()
    outcome_summaries.FAMILY.install_triggers(connection)
    outcome_summaries.FAMILY.rebuild(connection)


def downgrade() -> None:
    outcome_summaries.FAMILY.drop_triggers(op.get_bind())
    op.drop_table("outcome_coverage_counts")
    op.drop_table("project_outcome_criteria")
    op.drop_index("ix_unmet_criteria_by_due_collapsed", table_name="unmet_criteria_by_due")
    op.drop_index("ix_unmet_criteria_by_due_due_on", table_name="unmet_criteria_by_due")
    op.drop_table("unmet_criteria_by_due")
    op.drop_table("outcome_criteria_counts")
