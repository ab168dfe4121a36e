"""experimentation: experiment rigour and publication fields, unit commitments

Revision ID: 0006_experimentation
Revises: 0005_timeline
Create Date: 2026-12-01 11:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_experimentation"
down_revision: str | None = "0005_timeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPARISONS = ("none", "before_after", "comparison_group", "randomized")


def upgrade() -> None:
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "comparison",
                sa.Enum(*COMPARISONS, native_enum=False, create_constraint=False, length=32),
                nullable=False,
                server_default="none",
            )
        )
        batch_op.add_column(sa.Column("sample_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("preregistered_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "independent_evaluation", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("cost", sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column("published_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("publication_url", sa.String(2000), nullable=True))
        # The public register reads published experiments only.
        batch_op.create_index("ix_experiments_published_on", ["published_on"], unique=False)

    op.create_table(
        "unit_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("program_funds", sa.Numeric(14, 2), nullable=False),
        sa.Column("target_share", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_commitments_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_commitments")),
        sa.UniqueConstraint("unit_id", "year", name=op.f("uq_unit_commitments_unit_id")),
    )


def downgrade() -> None:
    op.drop_table("unit_commitments")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index("ix_experiments_published_on")
        for column in (
            "publication_url",
            "published_on",
            "cost",
            "independent_evaluation",
            "preregistered_on",
            "sample_size",
            "comparison",
        ):
            batch_op.drop_column(column)
