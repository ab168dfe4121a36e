"""`portfolio demo-data` and `portfolio import experiments`, checked through the API."""

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.config import get_settings
from app.core.db import today
from tests.builders import create_project, create_unit

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Invoke the `portfolio` command against the test database."""
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, [str(a) for a in args])
    get_settings.cache_clear()


def everything(client: TestClient, path: str) -> list[dict[str, Any]]:
    response = client.get(path, params={"limit": 500})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


# demo-data


def test_demo_data_fills_an_empty_database_with_a_varied_portfolio(run: Run, admin: TestClient):
    result = run("demo-data")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "demo portfolio added: 14 units, 26 projects, 13 experiments, 11 criteria, "
        "17 measurements, 5 commitments\n"
    )
    units = everything(admin, "/api/v1/units")
    assert Counter(u["kind"] for u in units) == {
        "business_line": 6,
        "corporate": 6,
        "innovation_lab": 2,
    }
    departments = {u["id"]: u["code"] for u in units if u["parent_id"] is None}
    assert sorted(departments.values()) == ["CORP", "GOV-LAB", "HLT", "REV", "TRN"]
    branches = Counter(departments[u["parent_id"]] for u in units if u["parent_id"])
    assert branches == {"REV": 3, "HLT": 2, "TRN": 2, "CORP": 2}

    projects = everything(admin, "/api/v1/projects")
    assert len(projects) == 26
    assert Counter(p["stage"] for p in projects) == {
        "idea": 2,
        "exploration": 8,
        "experiment": 5,
        "scaling": 5,
        "embedded": 4,
        "stopped": 2,
    }
    assert set(Counter(p["work_mode"] for p in projects)) == {
        "side_of_desk",
        "dedicated",
        "core_business",
    }
    assert set(Counter(p["sponsor_level"] for p in projects)) == {
        "individual",
        "organizational",
        "system",
    }
    assert sum(1 for p in projects if p["risk"] is None) == 7
    assert {t["determinant"] for p in projects for t in p["determinants"]} == {
        "clarity",
        "parity",
        "suitability",
        "normality",
    }

    experiments = everything(admin, "/api/v1/experiments")
    assert Counter(e["result"] for e in experiments) == {
        "supported": 6,
        "inconclusive": 2,
        "not_supported": 1,
        None: 4,
    }
    assert all(e["lessons"] for e in experiments if e["status"] == "completed")

    statuses: Counter[str] = Counter()
    for owner, items in (("projects", projects), ("experiments", experiments)):
        for item in items:
            for criterion in everything(admin, f"/api/v1/{owner}/{item['id']}/criteria"):
                statuses[criterion["status"]] += 1
    assert statuses == {"met": 2, "missed": 4, "pending": 5}

    history = admin.get(f"/api/v1/projects/{projects[0]['id']}/history").json()["items"]
    assert {(h["api_key_id"], h["api_key_name"]) for h in history} == {(0, "portfolio demo-data")}

    # Dated history: pre-filled returns went from a side-of-desk exploration to core business.
    day = today()
    timeline = admin.get(f"/api/v1/projects/{projects[0]['id']}/timeline").json()["periods"]
    assert [(p["from"], p["stage"], p["work_mode"]) for p in timeline] == [
        (str(day - timedelta(days=430)), "exploration", "side_of_desk"),
        (str(day - timedelta(days=330)), "experiment", "dedicated"),
        (str(day - timedelta(days=150)), "scaling", "core_business"),
    ]
    # Health stalls in exploration; the flow report says so.
    stalled = admin.get("/api/v1/reports/flow").json()["stalled"]
    assert stalled["total"] == 5
    assert [u["code"] for u in stalled["units"]] == ["HLT-CLN", "HLT-PUB", "TRN-RDS"]
    # The mandate: successes published, the rest mostly not; some units below commitment.
    mandate = admin.get("/api/v1/reports/experimentation").json()
    assert {f["code"] for f in mandate["findings"]} >= {"publication_bias", "below_commitment"}
    # A lineage across departments: Revenue's notices, copied by Licensing, adapted by Health.
    notices = next(p for p in projects if p["title"] == "Plain-language assessment notices")
    lineage = admin.get(f"/api/v1/projects/{notices['id']}/lineage").json()
    assert sorted((d["depth"], d["title"]) for d in lineage["descendants"]) == [
        (1, "Plain-language job postings"),
        (1, "Plain-language licence renewal letters"),
        (2, "Plain-language vaccination invitations"),
    ]


def test_demo_data_refuses_a_database_that_has_data(run: Run, admin: TestClient):
    create_unit(admin, "OWN")

    result = run("demo-data")

    assert result.exit_code == 1
    assert "already has units" in result.stderr
    assert [u["code"] for u in everything(admin, "/api/v1/units")] == ["OWN"]


# import experiments

CSV_HEADER = (
    "project_id,title,hypothesis,method,status,result,lessons,started_on,ended_on,"
    "determinant_parity,determinant_parity_note"
)


@pytest.fixture
def project_id(admin: TestClient) -> int:
    return int(create_project(admin, create_unit(admin, "IMP")["id"])["id"])


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_a_csv_of_experiments(run: Run, admin: TestClient, project_id: int, tmp_path: Path):
    path = write(
        tmp_path,
        "last-year.csv",
        [
            CSV_HEADER,
            f'{project_id},Pilot A,"Cuts time, a lot",pilot,completed,supported,'
            "Worked,2025-01-01,2025-03-31,barrier,No budget",
            f"{project_id},Trial B,Helps,rct,,,,,,,",
        ],
    )

    result = run("import", "experiments", path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported 2 experiments from {path}\n"
    imported = everything(admin, "/api/v1/experiments")
    assert [
        {
            k: e[k]
            for k in (
                "project_id",
                "title",
                "hypothesis",
                "method",
                "status",
                "result",
                "lessons",
                "started_on",
                "ended_on",
                "determinants",
            )
        }
        for e in imported
    ] == [
        {
            "project_id": project_id,
            "title": "Pilot A",
            "hypothesis": "Cuts time, a lot",
            "method": "pilot",
            "status": "completed",
            "result": "supported",
            "lessons": "Worked",
            "started_on": "2025-01-01",
            "ended_on": "2025-03-31",
            "determinants": [{"determinant": "parity", "effect": "barrier", "note": "No budget"}],
        },
        {
            "project_id": project_id,
            "title": "Trial B",
            "hypothesis": "Helps",
            "method": "rct",
            "status": "proposed",
            "result": None,
            "lessons": None,
            "started_on": None,
            "ended_on": None,
            "determinants": [],
        },
    ]


def test_a_bad_csv_lists_every_bad_row_and_writes_nothing(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    path = write(
        tmp_path,
        "bad.csv",
        [
            CSV_HEADER,
            f"{project_id},Good row,Fine,pilot,,,,,,,",
            f"{project_id},Bad method,Fine,survey,,,,,,,",
            "999,Unknown project,Fine,pilot,,,,,,,",
            f"{project_id},Result too early,Fine,pilot,running,supported,,,,,",
            f"{project_id},No hypothesis,,pilot,,,,,,,",
            f"{project_id},Bad effect,Fine,pilot,,,,,,,helps",
        ],
    )

    result = run("import", "experiments", path)

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}: nothing imported; 5 error(s):"
    assert lines[1:] == [
        "  row 3: method: Input should be 'rct', 'ab_test', 'pilot', 'prototype', "
        "'simulation' or 'other'",
        "  row 4: project_id: project 999 does not exist",
        # A rule between two fields names the one to fix; tags name their CSV column.
        "  row 5: result: result is only allowed when status is completed",
        "  row 6: hypothesis: Field required",
        "  row 7: determinant_parity: Input should be 'enabler' or 'barrier'",
    ]
    assert everything(admin, "/api/v1/experiments") == []


def test_an_unknown_csv_column_is_reported_on_the_header_row(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    path = write(
        tmp_path, "typo.csv", ["project_id,title,hypotesis,method", f"{project_id},A,B,rct"]
    )

    result = run("import", "experiments", path)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1].startswith(
        "  row 1: hypotesis: unknown column; the columns are: project_id, title, hypothesis,"
    )
    assert everything(admin, "/api/v1/experiments") == []


def test_import_json_lines_validated_like_the_api(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    good = {"project_id": project_id, "title": "A", "hypothesis": "H", "method": "rct"}
    path = write(
        tmp_path,
        "rows.jsonl",
        [
            json.dumps(good),
            "",
            "{not json",
            json.dumps({**good, "id": 5}),
            json.dumps([1, 2]),
        ],
    )

    result = run("import", "experiments", path)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        "  row 3: -: not valid JSON: Expecting property name enclosed in double quotes",
        "  row 4: id: Extra inputs are not permitted",
        "  row 5: -: expected a JSON object",
    ]
    assert everything(admin, "/api/v1/experiments") == []

    fixed = write(tmp_path, "fixed.ndjson", [json.dumps(good), json.dumps({**good, "title": "B"})])
    result = run("import", "experiments", fixed)

    assert result.exit_code == 0, result.output
    assert [e["title"] for e in everything(admin, "/api/v1/experiments")] == ["A", "B"]


def test_a_long_file_imports_whole(run: Run, admin: TestClient, project_id: int, tmp_path: Path):
    lines = [CSV_HEADER] + [f"{project_id},Run {i},H,ab_test,,,,,,," for i in range(250)]
    path = write(tmp_path, "long.csv", lines)

    result = run("import", "experiments", path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported 250 experiments from {path}\n"
    titles = [e["title"] for e in everything(admin, "/api/v1/experiments")]
    assert titles == [f"Run {i}" for i in range(250)]


def test_import_needs_an_existing_file_and_a_known_format(run: Run, tmp_path: Path):
    assert run("import", "experiments", tmp_path / "missing.csv").exit_code == 2
    path = write(tmp_path, "rows.csv", [CSV_HEADER])

    result = run("import", "experiments", path, "--format", "xlsx")

    assert result.exit_code == 2
    assert "--format must be one of csv, jsonl" in result.stderr


# The CSV export imports back


def test_the_csv_export_imports_back_as_it_is(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    """Export, import the file unchanged: the same experiments again, server-set columns
    (id, unit_id, created_at, updated_at, version, archived) ignored, formulas restored."""
    first = {
        "title": "=Pilot A",  # exported defused as '=Pilot A
        "hypothesis": "Cuts time, a lot",
        "method": "pilot",
        "status": "completed",
        "result": "supported",
        "lessons": "Worked",
        "started_on": "2025-01-01",
        "ended_on": "2025-03-31",
        "determinants": [
            {"determinant": "clarity", "effect": "enabler", "note": None},
            {"determinant": "parity", "effect": "barrier", "note": "No budget"},
        ],
    }
    second = {"title": "Trial B", "hypothesis": "Helps", "method": "rct"}
    for body in (first, second):
        response = admin.post("/api/v1/experiments", json={"project_id": project_id, **body})
        assert response.status_code == 201, response.text
    export = admin.get("/api/v1/experiments", headers={"Accept": "text/csv"})
    assert export.status_code == 200
    header = export.text.splitlines()[0].split(",")
    assert {"id", "unit_id", "created_at", "updated_at", "version", "archived"} <= set(header)
    path = tmp_path / "experiments.csv"
    path.write_bytes(export.content)

    result = run("import", "experiments", path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported 2 experiments from {path}\n"
    items = everything(admin, "/api/v1/experiments")
    assert [item["id"] for item in items] == [1, 2, 3, 4]  # new ids: the export's were ignored
    content = ("project_id", *first)
    originals, copies = items[:2], items[2:]
    assert [{k: e[k] for k in content} for e in copies] == [
        {k: e[k] for k in content} for e in originals
    ]
    assert copies[0]["title"] == "=Pilot A"
    assert [e["version"] for e in copies] == [1, 1]


def test_csv_row_errors_name_the_csv_columns(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    path = write(
        tmp_path,
        "bad-tags.csv",
        [
            "id,project_id,title,hypothesis,method,determinant_clarity,determinant_clarity_note,"
            "determinant_normality,determinant_normality_note,started_on,ended_on,version",
            f"7,{project_id},A,H,rct,,Only a note,maybe,,,,3",
            f"8,{project_id},B,H,rct,,,,{'x' * 2001},2025-02-01,2025-01-01,3",
        ],
    )

    result = run("import", "experiments", path)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        "  row 2: determinant_clarity: Input should be 'enabler' or 'barrier'",
        "  row 2: determinant_normality: Input should be 'enabler' or 'barrier'",
        "  row 3: determinant_normality: Input should be 'enabler' or 'barrier'",
        "  row 3: determinant_normality_note: String should have at most 2000 characters",
    ]
    assert everything(admin, "/api/v1/experiments") == []


def test_import_the_experimentation_columns(
    run: Run, admin: TestClient, project_id: int, tmp_path: Path
):
    path = write(
        tmp_path,
        "rigour.csv",
        [
            "project_id,title,hypothesis,method,status,started_on,comparison,sample_size,"
            "preregistered_on,independent_evaluation,cost,published_on,publication_url",
            f"{project_id},A,H,rct,completed,2025-01-01,randomized,120,2025-01-01,true,12.50,"
            "2025-06-01,https://open.example.org/a",
            f"{project_id},B,H,pilot,,,,,,,,,",
        ],
    )
    result = run("import", "experiments", path)
    assert result.exit_code == 0, result.output
    fields = (
        "comparison",
        "sample_size",
        "preregistered_on",
        "independent_evaluation",
        "cost",
        "published_on",
        "publication_url",
        "rigour",
    )
    assert [tuple(e[k] for k in fields) for e in everything(admin, "/api/v1/experiments")] == [
        (
            "randomized",
            120,
            "2025-01-01",
            True,
            "12.50",
            "2025-06-01",
            "https://open.example.org/a",
            4,
        ),
        ("none", None, None, False, None, None, None, 0),
    ]
    bad = write(
        tmp_path,
        "bad.csv",
        [
            "project_id,title,hypothesis,method,status,published_on",
            f"{project_id},C,H,rct,running,2025-06-01",
        ],
    )
    failed = run("import", "experiments", bad)
    assert failed.exit_code == 1
    assert "row 2: published_on:" in failed.output
