"""GET /reports/portfolio: the balance of the portfolio, worked out by hand."""

from typing import Any

from tests.builders import create_experiment, create_project, create_unit

PORTFOLIO = "/api/v1/reports/portfolio"


def risk(likelihood: int, impact: int, not_innovating: int) -> dict[str, int]:
    return {
        "likelihood": likelihood,
        "impact": impact,
        "risk_of_not_innovating": not_innovating,
    }


def bands(low: int = 0, medium: int = 0, high: int = 0, unspecified: int = 0) -> dict[str, int]:
    return {"low": low, "medium": medium, "high": high, "unspecified": unspecified}


def step(source: str, target: str, reached_from: int, reached_to: int, conversion: Any):
    return {
        "from_stage": source,
        "to_stage": target,
        "reached_from": reached_from,
        "reached_to": reached_to,
        "conversion": conversion,
    }


def build_portfolio(admin: Any) -> dict[str, Any]:
    line = create_unit(admin, "LINE")
    lab = create_unit(admin, "LAB", kind="innovation_lab")
    p1 = create_project(
        admin,
        line["id"],
        stage="idea",
        facet="enhancement",
        sponsor_level="individual",
        work_mode="side_of_desk",
    )
    p2 = create_project(
        admin,
        line["id"],
        stage="exploration",
        facet="enhancement",
        risk=risk(1, 2, 3),
        sponsor_level="organizational",
        work_mode="core_business",
    )
    p3 = create_project(
        admin,
        line["id"],
        stage="experiment",
        facet="mission",
        risk=risk(3, 5, 4),
        sponsor_level="system",
        work_mode="core_business",
    )
    p4 = create_project(
        admin,
        line["id"],
        stage="scaling",
        facet="mission",
        risk=risk(5, 5, 2),
        sponsor_level="organizational",
        work_mode="dedicated",
    )
    p5 = create_project(
        admin, lab["id"], stage="experiment", sponsor_level="individual", work_mode="dedicated"
    )
    create_project(
        admin,
        lab["id"],
        stage="embedded",
        facet="adaptive",
        risk=risk(2, 4, 5),
        sponsor_level="organizational",
        work_mode="core_business",
    )
    create_project(
        admin,
        line["id"],
        stage="stopped",
        facet="anticipatory",
        risk=risk(4, 4, 5),
        sponsor_level="individual",
        work_mode="side_of_desk",
    )
    gone = create_project(
        admin,
        line["id"],
        stage="scaling",
        facet="mission",
        risk=risk(5, 5, 5),
        sponsor_level="system",
        work_mode="core_business",
    )
    create_experiment(admin, p3["id"], method="rct", status="running")
    create_experiment(admin, p3["id"], method="ab_test", status="completed", result="supported")
    create_experiment(admin, p4["id"], method="pilot", status="completed", result="inconclusive")
    create_experiment(admin, p5["id"], method="pilot", status="proposed")
    create_experiment(admin, p4["id"], method="prototype", status="stopped")
    archived_experiment = create_experiment(
        admin, p2["id"], method="simulation", status="completed", result="not_supported"
    )
    create_experiment(admin, gone["id"], method="other", status="running")
    assert admin.delete(f"/api/v1/experiments/{archived_experiment['id']}").status_code == 200
    assert admin.delete(f"/api/v1/projects/{gone['id']}").status_code == 200
    return {"line": line, "lab": lab, "p1": p1}


def test_portfolio_balance_worked_by_hand(admin, viewer):
    build_portfolio(admin)

    response = viewer.get(PORTFOLIO)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_id": None,
        "projects": 7,  # the archived project is left out
        "by_stage": {
            "idea": 1,
            "exploration": 1,
            "experiment": 2,
            "scaling": 1,
            "embedded": 1,
            "stopped": 1,
        },
        "by_facet": {
            "enhancement": 2,
            "mission": 2,
            "adaptive": 1,
            "anticipatory": 1,
            "unspecified": 1,
        },
        # risk scores 2 (low), 15, 25, 16 (high), 8 (medium); two without a profile
        "by_risk_band": bands(low=1, medium=1, high=3, unspecified=2),
        "by_sponsor_level": {"individual": 3, "organizational": 3, "system": 1},
        "by_work_mode": {"side_of_desk": 2, "dedicated": 2, "core_business": 3},
        "facet_by_risk_band": {
            "enhancement": bands(low=1, unspecified=1),
            "mission": bands(high=2),
            "adaptive": bands(medium=1),
            "anticipatory": bands(high=1),
            "unspecified": bands(unspecified=1),
        },
        "experiments": 5,  # not the archived one, nor the archived project's
        "experiments_by_status": {"proposed": 1, "running": 1, "completed": 2, "stopped": 1},
        "experiments_by_method": {
            "rct": 1,
            "ab_test": 1,
            "pilot": 2,
            "prototype": 1,
            "simulation": 0,
            "other": 0,
        },
        "experiments_by_result": {"supported": 1, "not_supported": 0, "inconclusive": 1},
        # reached: idea 6 (all but the stopped one), exploration 5, experiment 4, scaling 2,
        # embedded 1
        "funnel": [
            step("idea", "exploration", 6, 5, 5 / 6),
            step("exploration", "experiment", 5, 4, 0.8),
            step("experiment", "scaling", 4, 2, 0.5),
            step("scaling", "embedded", 2, 1, 0.5),
        ],
        "embedded": 1,
        "stopped": 1,
        "adoption_share": 0.5,
        "high_risk": 3,
        # risk of not innovating 4 and 5 (the third high-risk project has 2)
        "high_risk_justified": 2,
        # the lab's experiment-stage project; the idea without a profile does not count
        "without_risk_profile": 1,
    }


def test_portfolio_scoped_to_a_unit_and_to_a_submitter(admin, make_client):
    built = build_portfolio(admin)
    lab_id = built["lab"]["id"]

    scoped = admin.get(PORTFOLIO, params={"unit_id": lab_id}).json()
    as_submitter = make_client("submitter", unit_id=lab_id).get(PORTFOLIO)

    assert as_submitter.status_code == 200
    assert as_submitter.json() == scoped
    assert scoped["unit_id"] == lab_id
    assert scoped["projects"] == 2
    assert scoped["by_stage"]["experiment"] == 1
    assert scoped["by_stage"]["embedded"] == 1
    assert scoped["experiments"] == 1
    assert scoped["experiments_by_status"]["proposed"] == 1
    assert scoped["high_risk"] == 0
    assert scoped["without_risk_profile"] == 1
    assert (scoped["embedded"], scoped["stopped"], scoped["adoption_share"]) == (1, 0, 1.0)
    submitter = make_client("submitter", unit_id=lab_id)
    outside = submitter.get(PORTFOLIO, params={"unit_id": built["line"]["id"]})
    assert outside.status_code == 404


def test_empty_portfolio(admin):
    report = admin.get(PORTFOLIO).json()

    assert report["projects"] == 0
    assert report["experiments"] == 0
    assert set(report["by_stage"].values()) == {0}
    assert report["facet_by_risk_band"]["unspecified"] == bands()
    assert [s["conversion"] for s in report["funnel"]] == [None, None, None, None]
    assert report["adoption_share"] is None
    assert (report["high_risk"], report["high_risk_justified"]) == (0, 0)
