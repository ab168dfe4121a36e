"""Response models of the reports (not tables)."""

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from app.core.config import StallDays
from app.core.contract import ResponseModel
from app.determinants.models import Determinant
from app.projects.models import Stage
from app.reports.guide import GUIDE
from app.reports.window import Interval
from app.units.models import UnitKind

# A share of a whole; the field's description says which (by default this one).
Share = Annotated[
    float | None,
    Field(ge=0, le=1, description="A fraction in [0, 1]; null when its denominator is 0."),
]
SCOPE_DESCRIPTION = (
    "Root of the unit subtree the report covers (the `unit_id` asked for, or a submitter "
    "key's own unit); null for the whole organization."
)


class Thresholds(ResponseModel):
    min_active_projects: int = Field(
        description="Below this many active projects the spread verdict is `insufficient_data`."
    )
    share_threshold: float = Field(
        description="A share at or above this (or a coverage below it) crosses a threshold."
    )


class FindingCode(StrEnum):
    """The threshold crossed: `few_active_projects`, `side_of_desk`,
    `low_business_line_coverage`, `lab_concentration`, `reliance_on_individuals` (spread
    report), `activity_based` (outcomes report).
    """

    few_active_projects = "few_active_projects"
    side_of_desk = "side_of_desk"
    low_business_line_coverage = "low_business_line_coverage"
    lab_concentration = "lab_concentration"
    reliance_on_individuals = "reliance_on_individuals"
    activity_based = "activity_based"
    publication_bias = "publication_bias"
    overdue_publications = "overdue_publications"
    below_commitment = "below_commitment"
    low_evaluation = "low_evaluation"
    little_reuse = "little_reuse"


class Finding(ResponseModel):
    code: FindingCode = Field(description="Which threshold was crossed.")
    message: str = Field(
        max_length=1000, description="A plain sentence for a director, with what to do about it."
    )
    value: int | float = Field(description="The measured count or share.")
    threshold: int | float = Field(description="The threshold it crossed.")


class ScopedReport(ResponseModel):
    """What every report starts with: the unit subtree it covers."""

    unit_id: int | None = Field(description=SCOPE_DESCRIPTION)


# --- spread ---------------------------------------------------------------------------


class WorkModeCounts(ResponseModel):
    side_of_desk: int
    dedicated: int
    core_business: int


class SponsorLevelCounts(ResponseModel):
    individual: int
    organizational: int
    system: int


class SpreadVerdict(StrEnum):
    """`insufficient_data` (too few active projects), `side_of_desk` (mostly side-of-desk
    work), `concentrated` (in few business lines or in labs), `spread` (carried by the core
    business with organizational sponsors), `mixed` (none of these).
    """

    insufficient_data = "insufficient_data"
    side_of_desk = "side_of_desk"
    concentrated = "concentrated"
    spread = "spread"
    mixed = "mixed"


class UnitSpreadStatus(StrEnum):
    """`none` (no active project), `side_of_desk` (side-of-desk share at or above the
    threshold), `embedded` (core-business share at or above it), `mixed` (otherwise).
    """

    none = "none"
    side_of_desk = "side_of_desk"
    embedded = "embedded"
    mixed = "mixed"


class UnitRow(ResponseModel):
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


# The business line the examples' per-unit rows show (its `UnitRow` fields).
_EXAMPLE_UNIT: dict[str, Any] = {
    "unit_id": 3,
    "code": "TAX-OPS",
    "name": "Tax operations",
    "kind": "business_line",
    "parent_id": 1,
}
SPREAD_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "as_of": "2026-03-31",
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
            **_EXAMPLE_UNIT,
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


