"""A short program against the Python client that openapi-python-client generates from
openapi/openapi.json (package `portfolio_client`). tests/contract/test_generated_clients.py
type-checks it with `mypy --strict` and runs it against the app: required fields are read
plainly, with no `Unset` to rule out."""

from portfolio_client import AuthenticatedClient
from portfolio_client.api.projects import get_project, project_history
from portfolio_client.api.reports import portfolio_report, spread_report
from portfolio_client.models import (
    HistoryPage,
    PortfolioReport,
    ProjectPublic,
    SpreadReport,
    Stage,
)

SpreadSummary = tuple[str, float | None, float | None, list[str]]


def spread_summary(client: AuthenticatedClient, unit_id: int) -> SpreadSummary:
    report = spread_report.sync(client=client, unit_id=unit_id)
    if not isinstance(report, SpreadReport):
        raise RuntimeError(f"no spread report: {report!r}")
    coverage: float | None = report.business_line_coverage
    lab_share: float | None = report.lab_share
    codes: list[str] = [row.code for row in report.units]
    return report.verdict.value, coverage, lab_share, codes


def funnel(client: AuthenticatedClient) -> list[tuple[Stage, Stage, float | None]]:
    report = portfolio_report.sync(client=client)
    if not isinstance(report, PortfolioReport):
        raise RuntimeError(f"no portfolio report: {report!r}")
    adoption: float | None = report.adoption_share
    assert adoption is None or 0 <= adoption <= 1
    return [(step.from_stage, step.to_stage, step.conversion) for step in report.funnel]


def project_money(client: AuthenticatedClient, project_id: int) -> tuple[str | None, str | None]:
    project = get_project.sync(project_id, client=client)
    if not isinstance(project, ProjectPublic):
        raise RuntimeError(f"no project: {project!r}")
    summary: str | None = project.summary  # required and nullable: no Unset
    assert summary is None or summary
    return project.budget, project.fte


def changed_fields(client: AuthenticatedClient, project_id: int) -> dict[str, object]:
    page = project_history.sync(project_id, client=client)
    if not isinstance(page, HistoryPage):
        raise RuntimeError(f"no history: {page!r}")
    newest = page.items[0]
    return {field: change.new for field, change in newest.changes.additional_properties.items()}
