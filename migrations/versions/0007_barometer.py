"""innovation barometer: novelty, reuse lineage, initiator, collaborators, value, evaluation

Revision ID: 0007_barometer
Revises: 0006_experimentation
Create Date: 2026-12-01 11:00:00

The three sets are integer bitmasks (`app.core.flags`, the order fixed by the enums in
`app.projects.models`). Projects already `embedded` get `embedded_on` = the date of their
last change: the latest moment the record can vouch for (README, "Barometer").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def _enum(name: str, *values: str) -> sa.Enum:
    # Non-native, as `app.core.db.enum_column` declares them; the values as of this revision.
    return sa.Enum(*values, name=name, native_enum=False, length=32)


NOVELTY = _enum("novelty", "first", "adapted", "copied")
INITIATOR = _enum(
    "initiator", "employees", "managers", "politicians", "citizens", "businesses", "other"
)
EVALUATION = _enum("evaluation", "none", "internal", "external")

revision: str = "0007_barometer"
down_revision: str | None = "0006_experimentation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MASKS = ("innovation_types_mask", "collaborators_mask", "value_types_mask")


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("novelty", NOVELTY, nullable=True))
        batch_op.add_column(sa.Column("adopted_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("initiated_by", INITIATOR, nullable=True))
        batch_op.add_column(sa.Column("evaluation", EVALUATION, nullable=True))
        batch_op.add_column(sa.Column("embedded_on", sa.Date(), nullable=True))
        for mask in MASKS:
            batch_op.add_column(
                sa.Column(mask, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
        batch_op.create_foreign_key(
            "fk_projects_adopted_from_projects", "projects", ["adopted_from"], ["id"]
        )
        batch_op.create_index("ix_projects_adopted_from", ["adopted_from"], unique=False)
        batch_op.create_index("ix_projects_embedded_on", ["embedded_on"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        day = "(updated_at AT TIME ZONE 'UTC')::date"
    else:
        day = "date(updated_at)"
    op.execute(f"UPDATE projects SET embedded_on = {day} WHERE stage = 'embedded'")


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_embedded_on")
        batch_op.drop_index("ix_projects_adopted_from")
        batch_op.drop_constraint("fk_projects_adopted_from_projects", type_="foreignkey")
        for column in (*reversed(MASKS), "embedded_on", "evaluation", "initiated_by"):
            batch_op.drop_column(column)
        batch_op.drop_column("adopted_from")
        batch_op.drop_column("novelty")
