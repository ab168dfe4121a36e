from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import StrictInt, field_validator, model_validator
from sqlalchemy import Index, Numeric, String, text
from sqlmodel import Field, SQLModel

from app.core.contract import Money, ResponseModel
from app.core.db import MAX_ID, AuditedFields, check_dates, enum_column, today
from app.core.errors import CrossFieldError
from app.core.pagination import Page
from app.determinants.models import (
    DeterminantList,
    DeterminantTag,
    DeterminantTagPublic,
    tags_relationship,
)


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


class Comparison(StrEnum):
    """How the result is compared: `none`, `before_after` (the same group before and after),
    `comparison_group` (a group without the change) or `randomized` (groups assigned at
    random)."""
    none = "none"
    before_after = "before_after"
    comparison_group = "comparison_group"
    randomized = "randomized"


class RigourFeature(StrEnum):
    """A rigour feature that holds: `baseline` (an outcome criterion with a baseline),
    `comparison` (a comparison group or randomized), `randomized`, `preregistered` (plan
    written down on or before the start) or `independent` (evaluated by outsiders)."""
    baseline = "baseline"
    comparison = "comparison"
    randomized = "randomized"
    preregistered = "preregistered"
    independent = "independent"


# Statuses after which an experiment can be published (and is due for publication).
FINISHED_STATUSES = (ExperimentStatus.completed, ExperimentStatus.stopped)
# The rows of the partial index behind the overdue publications (SQL, for its WHERE).
DUE_PUBLICATION = text(
    "archived = false AND published_on IS NULL AND ended_on IS NOT NULL AND status IN ("
    + ", ".join(f"'{s.value}'" for s in FINISHED_STATUSES)
    + ")"
)
MAX_URL_LENGTH = 2000

DESCRIPTIONS = {
    "comparison": "What the results are compared with: `none`, `before_after` (the same "
    "group before and after), `comparison_group` (a group without the change) or "
    "`randomized` (groups assigned at random).",
    "sample_size": "How many people, cases or sites took part; 1 or more.",
    "preregistered_on": "When the hypothesis and analysis plan were written down. Counts as "
    "preregistered when on or before `started_on`.",
    "independent_evaluation": "Evaluated by someone outside the team.",
    "cost": "What the experiment cost, 2 decimals at most (same rules as a project's "
    "`budget`); counted as experimentation spend in the year it started.",
    "published_on": "When the result was published; not after today, and only when "
    "`status` is `completed` or `stopped`.",
    "publication_url": "Where the result is published: an http(s) URL.",
    "rigour": "How many of the `rigour_features` hold, 0 to 5. Computed, read-only.",
    "rigour_features": "The rigour features that hold, in this order: `baseline` (a "
    "non-archived outcome criterion with a baseline), `comparison` (`comparison` is "
    "`comparison_group` or `randomized`), `randomized` (`comparison` is `randomized`), "
    "`preregistered` (`preregistered_on` on or before `started_on`), `independent` "
    "(`independent_evaluation`). Computed, read-only.",
}


def check_publication_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http or https URL")
    return value


def check_published_on(value: date | None) -> date | None:
    if value is not None and value > today():
        raise ValueError("must not be after today (UTC)")
    return value


def check_publication(status: ExperimentStatus | None, published_on: date | None) -> None:
    if published_on is not None and status not in FINISHED_STATUSES:
        raise CrossFieldError(
            "published_on", "published_on is only allowed when status is completed or stopped"
        )