class SpreadReport(ScopedReport):
    """Is innovation spread across the core business or stuck as side-of-desk work?"""

    model_config = {"json_schema_extra": {"examples": [SPREAD_EXAMPLE]}}

    as_of: date | None = Field(
        description="The `as_of` date asked for: every number as at the end of that day "
        "(UTC), from the projects' timelines; null when not given (today).",
        examples=["2026-03-31"],
    )
    thresholds: Thresholds
    active_projects: int = Field(
        description="Non-archived projects in stage `exploration`, `experiment` or `scaling`."
    )
    by_work_mode: WorkModeCounts = Field(description="Active projects by work mode.")
    by_sponsor_level: SponsorLevelCounts = Field(description="Active projects by sponsor level.")
    side_of_desk_share: Share
    core_business_share: Share
    individual_sponsor_share: Share
    business_lines: int = Field(description="Non-archived units of kind `business_line` in scope.")
    business_lines_with_innovation: int = Field(
        description="Business lines that own at least one active project."
    )
    business_line_coverage: Share = Field(
        default=None,
        description="business_lines_with_innovation / business_lines; null without business lines.",
    )
    lab_share: Share = Field(
        default=None,
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


class StageCounts(ResponseModel):
    idea: int
    exploration: int
    experiment: int
    scaling: int
    embedded: int
    stopped: int


class FacetCounts(ResponseModel):
    enhancement: int
    mission: int
    adaptive: int
    anticipatory: int
    unspecified: int = Field(description="No facet recorded.")


class RiskBandCounts(ResponseModel):
    low: int
    medium: int
    high: int
    unspecified: int = Field(description="No risk profile recorded.")


class FacetByRiskBand(ResponseModel):
    enhancement: RiskBandCounts
    mission: RiskBandCounts
    adaptive: RiskBandCounts
    anticipatory: RiskBandCounts
    unspecified: RiskBandCounts


class ExperimentStatusCounts(ResponseModel):
    proposed: int
    running: int
    completed: int
    stopped: int


class MethodCounts(ResponseModel):
    rct: int
    ab_test: int
    pilot: int
    prototype: int
    simulation: int
    other: int


class ResultCounts(ResponseModel):
    supported: int
    not_supported: int
    inconclusive: int


class FunnelStep(ResponseModel):
    from_stage: Stage = Field(description="The stage projects reached.")
    to_stage: Stage = Field(description="The next stage on the path.")
    reached_from: int = Field(description="Projects now at `from_stage` or further along.")
    reached_to: int = Field(description="Projects now at `to_stage` or further along.")
    conversion: Share = Field(default=None, description="reached_to / reached_from; null when 0.")


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


class PortfolioReport(ScopedReport):
    """Balance of the portfolio: stages, facets, risk, sponsors, work modes, experiments."""

    model_config = {"json_schema_extra": {"examples": [PORTFOLIO_EXAMPLE]}}

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
    adoption_share: Share = Field(default=None, description="embedded / (embedded + stopped).")
    high_risk: int = Field(description="Projects in risk band `high`.")
    high_risk_justified: int = Field(
        description="High-risk projects whose `risk_of_not_innovating` is 4 or 5: doing nothing "
        "was judged at least as dangerous."
    )
    without_risk_profile: int = Field(description="Projects past `idea` with no risk recorded.")


# --- outcomes ---------------------------------------------------------------------------


class StatusCounts(ResponseModel):
    met: int
    missed: int
    pending: int


class CriteriaByKind(ResponseModel):
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


class OutcomesReport(ScopedReport):
    """Is the portfolio outcome-based or activity-based?"""

    model_config = {"json_schema_extra": {"examples": [OUTCOMES_EXAMPLE]}}

    thresholds: Thresholds
    projects: int = Field(description="Non-archived projects past `idea`.")
    projects_with_outcome_criteria: int = Field(
        description="Of those, projects with a non-archived criterion of kind `outcome` on the "
        "project or on one of its non-archived experiments."
    )
    outcome_based_share: Share = Field(
        default=None, description="projects_with_outcome_criteria / projects."
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


class DeterminantSummary(ResponseModel):
    determinant: Determinant
    enablers: int = Field(description="Tags marking it an enabler.")
    barriers: int = Field(description="Tags marking it a barrier.")
    prompt: str = Field(max_length=500, description="The question this determinant asks.")
    levers: list[str] = Field(
        min_length=3, max_length=5, description="What leadership can do about it."
    )


class DeterminantCounts(ResponseModel):
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
            **_EXAMPLE_UNIT,
            "barriers": {"clarity": 1, "parity": 4, "suitability": 1, "normality": 3},
        }
    ],
}


