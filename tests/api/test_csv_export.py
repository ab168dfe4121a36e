"""Projects and experiments as CSV (`Accept: text/csv`): every page, streamed in batches."""

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import create_db_engine
from tests.builders import create_experiment, create_project, create_unit, settings_for

CSV = {"Accept": "text/csv"}
PROJECT_HEADER = (
    "id,title,summary,unit_id,sponsor_level,sponsor,work_mode,stage,facet,budget,fte,"
    "started_on,ended_on,stage_since,novelty,adopted_from,initiated_by,evaluation,embedded_on,"
    "innovation_types,collaborators,value_types,risk_likelihood,risk_impact,risk_of_not_innovating,risk_mitigation,"
    "risk_score,risk_band,determinant_clarity,determinant_clarity_note,determinant_parity,"
    "determinant_parity_note,determinant_suitability,determinant_suitability_note,"
    "determinant_normality,determinant_normality_note,created_at,updated_at,version,archived"
)
EXPERIMENT_HEADER = (
    "id,project_id,unit_id,title,hypothesis,method,status,result,lessons,started_on,ended_on,"
    "comparison,sample_size,preregistered_on,independent_evaluation,cost,published_on,"
    "publication_url,rigour,rigour_features,determinant_clarity,determinant_clarity_note,determinant_parity,determinant_parity_note,"
    "determinant_suitability,determinant_suitability_note,determinant_normality,"
    "determinant_normality_note,created_at,updated_at,version,archived"
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Batches of 2 so that a handful of rows already spans several keyset batches.
    return settings_for(database_url, csv_batch_size=2)


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text)))


def test_a_project_row_flattens_risk_and_determinants_in_a_stable_column_order(
    admin: TestClient,
):
    unit = create_unit(admin, "TAX")
    project = create_project(
        admin,
        unit["id"],
        title="Pre-filled returns",
        summary='Says "hello", then, a comma',
        sponsor="Deputy Minister",
        sponsor_level="organizational",
        work_mode="core_business",
        stage="scaling",
        facet="enhancement",
        budget="250000.50",
        fte=2.5,
        started_on="2026-02-01",
        novelty="first",
        initiated_by="employees",
        evaluation="internal",
        # Sent out of order: stored and exported in the listed order.
        innovation_types=["process", "service"],
        value_types=["efficiency"],
        risk={"likelihood": 2, "impact": 4, "risk_of_not_innovating": 5, "mitigation": "Opt-out"},
        determinants=[
            {"determinant": "suitability", "effect": "enabler", "note": None},
            {"determinant": "parity", "effect": "barrier", "note": "Loses to service targets"},
        ],
    )

    response = admin.get("/api/v1/projects", headers=CSV)

    assert response.text.splitlines()[0] == PROJECT_HEADER
    assert response.headers["content-disposition"] == 'attachment; filename="projects.csv"'
    assert rows(response) == [
        {
            "id": str(project["id"]),
            "title": "Pre-filled returns",
            "summary": 'Says "hello", then, a comma',
            "unit_id": str(unit["id"]),
            "sponsor_level": "organizational",
            "sponsor": "Deputy Minister",
            "work_mode": "core_business",
            "stage": "scaling",
            "facet": "enhancement",
            "budget": "250000.50",  # the text JSON gives: 2 decimals
            "fte": "2.50",
            "started_on": "2026-02-01",
            "ended_on": "",
            "stage_since": project["stage_since"],
            "novelty": "first",
            "adopted_from": "",
            "initiated_by": "employees",
            "evaluation": "internal",
            "embedded_on": "",
            "innovation_types": "service;process",
            "collaborators": "",
            "value_types": "efficiency",
            "risk_likelihood": "2",
            "risk_impact": "4",
            "risk_of_not_innovating": "5",
            "risk_mitigation": "Opt-out",
            "risk_score": "8",
            "risk_band": "medium",
            "determinant_clarity": "",
            "determinant_clarity_note": "",
            "determinant_parity": "barrier",
            "determinant_parity_note": "Loses to service targets",
            "determinant_suitability": "enabler",
            "determinant_suitability_note": "",
            "determinant_normality": "",
            "determinant_normality_note": "",
            "created_at": project["created_at"],
            "updated_at": project["updated_at"],
            "version": "1",
            "archived": "false",
        }
    ]


