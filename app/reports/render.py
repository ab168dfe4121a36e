"""The reports as terminal tables (`portfolio report ...`)."""

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from rich.console import Console, JustifyMethod
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
    ScopedReport,
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


def _print_counts(console: Console, *tables: tuple[str, BaseModel]) -> None:
    """A one-row table per (title, counts), in order."""
    for title, counts in tables:
        console.print(_counts_table(title, counts))


def _print_table(
    console: Console,
    title: str | None,
    columns: Iterable[str],
    rows: Iterable[Iterable[str]],
    *,
    justify: JustifyMethod = "left",
) -> None:
    """A table with a header row of `columns`, then `rows` (each a cell per column)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _print_summary(console: Console, title: str, rows: Iterable[tuple[str, Any]]) -> None:
    """Measures and their values, one per row."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)


def _findings(console: Console, findings: list[Finding]) -> None:
    if not findings:
        console.print("No threshold crossed.")
    for finding in findings:
        console.print(f"[bold]{finding.code.value}[/bold]: {finding.message}")


def _scope(report: ScopedReport) -> str:
    scope = "whole organization" if report.unit_id is None else f"unit {report.unit_id} subtree"
    as_of = getattr(report, "as_of", None)
    return scope if as_of is None else f"{scope}, as of {as_of.isoformat()}"


def print_report(report: Report | ExperimentationReport, console: Console | None = None) -> None:
    _PRINTERS[type(report)](console or Console(), report)


