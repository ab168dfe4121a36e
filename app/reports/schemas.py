"""Response models of the four reports (not tables)."""

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.determinants.models import Determinant
from app.reports.guide import GUIDE
from app.units.models import UnitKind

Share = Field(ge=0, le=1, description="A fraction in [0, 1]; null when its denominator is 0.")
SCOPE_DESCRIPTION = (
    "Root of the unit subtree the report covers (the `unit_id` asked for, or a submitter "
    "key's own unit); null for the whole organization."
)


class Thresholds(BaseModel):
    min_active_projects: int = Field(
        description="Below this many active projects the spread verdict is `insufficient_data`."
    )
    share_threshold: float = Field(
        description="A share at or above this (or a coverage below it) crosses a threshold."
    )


class FindingCode(StrEnum):
    few_active_projects = "few_active_projects"
    side_of_desk = "side_of_desk"
    low_business_line_coverage = "low_business_line_coverage"
    lab_concentration = "lab_concentration"
    reliance_on_individuals = "reliance_on_individuals"
    activity_based = "activity_based"
    low_evaluation = "low_evaluation"
    little_reuse = "little_reuse"


class Finding(BaseModel):
    code: FindingCode = Field(description="Which threshold was crossed.")
    message: str = Field(
        max_length=1000, description="A plain sentence for a director, with what to do about it."
    )
    value: int | float = Field(description="The measured count or share.")
    threshold: int | float = Field(description="The threshold it crossed.")


# --- spread ---------------------------------------------------------------------------


class WorkModeCounts(BaseModel):
    side_of_desk: int
    dedicated: int
    core_business: int


class SponsorLevelCounts(BaseModel):
    individual: int
    organizational: int
    system: int


class SpreadVerdict(StrEnum):
    insufficient_data = "insufficient_data"
    side_of_desk = "side_of_desk"
    concentrated = "concentrated"
    spread = "spread"
    mixed = "mixed"


class UnitSpreadStatus(StrEnum):
    none = "none"
    side_of_desk = "side_of_desk"
    embedded = "embedded"
    mixed = "mixed"


class UnitRow(BaseModel):
    """Which unit a per-unit row is about."""

    unit_id: int
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    kind: UnitKind
    parent_id: int | None


class UnitSpread(UnitRow):
    active_projects: int = Field(
        description="Active projects this unit owns itself (not its descendants')."
    )
    by_work_mode: WorkModeCounts
    status: UnitSpreadStatus = Field(
        description="The first that matches: `none` (no active project), `side_of_desk` "
        "(side-of-desk share >= threshold), `embedded` (core-business share >= threshold), "
        "`mixed`."
    )


SPREAD_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "thresholds": {"min_active_projects": 5, "share_threshold": 0.5},
    "active_projects": 12,
    "by_work_mode": {"side_of_desk": 3, "dedicated": 4, "core_business": 5},
    "by_sponsor_level": {"individual": 6, "organizational": 4, "system": 2},
    "side_of_desk_share": 0.25,
    "core_business_share": 0.4167,
    "individual_sponsor_share": 0.5,
    "business_lines": 4,
    "business_lines_with_innovation": 3,
    "business_line_coverage": 0.75,
    "lab_share": 0.25,
    "verdict": "mixed",
    "findings": [
        {
            "code": "reliance_on_individuals",
            "message": "6 of the 12 active projects (50%) hang on a single individual sponsor. "
            "Leadership can give them organizational or system-level sponsors, so they "
            "survive when that person moves on.",
            "value": 0.5,
            "threshold": 0.5,
        }
    ],
    "units": [
        {
            "unit_id": 3,
            "code": "TAX-OPS",
            "name": "Tax operations",
            "kind": "business_line",
            "parent_id": 1,
            "active_projects": 5,
            "by_work_mode": {"side_of_desk": 1, "dedicated": 0, "core_business": 4},
            "status": "embedded",
        },
        {
            "unit_id": 4,
            "code": "LAB",
            "name": "Innovation lab",
            "kind": "innovation_lab",
            "parent_id": 1,
            "active_projects": 3,
            "by_work_mode": {"side_of_desk": 0, "dedicated": 3, "core_business": 0},
            "status": "mixed",
        },
    ],
}


