"""GET /reports/spread: every number below is worked out by hand from the portfolio built."""

import json
from typing import Any

from tests.builders import create_project, create_unit, problem_fields

SPREAD = "/api/v1/reports/spread"
THRESHOLDS = {"min_active_projects": 5, "share_threshold": 0.5}


def add_projects(client: Any, unit_id: int, count: int, **fields: Any) -> list[dict[str, Any]]:
    fields.setdefault("stage", "exploration")
    return [create_project(client, unit_id, **fields) for _ in range(count)]


def archive(client: Any, path: str) -> None:
    response = client.delete(f"/api/v1/{path}")
    assert response.status_code == 200, response.text


def modes(side: int, dedicated: int, core: int) -> dict[str, int]:
    return {"side_of_desk": side, "dedicated": dedicated, "core_business": core}


def codes(report: dict[str, Any]) -> list[str]:
    return [finding["code"] for finding in report["findings"]]


def test_spread_portfolio_worked_by_hand(admin, viewer):
    root = create_unit(admin, "ROOT", kind="corporate")
    bl1 = create_unit(admin, "BL1", parent_id=root["id"])
    bl2 = create_unit(admin, "BL2", parent_id=root["id"])
    bl3 = create_unit(admin, "BL3", parent_id=root["id"])
    lab = create_unit(admin, "LAB", kind="innovation_lab", parent_id=root["id"])
    gone = create_unit(admin, "GONE", parent_id=root["id"])
    archive(admin, f"units/{gone['id']}")
    # BL1: three active projects, two of them core business.
    create_project(
        admin,
        bl1["id"],
        stage="exploration",
        work_mode="core_business",
        sponsor_level="organizational",
    )
    create_project(
        admin,
        bl1["id"],
        stage="experiment",
        work_mode="core_business",
        sponsor_level="organizational",
    )
    create_project(
        admin, bl1["id"], stage="scaling", work_mode="side_of_desk", sponsor_level="individual"
    )
    # Not active: an idea, an embedded project, an archived one.
    create_project(admin, bl1["id"], stage="idea", work_mode="side_of_desk")
    create_project(admin, bl1["id"], stage="embedded", work_mode="side_of_desk")
    archived = create_project(admin, bl1["id"], stage="scaling", work_mode="side_of_desk")
    archive(admin, f"projects/{archived['id']}")
    # BL2: one core business (system sponsor), one dedicated.
    create_project(
        admin, bl2["id"], stage="experiment", work_mode="core_business", sponsor_level="system"
    )
    create_project(
        admin,
        bl2["id"],
        stage="exploration",
        work_mode="dedicated",
        sponsor_level="organizational",
    )
    # LAB: one dedicated project with an individual sponsor. BL3 and ROOT: nothing.
    create_project(
        admin, lab["id"], stage="scaling", work_mode="dedicated", sponsor_level="individual"
    )

    response = viewer.get(SPREAD)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_id": None,
        "as_of": None,
        "thresholds": THRESHOLDS,
        "active_projects": 6,
        "by_work_mode": modes(1, 2, 3),
        "by_sponsor_level": {"individual": 2, "organizational": 3, "system": 1},
        "side_of_desk_share": 1 / 6,
        "core_business_share": 0.5,
        "individual_sponsor_share": 2 / 6,
        "business_lines": 3,  # the archived GONE does not count
        "business_lines_with_innovation": 2,
        "business_line_coverage": 2 / 3,
        "lab_share": 1 / 6,
        # core share 0.5 >= 0.5 and individual share 1/3 < 0.5; nothing before matched.
        "verdict": "spread",
        "findings": [],
        "units": [
            {
                "unit_id": bl1["id"],
                "code": "BL1",
                "name": "Unit BL1",
                "kind": "business_line",
                "parent_id": root["id"],
                "active_projects": 3,
                "by_work_mode": modes(1, 0, 2),
                "status": "embedded",
            },
            {
                "unit_id": bl2["id"],
                "code": "BL2",
                "name": "Unit BL2",
                "kind": "business_line",
                "parent_id": root["id"],
                "active_projects": 2,
                "by_work_mode": modes(0, 1, 1),
                "status": "embedded",
            },
            {
                "unit_id": bl3["id"],
                "code": "BL3",
                "name": "Unit BL3",
                "kind": "business_line",
                "parent_id": root["id"],
                "active_projects": 0,
                "by_work_mode": modes(0, 0, 0),
                "status": "none",
            },
            {
                "unit_id": lab["id"],
                "code": "LAB",
                "name": "Unit LAB",
                "kind": "innovation_lab",
                "parent_id": root["id"],
                "active_projects": 1,
                "by_work_mode": modes(0, 1, 0),
                "status": "mixed",
            },
            {
                "unit_id": root["id"],
                "code": "ROOT",
                "name": "Unit ROOT",
                "kind": "corporate",
                "parent_id": None,
                "active_projects": 0,
                "by_work_mode": modes(0, 0, 0),
                "status": "none",
            },
        ],
    }

    csv = viewer.get(SPREAD, headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines() == [
        "unit_id,code,name,kind,parent_id,active_projects,side_of_desk,dedicated,core_business,status",
        f"{bl1['id']},BL1,Unit BL1,business_line,{root['id']},3,1,0,2,embedded",
        f"{bl2['id']},BL2,Unit BL2,business_line,{root['id']},2,0,1,1,embedded",
        f"{bl3['id']},BL3,Unit BL3,business_line,{root['id']},0,0,0,0,none",
        f"{lab['id']},LAB,Unit LAB,innovation_lab,{root['id']},1,0,1,0,mixed",
        f"{root['id']},ROOT,Unit ROOT,corporate,,0,0,0,0,none",
    ]


def test_side_of_desk_verdict_and_unit_status(admin):
    unit = create_unit(admin, "OPS")
    add_projects(admin, unit["id"], 3, work_mode="side_of_desk", sponsor_level="individual")
    add_projects(admin, unit["id"], 2, work_mode="core_business", sponsor_level="organizational")

    report = admin.get(SPREAD).json()

    assert report["active_projects"] == 5
    assert report["side_of_desk_share"] == 0.6
    assert report["individual_sponsor_share"] == 0.6
    assert report["verdict"] == "side_of_desk"
    assert report["findings"] == [
        {
            "code": "side_of_desk",
            "message": "3 of the 5 active projects (60%) are done on the side of the desk, "
            "without dedicated time or budget. Leadership can link them to regular business "
            "planning and budgets so they stop depending on people's spare time.",
            "value": 0.6,
            "threshold": 0.5,
        },
        {
            "code": "reliance_on_individuals",
            "message": "3 of the 5 active projects (60%) hang on a single individual sponsor. "
            "Leadership can give them organizational or system-level sponsors, so they survive "
            "when that person moves on.",
            "value": 0.6,
            "threshold": 0.5,
        },
    ]
    assert [u["status"] for u in report["units"]] == ["side_of_desk"]


def test_concentrated_when_few_business_lines_innovate(admin):
    root = create_unit(admin, "ROOT", kind="corporate")
    busy = create_unit(admin, "A-BUSY", parent_id=root["id"])
    create_unit(admin, "B-IDLE", parent_id=root["id"])
    create_unit(admin, "C-IDLE", parent_id=root["id"])
    add_projects(admin, busy["id"], 5, work_mode="core_business", sponsor_level="organizational")

    report = admin.get(SPREAD).json()

    assert (report["business_lines"], report["business_lines_with_innovation"]) == (3, 1)
    assert report["business_line_coverage"] == 1 / 3
    assert report["core_business_share"] == 1.0
    assert report["verdict"] == "concentrated"
    assert report["findings"] == [
        {
            "code": "low_business_line_coverage",
            "message": "Only 1 of the 3 business lines (33%) own an active innovation project. "
            "Leadership can ask every business line to carry at least one initiative in its "
            "business plan and budget.",
            "value": 1 / 3,
            "threshold": 0.5,
        }
    ]


def test_concentrated_in_the_lab(admin):
    line = create_unit(admin, "LINE")
    lab = create_unit(admin, "LAB", kind="innovation_lab")
    add_projects(admin, lab["id"], 3, work_mode="dedicated", sponsor_level="organizational")
    add_projects(admin, line["id"], 2, work_mode="core_business", sponsor_level="system")

    report = admin.get(SPREAD).json()

    assert report["business_line_coverage"] == 1.0
    assert report["lab_share"] == 0.6
    assert report["verdict"] == "concentrated"
    assert codes(report) == ["lab_concentration"]
    assert report["findings"][0]["message"] == (
        "3 of the 5 active projects (60%) are owned by innovation labs. Leadership can spread "
        "innovation beyond the lab by having business lines own projects, with the lab in "
        "support."
    )
    assert report["findings"][0]["value"] == 0.6


def test_mixed_when_core_business_hangs_on_individuals(admin):
    unit = create_unit(admin, "OPS")
    add_projects(admin, unit["id"], 3, work_mode="core_business", sponsor_level="individual")
    add_projects(admin, unit["id"], 2, work_mode="dedicated", sponsor_level="organizational")

    report = admin.get(SPREAD).json()

    assert (report["core_business_share"], report["individual_sponsor_share"]) == (0.6, 0.6)
    assert report["verdict"] == "mixed"
    assert codes(report) == ["reliance_on_individuals"]
    assert report["units"][0]["status"] == "embedded"


def test_insufficient_data_below_five_active_projects(admin):
    unit = create_unit(admin, "OPS")
    add_projects(admin, unit["id"], 4, work_mode="core_business", sponsor_level="system")
    add_projects(admin, unit["id"], 3, stage="stopped", work_mode="core_business")

    report = admin.get(SPREAD).json()

    assert report["active_projects"] == 4
    assert report["core_business_share"] == 1.0
    assert report["verdict"] == "insufficient_data"
    assert report["findings"] == [
        {
            "code": "few_active_projects",
            "message": "Only 4 active project(s) in scope, fewer than the 5 needed to judge how "
            "innovation is spread. Leadership can ask business lines to register the "
            "initiatives they run and to commission new ones as part of regular business "
            "planning.",
            "value": 4,
            "threshold": 5,
        }
    ]


def test_empty_portfolio_has_null_shares(admin):
    report = admin.get(SPREAD).json()

    assert report == {
        "unit_id": None,
        "as_of": None,
        "thresholds": THRESHOLDS,
        "active_projects": 0,
        "by_work_mode": modes(0, 0, 0),
        "by_sponsor_level": {"individual": 0, "organizational": 0, "system": 0},
        "side_of_desk_share": None,
        "core_business_share": None,
        "individual_sponsor_share": None,
        "business_lines": 0,
        "business_lines_with_innovation": 0,
        "business_line_coverage": None,
        "lab_share": None,
        "verdict": "insufficient_data",
        "findings": [report["findings"][0]],
        "units": [],
    }
    assert codes(report) == ["few_active_projects"]
    assert report["findings"][0]["value"] == 0


def test_business_lines_without_projects_have_zero_coverage(admin):
    create_unit(admin, "A")
    create_unit(admin, "B")

    report = admin.get(SPREAD).json()

    assert (report["business_lines"], report["business_line_coverage"]) == (2, 0.0)
    assert report["side_of_desk_share"] is None
    assert codes(report) == ["few_active_projects", "low_business_line_coverage"]


def test_unit_id_restricts_to_the_subtree(admin):
    root = create_unit(admin, "ROOT", kind="corporate")
    line = create_unit(admin, "LINE", parent_id=root["id"])
    team = create_unit(admin, "TEAM", kind="corporate", parent_id=line["id"])
    other = create_unit(admin, "OTHER", parent_id=root["id"])
    add_projects(admin, line["id"], 1, work_mode="core_business")
    add_projects(admin, team["id"], 2, work_mode="side_of_desk")
    add_projects(admin, other["id"], 4, work_mode="dedicated")

    report = admin.get(SPREAD, params={"unit_id": line["id"]}).json()

    assert report["unit_id"] == line["id"]
    assert report["active_projects"] == 3
    assert report["by_work_mode"] == modes(2, 0, 1)
    assert (report["business_lines"], report["business_lines_with_innovation"]) == (1, 1)
    assert [(u["code"], u["active_projects"]) for u in report["units"]] == [
        ("LINE", 1),
        ("TEAM", 2),
    ]
    whole = admin.get(SPREAD, params={"unit_id": root["id"]}).json()
    assert whole["active_projects"] == 7
    missing = admin.get(SPREAD, params={"unit_id": 999_999})
    assert missing.status_code == 404


def test_submitter_sees_only_its_own_subtree(admin, make_client):
    root = create_unit(admin, "ROOT", kind="corporate")
    mine = create_unit(admin, "MINE", parent_id=root["id"])
    child = create_unit(admin, "MINE-CHILD", kind="corporate", parent_id=mine["id"])
    theirs = create_unit(admin, "THEIRS", parent_id=root["id"])
    add_projects(admin, mine["id"], 1, work_mode="core_business")
    add_projects(admin, child["id"], 1, work_mode="core_business")
    add_projects(admin, theirs["id"], 5, work_mode="side_of_desk")
    submitter = make_client("submitter", unit_id=mine["id"])

    report = submitter.get(SPREAD).json()

    assert report["unit_id"] == mine["id"]
    assert report["active_projects"] == 2
    assert report["by_work_mode"] == modes(0, 0, 2)
    assert [u["code"] for u in report["units"]] == ["MINE", "MINE-CHILD"]
    assert submitter.get(SPREAD, params={"unit_id": child["id"]}).json()["active_projects"] == 1
    for outside in (theirs["id"], root["id"]):
        response = submitter.get(SPREAD, params={"unit_id": outside})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_reports_need_a_key(anon):
    for name in ("spread", "portfolio", "outcomes", "determinants"):
        assert anon.get(f"/api/v1/reports/{name}").status_code == 401


def test_bad_unit_id_is_a_problem_naming_the_field(admin):
    response = admin.get(SPREAD, params={"unit_id": "tax"})

    assert response.status_code == 422
    assert problem_fields(response) == ["unit_id"]


def test_csv_of_an_empty_portfolio_is_the_header_row(admin):
    response = admin.get(SPREAD, headers={"Accept": "text/csv, application/json;q=0.5"})

    assert response.status_code == 200
    assert response.text == (
        "unit_id,code,name,kind,parent_id,active_projects,side_of_desk,dedicated,"
        "core_business,status\r\n"
    )
    assert admin.get(SPREAD, headers={"Accept": "application/json"}).json()["units"] == []


def test_the_json_report_is_the_model_serialized(admin, app, settings):
    """On PostgreSQL the `units` rows come as JSON text from the database
    (reports.service.spread_json); the document must be the model's: the same values and
    the same key order (PostgreSQL may space it differently)."""
    from sqlmodel import Session

    from app.reports import service

    lab = create_unit(admin, "LAB", kind="innovation_lab")
    line = create_unit(admin, "OPS", kind="business_line")
    create_unit(admin, "IDLE", kind="business_line")
    for unit, mode in ((lab, "dedicated"), (line, "core_business"), (line, "side_of_desk")):
        create_project(admin, unit["id"], work_mode=mode, stage="experiment")
    response = admin.get(SPREAD)
    with Session(app.state.engine) as session:
        model = service.spread(session=session, settings=settings, root_id=None)
    expected = json.loads(model.model_dump_json())
    assert response.json() == expected
    assert list(response.json()) == list(expected)
    assert [list(u) for u in response.json()["units"]] == [list(u) for u in expected["units"]]
    assert [list(u["by_work_mode"]) for u in response.json()["units"]] == [
        list(u["by_work_mode"]) for u in expected["units"]
    ]
    assert [(u["code"], u["status"]) for u in response.json()["units"]] == [
        ("IDLE", "none"),
        ("LAB", "mixed"),
        ("OPS", "side_of_desk"),
    ]
