"""barometer: each source's adopters in other units, all time, to rank the window's sources

Revision ID: 0018_barometer_source_reach
Revises: 0017_flow_details
Create Date: 2026-12-02 10:00:00

The barometer ranks the sources of its window by the distinct other units adopting them
there, which no sum of day rows gives: it aggregated every adoption of the window. A
source's non-archived adopters in other units, all time, bound that count from above and
add up, so they are kept per source (`barometer_source_reach`, by its own triggers on
projects: `app.reports.barometer_summaries.REACH_FAMILY`); the report reads the window's
rows of only the sources whose bound can reach its top ranks, by source
(`ix_barometer_adoption_days_source`). Its adoptions within one unit, few, are read by an
index of their own (`ix_barometer_adoption_days_same_unit`); the others are its unit
flows. The table is rebuilt from the projects here; its
triggers are created from that module, so a later change to them needs a migration that
drops and recreates them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.reports import barometer_summaries

revision: str = "0018_barometer_source_reach"
down_revision: str | None = "0017_flow_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "barometer_source_reach",
        sa.Column("source_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cross_adoptions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_index(
        "ix_barometer_source_reach_cross",
        "barometer_source_reach",
        ["cross_adoptions", "source_id"],
    )
    op.create_index(
        "ix_barometer_adoption_days_source",
        "barometer_adoption_days",
        ["source_id", "started_on"],
        postgresql_include=["source_unit", "adopter_unit", "adoptions"],
    )
    op.create_index(
        "ix_barometer_adoption_days_same_unit",
        "barometer_adoption_days",
        ["started_on"],
        postgresql_include=["adopter_unit", "adoptions"],
        postgresql_where=sa.text("adopter_unit = source_unit"),
        sqlite_where=sa.text("adopter_unit = source_unit"),
    )
    connection = op.get_bind()
    barometer_summaries.REACH_FAMILY.install_triggers(connection)
    barometer_summaries.REACH_FAMILY.rebuild(connection)


def downgrade() -> None:
    barometer_summaries.REACH_FAMILY.drop_triggers(op.get_bind())
    op.drop_index("ix_barometer_adoption_days_source", table_name="barometer_adoption_days")
    op.drop_index("ix_barometer_adoption_days_same_unit", table_name="barometer_adoption_days")
    op.drop_index("ix_barometer_source_reach_cross", table_name="barometer_source_reach")
    op.drop_table("barometer_source_reach")
