"""indexes the reports use (bench/RESULTS.md shows the plans)

Revision ID: 0004_bench
Revises: 0003_bench
Create Date: 2026-11-28 18:40:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_bench"
down_revision: str | None = "0003_bench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_projects_spread": ("projects", ["stage", "archived", "unit_id", "work_mode", "sponsor_level"]),
    "ix_experiments_live_owner": ("experiments", ["archived", "id", "project_id", "unit_id"]),
    "ix_criteria_kind_project": ("criteria", ["kind", "archived", "project_id"]),
    "ix_criteria_kind_experiment": ("criteria", ["kind", "archived", "experiment_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
