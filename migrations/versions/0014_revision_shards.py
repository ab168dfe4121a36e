"""revision shards: the data revision as sixteen counter rows instead of one

Revision ID: 0014_revision_shards
Revises: 0013_period_runs
Create Date: 2026-12-01 21:10:00

Every write bumped the one `data_revision` row and so held its lock through its COMMIT:
writes queued on it one durable commit at a time (bench/RESULTS.md, single writes). A
write now bumps one of `app.core.revision.service.SHARDS` rows and readers take their sum,
which grows by one with every write exactly as the one counter did. The new rows start
at 0, so the sum, and every ETag derived from it, is unchanged by the upgrade; the
downgrade folds the sum back into row 1 so that it never goes back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_revision_shards"
down_revision: str | None = "0013_period_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as migrations are history: app.core.revision.service.SHARDS when written.
SHARDS = 16
DATA_REVISION = sa.table("data_revision", sa.column("id"), sa.column("revision"))


def upgrade() -> None:
    op.bulk_insert(DATA_REVISION, [{"id": i, "revision": 0} for i in range(2, SHARDS + 1)])


def downgrade() -> None:
    op.execute("UPDATE data_revision SET revision = (SELECT sum(revision) FROM data_revision)")
    op.execute("DELETE FROM data_revision WHERE id <> 1")
