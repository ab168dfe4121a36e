"""GET /reports/trends: every number below is worked out by hand from the timelines built."""

from datetime import timedelta
from typing import Any

import pytest

from app.core.db import today
from app.main import create_app
from app.reports.window import years_before
from tests.builders import client_with, create_unit, problem_fields
from tests.reports.timelines import archive, change, modes, stages, started

TRENDS = "/api/v1/reports/trends"
THRESHOLDS = {"min_active_projects": 5, "share_threshold": 0.5}
# The fields of a point that the spread report as of that day also has.
SPREAD_FIELDS = (
    "active_projects",
    "side_of_desk_share",
    "core_business_share",
    "individual_sponsor_share",
    "business_line_coverage",
    "lab_share",
    "verdict",
)


@pytest.fixture
def portfolio(admin) -> dict[str, int]:
    """Side of desk and an individual sponsor unless said otherwise."""
    root = create_unit(admin, "ROOT", kind="corporate")
    bl1 = create_unit(admin, "BL1", parent_id=root["id"])
    bl2 = create_unit(admin, "BL2", parent_id=root["id"])
    lab = create_unit(admin, "LAB", kind="innovation_lab", parent_id=root["id"])
    p = {"root": root["id"], "bl1": bl1["id"], "bl2": bl2["id"], "lab": lab["id"]}
    # P1 (BL1): exploration 10 Jan 2024, experiment 20 May, core business 5 Nov.
    p["p1"] = started(admin, bl1["id"], "2024-01-10", "exploration")
    change(admin, p["p1"], "2024-05-20", stage="experiment")
    change(admin, p["p1"], "2024-11-05", work_mode="core_business")
    # P2 (BL1): idea 1 Mar 2024, exploration 1 Jul, stopped 10 Feb 2025.
    p["p2"] = started(admin, bl1["id"], "2024-03-01", "idea")
    change(admin, p["p2"], "2024-07-01", stage="exploration")
    change(admin, p["p2"], "2025-02-10", stage="stopped")
    # P3 (BL2): experiment 30 Jun 2024 (a quarter end), dedicated, organizational;
    # scaling with a system sponsor from 30 Sep 2024 (a quarter end too).
    p["p3"] = started(
        admin,
        bl2["id"],
        "2024-06-30",
        "experiment",
        work_mode="dedicated",
        sponsor_level="organizational",
    )
    change(admin, p["p3"], "2024-09-30", stage="scaling", sponsor_level="system")
    # P4: exploration in LAB from 15 Feb 2024, dedicated; moved to BL2 as core business
    # on 1 Aug 2024.
    p["p4"] = started(admin, lab["id"], "2024-02-15", "exploration", work_mode="dedicated")
    change(admin, p["p4"], "2024-08-01", unit_id=bl2["id"], work_mode="core_business")
    # P5 (BL2): exploration from 31 Dec 2024, a year end.
    p["p5"] = started(admin, bl2["id"], "2024-12-31", "exploration")
    # Archived: never counts.
    p["archived"] = started(admin, bl1["id"], "2024-01-10", "exploration")
    archive(admin, f"projects/{p['archived']}")
    return p


def point(
    as_of: str,
    *,
    active: int,
    by_mode: tuple[int, int, int],
    individual: int,
    lab: int,
    covered: int | None,
    by_stage: dict[str, int],
    verdict: str = "insufficient_data",
    business_lines: int = 2,
) -> dict[str, Any]:
    """A point from its counts; each share divided the way the report does."""
    side, _, core = by_mode
    return {
        "as_of": as_of,
        "active_projects": active,
        "side_of_desk_share": side / active if active else None,
        "core_business_share": core / active if active else None,
        "individual_sponsor_share": individual / active if active else None,
        "business_line_coverage": covered / business_lines if business_lines else None,
        "lab_share": lab / active if active else None,
        "verdict": verdict,
        "by_stage": by_stage,
        "by_work_mode": modes(*by_mode),
    }


