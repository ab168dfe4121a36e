from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import StrictInt, model_validator
from sqlalchemy import Index
from sqlmodel import Field, Relationship, SQLModel

from app.core.contract import ResponseModel
from app.core.db import MAX_ID, AuditedFields, check_dates, enum_column
from app.core.errors import CrossFieldError
from app.core.pagination import Page
from app.determinants.models import DeterminantList, DeterminantTag, DeterminantTagPublic


class Method(StrEnum):
    """`rct` (randomized controlled trial), `ab_test`, `pilot`, `prototype`, `simulation` or
    `other`.
    """

    rct = "rct"
    ab_test = "ab_test"
    pilot = "pilot"
    prototype = "prototype"
    simulation = "simulation"
    other = "other"


class ExperimentStatus(StrEnum):
    """`proposed`, `running`, `completed` or `stopped` (ended before completion)."""

    proposed = "proposed"
    running = "running"
    completed = "completed"
    stopped = "stopped"


class ExperimentResult(StrEnum):
    """Of a completed experiment: `supported` (the hypothesis held), `not_supported` or
    `inconclusive`.
    """

    supported = "supported"
    not_supported = "not_supported"
    inconclusive = "inconclusive"


class ExperimentBase(SQLModel):
    project_id: StrictInt = Field(ge=1, le=MAX_ID, foreign_key="projects.id", index=True)
    title: str = Field(min_length=1, max_length=200)
    hypothesis: str = Field(min_length=1, max_length=5000)
    method: Method = Field(sa_type=enum_column(Method))
    status: ExperimentStatus = Field(
        default=ExperimentStatus.proposed, sa_type=enum_column(ExperimentStatus)
    )
    result: ExperimentResult | None = Field(
        default=None,
        sa_type=enum_column(ExperimentResult),
        description="Only when `status` is `completed`.",
    )
    lessons: str | None = Field(default=None, max_length=10000)
    started_on: date | None = None
    ended_on: date | None = Field(default=None, description="Not before `started_on`.")


def check_result(status: ExperimentStatus | None, result: ExperimentResult | None) -> None:
    if result is not None and status != ExperimentStatus.completed:
        raise CrossFieldError("result", "result is only allowed when status is completed")


_EXAMPLE: dict[str, Any] = {
    "project_id": 7,
    "title": "Pre-filled return, 500 sole traders",
    "hypothesis": "Pre-filling cuts filing time by a third",
    "method": "rct",
    "status": "completed",
    "result": "supported",
    "lessons": "Most time went into checking bank data, not typing.",
    "determinants": [{"determinant": "suitability", "effect": "enabler", "note": None}],
    "started_on": "2026-03-01",
    "ended_on": "2026-05-31",
}


class ExperimentCreate(ExperimentBase):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [_EXAMPLE]}}

    determinants: DeterminantList = []

    @model_validator(mode="after")
    def _rules(self) -> "ExperimentCreate":
        check_dates(self.started_on, self.ended_on)
        check_result(self.status, self.result)
        return self


class ExperimentUpdate(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"status": "completed", "result": "inconclusive", "lessons": "Sample too small."}
            ]
        },
    }

    project_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    hypothesis: str | None = Field(default=None, min_length=1, max_length=5000)
    method: Method | None = None
    status: ExperimentStatus | None = None
    result: ExperimentResult | None = None
    lessons: str | None = Field(default=None, max_length=10000)
    started_on: date | None = None
    ended_on: date | None = None
    determinants: DeterminantList | None = None


class Experiment(ExperimentBase, AuditedFields, table=True):
    __tablename__ = "experiments"
    __table_args__ = (
        # The reports join criteria and tags to live experiments and their unit: a narrow
        # index read instead of the whole table (bench/RESULTS.md).
        Index("ix_experiments_live_owner", "archived", "id", "project_id", "unit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A copy of the project's unit, kept in step by the project service.
    unit_id: int = Field(foreign_key="units.id", index=True)

    determinant_tags: list[DeterminantTag] = Relationship(
        sa_relationship_kwargs={
            "lazy": "raise",
            "cascade": "all, delete-orphan",
            "order_by": "DeterminantTag.id",
            "primaryjoin": "Experiment.id == DeterminantTag.experiment_id",
        }
    )


class ExperimentPublic(ExperimentBase, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **_EXAMPLE,
                    "id": 12,
                    "unit_id": 3,
                    "created_at": "2026-03-01T08:00:00Z",
                    "updated_at": "2026-06-01T08:00:00Z",
                    "version": 4,
                    "archived": False,
                }
            ]
        }
    }

    id: int
    unit_id: int = Field(description="The owning project's unit.")
    determinants: list[DeterminantTagPublic]
    created_at: datetime
    updated_at: datetime
    version: int
    archived: bool


class ExperimentsPage(Page[ExperimentPublic]):
    pass
