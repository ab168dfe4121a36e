"""GET /reports/determinants: enablers and barriers per determinant, worked out by hand."""

from typing import Any

from tests.builders import create_experiment, create_project, create_unit

DETERMINANTS = "/api/v1/reports/determinants"
ORDER = ["clarity", "parity", "suitability", "normality"]


def tags(**effects: str) -> list[dict[str, str]]:
    return [{"determinant": name, "effect": effect} for name, effect in effects.items()]


def barriers(clarity: int = 0, parity: int = 0, suitability: int = 0, normality: int = 0):
    return {
        "clarity": clarity,
        "parity": parity,
        "suitability": suitability,
        "normality": normality,
    }


def counts(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {d["determinant"]: (d["enablers"], d["barriers"]) for d in report["determinants"]}


def build_portfolio(admin: Any) -> dict[str, Any]:
    line = create_unit(admin, "LINE")
    lab = create_unit(admin, "LAB", kind="innovation_lab")
    p1 = create_project(admin, line["id"], determinants=tags(clarity="enabler", parity="barrier"))
    create_project(admin, line["id"], determinants=tags(parity="barrier", normality="barrier"))
    create_experiment(admin, p1["id"], determinants=tags(suitability="barrier", clarity="enabler"))
    create_project(admin, lab["id"], determinants=tags(normality="barrier", parity="enabler"))
    # Left out: an archived experiment, an archived project and that project's experiment.
    archived_experiment = create_experiment(admin, p1["id"], determinants=tags(clarity="barrier"))
    gone = create_project(admin, line["id"], determinants=tags(clarity="barrier"))
    create_experiment(admin, gone["id"], determinants=tags(suitability="barrier"))
    assert admin.delete(f"/api/v1/experiments/{archived_experiment['id']}").status_code == 200
    assert admin.delete(f"/api/v1/projects/{gone['id']}").status_code == 200
    return {"line": line, "lab": lab}


def test_determinants_worked_by_hand(admin, viewer):
    built = build_portfolio(admin)

    response = viewer.get(DETERMINANTS)

    assert response.status_code == 200, response.text
    report = response.json()
    assert [d["determinant"] for d in report["determinants"]] == ORDER
    assert counts(report) == {
        "clarity": (2, 0),
        "parity": (1, 2),
        "suitability": (0, 1),
        "normality": (0, 2),
    }
    assert report["weakest"] == "parity"  # tied with normality at 2; parity comes first
    assert report["unit_id"] is None
    assert report["units"] == [
        {
            "unit_id": built["lab"]["id"],
            "code": "LAB",
            "name": "Unit LAB",
            "kind": "innovation_lab",
            "parent_id": None,
            "barriers": barriers(normality=1),
        },
        {
            "unit_id": built["line"]["id"],
            "code": "LINE",
            "name": "Unit LINE",
            "kind": "business_line",
            "parent_id": None,
            "barriers": barriers(parity=2, suitability=1, normality=1),
        },
    ]
    for entry in report["determinants"]:
        assert entry["prompt"].endswith("?")
        assert 3 <= len(entry["levers"]) <= 5
    assert "routine" in report["determinants"][3]["prompt"]


def test_determinants_for_a_unit_subtree_and_a_submitter(admin, make_client):
    built = build_portfolio(admin)
    lab_id = built["lab"]["id"]

    report = admin.get(DETERMINANTS, params={"unit_id": lab_id}).json()

    assert make_client("submitter", unit_id=lab_id).get(DETERMINANTS).json() == report
    assert counts(report) == {
        "clarity": (0, 0),
        "parity": (1, 0),
        "suitability": (0, 0),
        "normality": (0, 1),
    }
    assert report["weakest"] == "normality"
    assert [u["code"] for u in report["units"]] == ["LAB"]


def test_no_barriers_means_no_weakest(admin):
    unit = create_unit(admin, "LINE")
    create_project(admin, unit["id"], determinants=tags(clarity="enabler"))

    report = admin.get(DETERMINANTS).json()

    assert report["weakest"] is None
    assert counts(report)["clarity"] == (1, 0)
    assert report["units"][0]["barriers"] == barriers()


def test_empty_portfolio(admin):
    report = admin.get(DETERMINANTS).json()

    assert [d["determinant"] for d in report["determinants"]] == ORDER
    assert set(counts(report).values()) == {(0, 0)}
    assert (report["weakest"], report["units"]) == (None, [])


def test_the_json_is_the_models_bytes(admin, app):
    """On PostgreSQL the `units` rows come as JSON text from the database
    (reports.service.determinants_json); the body must be byte for byte the model's JSON,
    names needing escapes included. SQLite serializes the model itself."""
    from sqlmodel import Session

    from app.reports import service

    line = create_unit(admin, "LINE", name='Tax "ops" \\ Zoë\tnorth')
    child = create_unit(admin, "CHILD", parent_id=line["id"], name="Ünïcode – ✓")
    create_unit(admin, "EMPTY", kind="innovation_lab")
    create_project(admin, line["id"], determinants=tags(parity="barrier", clarity="enabler"))
    create_project(admin, child["id"], determinants=tags(normality="barrier"))

    for params in ({}, {"unit_id": line["id"]}, {"unit_id": child["id"]}):
        response = admin.get(DETERMINANTS, params=params)
        assert response.status_code == 200, response.text
        with Session(app.state.engine) as session:
            model = service.determinants(session=session, root_id=params.get("unit_id"))
        assert response.content == model.model_dump_json().encode()
    whole = admin.get(DETERMINANTS).json()
    assert [(u["code"], u["name"], u["parent_id"], u["barriers"]) for u in whole["units"]] == [
        ("CHILD", "Ünïcode – ✓", line["id"], barriers(normality=1)),
        ("EMPTY", "Unit EMPTY", None, barriers()),
        ("LINE", 'Tax "ops" \\ Zoë\tnorth', None, barriers(parity=1)),
    ]
