"""The four reports: run the aggregate queries, derive shares, verdicts and findings."""

from datetime import date
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from app.api import json_pages
from app.auth.models import Actor
from app.core.config import Settings
from app.core.errors import InvalidField
from app.criteria.models import CriterionKind, CriterionStatus
from app.determinants.models import Determinant, Effect
from app.experiments.models import ExperimentResult, ExperimentStatus, Method
from app.projects.models import SponsorLevel, Stage, WorkMode
from app.reports import experimentation, queries
from app.reports.experimentation import ExperimentationReport
from app.reports.guide import GUIDE
from app.reports.schemas import (
    DeterminantsReport,
    DeterminantSummary,
    Finding,
    FindingCode,
    FunnelStep,
    OutcomesReport,
    PortfolioReport,
    Report,
    ReportName,
    SpreadReport,
    SpreadVerdict,
    Thresholds,
    UnitBarriers,
    UnitRow,
    UnitSpreadStatus,
)
from app.units import service as unit_service
from app.units.models import UnitKind

FUNNEL_PATH = (Stage.idea, Stage.exploration, Stage.experiment, Stage.scaling, Stage.embedded)


def resolve_scope(*, session: Session, actor: Actor, unit_id: int | None) -> int | None:
    """The root of the subtree a report covers. A submitter key stays in its own subtree:
    a ``unit_id`` outside it is a 404, as for any other read."""
    if unit_id is None:
        return actor.scope_unit_id
    unit_service.get(session=session, actor=actor, unit_id=unit_id)
    return unit_id


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def unit_fields(row: Row[Any]) -> dict[str, Any]:
    """The UnitRow fields of a per-unit aggregate row."""
    return {name: row._mapping[name] for name in UnitRow.model_fields}


def _percent(value: float) -> str:
    return f"{value:.0%}"


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        min_active_projects=settings.min_active_projects,
        share_threshold=settings.share_threshold,
    )


# --- spread ---------------------------------------------------------------------------


def unit_status(active: int, by_work_mode: dict[str, int], threshold: float) -> UnitSpreadStatus:
    if active == 0:
        return UnitSpreadStatus.none
    if by_work_mode[WorkMode.side_of_desk] / active >= threshold:
        return UnitSpreadStatus.side_of_desk
    if by_work_mode[WorkMode.core_business] / active >= threshold:
        return UnitSpreadStatus.embedded
    return UnitSpreadStatus.mixed


_UNIT_ROW_FIELDS = tuple(UnitRow.model_fields)
_MODES = tuple(mode.value for mode in WorkMode)


def _unit_spread(row: Row[Any], threshold: float) -> dict[str, Any]:
    """A `UnitSpread` as a dict, from a `spread_units` row."""
    values = dict(zip(row._fields, row, strict=True))  # by name, without RowMapping's cost
    by_work_mode = {mode: values[f"mode_{mode}"] for mode in _MODES}
    unit = {name: values[name] for name in _UNIT_ROW_FIELDS}
    unit["active_projects"] = values["active_projects"]
    unit["by_work_mode"] = by_work_mode
    unit["status"] = unit_status(unit["active_projects"], by_work_mode, threshold)
    return unit


def check_as_of(as_of: date | None, today: date) -> None:
    """A report's date: any day up to today (UTC), the report then computed as at its end."""
    if as_of is not None and as_of > today:
        raise InvalidField("as_of", f"is after today ({today.isoformat()})", location="query")


def spread(
    *, session: Session, settings: Settings, root_id: int | None, as_of: date | None = None
) -> SpreadReport:
    totals = queries.spread_totals(session=session, root_id=root_id, as_of=as_of)
    unit_rows = queries.spread_units(session=session, root_id=root_id, as_of=as_of)
    session.commit()
    # Plain dicts, validated once with the report: a model per unit, built from the row
    # by name, cost more than both queries at 1,000 units (bench/RESULTS.md, spread).
    units = [_unit_spread(row, settings.share_threshold) for row in unit_rows]
    business_lines = [u for u in units if u["kind"] == UnitKind.business_line]
    with_innovation = sum(1 for u in business_lines if u["active_projects"] > 0)
    return _spread_report(
        totals=totals,
        business_lines=len(business_lines),
        with_innovation=with_innovation,
        units=units,
        settings=settings,
        root_id=root_id,
        as_of=as_of,
    )


