"""flow stays per bucket of lengths, and the month stays by length

Revision ID: 0017_flow_stay_buckets
Revises: 0016_flow_edge_indexes
Create Date: 2026-12-02 07:00:00

The flow report's medians of completed stays read, for the whole organization, the
window's whole months from `flow_month_stays` (at L 36,000 rows for a year). They are now
taken in two levels (`app.reports.periods.median_of_levels`): the first reads
`flow_month_stay_buckets`, the same stays counted per bucket of 32 days of length, and
the second only the lengths of the two chosen buckets, an index range of
`ix_flow_month_stays_lengths`. The table is a family of its own
(`flow_summaries.STAY_BUCKETS`): its triggers are created from that module and it is
rebuilt from the periods here, as 0014 did for the four others.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import flow_summaries

revision: str = "0017_flow_stay_buckets"
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
    op.create_index(
        "ix_flow_month_stays_lengths",
        "flow_month_stays",
        ["stage", "days", "month_start"],
        postgresql_include=["stays"],
    )
    connection = op.get_bind()
    flow_summaries.STAY_BUCKETS.install_triggers(connection)
    flow_summaries.STAY_BUCKETS.rebuild(connection)


def downgrade() -> None:
    flow_summaries.STAY_BUCKETS.drop_triggers(op.get_bind())
    op.drop_index("ix_flow_month_stays_lengths", table_name="flow_month_stays")
    op.drop_table("flow_month_stay_buckets")