class DeterminantsReport(ScopedReport):
    """The four determinants: where innovation is helped and where it is held back."""

    model_config = {"json_schema_extra": {"examples": [DETERMINANTS_EXAMPLE]}}

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


# --- trends -----------------------------------------------------------------------------

WINDOW_FROM = "First day of the window (the `from` asked for, or its default)."
WINDOW_TO = "Last day of the window (the `to` asked for, or today in UTC)."


INTERVAL_DESCRIPTION = (
    "Spacing of the points: `month` (every month's last day), `quarter` (31 March, 30 June, "
    "30 September, 31 December) or `year` (31 December)."
)


class TrendPoint(ResponseModel):
    """The spread report's headline numbers as at the end of one day."""

    as_of: date = Field(
        description="The day this point is computed at the end of: an interval end, or "
        "`to` for the last point when `to` is not one.",
        examples=["2026-03-31"],
    )
    active_projects: int = Field(
        description="Projects in `exploration`, `experiment` or `scaling` on that day.",
        examples=[12],
    )
    side_of_desk_share: Share = Field(
        description="As the spread report on that day.", examples=[0.25]
    )
    core_business_share: Share = Field(
        description="As the spread report on that day.", examples=[0.4167]
    )
    individual_sponsor_share: Share = Field(
        description="As the spread report on that day.", examples=[0.5]
    )
    business_line_coverage: Share = Field(
        description="As the spread report on that day.", examples=[0.75]
    )
    lab_share: Share = Field(description="As the spread report on that day.", examples=[0.25])
    verdict: SpreadVerdict = Field(
        description="The spread report's verdict on that day (same rules and thresholds)."
    )
    by_stage: StageCounts = Field(
        description="Projects existing on that day, by their stage on that day (every stage)."
    )
    by_work_mode: WorkModeCounts = Field(
        description="Active projects on that day by their work mode on that day."
    )


def _trend_point(
    as_of: str, active: int, side: int, core: int, individual: int, stages: list[int]
) -> dict[str, Any]:
    dedicated = active - side - core
    return {
        "as_of": as_of,
        "active_projects": active,
        "side_of_desk_share": round(side / active, 4),
        "core_business_share": round(core / active, 4),
        "individual_sponsor_share": round(individual / active, 4),
        "business_line_coverage": 0.75,
        "lab_share": 0.2,
        "verdict": "side_of_desk"
        if side / active >= 0.5
        else "spread"
        if core / active >= 0.5 and individual / active < 0.5
        else "mixed",
        "by_stage": dict(zip([s.value for s in Stage], stages, strict=True)),
        "by_work_mode": {"side_of_desk": side, "dedicated": dedicated, "core_business": core},
    }


TRENDS_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "from": "2025-09-15",
    "to": "2026-04-15",
    "interval": "quarter",
    "thresholds": {"min_active_projects": 5, "share_threshold": 0.5},
    "points": [
        _trend_point("2025-09-30", 10, 6, 1, 6, [4, 5, 3, 2, 0, 1]),
        _trend_point("2025-12-31", 10, 5, 2, 5, [3, 4, 4, 2, 1, 1]),
        _trend_point("2026-03-31", 10, 3, 4, 4, [3, 3, 4, 3, 2, 1]),
        _trend_point("2026-04-15", 10, 2, 5, 4, [3, 3, 4, 3, 2, 1]),
    ],
}


