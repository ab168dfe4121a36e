"""period runs: each period's previous stage and the start of its stage's run

Revision ID: 0013_period_runs
Revises: 0012_timeline_summaries
Create Date: 2026-12-01 20:45:00

Three columns on project_periods (`ProjectPeriod`, `app.reports.timeline_summaries`
explains them), filled from the existing periods by the rebuild statement the summaries
command also runs. SQLite cannot make an added column NOT NULL without rebuilding the
table, and a rebuild would drop the timeline summaries' triggers on it, so `stage_since`
comes with a placeholder default that the rebuild replaces on every row; it is dropped
again where ALTER can (PostgreSQL). The application always sets the value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import timeline_summaries

revision: str = "0013_period_runs"
down_revision: str | None = "0012_timeline_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("project_periods", sa.Column("prev_stage", sa.String(32), nullable=True))
    op.add_column(
        "project_periods",
        sa.Column("stage_since", sa.Date(), nullable=False, server_default="1970-01-01"),
    )
    op.add_column("project_periods", sa.Column("prev_stage_since", sa.Date(), nullable=True))
    op.execute(timeline_summaries.PERIOD_RUNS_REBUILD)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("project_periods", "stage_since", server_default=None)


def downgrade() -> None:
    # Not in batch mode: rebuilding project_periods on SQLite would drop the timeline
    # summaries' triggers on it. SQLite 3.35+ drops an unindexed column in place.
    for column in ("prev_stage_since", "stage_since", "prev_stage"):
        op.execute(f"ALTER TABLE project_periods DROP COLUMN {column}")
