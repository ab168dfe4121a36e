"""GET /reports/outcomes: outcome-based or activity-based, worked out by hand."""

from typing import Any

from tests.builders import create_criterion, create_experiment, create_project, create_unit

OUTCOMES = "/api/v1/reports/outcomes"
PAST = "2000-01-01"  # due dates safely before or after today, whatever day the suite runs
FUTURE = "2999-12-31"


def measure(client: Any, criterion: dict[str, Any], value: float) -> None:
    response = client.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": value, "measured_on": "2026-01-15"},
    )
    assert response.status_code == 201, response.text


def archive(client: Any, path: str) -> None:
    assert client.delete(f"/api/v1/{path}").status_code == 200


def statuses(met: int = 0, missed: int = 0, pending: int = 0) -> dict[str, int]:
    return {"met": met, "missed": missed, "pending": pending}


def build_portfolio(admin: Any) -> dict[str, Any]:
    line = create_unit(admin, "LINE")
    lab = create_unit(admin, "LAB", kind="innovation_lab")
    # An idea: not among the projects judged, but its criteria count. Outcome, pending.
    idea = create_project(admin, line["id"], stage="idea")
    create_criterion(admin, "projects", idea["id"], kind="outcome")
    # Outcome on the project, met exactly at the target (increase: 20 >= 20).
    q2 = create_project(admin, line["id"], stage="exploration")
    measure(admin, create_criterion(admin, "projects", q2["id"], kind="outcome", target=20), 20)
    # Outcome only on its experiment: pending, due in the future.
    q3 = create_project(admin, line["id"], stage="experiment")
    x1 = create_experiment(
        admin, q3["id"], status="completed", result="supported", lessons="Pre-filling works."
    )
    create_criterion(admin, "experiments", x1["id"], kind="outcome", due_on=FUTURE)
    # Output missed (due in the past, never measured); activity met (decrease: 5 <= 5);
    # activity pending (decrease, 7 > 5, no due date).
    q4 = create_project(admin, line["id"], stage="scaling")
    create_criterion(admin, "projects", q4["id"], kind="output", due_on=PAST)
    decrease = {"baseline": 10, "target": 5, "direction": "decrease"}
    measure(admin, create_criterion(admin, "projects", q4["id"], kind="activity", **decrease), 5)
    measure(admin, create_criterion(admin, "projects", q4["id"], kind="activity", **decrease), 7)
    create_experiment(admin, q4["id"], status="completed", result="not_supported", lessons="   ")
    create_experiment(admin, q4["id"], status="completed", result="inconclusive")
    # LAB: an archived outcome criterion, and an outcome on an archived experiment: no outcome.
    q5 = create_project(admin, lab["id"], stage="experiment")
    archive(admin, f"criteria/{create_criterion(admin, 'projects', q5['id'])['id']}")
    x4 = create_experiment(admin, q5["id"], status="completed", result="supported", lessons="x")
    create_criterion(admin, "experiments", x4["id"], kind="outcome")
    archive(admin, f"experiments/{x4['id']}")
    # LAB: output missed (12 short of 20, due in the past); activity met despite the past due.
    q6 = create_project(admin, lab["id"], stage="embedded")
    measure(admin, create_criterion(admin, "projects", q6["id"], kind="output", due_on=PAST), 12)
    measure(
        admin,
        create_criterion(
            admin, "projects", q6["id"], kind="activity", baseline=0, target=1, due_on=PAST
        ),
        3,
    )
    # An archived project with an outcome criterion and a completed experiment: left out.
    gone = create_project(admin, line["id"], stage="scaling")
    create_criterion(admin, "projects", gone["id"], kind="outcome")
    create_experiment(admin, gone["id"], status="completed", result="supported", lessons="y")
    archive(admin, f"projects/{gone['id']}")
    return {"line": line, "lab": lab}


def test_outcomes_worked_by_hand(admin, viewer):
    build_portfolio(admin)

    response = viewer.get(OUTCOMES)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_id": None,
        "thresholds": {"min_active_projects": 5, "share_threshold": 0.5},
        "projects": 5,  # past idea, not archived: q2..q6
        "projects_with_outcome_criteria": 2,  # q2 (on the project), q3 (on its experiment)
        "outcome_based_share": 0.4,
        "criteria": {
            "outcome": statuses(met=1, pending=2),
            "output": statuses(missed=2),
            "activity": statuses(met=2, pending=1),
        },
        "experiments_completed": 3,
        "experiments_with_lessons": 1,  # blank lessons do not count
        "results": {"supported": 1, "not_supported": 1, "inconclusive": 1},
        "findings": [
            {
                "code": "activity_based",
                "message": "Only 2 of the 5 projects past the idea stage (40%) have an outcome "
                "criterion; the others are judged by what they produce or do, not by what "
                "changes. Leadership can ask every project to name the change it aims for and "
                "how it will be measured, and review progress against those outcomes.",
                "value": 0.4,
                "threshold": 0.5,
            }
        ],
    }


def test_outcomes_for_a_unit_subtree_and_a_submitter(admin, make_client):
    built = build_portfolio(admin)
    lab_id = built["lab"]["id"]

    report = admin.get(OUTCOMES, params={"unit_id": lab_id}).json()

    assert make_client("submitter", unit_id=lab_id).get(OUTCOMES).json() == report
    assert (report["projects"], report["projects_with_outcome_criteria"]) == (2, 0)
    assert report["outcome_based_share"] == 0.0
    assert report["criteria"] == {
        "outcome": statuses(),
        "output": statuses(missed=1),
        "activity": statuses(met=1),
    }
    assert (report["experiments_completed"], report["experiments_with_lessons"]) == (0, 0)
    assert [f["code"] for f in report["findings"]] == ["activity_based"]
    assert report["findings"][0]["message"].startswith(
        "Only 0 of the 2 projects past the idea stage (0%) have an outcome criterion;"
    )


def test_no_finding_at_or_above_the_threshold(admin):
    unit = create_unit(admin, "LINE")
    for stage in ("exploration", "scaling"):
        project = create_project(admin, unit["id"], stage=stage)
        if stage == "exploration":
            create_criterion(admin, "projects", project["id"], kind="outcome")

    report = admin.get(OUTCOMES).json()

    assert report["outcome_based_share"] == 0.5
    assert report["findings"] == []


def test_empty_portfolio(admin):
    report = admin.get(OUTCOMES).json()

    assert (report["projects"], report["outcome_based_share"]) == (0, None)
    assert report["criteria"]["outcome"] == statuses()
    assert report["results"] == {"supported": 0, "not_supported": 0, "inconclusive": 0}
    assert report["findings"] == []
