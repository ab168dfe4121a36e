"""GET /reports/spread?as_of=: the spread report as at the end of a past day, from the
projects' timelines. Every number is worked out by hand from the timelines built below."""

from datetime import timedelta
from typing import Any

import pytest

from app.core.db import today
from tests.builders import create_project, create_unit, problem_fields

SPREAD = "/api/v1/reports/spread"
CSV = {"Accept": "text/csv"}


def modes(side: int, dedicated: int, core: int) -> dict[str, int]:
    return {"side_of_desk": side, "dedicated": dedicated, "core_business": core}


def sponsors(individual: int, organizational: int, system: int) -> dict[str, int]:
    return {"individual": individual, "organizational": organizational, "system": system}


def patch(client: Any, project: dict[str, Any], **fields: Any) -> None:
    response = client.patch(f"/api/v1/projects/{project['id']}", json=fields)
    assert response.status_code == 200, response.text


def spread(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get(SPREAD, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def unit_rows(report: dict[str, Any]) -> list[tuple[str, int, dict[str, int], str]]:
    return [
        (u["code"], u["active_projects"], u["by_work_mode"], u["status"]) for u in report["units"]
    ]


@pytest.fixture
def portfolio(admin):
    """Units ROOT (corporate) > BL1, BL2, OLD (business lines), LAB (innovation lab); OLD is
    archived once its only project has moved out. Timelines:

    - P1: 2025-01-10 BL1 exploration side_of_desk individual; 2025-03-01 core_business
      organizational; 2025-05-01 moves to BL2.
    - P2: 2025-02-15 BL1 experiment dedicated organizational.
    - P3: 2025-01-05 OLD scaling side_of_desk individual; 2025-04-01 moves to BL2.
    - P4: 2025-01-01 LAB idea dedicated system; 2025-01-20 exploration; 2025-06-01 stopped.
    - P5: 2025-01-01 BL1 exploration, archived: never counts.
    - P6: created today in BL1, exploration: exists at no past date.
    """
    root = create_unit(admin, "ROOT", kind="corporate")
    units = {
        code: create_unit(admin, code, kind=kind, parent_id=root["id"])
        for code, kind in (
            ("BL1", "business_line"),
            ("BL2", "business_line"),
            ("OLD", "business_line"),
            ("LAB", "innovation_lab"),
        )
    }
    units["ROOT"] = root
    ids = {code: unit["id"] for code, unit in units.items()}

    def project(unit: str, effective_on: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("work_mode", "side_of_desk")
        fields.setdefault("sponsor_level", "individual")
        return create_project(admin, ids[unit], effective_on=effective_on, **fields)

    p1 = project("BL1", "2025-01-10", stage="exploration")
    patch(
        admin,
        p1,
        work_mode="core_business",
        sponsor_level="organizational",
        effective_on="2025-03-01",
    )
    patch(admin, p1, unit_id=ids["BL2"], effective_on="2025-05-01")
    project(
        "BL1",
        "2025-02-15",
        stage="experiment",
        work_mode="dedicated",
        sponsor_level="organizational",
    )
    p3 = project("OLD", "2025-01-05", stage="scaling")
    patch(admin, p3, unit_id=ids["BL2"], effective_on="2025-04-01")
    p4 = project("LAB", "2025-01-01", stage="idea", work_mode="dedicated", sponsor_level="system")
    patch(admin, p4, stage="exploration", effective_on="2025-01-20")
    patch(admin, p4, stage="stopped", effective_on="2025-06-01")
    p5 = project("BL1", "2025-01-01", stage="exploration")
    assert admin.delete(f"/api/v1/projects/{p5['id']}").status_code == 200
    create_project(admin, ids["BL1"], stage="exploration")
    assert admin.delete(f"/api/v1/units/{ids['OLD']}").status_code == 200
    return ids


def test_the_whole_organization_at_the_end_of_january(viewer, portfolio):
    report = spread(viewer, as_of="2025-01-31")

    # Existing then: P1 (BL1, exploration, side, individual), P3 (OLD, scaling, side,
    # individual), P4 (LAB, exploration since 20 Jan, dedicated, system); P2 starts on
    # 15 Feb, P5 is archived, P6 starts today. P3's unit OLD is archived now: it still
    # counts for the whole organization, without a unit row.
    assert report["as_of"] == "2025-01-31"
    assert report["unit_id"] is None
    assert report["active_projects"] == 3
    assert report["by_work_mode"] == modes(2, 1, 0)
    assert report["by_sponsor_level"] == sponsors(2, 0, 1)
    assert report["side_of_desk_share"] == pytest.approx(2 / 3)
    assert report["core_business_share"] == 0.0
    assert report["individual_sponsor_share"] == pytest.approx(2 / 3)
    assert report["lab_share"] == pytest.approx(1 / 3)  # P4 in LAB
    # Business lines now: BL1 and BL2 (OLD is archived); BL1 owns P1.
    assert (report["business_lines"], report["business_lines_with_innovation"]) == (2, 1)
    assert report["business_line_coverage"] == 0.5
    assert report["verdict"] == "insufficient_data"  # 3 < 5
    # 3 < 5; side 2/3 >= 0.5; coverage 0.5 is not below 0.5; lab 1/3 < 0.5; individual 2/3.
    assert [f["code"] for f in report["findings"]] == [
        "few_active_projects",
        "side_of_desk",
        "reliance_on_individuals",
    ]
    assert unit_rows(report) == [
        ("BL1", 1, modes(1, 0, 0), "side_of_desk"),
        ("BL2", 0, modes(0, 0, 0), "none"),
        ("LAB", 1, modes(0, 1, 0), "mixed"),
        ("ROOT", 0, modes(0, 0, 0), "none"),
    ]


def test_the_whole_organization_at_the_end_of_june(viewer, portfolio):
    report = spread(viewer, as_of="2025-06-30")

    # P1: BL2, exploration, core, organizational; P2: BL1, experiment, dedicated,
    # organizational; P3: BL2, scaling, side, individual; P4 stopped since 1 June.
    assert report["active_projects"] == 3
    assert report["by_work_mode"] == modes(1, 1, 1)
    assert report["by_sponsor_level"] == sponsors(1, 2, 0)
    assert report["lab_share"] == 0.0
    assert (report["business_lines"], report["business_lines_with_innovation"]) == (2, 2)
    assert report["business_line_coverage"] == 1.0
    assert unit_rows(report) == [
        ("BL1", 1, modes(0, 1, 0), "mixed"),
        ("BL2", 2, modes(1, 0, 1), "side_of_desk"),  # 1/2 side of desk reaches 0.5
        ("LAB", 0, modes(0, 0, 0), "none"),
        ("ROOT", 0, modes(0, 0, 0), "none"),
    ]


@pytest.mark.parametrize(
    ("as_of", "active", "bl1", "bl2"),
    [
        ("2024-12-31", 0, 0, 0),  # before every first period: nothing exists
        ("2025-01-09", 1, 0, 0),  # P3 (scaling, OLD); P4 exists but is an idea
        ("2025-01-10", 2, 1, 0),  # P1 exists from its first period's from
        ("2025-01-19", 2, 1, 0),  # P4 still an idea on the day before its change
        ("2025-01-20", 3, 1, 0),  # P4 exploring from 20 January
        ("2025-02-14", 3, 1, 0),  # P2 not yet
        ("2025-02-15", 4, 2, 0),  # P2 from 15 February
        ("2025-03-31", 4, 2, 0),  # P3 still in OLD on the last day of that period
        ("2025-04-01", 4, 2, 1),  # P3 in BL2 from 1 April
        ("2025-04-30", 4, 2, 1),  # P1 still in BL1
        ("2025-05-01", 4, 1, 2),  # P1 in BL2 from 1 May
        ("2025-05-31", 4, 1, 2),  # P4 still exploring
        ("2025-06-01", 3, 1, 2),  # P4 stopped from 1 June
    ],
)
def test_periods_begin_on_their_from_and_end_before_their_to(
    viewer, portfolio, as_of, active, bl1, bl2
):
    report = spread(viewer, as_of=as_of)

    rows = {u["code"]: u["active_projects"] for u in report["units"]}
    assert (report["active_projects"], rows["BL1"], rows["BL2"]) == (active, bl1, bl2)


def test_a_unit_scope_applies_to_the_unit_at_that_date(viewer, portfolio):
    # ROOT's subtree at 31 January: P1 (BL1) and P4 (LAB); P3's unit then, OLD, has since
    # been archived, so P3 counts only in the whole organization's report.
    root = spread(viewer, as_of="2025-01-31", unit_id=portfolio["ROOT"])
    assert root["unit_id"] == portfolio["ROOT"]
    assert root["active_projects"] == 2
    assert root["by_work_mode"] == modes(1, 1, 0)
    assert root["by_sponsor_level"] == sponsors(1, 0, 1)
    assert root["lab_share"] == 0.5
    assert [u["code"] for u in root["units"]] == ["BL1", "BL2", "LAB", "ROOT"]

    # BL2 at 31 March: nobody yet (P3 arrives on 1 April); at 30 June: P1 and P3.
    assert spread(viewer, as_of="2025-03-31", unit_id=portfolio["BL2"])["active_projects"] == 0
    june = spread(viewer, as_of="2025-06-30", unit_id=portfolio["BL2"])
    assert june["active_projects"] == 2
    assert june["by_work_mode"] == modes(1, 0, 1)
    assert unit_rows(june) == [("BL2", 2, modes(1, 0, 1), "side_of_desk")]
    assert (june["business_lines"], june["business_lines_with_innovation"]) == (1, 1)

    # BL1 at 30 April: P1 and P2; at 1 May P1 has left.
    assert spread(viewer, as_of="2025-04-30", unit_id=portfolio["BL1"])["active_projects"] == 2
    assert spread(viewer, as_of="2025-05-01", unit_id=portfolio["BL1"])["active_projects"] == 1


def test_a_submitter_sees_its_own_subtree_at_that_date(make_client, portfolio):
    submitter = make_client("submitter", unit_id=portfolio["BL2"])

    june = spread(submitter, as_of="2025-06-30")
    assert june["unit_id"] == portfolio["BL2"]
    assert june["active_projects"] == 2  # P1 and P3, both in BL2 at 30 June
    assert spread(submitter, as_of="2025-01-31")["active_projects"] == 0
    response = submitter.get(SPREAD, params={"as_of": "2025-06-30", "unit_id": portfolio["BL1"]})
    assert response.status_code == 404


def test_as_of_today_is_the_report_without_as_of(viewer, portfolio):
    now = spread(viewer)
    dated = spread(viewer, as_of=str(today()))

    assert now["as_of"] is None
    assert dated["as_of"] == str(today())
    assert {**dated, "as_of": None} == now
    # Today: P1, P2, P3 and P6 (created today, exploration); P4 stopped, P5 archived.
    assert now["active_projects"] == 4


def test_as_of_after_today_or_not_a_date_is_a_422(viewer, portfolio):
    for value in (str(today() + timedelta(days=1)), "2025-02-30", "soon"):
        response = viewer.get(SPREAD, params={"as_of": value})
        assert response.status_code == 422, value
        assert problem_fields(response) == ["as_of"]


def test_csv_rows_are_those_of_that_date(viewer, portfolio):
    response = viewer.get(SPREAD, params={"as_of": "2025-06-30"}, headers=CSV)

    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0] == (
        "unit_id,code,name,kind,parent_id,active_projects,side_of_desk,dedicated,"
        "core_business,status"
    )
    bl1, bl2, lab, root = portfolio["BL1"], portfolio["BL2"], portfolio["LAB"], portfolio["ROOT"]
    assert lines[1:] == [
        f"{bl1},BL1,Unit BL1,business_line,{root},1,0,1,0,mixed",
        f"{bl2},BL2,Unit BL2,business_line,{root},2,1,0,1,side_of_desk",
        f"{lab},LAB,Unit LAB,innovation_lab,{root},0,0,0,0,none",
        f"{root},ROOT,Unit ROOT,corporate,,0,0,0,0,none",
    ]


def test_each_as_of_has_its_own_etag(viewer, portfolio):
    january = viewer.get(SPREAD, params={"as_of": "2025-01-31"})
    june = viewer.get(SPREAD, params={"as_of": "2025-06-30"})
    now = viewer.get(SPREAD)

    tags = {january.headers["ETag"], june.headers["ETag"], now.headers["ETag"]}
    assert len(tags) == 3
    again = viewer.get(
        SPREAD, params={"as_of": "2025-01-31"}, headers={"If-None-Match": january.headers["ETag"]}
    )
    assert again.status_code == 304
    other = viewer.get(
        SPREAD, params={"as_of": "2025-06-30"}, headers={"If-None-Match": january.headers["ETag"]}
    )
    assert other.status_code == 200
    assert other.json()["as_of"] == "2025-06-30"
    csv = viewer.get(SPREAD, params={"as_of": "2025-01-31"}, headers=CSV)
    assert csv.headers["ETag"] not in tags


def test_a_change_dated_in_the_past_changes_that_dates_report(admin, viewer, portfolio):
    before = viewer.get(SPREAD, params={"as_of": "2025-01-31"})
    late = create_project(admin, portfolio["BL2"], stage="idea", effective_on="2025-01-15")
    # Recorded today, effective on 20 January: exploring on 31 January.
    patch(admin, late, stage="exploration", effective_on="2025-01-20")

    after = viewer.get(
        SPREAD, params={"as_of": "2025-01-31"}, headers={"If-None-Match": before.headers["ETag"]}
    )

    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (before.json()["active_projects"], after.json()["active_projects"]) == (3, 4)