# An experiment's cost: the same input and output rules as a project's budget.
Cost = Annotated[Decimal, Money(max_digits=14)]


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
    comparison: Comparison = Field(
        default=Comparison.none,
        sa_type=enum_column(Comparison),
        description=DESCRIPTIONS["comparison"],
    )
    sample_size: int | None = Field(
        default=None, ge=1, le=MAX_ID, description=DESCRIPTIONS["sample_size"]
    )
    preregistered_on: date | None = Field(
        default=None, description=DESCRIPTIONS["preregistered_on"]
    )
    independent_evaluation: bool = Field(
        default=False, description=DESCRIPTIONS["independent_evaluation"]
    )
    # The same input and output rules as a project's `budget`.
    cost: Cost | None = Field(
        default=None,
        ge=0,
        max_digits=14,
        decimal_places=2,
        sa_type=Numeric(14, 2),
        description=DESCRIPTIONS["cost"],
    )
    published_on: date | None = Field(
        default=None, index=True, description=DESCRIPTIONS["published_on"]
    )
    publication_url: str | None = Field(
        default=None,
        max_length=MAX_URL_LENGTH,
        regex=r"^[Hh][Tt][Tt][Pp][Ss]?://",
        sa_type=String(MAX_URL_LENGTH),
        description=DESCRIPTIONS["publication_url"],
    )


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
    "comparison": "randomized",
    "sample_size": 500,
    "preregistered_on": "2026-02-15",
    "independent_evaluation": True,
    "cost": "42000.00",
    "published_on": "2026-07-15",
    "publication_url": "https://open.example.org/experiments/pre-filled-return",
}


class ExperimentCreate(ExperimentBase):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [_EXAMPLE]}}

    determinants: DeterminantList = []

    _published_on = field_validator("published_on")(check_published_on)
    _publication_url = field_validator("publication_url")(check_publication_url)

    @model_validator(mode="after")
    def _rules(self) -> "ExperimentCreate":
        check_dates(self.started_on, self.ended_on)
        check_result(self.status, self.result)
        check_publication(self.status, self.published_on)
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
    comparison: Comparison | None = Field(default=None, description=DESCRIPTIONS["comparison"])
    sample_size: int | None = Field(
        default=None, ge=1, le=MAX_ID, description=DESCRIPTIONS["sample_size"]
    )
    preregistered_on: date | None = Field(
        default=None, description=DESCRIPTIONS["preregistered_on"]
    )
    independent_evaluation: bool | None = Field(
        default=None, description=DESCRIPTIONS["independent_evaluation"]
    )
    cost: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, description=DESCRIPTIONS["cost"]
    )
    published_on: date | None = Field(default=None, description=DESCRIPTIONS["published_on"])
    publication_url: str | None = Field(
        default=None,
        max_length=MAX_URL_LENGTH,
        regex=r"^[Hh][Tt][Tt][Pp][Ss]?://",
        description=DESCRIPTIONS["publication_url"],
    )
    determinants: DeterminantList | None = None

    _published_on = field_validator("published_on")(check_published_on)
    _publication_url = field_validator("publication_url")(check_publication_url)


class Experiment(ExperimentBase, AuditedFields, table=True):
    __tablename__ = "experiments"
    __table_args__ = (
        # The reports join criteria and tags to live experiments and their unit: a narrow
        # index read instead of the whole table (bench/RESULTS.md).
        Index("ix_experiments_live_owner", "archived", "id", "project_id", "unit_id"),
        # The experimentation report's overdue list: the finished, unpublished ones in the
        # order it lists them, so it reads about a hundred entries, not every experiment.
        Index(
            "ix_experiments_due_publication",
            "ended_on",
            "id",
            postgresql_where=DUE_PUBLICATION,
            sqlite_where=DUE_PUBLICATION,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A copy of the project's unit, kept in step by the project service.
    unit_id: int = Field(foreign_key="units.id", index=True)

    determinant_tags: list[DeterminantTag] = tags_relationship("Experiment")


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
                    "rigour": 4,
                    "rigour_features": ["comparison", "randomized", "preregistered", "independent"],
                }
            ]
        }
    }

    id: int
    unit_id: int = Field(description="The owning project's unit.")
    determinants: list[DeterminantTagPublic]
    rigour: int = Field(ge=0, le=5, description=DESCRIPTIONS["rigour"])
    rigour_features: list[RigourFeature] = Field(description=DESCRIPTIONS["rigour_features"])
    created_at: datetime
    updated_at: datetime
    version: int
    archived: bool


class ExperimentsPage(Page[ExperimentPublic]):
    pass