class SpreadReport(BaseModel):
    """Is innovation spread across the core business or stuck as side-of-desk work?"""

    model_config = {"json_schema_extra": {"examples": [SPREAD_EXAMPLE]}}

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)
    thresholds: Thresholds
    active_projects: int = Field(
        description="Non-archived projects in stage `exploration`, `experiment` or `scaling`."
    )
    by_work_mode: WorkModeCounts = Field(description="Active projects by work mode.")
    by_sponsor_level: SponsorLevelCounts = Field(description="Active projects by sponsor level.")
    side_of_desk_share: float | None = Share
    core_business_share: float | None = Share
    individual_sponsor_share: float | None = Share
    business_lines: int = Field(description="Non-archived units of kind `business_line` in scope.")
    business_lines_with_innovation: int = Field(
        description="Business lines that own at least one active project."
    )
    business_line_coverage: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="business_lines_with_innovation / business_lines; null without business lines.",
    )
    lab_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Active projects owned by `innovation_lab` units, over active projects.",
    )
    verdict: SpreadVerdict = Field(
        description="The first rule that matches: `insufficient_data` (active projects below "
        "`min_active_projects`), `side_of_desk` (side-of-desk share >= threshold), "
        "`concentrated` (business-line coverage below the threshold, or lab share >= "
        "threshold), `spread` (core-business share >= threshold and individual-sponsor share "
        "below it), `mixed`."
    )
    findings: list[Finding] = Field(description="One entry per threshold crossed.")
    units: list[UnitSpread] = Field(description="One row per non-archived unit in scope.")


# --- portfolio --------------------------------------------------------------------------


class StageCounts(BaseModel):
    idea: int
    exploration: int
    experiment: int
    scaling: int
    embedded: int
    stopped: int


class FacetCounts(BaseModel):
    enhancement: int
    mission: int
    adaptive: int
    anticipatory: int
    unspecified: int = Field(description="No facet recorded.")


class RiskBandCounts(BaseModel):
    low: int
    medium: int
    high: int
    unspecified: int = Field(description="No risk profile recorded.")


class FacetByRiskBand(BaseModel):
    enhancement: RiskBandCounts
    mission: RiskBandCounts
    adaptive: RiskBandCounts
    anticipatory: RiskBandCounts
    unspecified: RiskBandCounts


class ExperimentStatusCounts(BaseModel):
    proposed: int
    running: int
    completed: int
    stopped: int


class MethodCounts(BaseModel):
    rct: int
    ab_test: int
    pilot: int
    prototype: int
    simulation: int
    other: int


class ResultCounts(BaseModel):
    supported: int
    not_supported: int
    inconclusive: int


class FunnelStep(BaseModel):
    from_stage: str = Field(max_length=32)
    to_stage: str = Field(max_length=32)
    reached_from: int = Field(description="Projects now at `from_stage` or further along.")
    reached_to: int = Field(description="Projects now at `to_stage` or further along.")
    conversion: float | None = Field(
        default=None, ge=0, le=1, description="reached_to / reached_from; null when 0."
    )


def _risk_bands(low: int, medium: int, high: int, unspecified: int) -> dict[str, int]:
    return {"low": low, "medium": medium, "high": high, "unspecified": unspecified}