class TrendsReport(ScopedReport):
    """The spread of innovation over time: one point per interval end."""

    model_config = {
        "serialize_by_alias": True,
        "validate_by_name": True,
        "json_schema_extra": {"examples": [TRENDS_EXAMPLE]},
    }

    # `ScopedReport`'s field, with the example this report's schema has always shown.
    unit_id: int | None = Field(description=SCOPE_DESCRIPTION, examples=[None])
    from_: date = Field(alias="from", description=WINDOW_FROM, examples=["2025-09-15"])
    to: date = Field(description=WINDOW_TO, examples=["2026-04-15"])
    interval: Interval = Field(description=INTERVAL_DESCRIPTION)
    thresholds: Thresholds
    points: list[TrendPoint] = Field(
        description="Oldest first: one per interval end within [from, to], plus one at `to` "
        "when `to` is not an interval end."
    )


# --- flow -------------------------------------------------------------------------------


class Transition(ResponseModel):
    from_stage: Stage = Field(description="The stage left.", examples=["exploration"])
    to_stage: Stage = Field(description="The stage entered.", examples=["experiment"])
    count: int = Field(description="Stage changes effective within the window.", examples=[4])


class StageTime(ResponseModel):
    completed_stays: int = Field(
        description="Stays in the stage that ended within the window (the project moved to "
        "another stage).",
        examples=[5],
    )
    median_days: float | None = Field(
        description="Median length of those stays in days (from entering to leaving; the "
        "mean of the two middle values when their number is even); null when none.",
        examples=[96.5],
    )
    current: int = Field(description="Projects in the stage at `to`.", examples=[3])
    current_median_days: float | None = Field(
        description="Median of `to` minus their `stage_since` at `to`, in days; null when none.",
        examples=[140.0],
    )


class TimeInStage(ResponseModel):
    idea: StageTime
    exploration: StageTime
    experiment: StageTime
    scaling: StageTime


class Mainstreaming(ResponseModel):
    side_of_desk_at_start: int = Field(
        description="Projects active at `from` with work mode `side_of_desk` then.",
        examples=[8],
    )
    work_mode_at_end: WorkModeCounts = Field(description="Their work modes at `to`.")
    mainstreamed_share: Share = Field(
        description="(dedicated + core_business at `to`) / side_of_desk_at_start; null when 0.",
        examples=[0.375],
    )


class Institutionalisation(ResponseModel):
    individual_at_start: int = Field(
        description="Projects active at `from` with sponsor level `individual` then.",
        examples=[6],
    )
    sponsor_level_at_end: SponsorLevelCounts = Field(description="Their sponsor levels at `to`.")
    institutionalised_share: Share = Field(
        description="(organizational + system at `to`) / individual_at_start; null when 0.",
        examples=[0.5],
    )


class ActiveStageCounts(ResponseModel):
    exploration: int
    experiment: int
    scaling: int


class StalledUnit(ResponseModel):
    unit_id: int = Field(description="The unit.", examples=[5])
    code: str = Field(max_length=32, description="Its code.", examples=["BENEFITS"])
    name: str = Field(max_length=200, description="Its name.", examples=["Benefits"])
    stalled: int = Field(description="Stalled projects the unit owns itself.", examples=[3])
    active: int = Field(description="Active projects the unit owns itself at `to`.", examples=[4])


class StalledProject(ResponseModel):
    project_id: int = Field(description="The project.", examples=[42])
    title: str = Field(
        max_length=200, description="Its title.", examples=["Chatbot for benefit questions"]
    )
    unit_id: int = Field(description="Its unit at `to`.", examples=[5])
    stage: Stage = Field(description="Its stage at `to`.", examples=["exploration"])
    since: date = Field(description="Its `stage_since` at `to`.", examples=["2025-06-02"])
    days: int = Field(description="`to` minus `since`, in days.", examples=[317])


class Stalled(ResponseModel):
    total: int = Field(description="Stalled projects in scope.", examples=[4])
    by_stage: ActiveStageCounts = Field(description="Stalled projects by stage.")
    units: list[StalledUnit] = Field(
        description="One row per non-archived unit owning at least one stalled project itself, "
        "by `stalled` descending, then `code`."
    )
    projects: list[StalledProject] = Field(
        description="At most 100, by `days` descending, then `project_id`."
    )


