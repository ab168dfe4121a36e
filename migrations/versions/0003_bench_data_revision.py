"""data revision counter for report ETags

Revision ID: 0003_bench
Revises: 0002_safe_writes
Create Date: 2026-11-28 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_bench"
down_revision: str | None = "0002_safe_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    data_revision = op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    # The one row every write bumps; it must exist before the first write.
    op.bulk_insert(data_revision, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    op.drop_table("data_revision")