def test_all_pages_are_streamed_in_keyset_batches_with_the_same_filters(
    app: Any, admin: TestClient
):
    unit = create_unit(admin, "OPS")
    other = create_unit(admin, "HR", kind="corporate")
    ids = [create_project(admin, unit["id"], title=f"P{i}")["id"] for i in range(5)]
    create_project(admin, unit["id"], title="Wrong stage", stage="idea", work_mode="dedicated")
    create_project(admin, other["id"], title="Other unit")
    statements: list[str] = []
    event.listen(
        app.state.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: statements.append(statement),
    )

    response = admin.get(
        f"/api/v1/projects?unit_id={unit['id']}&work_mode=side_of_desk&limit=1", headers=CSV
    )

    assert [r["id"] for r in rows(response)] == [str(i) for i in ids]
    assert [r["title"] for r in rows(response)] == ["P0", "P1", "P2", "P3", "P4"]
    # 5 rows in batches of 2: three keyset queries (2, 2, 1), never one for everything.
    batches = [s for s in statements if "FROM projects" in s and "LIMIT" in s]
    assert len(batches) == 3


def test_json_stays_the_default_and_wins_a_tie_listed_first(admin: TestClient):
    unit = create_unit(admin, "DEF")
    create_project(admin, unit["id"])

    for accept in (
        "application/json",
        "*/*",
        "application/json, text/csv",
        "text/csv;q=0.5, application/json",
    ):
        response = admin.get("/api/v1/projects", headers={"Accept": accept})
        assert response.headers["content-type"] == "application/json", accept
        assert len(response.json()["items"]) == 1
    for accept in ("text/csv", "text/csv, application/json", "application/json;q=0.8, text/csv"):
        response = admin.get("/api/v1/projects", headers={"Accept": accept})
        assert response.headers["content-type"] == "text/csv; charset=utf-8", accept


def test_csv_keeps_the_callers_scope(admin: TestClient, make_client: Callable[..., TestClient]):
    mine = create_unit(admin, "MINE")
    theirs = create_unit(admin, "THEIRS")
    own = create_project(admin, mine["id"], title="Mine")
    create_project(admin, theirs["id"], title="Theirs")
    submitter = make_client("submitter", unit_id=mine["id"])

    assert [r["id"] for r in rows(submitter.get("/api/v1/projects", headers=CSV))] == [
        str(own["id"])
    ]


def test_bad_filters_are_still_a_problem_response(admin: TestClient):
    response = admin.get("/api/v1/projects?stage=sideways", headers=CSV)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_empty_list_is_just_the_header(admin: TestClient):
    response = admin.get("/api/v1/experiments", headers=CSV)

    assert response.text == EXPERIMENT_HEADER + "\r\n"


def test_experiments_as_csv_with_filters_and_formula_cells_defused(admin: TestClient):
    unit = create_unit(admin, "EXP")
    project = create_project(admin, unit["id"])
    done = create_experiment(
        admin,
        project["id"],
        title='=HYPERLINK("http://x")',
        method="rct",
        status="completed",
        result="supported",
        lessons="-5 minutes per return",
        started_on="2026-03-01",
        ended_on="2026-05-31",
        determinants=[{"determinant": "clarity", "effect": "enabler", "note": "@mandate"}],
    )
    create_experiment(admin, project["id"], title="Still running", status="running")

    response = admin.get("/api/v1/experiments?status=completed", headers=CSV)

    assert response.text.splitlines()[0] == EXPERIMENT_HEADER
    assert rows(response) == [
        {
            "id": str(done["id"]),
            "project_id": str(project["id"]),
            "unit_id": str(unit["id"]),
            "title": '\'=HYPERLINK("http://x")',
            "hypothesis": "It helps",
            "method": "rct",
            "status": "completed",
            "result": "supported",
            "lessons": "'-5 minutes per return",
            "started_on": "2026-03-01",
            "ended_on": "2026-05-31",
            "comparison": "none",
            "sample_size": "",
            "preregistered_on": "",
            "independent_evaluation": "false",
            "cost": "",
            "published_on": "",
            "publication_url": "",
            "rigour": "0",
            "rigour_features": "",
            "determinant_clarity": "enabler",
            "determinant_clarity_note": "'@mandate",
            "determinant_parity": "",
            "determinant_parity_note": "",
            "determinant_suitability": "",
            "determinant_suitability_note": "",
            "determinant_normality": "",
            "determinant_normality_note": "",
            "created_at": done["created_at"],
            "updated_at": done["updated_at"],
            "version": "1",
            "archived": "false",
        }
    ]


