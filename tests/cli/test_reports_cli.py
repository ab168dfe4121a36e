"""`portfolio report NAME [--unit CODE] [--json]`: the same numbers as the API."""

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.config import get_settings
from tests.builders import create_project, create_unit


@pytest.fixture
def run(settings: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, ["report", *args])
    get_settings.cache_clear()


def build(admin: Any) -> dict[str, Any]:
    root = create_unit(admin, "ROOT", kind="corporate")
    line = create_unit(admin, "TAX-OPS", parent_id=root["id"])
    for _ in range(3):
        create_project(admin, line["id"], stage="scaling", work_mode="side_of_desk")
    create_project(admin, root["id"], stage="exploration", work_mode="core_business")
    return line


@pytest.mark.parametrize(
    "name", ["spread", "portfolio", "outcomes", "determinants", "experimentation", "barometer"]
)
def test_json_output_is_the_api_response(admin, run, name):
    line = build(admin)

    whole = run(name, "--json")
    scoped = run(name, "--unit", "tax-ops", "--json")

    assert whole.exit_code == 0, whole.output
    assert json.loads(whole.output) == admin.get(f"/api/v1/reports/{name}").json()
    assert scoped.exit_code == 0, scoped.output
    api = admin.get(f"/api/v1/reports/{name}", params={"unit_id": line["id"]}).json()
    assert json.loads(scoped.output) == api


def test_spread_table(admin, run):
    build(admin)

    result = run("spread", "--unit", "TAX-OPS")

    assert result.exit_code == 0, result.output
    assert "insufficient_data" in result.output
    assert "side_of_desk" in result.output
    assert "TAX-OPS" in result.output
    assert "ROOT" not in result.output


@pytest.mark.parametrize(
    "name", ["portfolio", "outcomes", "determinants", "experimentation", "barometer"]
)
def test_other_tables_print(admin, run, name):
    build(admin)

    result = run(name)

    assert result.exit_code == 0, result.output
    assert "whole organization" in result.output


def test_unknown_unit_or_report(admin, run):
    unknown_unit = run("spread", "--unit", "NOPE")
    assert unknown_unit.exit_code == 2
    assert "no unit with code 'NOPE'" in unknown_unit.output
    assert run("budget").exit_code == 2


def test_tables_piped_to_a_file_are_not_cut_at_80_columns(admin, run):
    name = "Directorate for " + "very " * 20 + "long names"  # 126 characters
    line = create_unit(admin, "LONG", name=name)
    create_project(admin, line["id"], stage="scaling", work_mode="core_business")

    result = run("spread")

    assert result.exit_code == 0, result.output
    # CliRunner's output is not a terminal: the name is printed whole, on one line.
    [row] = [text for text in result.stdout.splitlines() if "LONG" in text]
    assert name in row
    assert len(row) > 126


def test_spread_as_of_a_date_is_the_api_response(admin, run):
    line = create_unit(admin, "TAX-OPS")
    project = create_project(admin, line["id"], stage="exploration", effective_on="2025-01-10")
    admin.patch(
        f"/api/v1/projects/{project['id']}", json={"stage": "stopped", "effective_on": "2025-03-01"}
    )

    february = run("spread", "--as-of", "2025-02-01", "--json")
    table = run("spread", "--as-of", "2025-02-01")

    assert february.exit_code == 0, february.output
    api = admin.get("/api/v1/reports/spread", params={"as_of": "2025-02-01"}).json()
    assert json.loads(february.output) == api
    assert api["active_projects"] == 1  # exploring on 1 February, stopped on 1 March
    assert "as of 2025-02-01" in " ".join(table.output.split())  # wrapped to the terminal
    later = run("spread", "--as-of", "2999-01-01")
    assert later.exit_code == 2
    assert "is after today" in later.output


def test_barometer_window_and_table(admin, run):
    line = build(admin)
    source = create_project(
        admin,
        line["id"],
        stage="embedded",
        embedded_on="2025-03-01",
        novelty="first",
        evaluation="none",
        title="Source",
    )
    other = create_unit(admin, "HR", kind="corporate")
    create_project(
        admin, other["id"], novelty="copied", adopted_from=source["id"], started_on="2025-04-01"
    )
    window = {"from": "2025-01-01", "to": "2025-12-31"}

    as_json = run("barometer", "--from", "2025-01-01", "--to", "2025-12-31", "--json")
    table = run("barometer", "--from", "2025-01-01", "--to", "2025-12-31")

    assert as_json.exit_code == 0, as_json.output
    assert (
        json.loads(as_json.output) == admin.get("/api/v1/reports/barometer", params=window).json()
    )
    assert table.exit_code == 0, table.output
    # One innovation (Source, not evaluated): 0% evaluated, national 40%; HR adopted it.
    assert "0% (national 40%)" in table.output
    assert "low_evaluation" in table.output
    assert "Source" in table.output and "HR" in table.output
    backwards = run("barometer", "--from", "2025-02-01", "--to", "2025-01-01")
    assert backwards.exit_code == 2
    assert "from: is after `to` (2025-01-01)" in backwards.output