FLOW_EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "from": "2025-04-15",
    "to": "2026-04-15",
    "stall_days": {"exploration": 180, "experiment": 270, "scaling": 365},
    "transitions": [
        {"from_stage": "idea", "to_stage": "exploration", "count": 6},
        {"from_stage": "exploration", "to_stage": "experiment", "count": 4},
        {"from_stage": "exploration", "to_stage": "stopped", "count": 1},
        {"from_stage": "experiment", "to_stage": "scaling", "count": 2},
    ],
    "entered": {
        "idea": 7,
        "exploration": 6,
        "experiment": 4,
        "scaling": 2,
        "embedded": 0,
        "stopped": 1,
    },
    "time_in_stage": {
        "idea": {
            "completed_stays": 6,
            "median_days": 41.5,
            "current": 3,
            "current_median_days": 60.0,
        },
        "exploration": {
            "completed_stays": 5,
            "median_days": 96.0,
            "current": 5,
            "current_median_days": 190.0,
        },
        "experiment": {
            "completed_stays": 2,
            "median_days": 210.5,
            "current": 4,
            "current_median_days": 120.5,
        },
        "scaling": {
            "completed_stays": 0,
            "median_days": None,
            "current": 3,
            "current_median_days": 300.0,
        },
    },
    "mainstreaming": {
        "side_of_desk_at_start": 8,
        "work_mode_at_end": {"side_of_desk": 5, "dedicated": 1, "core_business": 2},
        "mainstreamed_share": 0.375,
    },
    "institutionalisation": {
        "individual_at_start": 6,
        "sponsor_level_at_end": {"individual": 3, "organizational": 2, "system": 1},
        "institutionalised_share": 0.5,
    },
    "stalled": {
        "total": 3,
        "by_stage": {"exploration": 3, "experiment": 0, "scaling": 0},
        "units": [
            {"unit_id": 5, "code": "BENEFITS", "name": "Benefits", "stalled": 3, "active": 4}
        ],
        "projects": [
            {
                "project_id": 42,
                "title": "Chatbot for benefit questions",
                "unit_id": 5,
                "stage": "exploration",
                "since": "2025-06-02",
                "days": 317,
            },
            {
                "project_id": 17,
                "title": "Shared case notes",
                "unit_id": 5,
                "stage": "exploration",
                "since": "2025-08-20",
                "days": 238,
            },
            {
                "project_id": 51,
                "title": "Plain-language letters",
                "unit_id": 5,
                "stage": "exploration",
                "since": "2025-09-30",
                "days": 197,
            },
        ],
    },
}


class FlowReport(ScopedReport):
    """What moved between stages, how long stages took, and what is stuck."""

    model_config = {
        "serialize_by_alias": True,
        "validate_by_name": True,
        "json_schema_extra": {"examples": [FLOW_EXAMPLE]},
    }

    # `ScopedReport`'s field, with the example this report's schema has always shown.
    unit_id: int | None = Field(description=SCOPE_DESCRIPTION, examples=[None])
    from_: date = Field(alias="from", description=WINDOW_FROM, examples=["2025-04-15"])
    to: date = Field(description=WINDOW_TO, examples=["2026-04-15"])
    stall_days: StallDays = Field(
        description="Days in a stage after which a project is stalled, per stage "
        "(`PORTFOLIO_STALL_DAYS`)."
    )
    transitions: list[Transition] = Field(
        description="Stage changes effective within the window: a period (not a project's "
        "first) starting within it whose stage differs from the previous period's. Non-zero "
        "pairs only, by `from_stage` then `to_stage` in stage order."
    )
    entered: StageCounts = Field(
        description="Entries into each stage within the window: projects whose first period "
        "starts within it in that stage, plus the stage changes into it."
    )
    time_in_stage: TimeInStage = Field(description="Lengths of stays, finished and ongoing.")
    mainstreaming: Mainstreaming = Field(
        description="Did side-of-desk work active at `from` get time and budget by `to`?"
    )
    institutionalisation: Institutionalisation = Field(
        description="Did work resting on an individual sponsor at `from` get an "
        "organizational or system sponsor by `to`?"
    )
    stalled: Stalled = Field(
        description="Projects in `exploration`, `experiment` or `scaling` at `to` whose "
        "time in that stage is more than its `stall_days`."
    )