def test_trends_by_quarter_with_the_extra_last_point(portfolio, viewer):
    response = viewer.get(TRENDS, params={"from": "2024-01-01", "to": "2024-12-15"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_id": None,
        "from": "2024-01-01",
        "to": "2024-12-15",
        "interval": "quarter",
        "thresholds": THRESHOLDS,
        "points": [
            # 31 Mar: P1 (exploration, side, BL1), P2 (idea), P4 (exploration, dedicated,
            # LAB). Active 2: side 1 (1/2), individual 2 (2/2), lab 1 (1/2); BL1 of the two
            # business lines owns one: coverage 1/2.
            point(
                "2024-03-31",
                active=2,
                by_mode=(1, 1, 0),
                individual=2,
                lab=1,
                covered=1,
                by_stage=stages(idea=1, exploration=2),
            ),
            # 30 Jun: P1 experiment (since 20 May); P3 exists from this very day
            # (experiment, dedicated, organizational, BL2). Active P1, P3, P4: side 1/3,
            # individual 2/3 (P1, P4), lab 1/3; BL1 and BL2 covered.
            point(
                "2024-06-30",
                active=3,
                by_mode=(1, 2, 0),
                individual=2,
                lab=1,
                covered=2,
                by_stage=stages(idea=1, exploration=1, experiment=2),
            ),
            # 30 Sep: P2 exploration (1 Jul), P3 scaling with a system sponsor (from this
            # day), P4 in BL2 as core business (1 Aug). Active 4: side P1, P2 (2/4);
            # core P4 (1/4); individual P1, P2, P4 (3/4); no lab project.
            point(
                "2024-09-30",
                active=4,
                by_mode=(2, 1, 1),
                individual=3,
                lab=0,
                covered=2,
                by_stage=stages(exploration=2, experiment=1, scaling=1),
            ),
            # 15 Dec (`to`, not a quarter end): P1 core business since 5 Nov. P5 starts on
            # 31 Dec, after it.
            point(
                "2024-12-15",
                active=4,
                by_mode=(1, 1, 2),
                individual=3,
                lab=0,
                covered=2,
                by_stage=stages(exploration=2, experiment=1, scaling=1),
            ),
        ],
    }


def test_trends_by_year_and_verdicts(portfolio, viewer):
    report = viewer.get(
        TRENDS, params={"from": "2024-01-01", "to": "2025-12-31", "interval": "year"}
    ).json()

    assert report["interval"] == "year"
    # `to` is a year end: no extra point.
    assert report["points"] == [
        # 31 Dec 2024: P5 exists from this day. Active 5 (P1 core, P2 side, P3 dedicated,
        # P4 core, P5 side): side 2/5 = 0.4, core 2/5 = 0.4, individual 4/5 (P1, P2, P4,
        # P5); coverage 2/2, no lab: no rule matches before the last one: mixed.
        point(
            "2024-12-31",
            active=5,
            by_mode=(2, 1, 2),
            individual=4,
            lab=0,
            covered=2,
            by_stage=stages(exploration=3, experiment=1, scaling=1),
            verdict="mixed",
        ),
        # 31 Dec 2025: P2 stopped (10 Feb 2025): 4 active, fewer than 5.
        point(
            "2025-12-31",
            active=4,
            by_mode=(1, 1, 2),
            individual=3,
            lab=0,
            covered=2,
            by_stage=stages(exploration=2, experiment=1, scaling=1, stopped=1),
        ),
    ]


def test_a_point_late_in_its_month_takes_out_the_changes_after_it(portfolio, viewer):
    """A point with fewer days after it in its month than before (20 Dec: 11 against 20)
    is its whole month less the changes dated after it; one with more (10 Dec), its month
    up to it. P5 starts on 31 Dec: in December's month row, in neither point."""
    report = viewer.get(
        TRENDS, params={"from": "2024-12-01", "to": "2024-12-20", "interval": "month"}
    ).json()
    # The same four projects as on 15 Dec (`test_trends_by_quarter_...`): P1 experiment
    # (core business since 5 Nov), P2 exploration (side), P3 scaling (dedicated, system),
    # P4 exploration (core, BL2).
    december = {
        "active": 4,
        "by_mode": (1, 1, 2),
        "individual": 3,
        "lab": 0,
        "covered": 2,
        "by_stage": stages(exploration=2, experiment=1, scaling=1),
    }
    assert report["points"] == [point("2024-12-20", **december)]
    early = viewer.get(
        TRENDS, params={"from": "2024-12-01", "to": "2024-12-10", "interval": "month"}
    ).json()
    assert early["points"] == [point("2024-12-10", **december)]
    # Late in February 2025, after P2 stopped on 10 Feb: 19 days before, 8 after.
    late = viewer.get(
        TRENDS, params={"from": "2025-02-01", "to": "2025-02-20", "interval": "month"}
    ).json()
    assert late["points"] == [
        point(
            "2025-02-20",
            active=4,  # P1, P3, P4, and P5 (exploration, side, individual, BL2)
            by_mode=(1, 1, 2),
            individual=3,
            lab=0,
            covered=2,
            by_stage=stages(exploration=2, experiment=1, scaling=1, stopped=1),
        )
    ]


def test_trends_by_month(portfolio, viewer):
    report = viewer.get(
        TRENDS, params={"from": "2024-01-15", "to": "2024-04-10", "interval": "month"}
    ).json()

    # Month ends, 29 February in a leap year, then `to`.
    assert [p["as_of"] for p in report["points"]] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-10",
    ]
    # 31 Jan: P1 alone (the archived project never counts); 29 Feb: P4 too (15 Feb);
    # 31 Mar and 10 Apr: P2 as an idea too (1 Mar).
    assert [p["by_stage"] for p in report["points"]] == [
        stages(exploration=1),
        stages(exploration=2),
        stages(idea=1, exploration=2),
        stages(idea=1, exploration=2),
    ]
    assert [p["lab_share"] for p in report["points"]] == [0.0, 0.5, 0.5, 0.5]