PORTFOLIO_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "projects": 20,
    "by_stage": {
        "idea": 4,
        "exploration": 5,
        "experiment": 4,
        "scaling": 3,
        "embedded": 2,
        "stopped": 2,
    },
    "by_facet": {
        "enhancement": 9,
        "mission": 4,
        "adaptive": 3,
        "anticipatory": 2,
        "unspecified": 2,
    },
    "by_risk_band": _risk_bands(6, 6, 4, 4),
    "by_sponsor_level": {"individual": 7, "organizational": 10, "system": 3},
    "by_work_mode": {"side_of_desk": 6, "dedicated": 5, "core_business": 9},
    "facet_by_risk_band": {
        "enhancement": _risk_bands(4, 3, 1, 1),
        "mission": _risk_bands(1, 1, 2, 0),
        "adaptive": _risk_bands(1, 1, 1, 0),
        "anticipatory": _risk_bands(0, 1, 0, 1),
        "unspecified": _risk_bands(0, 0, 0, 2),
    },
    "experiments": 11,
    "experiments_by_status": {"proposed": 2, "running": 4, "completed": 4, "stopped": 1},
    "experiments_by_method": {
        "rct": 2,
        "ab_test": 3,
        "pilot": 4,
        "prototype": 1,
        "simulation": 0,
        "other": 1,
    },
    "experiments_by_result": {"supported": 2, "not_supported": 1, "inconclusive": 1},
    "funnel": [
        {
            "from_stage": "idea",
            "to_stage": "exploration",
            "reached_from": 18,
            "reached_to": 14,
            "conversion": 0.7778,
        },
        {
            "from_stage": "exploration",
            "to_stage": "experiment",
            "reached_from": 14,
            "reached_to": 9,
            "conversion": 0.6429,
        },
        {
            "from_stage": "experiment",
            "to_stage": "scaling",
            "reached_from": 9,
            "reached_to": 5,
            "conversion": 0.5556,
        },
        {
            "from_stage": "scaling",
            "to_stage": "embedded",
            "reached_from": 5,
            "reached_to": 2,
            "conversion": 0.4,
        },
    ],
    "embedded": 2,
    "stopped": 2,
    "adoption_share": 0.5,
    "high_risk": 4,
    "high_risk_justified": 3,
    "without_risk_profile": 2,
}


class PortfolioReport(BaseModel):
    """Balance of the portfolio: stages, facets, risk, sponsors, work modes, experiments."""

    model_config = {"json_schema_extra": {"examples": [PORTFOLIO_EXAMPLE]}}

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)
    projects: int = Field(description="Non-archived projects in scope, every stage.")
    by_stage: StageCounts
    by_facet: FacetCounts
    by_risk_band: RiskBandCounts
    by_sponsor_level: SponsorLevelCounts
    by_work_mode: WorkModeCounts
    facet_by_risk_band: FacetByRiskBand = Field(description="Projects by facet, then risk band.")
    experiments: int = Field(description="Non-archived experiments of non-archived projects.")
    experiments_by_status: ExperimentStatusCounts
    experiments_by_method: MethodCounts
    experiments_by_result: ResultCounts
    funnel: list[FunnelStep] = Field(
        description="From each stage of the path idea > exploration > experiment > scaling > "
        "embedded to the next. A project counts as having reached every stage up to its "
        "current one; stopped projects are left out (the record does not say how far they got)."
    )
    embedded: int = Field(description="Projects whose result became regular operations.")
    stopped: int = Field(description="Projects stopped before being embedded.")
    adoption_share: float | None = Field(
        default=None, ge=0, le=1, description="embedded / (embedded + stopped)."
    )
    high_risk: int = Field(description="Projects in risk band `high`.")
    high_risk_justified: int = Field(
        description="High-risk projects whose `risk_of_not_innovating` is 4 or 5: doing nothing "
        "was judged at least as dangerous."
    )
    without_risk_profile: int = Field(description="Projects past `idea` with no risk recorded.")


# --- outcomes ---------------------------------------------------------------------------


class StatusCounts(BaseModel):
    met: int
    missed: int
    pending: int


class CriteriaByKind(BaseModel):
    outcome: StatusCounts
    output: StatusCounts
    activity: StatusCounts


