from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, StrictInt, model_validator
from sqlalchemy import Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.contract import Money, ResponseModel
from app.core.db import MAX_ID, AuditedFields, check_dates, enum_column
from app.core.flags import FlagSet, unique_sorted
from app.core.pagination import Page
from app.determinants.models import (
    DeterminantList,
    DeterminantTag,
    DeterminantTagPublic,
    tags_relationship,
)


class SponsorLevel(StrEnum):
    """Who stands behind a project: `individual` (one champion), `organizational` (the
    organization's leadership), `system` (a government-wide mandate).
    """

    individual = "individual"
    organizational = "organizational"
    system = "system"


class WorkMode(StrEnum):
    """How the work is done: `side_of_desk` (on top of regular duties, no dedicated time or
    budget), `dedicated` (a team, lab or budget outside regular operations), `core_business`
    (carried by a business line as part of its regular operations and budget).
    """

    side_of_desk = "side_of_desk"
    dedicated = "dedicated"
    core_business = "core_business"


class Stage(StrEnum):
    """Where a project is: `idea`, `exploration`, `experiment`, `scaling`, `embedded` (became
    regular operations) or `stopped` (ended without being embedded).
    """

    idea = "idea"
    exploration = "exploration"
    experiment = "experiment"
    scaling = "scaling"
    embedded = "embedded"
    stopped = "stopped"


class Facet(StrEnum):
    """Portfolio facet: `enhancement` (improve what exists), `mission` (reach a set goal),
    `adaptive` (respond to a changing environment), `anticipatory` (prepare for possible
    futures).
    """

    enhancement = "enhancement"
    mission = "mission"
    adaptive = "adaptive"
    anticipatory = "anticipatory"


class RiskBand(StrEnum):
    """Band of a risk score (likelihood x impact): `low` (<= 6), `medium` (<= 12), `high` (>=
    15).
    """

    low = "low"
    medium = "medium"
    high = "high"


# --- the innovation barometer's questions (issue 16; README, "Barometer") ---------------


class Novelty(StrEnum):
    """Was it new: `first` (new, as far as we know), `adapted` (someone else's solution,
    changed) or `copied` (taken over largely as it was)."""
    first = "first"
    adapted = "adapted"
    copied = "copied"


class InnovationType(StrEnum):
    """What kind of innovation: `service`, `process`, `organisation`, `communication` or
    `policy`."""
    service = "service"
    process = "process"
    organisation = "organisation"
    communication = "communication"
    policy = "policy"


class Initiator(StrEnum):
    """Who took the initiative: `employees`, `managers`, `politicians`, `citizens`,
    `businesses` or `other`."""
    employees = "employees"
    managers = "managers"
    politicians = "politicians"
    citizens = "citizens"
    businesses = "businesses"
    other = "other"


class Collaborator(StrEnum):
    """Who it was done with: `citizens`, `businesses`, `research` (universities, institutes),
    `other_public` (other public workplaces) or `civil_society`."""
    citizens = "citizens"
    businesses = "businesses"
    research = "research"
    other_public = "other_public"
    civil_society = "civil_society"


class ValueType(StrEnum):
    """The value it created: `quality`, `efficiency`, `citizen_involvement`,
    `employee_satisfaction` or `political_goals`."""
    quality = "quality"
    efficiency = "efficiency"
    citizen_involvement = "citizen_involvement"
    employee_satisfaction = "employee_satisfaction"
    political_goals = "political_goals"


class Evaluation(StrEnum):
    """Was its effect evaluated: `none`, `internal` (by the organisation itself) or
    `external` (by someone outside)."""
    none = "none"
    internal = "internal"
    external = "external"


# The stored bit of each set value: the enum's order, fixed in these three lines.
INNOVATION_TYPES = FlagSet(InnovationType)
COLLABORATORS = FlagSet(Collaborator)
VALUE_TYPES = FlagSet(ValueType)
# Public set field -> (its flags, the integer column that stores them).
SETS: dict[str, tuple[FlagSet[Any], str]] = {
    "innovation_types": (INNOVATION_TYPES, "innovation_types_mask"),
    "collaborators": (COLLABORATORS, "collaborators_mask"),
    "value_types": (VALUE_TYPES, "value_types_mask"),
}
# A novelty that may name the project it came from.
ADOPTING = (Novelty.adapted, Novelty.copied)


def risk_band(score: int) -> RiskBand:
    # Products of two 1-5 ratings never fall on 13 or 14, so "> 12" is "high (>= 15)".
    if score <= 6:
        return RiskBand.low
    if score <= 12:
        return RiskBand.medium
    return RiskBand.high