def test_trends_scope_is_the_unit_at_each_point(portfolio, viewer):
    p = portfolio
    params = {"from": "2024-01-01", "to": "2024-12-15", "unit_id": p["bl2"]}
    report = viewer.get(TRENDS, params=params).json()

    assert report["unit_id"] == p["bl2"]
    one_line = {"business_lines": 1}
    assert report["points"] == [
        # Nothing in BL2 yet: shares null; its one business line (itself) uncovered.
        point(
            "2024-03-31",
            active=0,
            by_mode=(0, 0, 0),
            individual=0,
            lab=0,
            covered=0,
            by_stage=stages(),
            **one_line,
        ),
        # P3 (dedicated, organizational); P4 is still LAB's.
        point(
            "2024-06-30",
            active=1,
            by_mode=(0, 1, 0),
            individual=0,
            lab=0,
            covered=1,
            by_stage=stages(experiment=1),
            **one_line,
        ),
        # P3 scaling, P4 (BL2's from 1 Aug): core 1/2, individual 1/2.
        point(
            "2024-09-30",
            active=2,
            by_mode=(0, 1, 1),
            individual=1,
            lab=0,
            covered=1,
            by_stage=stages(exploration=1, scaling=1),
            **one_line,
        ),
        point(
            "2024-12-15",
            active=2,
            by_mode=(0, 1, 1),
            individual=1,
            lab=0,
            covered=1,
            by_stage=stages(exploration=1, scaling=1),
            **one_line,
        ),
    ]
    # The lab has no business line (coverage null) and loses P4 on 1 Aug.
    lab = viewer.get(TRENDS, params={**params, "unit_id": p["lab"]}).json()["points"]
    assert [(x["active_projects"], x["lab_share"], x["business_line_coverage"]) for x in lab] == [
        (1, 1.0, None),
        (1, 1.0, None),
        (0, None, None),
        (0, None, None),
    ]


