"""The four reports: run the aggregate queries, derive shares, verdicts and findings."""

from datetime import date
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from app.api import json_pages
from app.auth.models import Actor
from app.core.config import Settings
from app.core.db import as_dicts
from app.core.errors import InvalidField
from app.determinants.models import Determinant, Effect
from app.experiments.models import ExperimentResult, ExperimentStatus, Method
from app.projects.models import (
    Collaborator,
    Initiator,
    InnovationType,
    Novelty,
    SponsorLevel,
    Stage,
    ValueType,
    WorkMode,
)
from app.reports import barometer as barometer_queries
from app.reports import outcome_summaries, queries
from app.reports import unit_status as unit_status_rule
from app.reports.findings import Check, crossed, percent
from app.reports.guide import GUIDE
from app.reports.schemas import (
    AdoptedSource,
    BarometerComparison,
    BarometerReport,
    DeterminantsReport,
    DeterminantSummary,
    Diffusion,
    FindingCode,
    FunnelStep,
    NationalFigure,
    OutcomesReport,
    PortfolioReport,
    SpreadReport,
    SpreadVerdict,
    Thresholds,
    UnitBarriers,
    UnitFlow,
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


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        min_active_projects=settings.min_active_projects,
        share_threshold=settings.share_threshold,
    )


# --- spread ---------------------------------------------------------------------------


def unit_status(active: int, by_work_mode: dict[str, int], threshold: float) -> UnitSpreadStatus:
    return unit_status_rule.status(active, by_work_mode, threshold)


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
    return json_pages.model_json(report, {"units": row.units.encode()})


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
    individual = by_sponsor[SponsorLevel.individual]
    headline = spread_headline(
        active=active,
        by_work_mode=by_work_mode,
        individual=individual,
        with_innovation=with_innovation,
        business_lines=business_lines,
        lab_projects=lab_projects,
        settings=settings,
    )
    side_share = headline["side_of_desk_share"]
    individual_share = headline["individual_sponsor_share"]
    coverage = headline["business_line_coverage"]
    lab_share = headline["lab_share"]

    findings = crossed(
        Check(
            FindingCode.few_active_projects,
            active,
            settings.min_active_projects,
            below=True,
            message=lambda count: (
                f"Only {count} active project(s) in scope, fewer than the "
                f"{settings.min_active_projects} needed to judge how innovation is spread. "
                "Leadership can ask business lines to register the initiatives they run and to "
                "commission new ones as part of regular business planning."
            ),
        ),
        Check(
            FindingCode.side_of_desk,
            side_share,
            threshold,
            message=lambda share: (
                f"{side} of the {active} active projects "
                f"({percent(share)}) are done on the side of the desk, without dedicated time "
                "or budget. Leadership can link them to regular business planning and budgets so "
                "they stop depending on people's spare time."
            ),
        ),
        Check(
            FindingCode.low_business_line_coverage,
            coverage,
            threshold,
            below=True,
            message=lambda share: (
                f"Only {with_innovation} of the {business_lines} business "
                f"lines ({percent(share)}) own an active innovation project. Leadership can ask "
                "every business line to carry at least one initiative in its business plan and "
                "budget."
            ),
        ),
        Check(
            FindingCode.lab_concentration,
            lab_share,
            threshold,
            message=lambda share: (
                f"{lab_projects} of the {active} active projects "
                f"({percent(share)}) are owned by innovation labs. Leadership can spread "
                "innovation beyond the lab by having business lines own projects, with the lab in "
                "support."
            ),
        ),
        Check(
            FindingCode.reliance_on_individuals,
            individual_share,
            threshold,
            message=lambda share: (
                f"{individual} of the {active} active projects "
                f"({percent(share)}) hang on a single individual sponsor. Leadership "
                "can give them organizational or system-level sponsors, so they survive when that "
                "person moves on."
            ),
        ),
    )

    return SpreadReport(
        unit_id=root_id,
        as_of=as_of,
        thresholds=thresholds(settings),
        active_projects=active,
        by_work_mode=by_work_mode,
        by_sponsor_level=by_sponsor,
        business_lines=business_lines,
        business_lines_with_innovation=with_innovation,
        **headline,
        findings=findings,
        units=units,
    )