def spread_json(
    *, session: Session, settings: Settings, root_id: int | None, as_of: date | None = None
) -> bytes:
    """The spread report as JSON: on PostgreSQL its `units` rows come as JSON text from the
    database with everything else (`queries.spread_in_one_scan`); the rest goes through the
    model."""
    if not json_pages.builds_json(session):
        report = spread(session=session, settings=settings, root_id=root_id, as_of=as_of)
        return report.model_dump_json().encode()
    row = queries.spread_in_one_scan(
        session=session, root_id=root_id, threshold=settings.share_threshold, as_of=as_of
    )
    report = _spread_report(
        totals=row,
        business_lines=row.business_lines,
        with_innovation=row.with_innovation,
        units=[],
        settings=settings,
        root_id=root_id,
        as_of=as_of,
    )
    # `units` is the report's last field: the same document as `model_dump_json()`.
    head = report.model_dump_json(exclude={"units"})
    return f'{head[:-1]},"units":{row.units}}}'.encode()


def _spread_report(
    *,
    totals: Row[Any],
    business_lines: int,
    with_innovation: int,
    units: list[dict[str, Any]],
    settings: Settings,
    root_id: int | None,
    as_of: date | None,
) -> SpreadReport:
    threshold = settings.share_threshold
    active = int(totals.active_projects)
    by_work_mode = queries.counts(totals, "mode_", WorkMode)
    by_sponsor = queries.counts(totals, "sponsor_", SponsorLevel)
    lab_projects = int(totals.lab_projects)
    side = by_work_mode[WorkMode.side_of_desk]
    core = by_work_mode[WorkMode.core_business]
    individual = by_sponsor[SponsorLevel.individual]
    side_share = share(side, active)
    core_share = share(core, active)
    individual_share = share(individual, active)
    coverage = share(with_innovation, business_lines)
    lab_share = share(lab_projects, active)

    findings = []
    if active < settings.min_active_projects:
        findings.append(
            Finding(
                code=FindingCode.few_active_projects,
                message=f"Only {active} active project(s) in scope, fewer than the "
                f"{settings.min_active_projects} needed to judge how innovation is spread. "
                "Leadership can ask business lines to register the initiatives they run and to "
                "commission new ones as part of regular business planning.",
                value=active,
                threshold=settings.min_active_projects,
            )
        )
    if side_share is not None and side_share >= threshold:
        findings.append(
            Finding(
                code=FindingCode.side_of_desk,
                message=f"{side} of the {active} active projects ({_percent(side_share)}) are "
                "done on the side of the desk, without dedicated time or budget. Leadership "
                "can link them to regular business planning and budgets so they stop "
                "depending on people's spare time.",
                value=side_share,
                threshold=threshold,
            )
        )
    if coverage is not None and coverage < threshold:
        findings.append(
            Finding(
                code=FindingCode.low_business_line_coverage,
                message=f"Only {with_innovation} of the {business_lines} business lines "
                f"({_percent(coverage)}) own an active innovation project. Leadership can ask "
                "every business line to carry at least one initiative in its business plan "
                "and budget.",
                value=coverage,
                threshold=threshold,
            )
        )
    if lab_share is not None and lab_share >= threshold:
        findings.append(
            Finding(
                code=FindingCode.lab_concentration,
                message=f"{lab_projects} of the {active} active projects ({_percent(lab_share)}) "
                "are owned by innovation labs. Leadership can spread innovation beyond the lab "
                "by having business lines own projects, with the lab in support.",
                value=lab_share,
                threshold=threshold,
            )
        )
    if individual_share is not None and individual_share >= threshold:
        findings.append(
            Finding(
                code=FindingCode.reliance_on_individuals,
                message=f"{individual} of the {active} active projects "
                f"({_percent(individual_share)}) hang on a single individual sponsor. "
                "Leadership can give them organizational or system-level sponsors, so they "
                "survive when that person moves on.",
                value=individual_share,
                threshold=threshold,
            )
        )

    return SpreadReport(
        unit_id=root_id,
        as_of=as_of,
        thresholds=thresholds(settings),
        active_projects=active,
        by_work_mode=by_work_mode,
        by_sponsor_level=by_sponsor,
        side_of_desk_share=side_share,
        core_business_share=core_share,
        individual_sponsor_share=individual_share,
        business_lines=business_lines,
        business_lines_with_innovation=with_innovation,
        business_line_coverage=coverage,
        lab_share=lab_share,
        verdict=spread_verdict(
            active=active,
            side_share=side_share,
            core_share=core_share,
            individual_share=individual_share,
            coverage=coverage,
            lab_share=lab_share,
            settings=settings,
        ),
        findings=findings,
        units=units,
    )


