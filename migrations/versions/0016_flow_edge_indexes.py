"""indexes for the flow report's window edges: stage changes by start, archived project ids

Revision ID: 0016_flow_edge_indexes
Revises: 0015_revision_per_kind
Create Date: 2026-12-02 04:10:00

The flow report reads its window's whole months from `flow_month_stays` and the days at
the edges (up to a month) from the periods that change a project's stage, less those of
archived projects. Both become index-only range scans: the stage changes by start with
the columns a stay needs (PostgreSQL `INCLUDE`; SQLite keeps the partial index on the
start alone), and the ids of the archived projects. At L the edge went from 46 ms (20,000
periods' rows and 4,000 projects' rows read) to 6 ms (bench/RESULTS.md, seventh pass).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_flow_edge_indexes"
down_revision: str | None = "0015_revision_per_kind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGE_CHANGE = sa.text("prev_stage IS NOT NULL AND prev_stage <> stage")
ARCHIVED = sa.text("archived")


def upgrade() -> None:
    op.create_index(
        "ix_project_periods_stage_changes",
        "project_periods",
        ["valid_from"],
        postgresql_include=["project_id", "prev_stage", "prev_stage_since", "stage"],
        postgresql_where=STAGE_CHANGE,
        sqlite_where=STAGE_CHANGE,
    )
    op.create_index(
        "ix_projects_archived_ids",
        "projects",
        ["id"],
        postgresql_where=ARCHIVED,
        sqlite_where=ARCHIVED,
    )


def downgrade() -> None:
    op.drop_index("ix_projects_archived_ids", table_name="projects")
    op.drop_index("ix_project_periods_stage_changes", table_name="project_periods")