OUTCOMES_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "thresholds": {"min_active_projects": 5, "share_threshold": 0.5},
    "projects": 16,
    "projects_with_outcome_criteria": 6,
    "outcome_based_share": 0.375,
    "criteria": {
        "outcome": {"met": 3, "missed": 1, "pending": 4},
        "output": {"met": 5, "missed": 2, "pending": 3},
        "activity": {"met": 9, "missed": 0, "pending": 2},
    },
    "experiments_completed": 4,
    "experiments_with_lessons": 3,
    "results": {"supported": 2, "not_supported": 1, "inconclusive": 1},
    "findings": [
        {
            "code": "activity_based",
            "message": "Only 6 of the 16 projects past the idea stage (38%) have an outcome "
            "criterion; the others are judged by what they produce or do, not by what changes. "
            "Leadership can ask every project to name the change it aims for and how it will be "
            "measured, and review progress against those outcomes.",
            "value": 0.375,
            "threshold": 0.5,
        }
    ],
}


class OutcomesReport(BaseModel):
    """Is the portfolio outcome-based or activity-based?"""

    model_config = {"json_schema_extra": {"examples": [OUTCOMES_EXAMPLE]}}

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)
    thresholds: Thresholds
    projects: int = Field(description="Non-archived projects past `idea`.")
    projects_with_outcome_criteria: int = Field(
        description="Of those, projects with a non-archived criterion of kind `outcome` on the "
        "project or on one of its non-archived experiments."
    )
    outcome_based_share: float | None = Field(
        default=None, ge=0, le=1, description="projects_with_outcome_criteria / projects."
    )
    criteria: CriteriaByKind = Field(
        description="Non-archived criteria of non-archived projects and experiments, by kind "
        "and status (`met`, `missed`, `pending`, as on each criterion, today in UTC)."
    )
    experiments_completed: int
    experiments_with_lessons: int = Field(description="Completed with non-empty `lessons`.")
    results: ResultCounts = Field(description="Completed experiments by result.")
    findings: list[Finding] = Field(
        description="`activity_based` when outcome_based_share is below the threshold."
    )


# --- determinants -----------------------------------------------------------------------


class DeterminantSummary(BaseModel):
    determinant: Determinant
    enablers: int = Field(description="Tags marking it an enabler.")
    barriers: int = Field(description="Tags marking it a barrier.")
    prompt: str = Field(max_length=500, description="The question this determinant asks.")
    levers: list[str] = Field(
        min_length=3, max_length=5, description="What leadership can do about it."
    )


class DeterminantCounts(BaseModel):
    clarity: int
    parity: int
    suitability: int
    normality: int


class UnitBarriers(UnitRow):
    barriers: DeterminantCounts = Field(
        description="Barrier tags on the projects and experiments this unit owns itself."
    )


_EXAMPLE_TAGS = {"clarity": (5, 2), "parity": (1, 6), "suitability": (3, 3), "normality": (2, 6)}
DETERMINANTS_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "determinants": [
        {
            "determinant": determinant.value,
            "enablers": _EXAMPLE_TAGS[determinant.value][0],
            "barriers": _EXAMPLE_TAGS[determinant.value][1],
            "prompt": guide.prompt,
            "levers": guide.levers,
        }
        for determinant, guide in GUIDE.items()
    ],
    "weakest": "parity",
    "units": [
        {
            "unit_id": 3,
            "code": "TAX-OPS",
            "name": "Tax operations",
            "kind": "business_line",
            "parent_id": 1,
            "barriers": {"clarity": 1, "parity": 4, "suitability": 1, "normality": 3},
        }
    ],
}


class DeterminantsReport(BaseModel):
    """The four determinants: where innovation is helped and where it is held back."""

    model_config = {"json_schema_extra": {"examples": [DETERMINANTS_EXAMPLE]}}

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)
    determinants: list[DeterminantSummary] = Field(
        description="Always all four, in the order clarity, parity, suitability, normality. "
        "Tags count across non-archived projects and experiments (of non-archived projects)."
    )
    weakest: Determinant | None = Field(
        description="The determinant with the most barriers (ties: the first in the order "
        "above); null when there are no barriers."
    )
    units: list[UnitBarriers] = Field(
        description="Barrier counts per non-archived unit in scope, for a heat map."
    )


