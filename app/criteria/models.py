from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator
from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.core.contract import ResponseModel
from app.core.db import AuditedFields, StrictFiniteFloat, UTCDateTime, enum_column, utcnow
from app.core.errors import CrossFieldError
from app.core.pagination import Page


class CriterionKind(StrEnum):
    """`outcome` (a change in the world, e.g. filing time), `output` (something produced),
    `activity` (something done).
    """

    outcome = "outcome"
    output = "output"
    activity = "activity"


class Direction(StrEnum):
    """`increase` (the target is above the baseline) or `decrease` (below)."""

    increase = "increase"
    decrease = "decrease"


class CriterionStatus(StrEnum):
    """`met` (the latest value reaches the target in its direction), `missed` (not met and
    `due_on` is before today, UTC), `pending` (otherwise).
    """

    met = "met"
    missed = "missed"
    pending = "pending"


def check_target(direction: Direction, baseline: float, target: float) -> None:
    if direction == Direction.increase and not target > baseline:
        raise CrossFieldError(
            "target", "target must be greater than baseline when direction is increase"
        )
    if direction == Direction.decrease and not target < baseline:
        raise CrossFieldError(
            "target", "target must be less than baseline when direction is decrease"
        )


def criterion_status(
    *,
    direction: Direction,
    target: float,
    latest_value: float | None,
    due_on: date | None,
    today: date,
) -> CriterionStatus:
    """met / missed / pending; reports compute the same rule in SQL (reports.queries)."""
    if latest_value is not None and (
        latest_value >= target if direction == Direction.increase else latest_value <= target
    ):
        return CriterionStatus.met
    if due_on is not None and due_on < today:
        return CriterionStatus.missed
    return CriterionStatus.pending


class CriterionBase(SQLModel):
    metric: str = Field(min_length=1, max_length=200)
    kind: CriterionKind = Field(
        sa_type=enum_column(CriterionKind),
        description=(
            "`outcome`: a change in the world (e.g. filing time); `output`: something produced; "
            "`activity`: something done."
        ),
    )
    unit_of_measure: str | None = Field(default=None, max_length=50)
    baseline: StrictFiniteFloat
    target: StrictFiniteFloat
    direction: Direction = Field(
        sa_type=enum_column(Direction),
        description=("`increase`: target must be above baseline; `decrease`: below."),
    )
    due_on: date | None = None


_EXAMPLE: dict[str, Any] = {
    "metric": "Median minutes to file a return",
    "kind": "outcome",
    "unit_of_measure": "minutes",
    "baseline": 95,
    "target": 60,
    "direction": "decrease",
    "due_on": "2026-12-31",
}


class CriterionCreate(CriterionBase):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [_EXAMPLE]}}

    @model_validator(mode="after")
    def _target(self) -> "CriterionCreate":
        check_target(self.direction, self.baseline, self.target)
        return self


class CriterionUpdate(SQLModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"target": 55}]}}

    metric: str | None = Field(default=None, min_length=1, max_length=200)
    kind: CriterionKind | None = None
    unit_of_measure: str | None = Field(default=None, max_length=50)
    baseline: StrictFiniteFloat | None = None
    target: StrictFiniteFloat | None = None
    direction: Direction | None = None
    due_on: date | None = None


class Criterion(CriterionBase, AuditedFields, table=True):
    __tablename__ = "criteria"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (experiment_id IS NULL)", name="one_owner"),
        # The outcomes report looks up live outcome criteria by owner (bench/RESULTS.md).
        Index("ix_criteria_kind_project", "kind", "archived", "project_id"),
        Index("ix_criteria_kind_experiment", "kind", "archived", "experiment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiments.id", index=True)
    # Kept by the measurement service so lists and reports need no per-criterion lookup.
    latest_value: float | None = None
    latest_measured_on: date | None = None


class CriterionPublic(CriterionBase, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **_EXAMPLE,
                    "id": 5,
                    "project_id": 7,
                    "experiment_id": None,
                    "latest_value": 58,
                    "latest_measured_on": "2026-06-30",
                    "status": "met",
                    "created_at": "2026-02-01T08:30:00Z",
                    "updated_at": "2026-02-01T08:30:00Z",
                    "version": 1,
                    "archived": False,
                }
            ]
        }
    }

    id: int
    project_id: int | None = Field(description="Set when the criterion is on a project.")
    experiment_id: int | None = Field(description="Set when the criterion is on an experiment.")
    latest_value: float | None = Field(
        description="Value of the measurement with the latest `measured_on`; null if none."
    )
    latest_measured_on: date | None
    status: CriterionStatus = Field(
        description=(
            "`met` when latest_value reaches the target in its direction, else `missed` when "
            "`due_on` is before today (UTC), else `pending`."
        )
    )
    created_at: datetime
    updated_at: datetime
    version: int
    archived: bool


class CriteriaPage(Page[CriterionPublic]):
    pass


class MeasurementBase(SQLModel):
    value: StrictFiniteFloat
    measured_on: date
    note: str | None = Field(default=None, max_length=2000)


class MeasurementCreate(MeasurementBase):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"value": 58, "measured_on": "2026-06-30", "note": "Pilot cohort, n=500"}]
        },
    }


class Measurement(MeasurementBase, table=True):
    __tablename__ = "measurements"

    id: int | None = Field(default=None, primary_key=True)
    criterion_id: int = Field(foreign_key="criteria.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MeasurementPublic(MeasurementBase, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "value": 58,
                    "measured_on": "2026-06-30",
                    "note": "Pilot cohort, n=500",
                    "id": 21,
                    "criterion_id": 5,
                    "created_at": "2026-07-01T09:00:00Z",
                }
            ]
        }
    }

    id: int
    criterion_id: int
    created_at: datetime


class MeasurementsPage(Page[MeasurementPublic]):
    pass
