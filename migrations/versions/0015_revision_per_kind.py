"""data revisions per kind of data: a counter per tracked table instead of one

Revision ID: 0015_revision_per_kind
Revises: 0014_flow_summaries
Create Date: 2026-12-02 01:20:00

A report's ETag is made of the revisions of the kinds of data it reads
(`app.core.revision.service`), so a write it does not read leaves it current. Every kind
starts at the one counter's value; going down, the one counter is their sum, so no ETag
handed out before comes back for other data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_revision_per_kind"
down_revision: str | None = "0014_flow_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds when this migration was written (app.core.revision.service.KINDS).
KINDS = (
    "units",
    "projects",
    "project_periods",
    "experiments",
    "criteria",
    "measurements",
    "determinant_tags",
    "unit_commitments",
    # Experiments with a date or finished (the experimentation report's and the register's).
    "dated_experiments",
    # An experiment's owner columns (the determinants report's).
    "experiment_owners",
)


def upgrade() -> None:
    op.create_table(
        "data_revisions",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_data_revisions")),
    )
    op.execute(
        sa.text(
            "INSERT INTO data_revisions (kind, revision) SELECT k.kind, r.revision FROM ("
            + " UNION ALL ".join(f"SELECT '{kind}' AS kind" for kind in KINDS)
            + ") k CROSS JOIN data_revision r WHERE r.id = 1"
        )
    )
    op.drop_table("data_revision")


def downgrade() -> None:
    op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    op.execute(
        sa.text(
            "INSERT INTO data_revision (id, revision) "
            "SELECT 1, COALESCE(SUM(revision), 0) FROM data_revisions"
        )
    )
    op.drop_table("data_revisions")