# Amounts: a number or a decimal string in, a decimal string out (app.core.contract.Money).
Budget = Annotated[Decimal, Money(max_digits=14)]
Fte = Annotated[Decimal, Money(max_digits=8, example="2.50")]

_DESC = {
    "sponsor_level": "Who stands behind it: `individual` (one champion), `organizational` "
    "(the organization's leadership) or `system` (a government-wide mandate).",
    "work_mode": "`side_of_desk` (on top of regular duties, no dedicated time or budget), "
    "`dedicated` (a team, lab or budget outside regular operations) or `core_business` "
    "(carried by a business line as part of its regular operations and budget).",
    "facet": "Portfolio facet: `enhancement`, `mission`, `adaptive` or `anticipatory`.",
    "stage": "`idea`, `exploration`, `experiment`, `scaling` (the three active stages are "
    "the middle ones), `embedded` (adopted into regular operations) or `stopped`.",
    "effective_on": "The date (UTC calendar date) the change took effect; default today, "
    "never after today. Request only: the history entry of the change records it.",
    "stage_since": "When the project entered its current stage: the `from` of the earliest "
    "period of the unbroken run of periods, ending with the last, that share the current "
    "stage (a change of work mode, sponsor level or unit does not reset it).",
    "novelty": "Was it new? `first` (new, as far as we know), `adapted` (inspired by "
    "someone else's solution and changed), `copied` (taken over largely as it was); null: "
    "not known.",
    "adopted_from": "The project this one adapted or copied (requires `novelty` `adapted` "
    "or `copied`); null: none or not in the register. Must be readable by the caller, not "
    "archived, and not this project or one adopted from it (no cycles).",
    "innovation_types": "What kind of innovation, a set without duplicates returned in this "
    "order: `service` (a new or changed service), `process` (how the work is done), "
    "`organisation` (how it is organised or managed), `communication` (how the organisation "
    "communicates with citizens and others), `policy` (a new policy or regulation).",
    "initiated_by": "Who took the initiative: `employees`, `managers`, `politicians`, "
    "`citizens`, `businesses` or `other`; null: not known.",
    "collaborators": "Who it was done with, a set without duplicates returned in this "
    "order: `citizens`, `businesses`, `research` (universities, research institutes), "
    "`other_public` (other public workplaces), `civil_society` (associations, volunteers).",
    "value_types": "The value it created or is meant to create, a set without duplicates "
    "returned in this order: `quality`, `efficiency`, `citizen_involvement`, "
    "`employee_satisfaction`, `political_goals` (helped reach political goals).",
    "evaluation": "Was its effect evaluated: `none`, `internal` (by the organisation "
    "itself), `external` (by someone outside); null: not yet known.",
    "embedded_on": "When it became part of regular operations: set when the stage becomes "
    "`embedded` (by default the date of that change), may be given explicitly (not after "
    "today, UTC), only for a project in stage `embedded`; cleared when it leaves `embedded`.",
}

# The attributes a project's timeline tracks (`ProjectPeriod`): a change to any of them,
# effective on a date, ends the last period and begins a new one.
TRACKED = ("stage", "work_mode", "sponsor_level", "unit_id")

InnovationTypes = Annotated[list[InnovationType], AfterValidator(unique_sorted(InnovationType))]
Collaborators = Annotated[list[Collaborator], AfterValidator(unique_sorted(Collaborator))]
ValueTypes = Annotated[list[ValueType], AfterValidator(unique_sorted(ValueType))]


class RiskIn(SQLModel):
    model_config = {"extra": "forbid"}

    likelihood: StrictInt = Field(ge=1, le=5, description="1 (rare) to 5 (almost certain).")
    impact: StrictInt = Field(ge=1, le=5, description="1 (minor) to 5 (severe).")
    risk_of_not_innovating: StrictInt = Field(
        ge=1, le=5, description="How dangerous doing nothing is, 1 to 5."
    )
    mitigation: str | None = Field(default=None, max_length=2000)


class RiskPublic(RiskIn, ResponseModel):
    score: int = Field(description="likelihood x impact")
    band: RiskBand = Field(description="`low` (score <= 6), `medium` (<= 12), `high` (>= 15)")