def test_the_csv_response_is_in_the_openapi_spec(anon: TestClient):
    spec = anon.get("/openapi.json").json()

    for path, header in (
        ("/api/v1/projects", PROJECT_HEADER),
        ("/api/v1/experiments", EXPERIMENT_HEADER),
    ):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}
        assert content["text/csv"]["example"] == header + "\n"


@pytest.mark.parametrize("path", ["/api/v1/projects", "/api/v1/experiments"])
def test_an_export_reads_without_the_write_lock_so_a_write_goes_through_meanwhile(
    app: Any, admin: TestClient, settings: Settings, path: str
):
    """While an export's batch query runs, another connection writes at once: on SQLite
    the export's transaction must not hold the write lock (BEGIN IMMEDIATE)."""
    unit = create_unit(admin, "OPS")
    project = create_project(admin, unit["id"])
    create_experiment(admin, project["id"])
    # A writer that gives up after 0.2 s instead of the usual 30 s wait for the lock.
    writer = create_db_engine(settings.model_copy(update={"sqlite_busy_timeout_ms": 200}))
    table = path.rsplit("/", 1)[1]
    outcomes: list[str] = []

    def write_meanwhile(_connection, _cursor, statement, *_args):
        if not outcomes and f"FROM {table}" in statement and "LIMIT" in statement:
            try:
                with Session(writer) as session:
                    session.execute(text("UPDATE units SET name = 'Renamed' WHERE code = 'OPS'"))
                    session.commit()
                outcomes.append("written")
            except OperationalError as exc:
                outcomes.append(f"blocked: {exc.orig}")

    event.listen(app.state.engine, "after_cursor_execute", write_meanwhile)
    try:
        response = admin.get(path, headers=CSV)
    finally:
        event.remove(app.state.engine, "after_cursor_execute", write_meanwhile)
        writer.dispose()
    assert len(rows(response)) == 1
    assert outcomes == ["written"]
    assert admin.get(f"/api/v1/units/{unit['id']}").json()["name"] == "Renamed"


@pytest.mark.parametrize(
    "title",
    [
        " =1+1",  # a leading space
        "\t =1+1",  # a tab, then a space
        "\n=1+1",  # a line break
        "\r\n@SUM(A1)",  # CR LF
        "\u00a0+1",  # a no-break space
        '\u200b=HYPERLINK("http://x")',  # a zero-width space
        "\u2060\u200d-1",  # a word joiner and a zero-width joiner
        "\ufeff=1+1",  # a byte order mark
        "\u00ad=1",  # a soft hyphen
        "\uff1d1+1",  # a full-width equals sign
    ],
)
def test_a_formula_behind_invisible_characters_is_defused(admin: TestClient, title: str):
    unit = create_unit(admin, "INV")
    create_project(admin, unit["id"], title=title)

    (row,) = rows(admin.get("/api/v1/projects", headers=CSV))

    # The cell keeps the text whole, behind the quote that makes it plain text.
    assert row["title"] == "'" + title


@pytest.mark.parametrize("title", ["Plain title", " leading space only", "\u200bzero width", "1+1"])
def test_text_that_is_no_formula_is_left_alone(admin: TestClient, title: str):
    unit = create_unit(admin, "INV")
    create_project(admin, unit["id"], title=title)

    (row,) = rows(admin.get("/api/v1/projects", headers=CSV))

    assert row["title"] == title


def test_the_spread_report_csv_defuses_unit_names_too(admin: TestClient):
    create_unit(admin, "INV", name="\u200b=cmd|' /C calc'!A0")

    response = admin.get("/api/v1/reports/spread", headers=CSV)

    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert row["name"] == "'\u200b=cmd|' /C calc'!A0"
