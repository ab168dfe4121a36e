"""Determinant tags: the four conditions that decide whether innovation happens."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator
from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from app.core.contract import ResponseModel
from app.core.db import enum_column


class Determinant(StrEnum):
    """`clarity` (is it clear what innovation means here and how to contribute), `parity` (does
    it stand level with other considerations), `suitability` (are capabilities and
    infrastructure fit for the options), `normality` (is it routine rather than a tolerated
    exception).
    """

    clarity = "clarity"
    parity = "parity"
    suitability = "suitability"
    normality = "normality"


class Effect(StrEnum):
    """`enabler` (the determinant helps here) or `barrier` (it holds innovation back)."""

    enabler = "enabler"
    barrier = "barrier"


class DeterminantTagBase(SQLModel):
    determinant: Determinant = Field(
        sa_type=enum_column(Determinant),
        description="clarity: is it clear what innovation means here and how to contribute; "
        "parity: does it stand level with other considerations; suitability: are capabilities "
        "and infrastructure fit for the options; normality: is it routine rather than a "
        "tolerated exception.",
    )
    effect: Effect = Field(sa_type=enum_column(Effect), description="Enabler or barrier here.")
    note: str | None = Field(default=None, max_length=2000)


class DeterminantTagIn(DeterminantTagBase):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "determinant": "parity",
                    "effect": "barrier",
                    "note": "Loses every budget trade-off against service targets",
                }
            ]
        },
    }


class DeterminantTagPublic(DeterminantTagBase, ResponseModel):
    pass


class DeterminantTag(DeterminantTagBase, table=True):
    __tablename__ = "determinant_tags"
    __table_args__ = (
        UniqueConstraint("project_id", "determinant", name="uq_determinant_tags_project"),
        UniqueConstraint("experiment_id", "determinant", name="uq_determinant_tags_experiment"),
        CheckConstraint("(project_id IS NULL) <> (experiment_id IS NULL)", name="one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiments.id", index=True)


def tags_relationship(owner: str) -> Any:
    """The `determinant_tags` of an owner table (`"Project"`, `"Experiment"`), through the
    tag's `<owner>_id`: in id order, replaced whole (a tag left out is deleted), and never
    loaded lazily, so a read that forgets `selectinload` fails in tests instead of running
    a query per row."""
    return Relationship(
        sa_relationship_kwargs={
            "lazy": "raise",
            "cascade": "all, delete-orphan",
            "order_by": "DeterminantTag.id",
            "primaryjoin": f"{owner}.id == DeterminantTag.{owner.lower()}_id",
        }
    )


def check_unique_determinants(tags: list[DeterminantTagIn]) -> list[DeterminantTagIn]:
    seen: set[Determinant] = set()
    for tag in tags:
        if tag.determinant in seen:
            raise ValueError(f"determinant '{tag.determinant.value}' is listed more than once")
        seen.add(tag.determinant)
    return tags


DeterminantList = Annotated[
    list[DeterminantTagIn],
    AfterValidator(check_unique_determinants),
    Field(max_length=4, description="At most one entry per determinant."),
]


# A determinant tag as two CSV columns (effect and note), in the export and the importer.
DETERMINANT_COLUMNS = [
    name for d in Determinant for name in (f"determinant_{d.value}", f"determinant_{d.value}_note")
]


# The filters of the lists of tagged objects (projects, experiments).
DeterminantQuery = Annotated[
    list[Determinant] | None, Query(description="Tagged with any of these determinants.")
]
EffectQuery = Annotated[
    Effect | None, Query(description="With `determinant`: only tags with this effect.")
]
