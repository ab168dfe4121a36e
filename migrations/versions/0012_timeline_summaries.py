"""timeline summaries: the trends report's month counts and active spans, kept by triggers

Revision ID: 0012_timeline_summaries
Revises: 0009_outcome_summaries
Create Date: 2026-12-01 17:00:00

Two tables and the triggers that keep them (`app.reports.timeline_summaries`, which
explains them), indexes on the periods' dates, then a rebuild from the existing periods.
The triggers are created from that module, so a later change to them needs a migration
that drops and recreates them; so does a SQLite batch migration of project_periods or
projects (the table rebuild drops their triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import timeline_summaries

revision: str = "0012_timeline_summaries"
down_revision: str | None = "0011_barometer_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unit_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "unit_id",
        sa.Integer(),
        sa.ForeignKey("units.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_index("ix_project_periods_valid_from", "project_periods", ["valid_from"])
    op.create_index("ix_project_periods_valid_to", "project_periods", ["valid_to"])
    op.create_table(
        "period_month_counts",
        _unit_id(),
        sa.Column("month_start", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in timeline_summaries.COUNTS),
        sa.PrimaryKeyConstraint("unit_id", "month_start"),
    )
    op.create_table(
        "unit_active_spans",
        _unit_id(),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
    )
    op.create_index("ix_unit_active_spans_unit_id", "unit_active_spans", ["unit_id"])
    connection = op.get_bind()
    timeline_summaries.FAMILY.install_triggers(connection)
    timeline_summaries.FAMILY.rebuild(connection)


def downgrade() -> None:
    timeline_summaries.FAMILY.drop_triggers(op.get_bind())
    op.drop_index("ix_unit_active_spans_unit_id", table_name="unit_active_spans")
    op.drop_table("unit_active_spans")
    op.drop_table("period_month_counts")
    op.drop_index("ix_project_periods_valid_to", table_name="project_periods")
    op.drop_index("ix_project_periods_valid_from", table_name="project_periods")