def test_trends_verdicts_follow_the_thresholds(portfolio, settings, admin):
    """With PORTFOLIO_MIN_ACTIVE_PROJECTS=3 the quarter points of the first test get real
    verdicts: 31 Mar 2 active (insufficient); 30 Jun side 1/3, core 0: mixed; 30 Sep side
    2/4 = 0.5: side_of_desk; 15 Dec core 2/4 = 0.5 but individual 3/4: mixed."""
    app = create_app(settings.model_copy(update={"min_active_projects": 3}))
    key = admin.post("/api/v1/api-keys", json={"name": "v", "role": "viewer"}).json()["key"]
    report = client_with(app, key).get(TRENDS, params={"from": "2024-01-01", "to": "2024-12-15"})

    assert [p["verdict"] for p in report.json()["points"]] == [
        "insufficient_data",
        "mixed",
        "side_of_desk",
        "mixed",
    ]
    assert report.json()["thresholds"] == {"min_active_projects": 3, "share_threshold": 0.5}
    app.state.engine.dispose()


def test_trends_csv_gives_the_points_as_rows(portfolio, viewer):
    params = {"from": "2024-01-01", "to": "2024-06-30"}
    response = viewer.get(TRENDS, params=params, headers={"Accept": "text/csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    # 30 Jun is a quarter end: two points, as in the first test; a null share is empty.
    assert response.text.splitlines() == [
        "as_of,active_projects,side_of_desk_share,core_business_share,"
        "individual_sponsor_share,business_line_coverage,lab_share,verdict,"
        "stage_idea,stage_exploration,stage_experiment,stage_scaling,stage_embedded,"
        "stage_stopped,work_mode_side_of_desk,work_mode_dedicated,work_mode_core_business",
        "2024-03-31,2,0.5,0.0,1.0,0.5,0.5,insufficient_data,1,2,0,0,0,0,1,1,0",
        f"2024-06-30,3,{1 / 3},0.0,{2 / 3},1.0,{1 / 3},insufficient_data,1,1,2,0,0,0,1,2,0",
    ]


def test_trends_defaults_to_two_years_by_quarter_up_to_today(viewer):
    report = viewer.get(TRENDS).json()

    assert report["to"] == today().isoformat()
    assert report["from"] == years_before(today(), 2).isoformat()
    assert report["interval"] == "quarter"
    # Quarter ends fall on fixed days, so `from` is one exactly when today is: either 9
    # quarter ends from `from` to today, or 8 after `from` plus today.
    assert len(report["points"]) == 9
    assert report["points"][-1]["as_of"] == today().isoformat()
    assert report["points"][-1]["by_stage"] == stages()


def test_trends_errors_name_the_parameter(viewer):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    cases = [
        ({"to": tomorrow}, "to"),
        ({"from": "2025-02-01", "to": "2025-01-31"}, "from"),
        # 120 month ends from 31 Jan 2016 to 31 Dec 2025, plus 15 Jan 2026: 121 points.
        ({"from": "2016-01-01", "to": "2026-01-15", "interval": "month"}, "from"),
        ({"interval": "week"}, "interval"),
        ({"from": "yesterday"}, "from"),
    ]
    for params, field in cases:
        response = viewer.get(TRENDS, params=params)
        assert response.status_code == 422, (params, response.text)
        assert problem_fields(response) == [field], params
    # Exactly 120 points is allowed.
    allowed = viewer.get(
        TRENDS, params={"from": "2016-01-01", "to": "2025-12-31", "interval": "month"}
    )
    assert len(allowed.json()["points"]) == 120


def test_trends_etag_depends_on_the_window(portfolio, viewer):
    first = viewer.get(TRENDS, params={"from": "2024-01-01", "to": "2024-12-15"})
    again = viewer.get(
        TRENDS,
        params={"from": "2024-01-01", "to": "2024-12-15"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    other = viewer.get(TRENDS, params={"from": "2024-01-01", "to": "2024-12-31"})

    assert again.status_code == 304
    assert other.headers["ETag"] != first.headers["ETag"]


def assert_points_equal_spread_as_of(client: Any, params: dict[str, Any]) -> int:
    """Every point equals the spread report as of its day, in the same scope."""
    report = client.get(TRENDS, params=params)
    assert report.status_code == 200, report.text
    scope = {"unit_id": params["unit_id"]} if "unit_id" in params else {}
    for trend_point in report.json()["points"]:
        spread = client.get(
            "/api/v1/reports/spread", params={**scope, "as_of": trend_point["as_of"]}
        ).json()
        assert {f: trend_point[f] for f in SPREAD_FIELDS} == {f: spread[f] for f in SPREAD_FIELDS}
        assert trend_point["by_work_mode"] == spread["by_work_mode"], trend_point["as_of"]
    return len(report.json()["points"])


def test_every_point_equals_the_spread_report_as_of_its_day(portfolio, viewer):
    p = portfolio
    window = {"from": "2024-01-01", "to": "2025-03-15", "interval": "month"}
    for unit_id in (None, p["root"], p["bl1"], p["bl2"], p["lab"]):
        params = window if unit_id is None else {**window, "unit_id": unit_id}
        # 14 month ends (Jan 2024 .. Feb 2025) and 15 Mar 2025.
        assert assert_points_equal_spread_as_of(viewer, params) == 15


def test_a_unit_archived_since_counts_only_for_the_whole_organization(admin, viewer):
    root = create_unit(admin, "ROOT", kind="corporate")
    bl1 = create_unit(admin, "BL1", parent_id=root["id"])
    old = create_unit(admin, "OLD", parent_id=root["id"])
    old_lab = create_unit(admin, "OLDLAB", kind="innovation_lab", parent_id=root["id"])
    # Q: OLD's until 1 Oct 2024, L: OLDLAB's until then; both BL1's afterwards, and OLD
    # and OLDLAB are archived. R: BL1's, core business.
    q = started(admin, old["id"], "2024-01-10", "exploration")
    change(admin, q, "2024-10-01", unit_id=bl1["id"])
    in_lab = started(admin, old_lab["id"], "2024-01-10", "exploration")
    change(admin, in_lab, "2024-10-01", unit_id=bl1["id"])
    archive(admin, f"units/{old['id']}")
    archive(admin, f"units/{old_lab['id']}")
    started(admin, bl1["id"], "2024-01-10", "exploration", work_mode="core_business")
    params = {"from": "2024-09-01", "to": "2024-12-31"}

    whole = viewer.get(TRENDS, params=params).json()["points"]
    rooted = viewer.get(TRENDS, params={**params, "unit_id": root["id"]}).json()["points"]

    # 30 Sep: the whole organization counts Q (in OLD), L (in OLDLAB) and R; the archived
    # business line OLD is not one of the business lines (BL1 alone, covered by R:
    # coverage 1/1) and the archived lab makes no lab share. Under ROOT, Q's and L's units
    # on that day are archived: R alone. 31 Dec: all three in BL1.
    assert [
        (x["as_of"], x["active_projects"], x["business_line_coverage"], x["lab_share"])
        for x in whole
    ] == [
        ("2024-09-30", 3, 1.0, 0.0),
        ("2024-12-31", 3, 1.0, 0.0),
    ]
    assert [(x["as_of"], x["active_projects"]) for x in rooted] == [
        ("2024-09-30", 1),
        ("2024-12-31", 3),
    ]
    assert assert_points_equal_spread_as_of(viewer, params) == 2
    assert assert_points_equal_spread_as_of(viewer, {**params, "unit_id": root["id"]}) == 2