# --- barometer --------------------------------------------------------------------------


class NoveltyCounts(BaseModel):
    first: int
    adapted: int
    copied: int
    unknown: int = Field(description="Novelty not recorded.")


class InitiatorCounts(BaseModel):
    employees: int
    managers: int
    politicians: int
    citizens: int
    businesses: int
    other: int
    unknown: int = Field(description="Initiator not recorded.")


class InnovationTypeCounts(BaseModel):
    service: int
    process: int
    organisation: int
    communication: int
    policy: int


class CollaboratorCounts(BaseModel):
    citizens: int
    businesses: int
    research: int
    other_public: int
    civil_society: int


class ValueTypeCounts(BaseModel):
    quality: int
    efficiency: int
    citizen_involvement: int
    employee_satisfaction: int
    political_goals: int


class AdoptedSource(BaseModel):
    project_id: int
    title: str = Field(max_length=200)
    unit_id: int = Field(description="The source's own unit.")
    adopting_units: int = Field(
        description="Distinct units other than the source's own whose projects adopted it "
        "in the window."
    )
    adoptions: int = Field(description="Projects that adopted it in the window, any unit.")


class UnitFlow(BaseModel):
    unit_id: int
    code: str = Field(max_length=32)
    adopted_in: int = Field(
        description="Adoptions in the window by this unit's own projects of another unit's."
    )
    adopted_out: int = Field(
        description="Adoptions in the window of this unit's own projects by another unit's."
    )


class Diffusion(BaseModel):
    adoptions: int = Field(
        description="Non-archived projects in scope with an `adopted_from` that started in "
        "the window (`started_on`, or the date of `created_at` when it is null)."
    )
    cross_unit_adoptions: int = Field(description="Of those, adopted from another unit.")
    sources: list[AdoptedSource] = Field(
        max_length=20,
        description="The (at most) 20 projects in scope adopted by the most distinct other "
        "units, by `adopting_units` descending then `project_id`; only projects adopted by "
        "at least one other unit.",
    )
    unit_flows: list[UnitFlow] = Field(
        description="Cross-unit adoptions per non-archived unit in scope, by code; units "
        "with neither flow are left out."
    )


class Comparison(BaseModel):
    organization: float | None = Field(
        ge=0, le=1, description="This organization's figure; null when its denominator is 0."
    )
    national: float = Field(ge=0, le=1, description="The Innovation Barometer's figure.")


class BarometerComparison(BaseModel):
    source: str = Field(max_length=300, description="Where the national figures come from.")
    units_innovating_share: Comparison = Field(
        description="Workplaces that introduced an innovation in two years."
    )
    copied_or_adapted_share: Comparison = Field(
        description="Innovations inspired by or copied from others."
    )
    evaluated_share: Comparison = Field(description="Innovations whose effect was evaluated.")