class ProjectBase(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)
    unit_id: StrictInt = Field(
        ge=1, le=MAX_ID, foreign_key="units.id", index=True, description="Owning unit."
    )
    sponsor_level: SponsorLevel = Field(
        sa_type=enum_column(SponsorLevel), description=_DESC["sponsor_level"]
    )
    sponsor: str | None = Field(default=None, max_length=200, description="Name or title.")
    work_mode: WorkMode = Field(sa_type=enum_column(WorkMode), description=_DESC["work_mode"])
    stage: Stage = Field(default=Stage.idea, sa_type=enum_column(Stage), description=_DESC["stage"])
    facet: Facet | None = Field(
        default=None, sa_type=enum_column(Facet), description=_DESC["facet"]
    )
    budget: Budget | None = Field(default=None, sa_type=Numeric(14, 2))
    fte: Fte | None = Field(
        default=None, sa_type=Numeric(8, 2), description="Full-time equivalents."
    )
    started_on: date | None = None
    ended_on: date | None = Field(default=None, description="Not before `started_on`.")
    novelty: Novelty | None = Field(
        default=None, sa_type=enum_column(Novelty), description=_DESC["novelty"]
    )
    adopted_from: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        foreign_key="projects.id",
        index=True,
        description=_DESC["adopted_from"],
    )
    initiated_by: Initiator | None = Field(
        default=None, sa_type=enum_column(Initiator), description=_DESC["initiated_by"]
    )
    evaluation: Evaluation | None = Field(
        default=None, sa_type=enum_column(Evaluation), description=_DESC["evaluation"]
    )
    embedded_on: date | None = Field(default=None, description=_DESC["embedded_on"])


class ProjectSets(SQLModel):
    """The set fields of the API; the table stores each as a bitmask (`SETS`)."""

    innovation_types: InnovationTypes = Field(
        default=[], description=_DESC["innovation_types"], max_length=len(InnovationType)
    )
    collaborators: Collaborators = Field(
        default=[], description=_DESC["collaborators"], max_length=len(Collaborator)
    )
    value_types: ValueTypes = Field(
        default=[], description=_DESC["value_types"], max_length=len(ValueType)
    )


_EXAMPLE: dict[str, Any] = {
    "title": "Pre-filled tax returns for sole traders",
    "summary": "Use last year's data to pre-fill returns.",
    "unit_id": 3,
    "sponsor_level": "organizational",
    "sponsor": "Deputy Minister",
    "work_mode": "core_business",
    "stage": "experiment",
    "facet": "enhancement",
    "risk": {
        "likelihood": 2,
        "impact": 4,
        "risk_of_not_innovating": 4,
        "mitigation": "Opt-out for every taxpayer",
    },
    "determinants": [
        {"determinant": "parity", "effect": "barrier", "note": "Competes with service targets"}
    ],
    "budget": 250000.0,
    "fte": 2.5,
    "started_on": "2026-02-01",
    "ended_on": None,
    "novelty": "adapted",
    "adopted_from": 4,
    "initiated_by": "employees",
    "evaluation": "internal",
    "embedded_on": None,
    "innovation_types": ["service", "process"],
    "collaborators": ["citizens", "other_public"],
    "value_types": ["quality", "efficiency"],
}


class ProjectCreate(ProjectSets, ProjectBase):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{**_EXAMPLE, "effective_on": "2026-02-01"}]},
    }

    risk: RiskIn | None = None
    determinants: DeterminantList = []
    effective_on: date | None = Field(
        default=None,
        description="The `from` of the project's first period: the date it began in the "
        "given stage, work mode, sponsor level and unit. " + _DESC["effective_on"],
        schema_extra={"examples": ["2026-02-01"]},
    )

    @model_validator(mode="after")
    def _dates(self) -> "ProjectCreate":
        check_dates(self.started_on, self.ended_on)
        return self


