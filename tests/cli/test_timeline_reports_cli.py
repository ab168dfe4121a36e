"""`portfolio report trends|flow [--from --to --interval --unit] [--json]`: the API's numbers."""

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.config import get_settings
from tests.builders import create_unit
from tests.reports.timelines import change, started


@pytest.fixture
def run(settings: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, ["report", *args])
    get_settings.cache_clear()


@pytest.fixture
def line(admin: Any) -> dict[str, Any]:
    root = create_unit(admin, "ROOT", kind="corporate")
    line = create_unit(admin, "TAX-OPS", parent_id=root["id"])
    # Exploration from 1 Jan 2024, experiment from 1 Jan 2025: 180 days at 30 June 2025.
    project = started(admin, line["id"], "2024-01-01", "exploration", title="Pre-filled returns")
    change(admin, project, "2025-01-01", stage="experiment")
    # Exploration in ROOT since 1 Dec 2024: 211 days at 30 June 2025, over 180: stalled.
    started(admin, root["id"], "2024-12-01", "exploration", title="Chatbot")
    return line


@pytest.mark.parametrize(
    ("name", "options", "params"),
    [
        (
            "trends",
            ["--from", "2024-01-01", "--to", "2025-06-30", "--interval", "month"],
            {"from": "2024-01-01", "to": "2025-06-30", "interval": "month"},
        ),
        ("trends", [], {}),
        (
            "flow",
            ["--from", "2025-01-01", "--to", "2025-06-30"],
            {"from": "2025-01-01", "to": "2025-06-30"},
        ),
        ("flow", [], {}),
    ],
)
def test_json_output_is_the_api_response(admin, run, line, name, options, params):
    whole = run(name, *options, "--json")
    scoped = run(name, *options, "--unit", "tax-ops", "--json")

    assert whole.exit_code == 0, whole.output
    assert json.loads(whole.output) == admin.get(f"/api/v1/reports/{name}", params=params).json()
    assert scoped.exit_code == 0, scoped.output
    api = admin.get(f"/api/v1/reports/{name}", params={**params, "unit_id": line["id"]})
    assert json.loads(scoped.output) == api.json()


def test_trends_table(admin, run, line):
    result = run("trends", "--from", "2024-07-01", "--to", "2025-06-30", "--interval", "year")

    assert result.exit_code == 0, result.output
    assert "Trends, 2024-07-01 to 2025-06-30 by year (whole organization)" in result.output
    assert "2024-12-31" in result.output
    assert "2025-06-30" in result.output


def test_flow_table(admin, run, line):
    result = run("flow", "--from", "2025-01-01", "--to", "2025-06-30")

    assert result.exit_code == 0, result.output
    assert "Flow, 2025-01-01 to 2025-06-30 (whole organization)" in result.output
    assert "exploration" in result.output
    assert "Chatbot" in result.output  # stalled, 211 days
    assert "211" in result.output
    assert "Pre-filled returns" not in result.output  # 180 days in experiment: not stalled


def test_a_window_the_api_refuses(admin, run):
    backwards = run("flow", "--from", "2025-02-01", "--to", "2025-01-31")
    assert backwards.exit_code == 2
    assert "from: must not be after `to` (2025-01-31)" in backwards.output

    too_many = run("trends", "--from", "2000-01-01", "--interval", "month")
    assert too_many.exit_code == 2
    assert "more than 120 month points" in too_many.output

    assert run("trends", "--from", "2025-02-30").exit_code == 2  # not a date
    assert run("trends", "--interval", "week").exit_code == 2


def test_window_options_belong_to_trends_and_flow(admin, run):
    spread = run("spread", "--from", "2025-01-01")
    assert spread.exit_code == 2
    assert "--from apply to trends, flow and barometer only" in spread.output
    flow = run("flow", "--interval", "month")
    assert flow.exit_code == 2
    assert "--interval applies to trends only" in flow.output