BAROMETER_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "from_date": "2024-12-01",
    "to_date": "2026-12-01",
    "innovations": 10,
    "units": 8,
    "units_innovating": 5,
    "units_innovating_share": 0.625,
    "by_novelty": {"first": 3, "adapted": 4, "copied": 2, "unknown": 1},
    "by_initiator": {
        "employees": 4,
        "managers": 3,
        "politicians": 1,
        "citizens": 1,
        "businesses": 0,
        "other": 0,
        "unknown": 1,
    },
    "by_type": {"service": 6, "process": 5, "organisation": 2, "communication": 1, "policy": 0},
    "by_collaborator": {
        "citizens": 3,
        "businesses": 1,
        "research": 1,
        "other_public": 4,
        "civil_society": 0,
    },
    "by_value": {
        "quality": 7,
        "efficiency": 6,
        "citizen_involvement": 2,
        "employee_satisfaction": 3,
        "political_goals": 1,
    },
    "collaborating_share": 0.6,
    "evaluated_share": 0.375,
    "evaluation_unknown": 2,
    "copied_or_adapted_share": 0.6667,
    "diffusion": {
        "adoptions": 6,
        "cross_unit_adoptions": 4,
        "sources": [
            {
                "project_id": 4,
                "title": "Chatbot for parking permits",
                "unit_id": 12,
                "adopting_units": 3,
                "adoptions": 4,
            }
        ],
        "unit_flows": [
            {"unit_id": 12, "code": "CITY-PARK", "adopted_in": 0, "adopted_out": 4},
            {"unit_id": 31, "code": "CITY-BUILD", "adopted_in": 2, "adopted_out": 0},
        ],
    },
    "comparison": {
        "source": "Danish Innovation Barometer (COI and Statistics Denmark); see the README",
        "units_innovating_share": {"organization": 0.625, "national": 0.8},
        "copied_or_adapted_share": {"organization": 0.6667, "national": 0.73},
        "evaluated_share": {"organization": 0.375, "national": 0.4},
    },
    "findings": [
        {
            "code": "low_evaluation",
            "message": "Only 3 of the 8 innovations whose evaluation is known (38%) were "
            "evaluated, below the national 40%. Leadership can ask every innovation that is "
            "embedded to say how its effect will be evaluated, internally or externally, and "
            "set aside time for it.",
            "value": 0.375,
            "threshold": 0.4,
        }
    ],
}


class BarometerReport(BaseModel):
    """The Innovation Barometer's indicators, live from the register (README, "Barometer")."""

    model_config = {"json_schema_extra": {"examples": [BAROMETER_EXAMPLE]}}

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)
    from_date: date = Field(description="First day of the window (inclusive).")
    to_date: date = Field(description="Last day of the window (inclusive).")
    innovations: int = Field(
        description="Non-archived projects in scope with `embedded_on` within the window."
    )
    units: int = Field(description="Non-archived units in scope.")
    units_innovating: int = Field(description="Units that own at least one innovation themselves.")
    units_innovating_share: float | None = Field(
        ge=0, le=1, description="units_innovating / units (the Barometer's headline)."
    )
    by_novelty: NoveltyCounts = Field(description="Innovations by novelty.")
    by_initiator: InitiatorCounts = Field(description="Innovations by `initiated_by`.")
    by_type: InnovationTypeCounts = Field(
        description="Innovations having each innovation type (one may have several)."
    )
    by_collaborator: CollaboratorCounts = Field(
        description="Innovations done with each kind of collaborator."
    )
    by_value: ValueTypeCounts = Field(description="Innovations having each kind of value.")
    collaborating_share: float | None = Field(
        ge=0, le=1, description="Innovations with at least one collaborator / innovations."
    )
    evaluated_share: float | None = Field(
        ge=0,
        le=1,
        description="Innovations evaluated `internal`ly or `external`ly / innovations whose "
        "evaluation is known; null when none is known.",
    )
    evaluation_unknown: int = Field(description="Innovations whose evaluation is null.")
    copied_or_adapted_share: float | None = Field(
        ge=0,
        le=1,
        description="(adapted + copied) / innovations whose novelty is known; null when none "
        "is known.",
    )
    diffusion: Diffusion = Field(description="Which innovations spread, and between which units.")
    comparison: BarometerComparison = Field(
        description="This organization's figures beside the Barometer's national ones."
    )
    findings: list[Finding] = Field(
        description="`low_evaluation` (evaluated_share < 0.4), `little_reuse` "
        "(copied_or_adapted_share < 0.5)."
    )


Report = SpreadReport | PortfolioReport | OutcomesReport | DeterminantsReport | BarometerReport


class ReportName(StrEnum):
    spread = "spread"
    portfolio = "portfolio"
    outcomes = "outcomes"
    determinants = "determinants"
    barometer = "barometer"