def spread_headline(
    *,
    active: int,
    by_work_mode: dict[str, int],
    individual: int,
    with_innovation: int,
    business_lines: int,
    lab_projects: int,
    settings: Settings,
) -> dict[str, Any]:
    """The spread report's shares and verdict from its counts, by their names in
    `SpreadReport` and `TrendPoint` (the trends report gives them at every point)."""
    side_share = share(by_work_mode[WorkMode.side_of_desk], active)
    core_share = share(by_work_mode[WorkMode.core_business], active)
    individual_share = share(individual, active)
    coverage = share(with_innovation, business_lines)
    lab_share = share(lab_projects, active)
    return {
        "side_of_desk_share": side_share,
        "core_business_share": core_share,
        "individual_sponsor_share": individual_share,
        "business_line_coverage": coverage,
        "lab_share": lab_share,
        "verdict": spread_verdict(
            active=active,
            side_share=side_share,
            core_share=core_share,
            individual_share=individual_share,
            coverage=coverage,
            lab_share=lab_share,
            settings=settings,
        ),
    }


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
    outcome_summaries.compact_if_needed(
        session=session,
        rows_read=coverage.rows_read + criteria.rows_read,
        units=coverage.units,
        today=today,
    )

    projects, with_outcome = coverage.projects, coverage.with_outcome
    outcome_share = share(with_outcome, projects)
    threshold = settings.share_threshold
    findings = crossed(
        Check(
            FindingCode.activity_based,
            outcome_share,
            threshold,
            below=True,
            message=lambda share: (
                f"Only {with_outcome} of the {projects} projects past "
                f"the idea stage ({percent(share)}) have an outcome criterion; the others "
                "are judged by what they produce or do, not by what changes. Leadership can ask "
                "every project to name the change it aims for and how it will be measured, and "
                "review progress against those outcomes."
            ),
        )
    )
    return OutcomesReport(
        unit_id=root_id,
        thresholds=thresholds(settings),
        projects=projects,
        projects_with_outcome_criteria=with_outcome,
        outcome_based_share=outcome_share,
        criteria=criteria.counts,
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

    return _determinants_report(
        totals=totals,
        root_id=root_id,
        units=[
            {**unit_fields(row), "barriers": queries.counts(row, "barrier_", Determinant)}
            for row in unit_rows
        ],
    )


def determinants_json(*, session: Session, root_id: int | None) -> bytes:
    """The determinants report as JSON: on PostgreSQL its `units` rows come as JSON text
    from the database (`queries.barriers_by_unit_json`), as spread's do; the rest goes
    through the model. The same bytes as `determinants(...).model_dump_json()`."""
    if not json_pages.builds_json(session):
        return determinants(session=session, root_id=root_id).model_dump_json().encode()
    totals = queries.determinant_totals(session=session, root_id=root_id)
    units = queries.barriers_by_unit_json(session=session, root_id=root_id)
    session.commit()
    report = _determinants_report(totals=totals, root_id=root_id, units=[])
    return json_pages.model_json(report, {"units": units.encode()})


def _determinants_report(
    *, totals: Row[Any], root_id: int | None, units: list[dict[str, Any]]
) -> DeterminantsReport:
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
        units=[UnitBarriers.model_validate(unit) for unit in units],
    )


# --- barometer ------------------------------------------------------------------------

# The Innovation Barometer's published national figures (README, "Barometer": source and
# the survey question each mirrors).
BAROMETER_SOURCE = (
    "Danish Innovation Barometer (Innovationsbarometeret), National Centre for Public "
    "Sector Innovation (COI) with Statistics Denmark"
)
NATIONAL_UNITS_INNOVATING_SHARE = 0.8
NATIONAL_COPIED_OR_ADAPTED_SHARE = 0.73
NATIONAL_EVALUATED_SHARE = 0.4
# Below this share of innovations copied or adapted, `little_reuse`.
LITTLE_REUSE_THRESHOLD = 0.5


def barometer_window(
    *, today: date, from_date: date | None, to_date: date | None
) -> tuple[date, date]:
    """The report's window, both days inclusive: by default the two years up to today (the
    same day two years before; 29 February falls back to the 28th)."""
    end = to_date or today
    if from_date is None:
        try:
            from_date = end.replace(year=end.year - 2)
        except ValueError:
            from_date = end.replace(year=end.year - 2, day=28)
    if from_date > end:
        raise InvalidField("from", f"is after `to` ({end.isoformat()})", location="query")
    return from_date, end


