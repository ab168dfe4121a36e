"""The reports as terminal tables (`portfolio report ...`)."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from app.reports.experimentation import ExperimentationReport
from app.reports.schemas import (
    BarometerReport,
    DeterminantsReport,
    Finding,
    FlowReport,
    OutcomesReport,
    PortfolioReport,
    Report,
    SpreadReport,
    StageCounts,
    TrendsReport,
)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _counts_table(title: str, counts: BaseModel) -> Table:
    table = Table(title=title, title_justify="left")
    data = counts.model_dump()
    for name in data:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_row(*(str(value) for value in data.values()))
    return table


def _summary(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, str(value))
    return table


def _findings(console: Console, findings: list[Finding]) -> None:
    if not findings:
        console.print("No threshold crossed.")
    for finding in findings:
        console.print(f"[bold]{finding.code.value}[/bold]: {finding.message}")


def _scope(report: Report | ExperimentationReport) -> str:
    scope = "whole organization" if report.unit_id is None else f"unit {report.unit_id} subtree"
    as_of = getattr(report, "as_of", None)
    return scope if as_of is None else f"{scope}, as of {as_of.isoformat()}"


def print_report(report: Report | ExperimentationReport, console: Console | None = None) -> None:
    console = console or Console()
    if isinstance(report, ExperimentationReport):
        _experimentation(console, report)
    elif isinstance(report, SpreadReport):
        _spread(console, report)
    elif isinstance(report, PortfolioReport):
        _portfolio(console, report)
    elif isinstance(report, OutcomesReport):
        _outcomes(console, report)
    elif isinstance(report, TrendsReport):
        _trends(console, report)
    elif isinstance(report, FlowReport):
        _flow(console, report)
    elif isinstance(report, BarometerReport):
        _barometer(console, report)
    else:
        _determinants(console, report)


def _spread(console: Console, report: SpreadReport) -> None:
    console.print(
        _summary(
            f"Spread of innovation ({_scope(report)})",
            [
                ("verdict", report.verdict.value),
                ("active projects", report.active_projects),
                ("side-of-desk share", percent(report.side_of_desk_share)),
                ("core-business share", percent(report.core_business_share)),
                ("individual-sponsor share", percent(report.individual_sponsor_share)),
                (
                    "business lines with innovation",
                    f"{report.business_lines_with_innovation} of {report.business_lines} "
                    f"({percent(report.business_line_coverage)})",
                ),
                ("lab share", percent(report.lab_share)),
            ],
        )
    )
    console.print(_counts_table("Active projects by work mode", report.by_work_mode))
    console.print(_counts_table("Active projects by sponsor level", report.by_sponsor_level))
    _findings(console, report.findings)
    units = Table(title="Units (active projects each owns itself)", title_justify="left")
    for column in ("code", "name", "kind", "active", "side of desk", "dedicated", "core", "status"):
        units.add_column(column)
    for unit in report.units:
        units.add_row(
            unit.code,
            unit.name,
            unit.kind.value,
            str(unit.active_projects),
            str(unit.by_work_mode.side_of_desk),
            str(unit.by_work_mode.dedicated),
            str(unit.by_work_mode.core_business),
            unit.status.value,
        )
    console.print(units)


def _portfolio(console: Console, report: PortfolioReport) -> None:
    console.print(
        _summary(
            f"Portfolio balance ({_scope(report)})",
            [
                ("projects", report.projects),
                ("experiments", report.experiments),
                ("embedded", report.embedded),
                ("stopped", report.stopped),
                ("adoption share", percent(report.adoption_share)),
                ("high risk", report.high_risk),
                ("high risk, justified", report.high_risk_justified),
                ("past idea without risk profile", report.without_risk_profile),
            ],
        )
    )
    for title, counts in (
        ("Projects by stage", report.by_stage),
        ("Projects by facet", report.by_facet),
        ("Projects by risk band", report.by_risk_band),
        ("Projects by sponsor level", report.by_sponsor_level),
        ("Projects by work mode", report.by_work_mode),
        ("Experiments by status", report.experiments_by_status),
        ("Experiments by method", report.experiments_by_method),
        ("Experiments by result", report.experiments_by_result),
    ):
        console.print(_counts_table(title, counts))
    cross = Table(title="Facet x risk band", title_justify="left")
    cross.add_column("facet")
    bands = list(report.by_risk_band.model_dump())
    for band in bands:
        cross.add_column(band, justify="right")
    for facet, counts in report.facet_by_risk_band.model_dump().items():
        cross.add_row(facet, *(str(counts[band]) for band in bands))
    console.print(cross)
    funnel = Table(title="Funnel", title_justify="left")
    for column in ("from", "to", "reached from", "reached to", "conversion"):
        funnel.add_column(column)
    for step in report.funnel:
        funnel.add_row(
            step.from_stage,
            step.to_stage,
            str(step.reached_from),
            str(step.reached_to),
            percent(step.conversion),
        )
    console.print(funnel)


def _outcomes(console: Console, report: OutcomesReport) -> None:
    console.print(
        _summary(
            f"Outcomes ({_scope(report)})",
            [
                ("projects past idea", report.projects),
                ("with outcome criteria", report.projects_with_outcome_criteria),
                ("outcome-based share", percent(report.outcome_based_share)),
                ("experiments completed", report.experiments_completed),
                ("with lessons", report.experiments_with_lessons),
            ],
        )
    )
    criteria = Table(title="Criteria by kind and status", title_justify="left")
    for column in ("kind", "met", "missed", "pending"):
        criteria.add_column(column)
    for kind, counts in report.criteria.model_dump().items():
        criteria.add_row(kind, str(counts["met"]), str(counts["missed"]), str(counts["pending"]))
    console.print(criteria)
    console.print(_counts_table("Completed experiments by result", report.results))
    _findings(console, report.findings)


def _determinants(console: Console, report: DeterminantsReport) -> None:
    weakest = report.weakest.value if report.weakest else "none (no barriers)"
    console.print(f"Determinants ({_scope(report)}); weakest: [bold]{weakest}[/bold]")
    table = Table()
    for column in ("determinant", "enablers", "barriers", "question"):
        table.add_column(column)
    for entry in report.determinants:
        table.add_row(
            entry.determinant.value, str(entry.enablers), str(entry.barriers), entry.prompt
        )
    console.print(table)
    for entry in report.determinants:
        console.print(f"[bold]{entry.determinant.value}[/bold]: what leadership can do")
        for lever in entry.levers:
            console.print(f"  - {lever}")
    heat = Table(title="Barriers per unit", title_justify="left")
    for column in ("code", "name", "clarity", "parity", "suitability", "normality"):
        heat.add_column(column)
    for unit in report.units:
        b = unit.barriers
        heat.add_row(
            unit.code,
            unit.name,
            str(b.clarity),
            str(b.parity),
            str(b.suitability),
            str(b.normality),
        )
    console.print(heat)


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _trends(console: Console, report: TrendsReport) -> None:
    console.print(
        f"Trends, {report.from_} to {report.to} by {report.interval.value} ({_scope(report)})"
    )
    spread = Table(title="Spread at each point", title_justify="left")
    spread.add_column("as of", no_wrap=True)
    for column in ("active", "side of desk", "core", "individual", "lines covered", "lab"):
        spread.add_column(column, justify="right")
    spread.add_column("verdict", no_wrap=True)
    stages = Table(title="Projects by stage at each point", title_justify="left")
    stages.add_column("as of", no_wrap=True)
    for stage in StageCounts.model_fields:
        stages.add_column(stage, justify="right")
    for point in report.points:
        spread.add_row(
            point.as_of.isoformat(),
            str(point.active_projects),
            percent(point.side_of_desk_share),
            percent(point.core_business_share),
            percent(point.individual_sponsor_share),
            percent(point.business_line_coverage),
            percent(point.lab_share),
            point.verdict.value,
        )
        stages.add_row(
            point.as_of.isoformat(), *(str(n) for n in point.by_stage.model_dump().values())
        )
    console.print(spread)
    console.print(stages)


def _flow(console: Console, report: FlowReport) -> None:
    console.print(f"Flow, {report.from_} to {report.to} ({_scope(report)})")
    transitions = Table(title="Stage transitions", title_justify="left")
    for column in ("from", "to", "count"):
        transitions.add_column(column)
    for move in report.transitions:
        transitions.add_row(move.from_stage.value, move.to_stage.value, str(move.count))
    console.print(transitions)
    console.print(_counts_table("Entries into each stage", report.entered))
    stays = Table(title="Time in stage (days)", title_justify="left")
    for column in ("stage", "completed stays", "median", "now in stage", "median so far"):
        stays.add_column(column, justify="right")
    for stage, time in report.time_in_stage:
        stays.add_row(
            stage,
            str(time.completed_stays),
            _days(time.median_days),
            str(time.current),
            _days(time.current_median_days),
        )
    console.print(stays)
    moved = report.mainstreaming
    sponsored = report.institutionalisation
    console.print(
        _summary(
            "Mainstreaming and institutionalisation",
            [
                ("side of desk at start", moved.side_of_desk_at_start),
                ("mainstreamed share", percent(moved.mainstreamed_share)),
                ("individual sponsor at start", sponsored.individual_at_start),
                ("institutionalised share", percent(sponsored.institutionalised_share)),
            ],
        )
    )
    console.print(_counts_table("Side-of-desk work: work mode at the end", moved.work_mode_at_end))
    console.print(
        _counts_table(
            "Individually sponsored work: sponsor level at the end", sponsored.sponsor_level_at_end
        )
    )
    stalled = report.stalled
    limits = report.stall_days
    console.print(
        f"[bold]{stalled.total}[/bold] stalled (limits: exploration {limits.exploration}, "
        f"experiment {limits.experiment}, scaling {limits.scaling} days)"
    )
    units = Table(title="Units with stalled projects", title_justify="left")
    for column in ("code", "name", "stalled", "active"):
        units.add_column(column)
    for unit in stalled.units:
        units.add_row(unit.code, unit.name, str(unit.stalled), str(unit.active))
    console.print(units)
    projects = Table(title="Stalled projects (longest first)", title_justify="left")
    for column in ("id", "title", "unit", "stage", "since", "days"):
        projects.add_column(column)
    for project in stalled.projects:
        projects.add_row(
            str(project.project_id),
            project.title,
            str(project.unit_id),
            project.stage.value,
            project.since.isoformat(),
            str(project.days),
        )
    console.print(projects)


def _money(value: object) -> str:
    return "" if value is None else f"{value:,.2f}"


def _experimentation(console: Console, report: ExperimentationReport) -> None:
    started = report.experiments
    publication = report.publication
    totals = report.totals
    median = "n/a" if started.median_rigour is None else f"{started.median_rigour:g}"
    gap = "n/a" if publication.publication_gap is None else f"{publication.publication_gap:+.0%}"
    console.print(
        _summary(
            f"Experimentation, fiscal year {report.year} ({report.starts_on} to "
            f"{report.ends_on}, {_scope(report)})",
            [
                ("experiments started", started.experiments),
                ("median rigour", median),
                ("finished", publication.finished),
                ("published", publication.published),
                ("due for publication", publication.due),
                (f"overdue (> {publication.due_days} days)", publication.overdue),
                ("publication gap (supported - others)", gap),
                ("program funds", _money(totals.program_funds)),
                ("experiment spend", _money(totals.experiment_spend)),
                ("spend share", percent(totals.spend_share)),
                (
                    "units meeting their target",
                    f"{totals.units_meeting_target} of {totals.units_with_commitment}",
                ),
            ],
        )
    )
    console.print(_counts_table("By comparison", started.by_comparison))
    console.print(_counts_table("By rigour", started.by_rigour))
    results = Table(title="Publication by result", title_justify="left")
    for column in ("result", "finished", "published", "share"):
        results.add_column(column)
    for name, counts in report.publication.by_result:
        results.add_row(
            name, str(counts.finished), str(counts.published), percent(counts.published_share)
        )
    console.print(results)
    spend = Table(title="Spend against commitment", title_justify="left")
    for column in ("code", "name", "funds", "target", "spend", "share", "meets"):
        spend.add_column(column)
    for row in report.spend:
        spend.add_row(
            row.code,
            row.name,
            _money(row.program_funds),
            percent(row.target_share) if row.target_share is not None else "",
            _money(row.experiment_spend),
            percent(row.spend_share),
            "" if row.meets_target is None else ("yes" if row.meets_target else "no"),
        )
    console.print(spend)
    if report.overdue:
        overdue = Table(title="Overdue publications", title_justify="left")
        for column in ("id", "title", "ended on", "days overdue"):
            overdue.add_column(column)
        for item in report.overdue:
            overdue.add_row(
                str(item.experiment_id), item.title, str(item.ended_on), str(item.days_overdue)
            )
        console.print(overdue)
    _findings(console, report.findings)


def _barometer(console: Console, report: BarometerReport) -> None:
    def against(name: str) -> str:
        figures = getattr(report.comparison, name)
        return f"{percent(figures.organization)} (national {percent(figures.national)})"

    console.print(
        _summary(
            f"Innovation barometer {report.from_date} to {report.to_date} ({_scope(report)})",
            [
                ("innovations", report.innovations),
                (
                    "units innovating",
                    f"{report.units_innovating} of {report.units} "
                    f"= {against('units_innovating_share')}",
                ),
                ("copied or adapted", against("copied_or_adapted_share")),
                ("evaluated", against("evaluated_share")),
                ("evaluation unknown", report.evaluation_unknown),
                ("with collaborators", percent(report.collaborating_share)),
                ("adoptions", report.diffusion.adoptions),
                ("across units", report.diffusion.cross_unit_adoptions),
            ],
        )
    )
    for title, counts in (
        ("Innovations by novelty", report.by_novelty),
        ("Innovations by initiator", report.by_initiator),
        ("Innovations by type", report.by_type),
        ("Innovations by collaborator", report.by_collaborator),
        ("Innovations by value", report.by_value),
    ):
        console.print(_counts_table(title, counts))
    _findings(console, report.findings)
    sources = Table(title="Most adopted (by distinct other units)", title_justify="left")
    for column in ("project", "title", "unit", "adopting units", "adoptions"):
        sources.add_column(column)
    for source in report.diffusion.sources:
        sources.add_row(
            str(source.project_id),
            source.title,
            str(source.unit_id),
            str(source.adopting_units),
            str(source.adoptions),
        )
    console.print(sources)
    flows = Table(title="Adoptions across units", title_justify="left")
    for column in ("code", "adopted in", "adopted out"):
        flows.add_column(column)
    for flow in report.diffusion.unit_flows:
        flows.add_row(flow.code, str(flow.adopted_in), str(flow.adopted_out))
    console.print(flows)
    console.print(f"National figures: {report.comparison.source}.")