# --- barometer --------------------------------------------------------------------------


class NoveltyCounts(ResponseModel):
    first: int
    adapted: int
    copied: int
    unknown: int = Field(description="Novelty not recorded.")


class InitiatorCounts(ResponseModel):
    employees: int
    managers: int
    politicians: int
    citizens: int
    businesses: int
    other: int
    unknown: int = Field(description="Initiator not recorded.")


class InnovationTypeCounts(ResponseModel):
    service: int
    process: int
    organisation: int
    communication: int
    policy: int


class CollaboratorCounts(ResponseModel):
    citizens: int
    businesses: int
    research: int
    other_public: int
    civil_society: int


class ValueTypeCounts(ResponseModel):
    quality: int
    efficiency: int
    citizen_involvement: int
    employee_satisfaction: int
    political_goals: int


class AdoptedSource(ResponseModel):
    project_id: int
    title: str = Field(max_length=200)
    unit_id: int = Field(description="The source's own unit.")
    adopting_units: int = Field(
        description="Distinct units other than the source's own whose projects adopted it "
        "in the window."
    )
    adoptions: int = Field(description="Projects that adopted it in the window, any unit.")


class UnitFlow(ResponseModel):
    unit_id: int
    code: str = Field(max_length=32)
    adopted_in: int = Field(
        description="Adoptions in the window by this unit's own projects of another unit's."
    )
    adopted_out: int = Field(
        description="Adoptions in the window of this unit's own projects by another unit's."
    )


class Diffusion(ResponseModel):
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


class NationalFigure(ResponseModel):
    organization: Share = Field(
        description="This organization's figure; null when its denominator is 0."
    )
    national: float = Field(ge=0, le=1, description="The Innovation Barometer's figure.")


class BarometerComparison(ResponseModel):
    source: str = Field(max_length=300, description="Where the national figures come from.")
    units_innovating_share: NationalFigure = Field(
        description="Workplaces that introduced an innovation in two years."
    )
    copied_or_adapted_share: NationalFigure = Field(
        description="Innovations inspired by or copied from others."
    )
    evaluated_share: NationalFigure = Field(description="Innovations whose effect was evaluated.")


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


class BarometerReport(ScopedReport):
    """The Innovation Barometer's indicators, live from the register (README, "Barometer")."""

    model_config = {"json_schema_extra": {"examples": [BAROMETER_EXAMPLE]}}

    from_date: date = Field(description="First day of the window (inclusive).")
    to_date: date = Field(description="Last day of the window (inclusive).")
    innovations: int = Field(
        description="Non-archived projects in scope with `embedded_on` within the window."
    )
    units: int = Field(description="Non-archived units in scope.")
    units_innovating: int = Field(description="Units that own at least one innovation themselves.")
    units_innovating_share: Share = Field(
        description="units_innovating / units (the Barometer's headline)."
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
    collaborating_share: Share = Field(
        description="Innovations with at least one collaborator / innovations."
    )
    evaluated_share: Share = Field(
        description="Innovations evaluated `internal`ly or `external`ly / innovations whose "
        "evaluation is known; null when none is known.",
    )
    evaluation_unknown: int = Field(description="Innovations whose evaluation is null.")
    copied_or_adapted_share: Share = Field(
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


Report = (
    SpreadReport
    | PortfolioReport
    | OutcomesReport
    | DeterminantsReport
    | TrendsReport
    | FlowReport
    | BarometerReport
)


class ReportName(StrEnum):
    """`spread`, `portfolio`, `outcomes`, `determinants`, `trends`, `flow`,
    `experimentation` or `barometer`."""

    spread = "spread"
    portfolio = "portfolio"
    outcomes = "outcomes"
    determinants = "determinants"
    trends = "trends"
    flow = "flow"
    experimentation = "experimentation"
    barometer = "barometer"
