"""per-unit summaries of projects, experiments and determinant tags, kept by triggers

Revision ID: 0008_report_summaries
Revises: 0007_barometer
Create Date: 2026-12-01 13:30:00

The spread, portfolio and determinants reports sum these per-unit rows instead of reading
every project, experiment and tag (`app.reports.summaries`, README "Reports"). The
triggers keep them in the transaction of every write; the tables are filled from the
existing rows here.
"""

from collections.abc import Sequence

from alembic import op

from app.reports import summaries

revision: str = "0008_report_summaries"
down_revision: str | None = "0007_barometer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for summary in summaries.SUMMARIES:
        op.create_table(summary.table, *summary.columns())
    bind = op.get_bind()
    summaries.FAMILY.install_triggers(bind)
    summaries.FAMILY.rebuild(bind)


def downgrade() -> None:
    summaries.FAMILY.drop_triggers(op.get_bind())
    for summary in reversed(summaries.SUMMARIES):
        op.drop_table(summary.table)
