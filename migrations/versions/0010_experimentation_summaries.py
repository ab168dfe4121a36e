"""experimentation summaries: the experimentation report's counts kept by triggers

Revision ID: 0010_experimentation_summaries
Revises: 0009_outcome_summaries
Create Date: 2026-12-01 16:40:00

Two log tables and the triggers that keep them (`app.reports.experimentation_summaries`,
which explains them), filled from the existing experiments; and a partial index of the
finished, unpublished experiments for the report's overdue list. The triggers are created
from that module, so a later change to them needs a migration that drops and recreates
them; so does a SQLite batch migration of experiments, projects or criteria.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.experiments.models import DUE_PUBLICATION
from app.reports import experimentation_summaries as summaries

revision: str = "0010_experimentation_summaries"
down_revision: str | None = "0009_outcome_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unit_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "experiment_month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        _unit_id(),
        sa.Column("compacted", sa.Boolean(), nullable=False),
        *(
            sa.Column(
                name, sa.BigInteger() if name == "cost_cents" else sa.Integer(), nullable=False
            )
            for name in summaries.MONTH_COLUMNS
        ),
    )
    op.create_index(
        "ix_experiment_month_counts_month", "experiment_month_counts", ["month", "unit_id"]
    )
    op.create_index(
        "ix_experiment_month_counts_compacted", "experiment_month_counts", ["compacted"]
    )
    op.create_table(
        "due_publications_by_day",
        sa.Column("ended_on", sa.Date(), nullable=False),
        _unit_id(),
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.Column("due", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_due_publications_by_day_ended_on", "due_publications_by_day", ["ended_on", "unit_id"]
    )
    op.create_index(
        "ix_due_publications_by_day_compacted", "due_publications_by_day", ["compacted"]
    )
    op.create_index(
        "ix_experiments_due_publication",
        "experiments",
        ["ended_on", "id"],
        postgresql_where=DUE_PUBLICATION,
        sqlite_where=DUE_PUBLICATION,
    )
    bind = op.get_bind()
    summaries.FAMILY.install_triggers(bind)
    summaries.FAMILY.rebuild(bind)


def downgrade() -> None:
    summaries.FAMILY.drop_triggers(op.get_bind())
    op.drop_index("ix_experiments_due_publication", table_name="experiments")
    op.drop_table("due_publications_by_day")
    op.drop_table("experiment_month_counts")