def spread_verdict(
    *,
    active: int,
    side_share: float | None,
    core_share: float | None,
    individual_share: float | None,
    coverage: float | None,
    lab_share: float | None,
    settings: Settings,
) -> SpreadVerdict:
    """The first rule that matches (the order is the contract)."""
    threshold = settings.share_threshold
    if active < settings.min_active_projects or active == 0:
        return SpreadVerdict.insufficient_data
    assert side_share is not None and core_share is not None and individual_share is not None
    assert lab_share is not None
    if side_share >= threshold:
        return SpreadVerdict.side_of_desk
    if (coverage is not None and coverage < threshold) or lab_share >= threshold:
        return SpreadVerdict.concentrated
    if core_share >= threshold and individual_share < threshold:
        return SpreadVerdict.spread
    return SpreadVerdict.mixed


# --- portfolio ------------------------------------------------------------------------


def portfolio(*, session: Session, root_id: int | None) -> PortfolioReport:
    projects = queries.project_balance(session=session, root_id=root_id)
    experiments = queries.experiment_counts(session=session, root_id=root_id)
    session.commit()

    by_stage = queries.counts(projects, "stage_", Stage)
    cells = projects._mapping
    facet_by_band = {
        queries.key(facet): {
            queries.key(band): int(cells[f"facet_{queries.key(facet)}__{queries.key(band)}"])
            for band in queries.BAND_KEYS
        }
        for facet in queries.FACET_KEYS
    }
    by_facet = {facet: sum(bands.values()) for facet, bands in facet_by_band.items()}
    by_band = {
        queries.key(band): sum(bands[queries.key(band)] for bands in facet_by_band.values())
        for band in queries.BAND_KEYS
    }
    reached = {
        stage: sum(by_stage[later] for later in FUNNEL_PATH[index:])
        for index, stage in enumerate(FUNNEL_PATH)
    }
    funnel = [
        FunnelStep(
            from_stage=current,
            to_stage=following,
            reached_from=reached[current],
            reached_to=reached[following],
            conversion=share(reached[following], reached[current]),
        )
        for current, following in zip(FUNNEL_PATH, FUNNEL_PATH[1:], strict=False)
    ]
    embedded, stopped = by_stage[Stage.embedded], by_stage[Stage.stopped]
    return PortfolioReport(
        unit_id=root_id,
        projects=projects.projects,
        by_stage=by_stage,
        by_facet=by_facet,
        by_risk_band=by_band,
        by_sponsor_level=queries.counts(projects, "sponsor_", SponsorLevel),
        by_work_mode=queries.counts(projects, "mode_", WorkMode),
        facet_by_risk_band=facet_by_band,
        experiments=experiments.experiments,
        experiments_by_status=queries.counts(experiments, "status_", ExperimentStatus),
        experiments_by_method=queries.counts(experiments, "method_", Method),
        experiments_by_result=queries.counts(experiments, "result_", ExperimentResult),
        funnel=funnel,
        embedded=embedded,
        stopped=stopped,
        adoption_share=share(embedded, embedded + stopped),
        high_risk=by_band["high"],
        high_risk_justified=projects.high_risk_justified,
        without_risk_profile=projects.without_risk_profile,
    )


