"""flow details: stays per bucket of lengths, start changes per day, month stays by length

Revision ID: 0017_flow_details
Revises: 0016_flow_edge_indexes
Create Date: 2026-12-02 07:00:00

Two finer summaries of the whole organization's flow, kept by their own triggers
(`app.reports.flow_summaries.DETAILS`, a family of its own so that 0014 still installs
exactly the four tables it created):

- `flow_month_stay_buckets`: the completed stays per (month, stage, bucket of 32 days of
  length). The medians of stays are taken in two levels
  (`app.reports.periods.median_of_levels`): the first reads these (at L 2,700 rows for a
  year instead of 36,000 lengths), the second only the lengths of the two chosen buckets,
  an index range of `ix_flow_month_stays_lengths`.
- `flow_day_start_changes`: the start changes of `flow_month_start_changes` per day, so
  that the month of `from` up to it is read from a few rows a day instead of the periods
  starting or ending on those days (~700 a day at L).

Both are rebuilt from the existing periods here; their triggers are created from that
module, so a later change to them needs a migration that drops and recreates them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import flow_summaries

revision: str = "0017_flow_details"
down_revision: str | None = "0016_flow_edge_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_month_stay_buckets",
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month_start", "stage", "bucket"),
    )
    op.create_table(
        "flow_day_start_changes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value_now", sa.String(32), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "value_now"),
    )
    op.create_index(
        "ix_flow_month_stays_lengths",
        "flow_month_stays",
        ["stage", "days", "month_start"],
        postgresql_include=["stays"],
    )
    connection = op.get_bind()
    flow_summaries.DETAILS.install_triggers(connection)
    flow_summaries.DETAILS.rebuild(connection)


def downgrade() -> None:
    flow_summaries.DETAILS.drop_triggers(op.get_bind())
    op.drop_index("ix_flow_month_stays_lengths", table_name="flow_month_stays")
    op.drop_table("flow_day_start_changes")
    op.drop_table("flow_month_stay_buckets")