def _spread(console: Console, report: SpreadReport) -> None:
    _print_summary(
        console,
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
    _print_counts(
        console,
        ("Active projects by work mode", report.by_work_mode),
        ("Active projects by sponsor level", report.by_sponsor_level),
    )
    _findings(console, report.findings)
    _print_table(
        console,
        "Units (active projects each owns itself)",
        ("code", "name", "kind", "active", "side of desk", "dedicated", "core", "status"),
        (
            (
                unit.code,
                unit.name,
                unit.kind.value,
                str(unit.active_projects),
                str(unit.by_work_mode.side_of_desk),
                str(unit.by_work_mode.dedicated),
                str(unit.by_work_mode.core_business),
                unit.status.value,
            )
            for unit in report.units
        ),
    )


def _portfolio(console: Console, report: PortfolioReport) -> None:
    _print_summary(
        console,
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
    _print_counts(
        console,
        ("Projects by stage", report.by_stage),
        ("Projects by facet", report.by_facet),
        ("Projects by risk band", report.by_risk_band),
        ("Projects by sponsor level", report.by_sponsor_level),
        ("Projects by work mode", report.by_work_mode),
        ("Experiments by status", report.experiments_by_status),
        ("Experiments by method", report.experiments_by_method),
        ("Experiments by result", report.experiments_by_result),
    )
    cross = Table(title="Facet x risk band", title_justify="left")
    cross.add_column("facet")
    bands = list(report.by_risk_band.model_dump())
    for band in bands:
        cross.add_column(band, justify="right")
    for facet, counts in report.facet_by_risk_band.model_dump().items():
        cross.add_row(facet, *(str(counts[band]) for band in bands))
    console.print(cross)
    _print_table(
        console,
        "Funnel",
        ("from", "to", "reached from", "reached to", "conversion"),
        (
            (
                step.from_stage,
                step.to_stage,
                str(step.reached_from),
                str(step.reached_to),
                percent(step.conversion),
            )
            for step in report.funnel
        ),
    )


def _outcomes(console: Console, report: OutcomesReport) -> None:
    _print_summary(
        console,
        f"Outcomes ({_scope(report)})",
        [
            ("projects past idea", report.projects),
            ("with outcome criteria", report.projects_with_outcome_criteria),
            ("outcome-based share", percent(report.outcome_based_share)),
            ("experiments completed", report.experiments_completed),
            ("with lessons", report.experiments_with_lessons),
        ],
    )
    _print_table(
        console,
        "Criteria by kind and status",
        ("kind", "met", "missed", "pending"),
        (
            (kind, str(counts["met"]), str(counts["missed"]), str(counts["pending"]))
            for kind, counts in report.criteria.model_dump().items()
        ),
    )
    _print_counts(console, ("Completed experiments by result", report.results))
    _findings(console, report.findings)


def _determinants(console: Console, report: DeterminantsReport) -> None:
    weakest = report.weakest.value if report.weakest else "none (no barriers)"
    console.print(f"Determinants ({_scope(report)}); weakest: [bold]{weakest}[/bold]")
    _print_table(
        console,
        None,
        ("determinant", "enablers", "barriers", "question"),
        (
            (entry.determinant.value, str(entry.enablers), str(entry.barriers), entry.prompt)
            for entry in report.determinants
        ),
    )
    for entry in report.determinants:
        console.print(f"[bold]{entry.determinant.value}[/bold]: what leadership can do")
        for lever in entry.levers:
            console.print(f"  - {lever}")
    _print_table(
        console,
        "Barriers per unit",
        ("code", "name", "clarity", "parity", "suitability", "normality"),
        (
            (
                unit.code,
                unit.name,
                str(unit.barriers.clarity),
                str(unit.barriers.parity),
                str(unit.barriers.suitability),
                str(unit.barriers.normality),
            )
            for unit in report.units
        ),
    )


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
    _print_table(
        console,
        "Stage transitions",
        ("from", "to", "count"),
        (
            (move.from_stage.value, move.to_stage.value, str(move.count))
            for move in report.transitions
        ),
    )
    _print_counts(console, ("Entries into each stage", report.entered))
    _print_table(
        console,
        "Time in stage (days)",
        ("stage", "completed stays", "median", "now in stage", "median so far"),
        (
            (
                stage,
                str(time.completed_stays),
                _days(time.median_days),
                str(time.current),
                _days(time.current_median_days),
            )
            for stage, time in report.time_in_stage
        ),
        justify="right",
    )
    moved = report.mainstreaming
    sponsored = report.institutionalisation
    _print_summary(
        console,
        "Mainstreaming and institutionalisation",
        [
            ("side of desk at start", moved.side_of_desk_at_start),
            ("mainstreamed share", percent(moved.mainstreamed_share)),
            ("individual sponsor at start", sponsored.individual_at_start),
            ("institutionalised share", percent(sponsored.institutionalised_share)),
        ],
    )
    _print_counts(
        console,
        ("Side-of-desk work: work mode at the end", moved.work_mode_at_end),
        ("Individually sponsored work: sponsor level at the end", sponsored.sponsor_level_at_end),
    )
    stalled = report.stalled
    limits = report.stall_days
    console.print(
        f"[bold]{stalled.total}[/bold] stalled (limits: exploration {limits.exploration}, "
        f"experiment {limits.experiment}, scaling {limits.scaling} days)"
    )
    _print_table(
        console,
        "Units with stalled projects",
        ("code", "name", "stalled", "active"),
        ((unit.code, unit.name, str(unit.stalled), str(unit.active)) for unit in stalled.units),
    )
    _print_table(
        console,
        "Stalled projects (longest first)",
        ("id", "title", "unit", "stage", "since", "days"),
        (
            (
                str(project.project_id),
                project.title,
                str(project.unit_id),
                project.stage.value,
                project.since.isoformat(),
                str(project.days),
            )
            for project in stalled.projects
        ),
    )


def _money(value: object) -> str:
    return "" if value is None else f"{value:,.2f}"


def _experimentation(console: Console, report: ExperimentationReport) -> None:
    started = report.experiments
    publication = report.publication
    totals = report.totals
    median = "n/a" if started.median_rigour is None else f"{started.median_rigour:g}"
    gap = "n/a" if publication.publication_gap is None else f"{publication.publication_gap:+.0%}"
    _print_summary(
        console,
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
    _print_counts(
        console,
        ("By comparison", started.by_comparison),
        ("By rigour", started.by_rigour),
    )
    _print_table(
        console,
        "Publication by result",
        ("result", "finished", "published", "share"),
        (
            (name, str(counts.finished), str(counts.published), percent(counts.published_share))
            for name, counts in report.publication.by_result
        ),
    )
    _print_table(
        console,
        "Spend against commitment",
        ("code", "name", "funds", "target", "spend", "share", "meets"),
        (
            (
                row.code,
                row.name,
                _money(row.program_funds),
                percent(row.target_share) if row.target_share is not None else "",
                _money(row.experiment_spend),
                percent(row.spend_share),
                "" if row.meets_target is None else ("yes" if row.meets_target else "no"),
            )
            for row in report.spend
        ),
    )
    if report.overdue:
        _print_table(
            console,
            "Overdue publications",
            ("id", "title", "ended on", "days overdue"),
            (
                (
                    str(item.experiment_id),
                    item.title,
                    str(item.ended_on),
                    str(item.days_overdue),
                )
                for item in report.overdue
            ),
        )
    _findings(console, report.findings)


def _barometer(console: Console, report: BarometerReport) -> None:
    def against(name: str) -> str:
        figures = getattr(report.comparison, name)
        return f"{percent(figures.organization)} (national {percent(figures.national)})"

    _print_summary(
        console,
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
    _print_counts(
        console,
        ("Innovations by novelty", report.by_novelty),
        ("Innovations by initiator", report.by_initiator),
        ("Innovations by type", report.by_type),
        ("Innovations by collaborator", report.by_collaborator),
        ("Innovations by value", report.by_value),
    )
    _findings(console, report.findings)
    _print_table(
        console,
        "Most adopted (by distinct other units)",
        ("project", "title", "unit", "adopting units", "adoptions"),
        (
            (
                str(source.project_id),
                source.title,
                str(source.unit_id),
                str(source.adopting_units),
                str(source.adoptions),
            )
            for source in report.diffusion.sources
        ),
    )
    _print_table(
        console,
        "Adoptions across units",
        ("code", "adopted in", "adopted out"),
        (
            (flow.code, str(flow.adopted_in), str(flow.adopted_out))
            for flow in report.diffusion.unit_flows
        ),
    )
    console.print(f"National figures: {report.comparison.source}.")


_PRINTERS: dict[type[BaseModel], Callable[[Console, Any], None]] = {
    SpreadReport: _spread,
    PortfolioReport: _portfolio,
    OutcomesReport: _outcomes,
    DeterminantsReport: _determinants,
    TrendsReport: _trends,
    FlowReport: _flow,
    ExperimentationReport: _experimentation,
    BarometerReport: _barometer,
}