# --- outcomes -------------------------------------------------------------------------


def outcomes(
    *, session: Session, settings: Settings, root_id: int | None, today: date
) -> OutcomesReport:
    coverage = queries.outcome_coverage(session=session, root_id=root_id)
    criteria = queries.criteria_by_kind_and_status(session=session, root_id=root_id, today=today)
    experiments = queries.experiment_counts(session=session, root_id=root_id)
    session.commit()

    projects, with_outcome = int(coverage.projects), int(coverage.with_outcome)
    outcome_share = share(with_outcome, projects)
    threshold = settings.share_threshold
    findings = []
    if outcome_share is not None and outcome_share < threshold:
        findings.append(
            Finding(
                code=FindingCode.activity_based,
                message=f"Only {with_outcome} of the {projects} projects past the idea stage "
                f"({_percent(outcome_share)}) have an outcome criterion; the others are judged "
                "by what they produce or do, not by what changes. Leadership can ask every "
                "project to name the change it aims for and how it will be measured, and "
                "review progress against those outcomes.",
                value=outcome_share,
                threshold=threshold,
            )
        )
    return OutcomesReport(
        unit_id=root_id,
        thresholds=thresholds(settings),
        projects=projects,
        projects_with_outcome_criteria=with_outcome,
        outcome_based_share=outcome_share,
        criteria={
            kind.value: {
                state.value: int(criteria._mapping[f"{kind.value}__{state.value}"])
                for state in CriterionStatus
            }
            for kind in CriterionKind
        },
        experiments_completed=experiments.status_completed,
        experiments_with_lessons=experiments.completed_with_lessons,
        results=queries.counts(experiments, "result_", ExperimentResult),
        findings=findings,
    )


# --- determinants ---------------------------------------------------------------------


def determinants(*, session: Session, root_id: int | None) -> DeterminantsReport:
    totals = queries.determinant_totals(session=session, root_id=root_id)
    unit_rows = queries.barriers_by_unit(session=session, root_id=root_id)
    session.commit()

    tags = totals._mapping
    summaries = [
        DeterminantSummary(
            determinant=determinant,
            enablers=tags[f"{determinant.value}__{Effect.enabler.value}"],
            barriers=tags[f"{determinant.value}__{Effect.barrier.value}"],
            prompt=GUIDE[determinant].prompt,
            levers=GUIDE[determinant].levers,
        )
        for determinant in Determinant
    ]
    # max() keeps the first of equal values: ties go to the earlier determinant.
    most = max(summaries, key=lambda summary: summary.barriers)
    return DeterminantsReport(
        unit_id=root_id,
        determinants=summaries,
        weakest=most.determinant if most.barriers > 0 else None,
        units=[
            UnitBarriers(
                **unit_fields(row),
                barriers=queries.counts(row, "barrier_", Determinant),
            )
            for row in unit_rows
        ],
    )


def build(
    name: ReportName,
    *,
    session: Session,
    settings: Settings,
    root_id: int | None,
    today: date,
    as_of: date | None = None,
    year: int | None = None,
) -> Report | ExperimentationReport:
    """Any report by name (the CLI's entry point; the API calls each report directly).
    ``as_of`` applies to the spread report; `year` is the experimentation report's fiscal
    year (default: the one containing today)."""
    if name == ReportName.experimentation:
        return experimentation.build(
            session=session, settings=settings, root_id=root_id, year=year, today=today
        )
    if name == ReportName.spread:
        return spread(session=session, settings=settings, root_id=root_id, as_of=as_of)
    if name == ReportName.portfolio:
        return portfolio(session=session, root_id=root_id)
    if name == ReportName.outcomes:
        return outcomes(session=session, settings=settings, root_id=root_id, today=today)
    return determinants(session=session, root_id=root_id)