def _counts(row: Row[Any], prefix: str, values: Any, unknown: bool = False) -> dict[str, int]:
    found = queries.counts(row, prefix, values)
    if unknown:
        found["unknown"] = int(row._mapping[f"{prefix}unknown"])
    return found


def barometer(
    *, session: Session, root_id: int | None, from_date: date, to_date: date
) -> BarometerReport:
    window: dict[str, Any] = {
        "session": session,
        "root_id": root_id,
        "from_date": from_date,
        "to_date": to_date,
    }
    totals = barometer_queries.totals(**window)
    same_unit = barometer_queries.same_unit_totals(**window)
    flows = barometer_queries.unit_flows(**window)
    sources = barometer_queries.top_sources(**window, reach_bound=same_unit.reach_bound)
    session.commit()

    cross_unit = sum(int(flow.adopted_in) for flow in flows)
    innovations = int(totals.innovations)
    units, units_innovating = int(totals.units), int(totals.units_innovating)
    by_novelty = _counts(totals, "novelty_", Novelty, unknown=True)
    known_novelty = innovations - by_novelty["unknown"]
    reused = by_novelty[Novelty.adapted] + by_novelty[Novelty.copied]
    evaluated, evaluation_known = int(totals.evaluated), int(totals.evaluation_known)
    units_share = share(units_innovating, units)
    reuse_share = share(reused, known_novelty)
    evaluated_share = share(evaluated, evaluation_known)

    findings = crossed(
        Check(
            FindingCode.low_evaluation,
            evaluated_share,
            NATIONAL_EVALUATED_SHARE,
            below=True,
            message=lambda share: (
                f"Only {evaluated} of the {evaluation_known} "
                f"innovations whose evaluation is known ({percent(share)}) were "
                f"evaluated, below the national {percent(NATIONAL_EVALUATED_SHARE)}. Leadership "
                "can ask every innovation that is embedded to say how its effect will be "
                "evaluated, internally or externally, and set aside time for it."
            ),
        ),
        Check(
            FindingCode.little_reuse,
            reuse_share,
            LITTLE_REUSE_THRESHOLD,
            below=True,
            message=lambda share: (
                f"Only {reused} of the {known_novelty} innovations "
                f"whose novelty is known ({percent(share)}) were copied or adapted from "
                f"others; nationally {percent(NATIONAL_COPIED_OR_ADAPTED_SHARE)} are. Leadership "
                "can point units to what already works elsewhere (the diffusion sources) before "
                "they build their own."
            ),
        ),
    )
    return BarometerReport(
        unit_id=root_id,
        from_date=from_date,
        to_date=to_date,
        innovations=innovations,
        units=units,
        units_innovating=units_innovating,
        units_innovating_share=units_share,
        by_novelty=by_novelty,  # type: ignore[arg-type]
        by_initiator=_counts(totals, "initiator_", Initiator, unknown=True),  # type: ignore[arg-type]
        by_type=queries.counts(totals, "type_", InnovationType),  # type: ignore[arg-type]
        by_collaborator=queries.counts(totals, "collaborator_", Collaborator),  # type: ignore[arg-type]
        by_value=queries.counts(totals, "value_", ValueType),  # type: ignore[arg-type]
        collaborating_share=share(int(totals.collaborating), innovations),
        evaluated_share=evaluated_share,
        evaluation_unknown=innovations - evaluation_known,
        copied_or_adapted_share=reuse_share,
        diffusion=Diffusion(
            adoptions=int(same_unit.adoptions) + cross_unit,
            cross_unit_adoptions=cross_unit,
            sources=[AdoptedSource.model_validate(row) for row in as_dicts(sources)],
            unit_flows=[UnitFlow.model_validate(row) for row in as_dicts(flows)],
        ),
        comparison=BarometerComparison(
            source=BAROMETER_SOURCE,
            units_innovating_share=NationalFigure(
                organization=units_share, national=NATIONAL_UNITS_INNOVATING_SHARE
            ),
            copied_or_adapted_share=NationalFigure(
                organization=reuse_share, national=NATIONAL_COPIED_OR_ADAPTED_SHARE
            ),
            evaluated_share=NationalFigure(
                organization=evaluated_share, national=NATIONAL_EVALUATED_SHARE
            ),
        ),
        findings=findings,
    )