class ProjectUpdate(SQLModel):
    """Every field optional; `risk` and `determinants` replace the stored value whole."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"stage": "scaling", "work_mode": "core_business", "effective_on": "2026-03-03"},
                {
                    "stage": "embedded",
                    "embedded_on": "2026-03-01",
                    "novelty": "copied",
                    "adopted_from": 4,
                    "evaluation": "external",
                    "value_types": ["quality", "efficiency"],
                },
            ]
        },
    }

    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)
    unit_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)
    sponsor_level: SponsorLevel | None = None
    sponsor: str | None = Field(default=None, max_length=200)
    work_mode: WorkMode | None = None
    stage: Stage | None = None
    facet: Facet | None = None
    budget: Budget | None = None
    fte: Fte | None = None
    started_on: date | None = None
    ended_on: date | None = None
    novelty: Novelty | None = None
    adopted_from: int | None = Field(default=None, ge=1, le=MAX_ID)
    initiated_by: Initiator | None = None
    evaluation: Evaluation | None = None
    embedded_on: date | None = None
    innovation_types: InnovationTypes | None = Field(default=None, max_length=len(InnovationType))
    collaborators: Collaborators | None = Field(default=None, max_length=len(Collaborator))
    value_types: ValueTypes | None = Field(default=None, max_length=len(ValueType))
    risk: RiskIn | None = None
    determinants: DeterminantList | None = None
    effective_on: date | None = Field(
        default=None,
        description="When the change of `stage`, `work_mode`, `sponsor_level` or `unit_id` "
        "took effect: not before the `from` of the project's last period (on that date the "
        "last period is corrected in place; after it a new period begins). Validated but "
        "without effect when no tracked value changes. " + _DESC["effective_on"],
        schema_extra={"examples": ["2026-03-03"]},
    )


class Project(ProjectBase, AuditedFields, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        # Covers the spread report: active projects by unit, work mode and sponsor level
        # come from this index alone (bench/RESULTS.md has the plans).
        Index("ix_projects_spread", "stage", "archived", "unit_id", "work_mode", "sponsor_level"),
        # The barometer report's innovations: embedded within a window.
        Index("ix_projects_embedded_on", "embedded_on"),
        # The flow report's stalled projects per unit today: an index range per stage of
        # those in it since before the stage's limit (migration 0014).
        Index(
            "ix_projects_stalled",
            "stage",
            "stage_since",
            "unit_id",
            postgresql_where=text("NOT archived"),
            sqlite_where=text("NOT archived"),
        ),
        # The archived projects' ids alone, index-only: the flow report leaves out their
        # periods (an anti-join) where joining the live ones read them all (migration 0016).
        Index(
            "ix_projects_archived_ids",
            "id",
            postgresql_where=text("archived"),
            sqlite_where=text("archived"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Kept on the row when the timeline changes (it does not depend on today), so lists
    # filter on it with an index (`stage_since_before`) and pages read it like any column.
    stage_since: date = Field(index=True)
    risk_likelihood: int | None = None
    risk_impact: int | None = None
    risk_of_not_innovating: int | None = None
    risk_mitigation: str | None = Field(default=None, max_length=2000)
    risk_score: int | None = None
    risk_band: RiskBand | None = Field(default=None, sa_type=enum_column(RiskBand))
    innovation_types_mask: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    collaborators_mask: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    value_types_mask: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    determinant_tags: list[DeterminantTag] = tags_relationship("Project")


_STAGE_CHANGE = text("prev_stage IS NOT NULL AND prev_stage <> stage")


class ProjectPeriod(SQLModel, table=True):
    """One period of a project's timeline: the tracked values from `valid_from` until
    `valid_to` (exclusive; the next period's `valid_from`, null for the last period).

    The project row holds the last period's values, so every query about today reads the
    projects table alone; queries about another date read this table.
    """

    __tablename__ = "project_periods"
    __table_args__ = (
        # One period per project and start date; also the index of "the period of project
        # P containing date D" (the last one with valid_from <= D).
        UniqueConstraint("project_id", "valid_from"),
        # The periods starting or ending in a month, for a trends point that is not a month
        # end (app.reports.timeline_summaries keeps whole months).
        Index("ix_project_periods_valid_from", "valid_from"),
        Index("ix_project_periods_valid_to", "valid_to"),
        # The periods that change a project's stage, by start, with what a completed stay
        # needs: the flow report's window edges as index-only ranges (migration 0016).
        Index(
            "ix_project_periods_stage_changes",
            "valid_from",
            postgresql_include=["project_id", "prev_stage", "prev_stage_since", "stage"],
            postgresql_where=_STAGE_CHANGE,
            sqlite_where=_STAGE_CHANGE,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    valid_from: date
    valid_to: date | None = None
    stage: Stage = Field(sa_type=enum_column(Stage))
    work_mode: WorkMode = Field(sa_type=enum_column(WorkMode))
    sponsor_level: SponsorLevel = Field(sa_type=enum_column(SponsorLevel))
    unit_id: int = Field(foreign_key="units.id", index=True)
    # The run columns (migration 0013), fixed when the period is written from the periods
    # before it: the previous period's stage (null for a project's first), the `from` of
    # the earliest period of the unbroken run of this period's stage up to this one, and the
    # previous period's. The flow report reads them instead of window functions over every
    # period. A period only ever follows the last one (or corrects it in place), so no
    # write changes the periods before it, and nothing here depends on today.
    prev_stage: Stage | None = Field(default=None, sa_type=enum_column(Stage))
    stage_since: date
    prev_stage_since: date | None = None


# A closed period; the timeline's example shows it followed by the open one.
_PERIOD_EXAMPLE: dict[str, Any] = {
    "from": "2026-02-01",
    "to": "2026-03-03",
    "stage": "experiment",
    "work_mode": "dedicated",
    "sponsor_level": "organizational",
    "unit_id": 3,
}


class PeriodPublic(SQLModel, ResponseModel):
    model_config = {"populate_by_name": True, "json_schema_extra": {"examples": [_PERIOD_EXAMPLE]}}

    from_: date = Field(
        alias="from",
        description="First day of the period.",
        schema_extra={"examples": ["2026-02-01"]},
    )
    to: date | None = Field(
        description="The next period's `from` (the period ends the day before); null for "
        "the last period, which is open.",
        schema_extra={"examples": ["2026-03-03"]},
    )
    stage: Stage = Field(description=_DESC["stage"])
    work_mode: WorkMode = Field(description=_DESC["work_mode"])
    sponsor_level: SponsorLevel = Field(description=_DESC["sponsor_level"])
    unit_id: int = Field(
        description="Owning unit during the period.", schema_extra={"examples": [3]}
    )


class ProjectTimeline(SQLModel, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "project_id": 7,
                    "periods": [
                        _PERIOD_EXAMPLE,
                        {
                            "from": "2026-03-03",
                            "to": None,
                            "stage": "scaling",
                            "work_mode": "core_business",
                            "sponsor_level": "organizational",
                            "unit_id": 3,
                        },
                    ],
                }
            ]
        }
    }

    project_id: int = Field(description="The project.", schema_extra={"examples": [7]})
    periods: list[PeriodPublic] = Field(
        description="The project's periods, oldest first; each begins where the previous "
        "one ends. Neighbouring periods may hold equal values (a correction can make them "
        "so); only a change of `stage` is a stage transition."
    )


class ProjectPublic(ProjectSets, ProjectBase, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **_EXAMPLE,
                    "id": 7,
                    "risk": {**_EXAMPLE["risk"], "score": 8, "band": "medium"},
                    "budget": "250000.00",
                    "fte": "2.50",
                    "created_at": "2026-02-01T08:30:00Z",
                    "updated_at": "2026-03-02T10:15:00Z",
                    "version": 3,
                    "archived": False,
                    "stage_since": "2026-02-01",
                }
            ]
        }
    }

    id: int
    stage_since: date = Field(
        description=_DESC["stage_since"], schema_extra={"examples": ["2026-02-01"]}
    )
    risk: RiskPublic | None
    determinants: list[DeterminantTagPublic]
    created_at: datetime
    updated_at: datetime
    version: int
    archived: bool


class ProjectsPage(Page[ProjectPublic]):
    pass


class LineageItem(SQLModel, ResponseModel):
    project_id: int = Field(description="The project.")
    title: str = Field(max_length=200)
    unit_id: int = Field(description="Its owning unit.")
    novelty: Novelty | None = Field(description=_DESC["novelty"])
    stage: Stage
    archived: bool = Field(description="Archived projects keep their links.")
    depth: int = Field(
        ge=1,
        description="Links away from the project asked about: 1 is its direct source "
        "(ancestors) or a direct adopter (descendants). A gap means a project in between "
        "is not readable by the caller.",
    )


class Lineage(SQLModel, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ancestors": [
                        {
                            "project_id": 4,
                            "title": "Chatbot for parking permits",
                            "unit_id": 12,
                            "novelty": "first",
                            "stage": "embedded",
                            "archived": False,
                            "depth": 1,
                        }
                    ],
                    "descendants": [
                        {
                            "project_id": 19,
                            "title": "Chatbot for building permits",
                            "unit_id": 31,
                            "novelty": "copied",
                            "stage": "experiment",
                            "archived": False,
                            "depth": 1,
                        },
                        {
                            "project_id": 27,
                            "title": "Chatbot for business licences",
                            "unit_id": 8,
                            "novelty": "adapted",
                            "stage": "idea",
                            "archived": False,
                            "depth": 2,
                        },
                    ],
                }
            ]
        }
    }

    ancestors: list[LineageItem] = Field(
        description="The chain through `adopted_from`, nearest first (depth 1, 2, ...)."
    )
    descendants: list[LineageItem] = Field(
        description="Every project adapted or copied from it, directly or further on, by "
        "depth then id."
    )
