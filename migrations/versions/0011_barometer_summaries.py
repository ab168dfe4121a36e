"""barometer summaries: innovations and adoptions by unit and day, kept by triggers

Revision ID: 0011_barometer_summaries
Revises: 0009_outcome_summaries
Create Date: 2026-12-01 16:45:00

The barometer report sums these day-keyed rows over its window instead of reading every
project (`app.reports.barometer_summaries`, which explains them). The triggers on projects
keep them in the transaction of every write; the tables are filled from the existing
projects here. A later SQLite batch migration of projects drops the triggers and must
create them again.
"""

from collections.abc import Sequence

from alembic import op

from app.reports import barometer_summaries

revision: str = "0011_barometer_summaries"
down_revision: str | None = "0010_experimentation_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for summary in barometer_summaries.SUMMARIES:
        op.create_table(summary.table, *summary.columns())
    bind = op.get_bind()
    barometer_summaries.FAMILY.install_triggers(bind)
    barometer_summaries.FAMILY.rebuild(bind)


def downgrade() -> None:
    barometer_summaries.FAMILY.drop_triggers(op.get_bind())
    for summary in reversed(barometer_summaries.SUMMARIES):
        op.drop_table(summary.table)
