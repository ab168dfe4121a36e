"""GET /reports/flow: every number below is worked out by hand from the timelines built."""

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.config import StallDays
from app.core.db import today
from app.main import create_app
from app.reports.window import years_before
from tests.builders import client_with, create_unit, problem_fields
from tests.reports.timelines import archive, change, modes, sponsors, stages, started

FLOW = "/api/v1/reports/flow"
WINDOW = {"from": "2025-01-01", "to": "2025-06-30"}
DEFAULT_STALL_DAYS = {"exploration": 180, "experiment": 270, "scaling": 365}


def no_stays() -> dict[str, Any]:
    return {"completed_stays": 0, "median_days": None, "current": 0, "current_median_days": None}


@pytest.fixture
def portfolio(admin) -> dict[str, Any]:
    """The window is 2025-01-01 .. 2025-06-30. Side of desk and an individual sponsor unless
    said otherwise; every project in BL1 unless said otherwise. Days in stage at the end
    (30 June 2025) are counted from the stage's start: 1 Jan 2025 is 180 days before it."""
    root = create_unit(admin, "ROOT", kind="corporate")
    bl1 = create_unit(admin, "BL1", parent_id=root["id"])
    bl2 = create_unit(admin, "BL2", parent_id=root["id"])
    p: dict[str, int] = {"bl1": bl1["id"], "bl2": bl2["id"], "root": root["id"]}
    # F1: exploration since the window's first day: 180 days, exactly the limit: not stalled.
    p["f1"] = started(admin, bl1["id"], "2025-01-01", "exploration")
    # F2: exploration since the day before: 181 days, one more than the limit: stalled.
    p["f2"] = started(admin, bl1["id"], "2024-12-31", "exploration")
    # F3: idea, experiment from 2 Oct 2024 (before the window), dedicated from 1 Mar 2025
    # (a work-mode change does not reset stage_since): 271 days in experiment: stalled.
    p["f3"] = started(admin, bl1["id"], "2024-05-01", "idea")
    change(admin, p["f3"], "2024-10-02", stage="experiment")
    change(admin, p["f3"], "2025-03-01", work_mode="dedicated")
    # F4 (BL2): scaling since 1 Jan 2024, core business, organizational: 366 + 180 = 546 days.
    p["f4"] = started(
        admin,
        bl2["id"],
        "2024-01-01",
        "scaling",
        work_mode="core_business",
        sponsor_level="organizational",
    )
    # F5: idea 1 Nov 2024 -> exploration 1 Feb 2025 (an idea stay of 30+31+31 = 92 days)
    # -> experiment 1 Apr 2025, dedicated, organizational (an exploration stay of 28+31 = 59
    # days); in experiment for 30+31+29 = 90 days at the end.
    p["f5"] = started(admin, bl1["id"], "2024-11-01", "idea")
    change(admin, p["f5"], "2025-02-01", stage="exploration")
    change(
        admin,
        p["f5"],
        "2025-04-01",
        stage="experiment",
        work_mode="dedicated",
        sponsor_level="organizational",
    )
    # F6: exploration 15 Jan 2025, dedicated from 1 Mar (same stage: no transition),
    # experiment 1 May: an exploration stay of 17+28+31+30 = 106 days; 60 days in experiment.
    p["f6"] = started(admin, bl1["id"], "2025-01-15", "exploration")
    change(admin, p["f6"], "2025-03-01", work_mode="dedicated")
    change(admin, p["f6"], "2025-05-01", stage="experiment")
    # F7: exploration 10 Jan 2025; experiment on 1 Mar, then corrected on the same date back
    # to exploration: two neighbouring periods in exploration, no transition; 171 days.
    p["f7"] = started(admin, bl1["id"], "2025-01-10", "exploration")
    change(admin, p["f7"], "2025-03-01", stage="experiment")
    change(admin, p["f7"], "2025-03-01", stage="exploration")
    # F8: exploration 1 Jun 2024, stopped on the window's last day (inclusive): an
    # exploration stay of 365 + 29 = 394 days.
    p["f8"] = started(admin, bl1["id"], "2024-06-01", "exploration")
    change(admin, p["f8"], "2025-06-30", stage="stopped")
    # F9: idea 1 Sep 2024, exploration on the window's first day (an idea stay of
    # 30+31+30+31 = 122 days; 180 days in exploration: not stalled), core business and an
    # organizational sponsor from 15 May 2025.
    p["f9"] = started(admin, bl1["id"], "2024-09-01", "idea")
    change(admin, p["f9"], "2025-01-01", stage="exploration")
    change(
        admin,
        p["f9"],
        "2025-05-15",
        work_mode="core_business",
        sponsor_level="organizational",
    )
    # F10: idea 1 Sep 2024, exploration the day before the window (not counted): 181 days
    # in exploration at the end: stalled.
    p["f10"] = started(admin, bl1["id"], "2024-09-01", "idea")
    change(admin, p["f10"], "2024-12-31", stage="exploration")
    # F11: experiment in BL1 since 1 Mar 2024, dedicated, organizational, moved to BL2 on
    # 1 Mar 2025: 365 + 121 = 486 days in experiment, stalled, and BL2's at the end.
    p["f11"] = started(
        admin,
        bl1["id"],
        "2024-03-01",
        "experiment",
        work_mode="dedicated",
        sponsor_level="organizational",
    )
    change(admin, p["f11"], "2025-03-01", unit_id=bl2["id"])
    # F12: an idea from 1 Jun 2025: 29 days.
    p["f12"] = started(admin, bl1["id"], "2025-06-01", "idea")
    # Never counted: an archived project, and one that begins after the window.
    p["archived"] = started(admin, bl1["id"], "2024-01-01", "exploration")
    archive(admin, f"projects/{p['archived']}")
    p["later"] = started(admin, bl1["id"], "2025-08-01", "exploration")
    return p


def test_flow_worked_by_hand(portfolio, viewer):
    p = portfolio
    response = viewer.get(FLOW, params=WINDOW)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_id": None,
        "from": "2025-01-01",
        "to": "2025-06-30",
        "stall_days": DEFAULT_STALL_DAYS,
        # idea -> exploration: F5 (1 Feb), F9 (1 Jan, the first day); exploration ->
        # experiment: F5, F6; exploration -> stopped: F8 (30 Jun, the last day). Not F10
        # (31 Dec 2024), F3 (2024), F7 (corrected away), nor F6's or F9's mode changes.
        "transitions": [
            {"from_stage": "idea", "to_stage": "exploration", "count": 2},
            {"from_stage": "exploration", "to_stage": "experiment", "count": 2},
            {"from_stage": "exploration", "to_stage": "stopped", "count": 1},
        ],
        # First periods within the window: F1, F6, F7 in exploration, F12 in idea (not F2,
        # 31 Dec 2024); plus the transitions into each stage.
        "entered": stages(idea=1, exploration=3 + 2, experiment=2, stopped=1),
        "time_in_stage": {
            # Left idea: F5 after 92 days, F9 after 122: median (92 + 122) / 2 = 107.
            # In idea at the end: F12, 29 days.
            "idea": {
                "completed_stays": 2,
                "median_days": 107.0,
                "current": 1,
                "current_median_days": 29.0,
            },
            # Left exploration: F5 59, F6 106, F8 394 days: median 106. In it at the end:
            # F7 171, F1 180, F9 180, F2 181, F10 181: median 180.
            "exploration": {
                "completed_stays": 3,
                "median_days": 106.0,
                "current": 5,
                "current_median_days": 180.0,
            },
            # Nobody left experiment within the window. In it: F6 60, F5 90, F3 271,
            # F11 486 days: median (90 + 271) / 2 = 180.5.
            "experiment": {
                "completed_stays": 0,
                "median_days": None,
                "current": 4,
                "current_median_days": 180.5,
            },
            "scaling": {
                "completed_stays": 0,
                "median_days": None,
                "current": 1,
                "current_median_days": 546.0,
            },
        },
        # Active and side of desk on 1 Jan 2025: F1, F2, F3, F8, F9, F10 (F5 was an idea,
        # F6, F7 did not exist, F4 and F11 were not side of desk). At the end: F3 dedicated,
        # F9 core business, the other four still side of desk: 2 / 6.
        "mainstreaming": {
            "side_of_desk_at_start": 6,
            "work_mode_at_end": modes(4, 1, 1),
            "mainstreamed_share": 2 / 6,
        },
        # The same six had an individual sponsor on 1 Jan 2025; F9 has an organizational
        # one at the end: 1 / 6.
        "institutionalisation": {
            "individual_at_start": 6,
            "sponsor_level_at_end": sponsors(5, 1, 0),
            "institutionalised_share": 1 / 6,
        },
        # Over the limits (180, 270, 365): F2 and F10 (181), F3 (271) and F11 (486), F4
        # (546). Not F1 and F9 (exactly 180) nor F7 (171).
        "stalled": {
            "total": 5,
            "by_stage": {"exploration": 2, "experiment": 2, "scaling": 1},
            # BL1 owns F2, F3, F10 stalled among its eight active projects (F1, F2, F3, F5,
            # F6, F7, F9, F10); BL2 owns F4 and F11, both active.
            "units": [
                {"unit_id": p["bl1"], "code": "BL1", "name": "Unit BL1", "stalled": 3, "active": 8},
                {"unit_id": p["bl2"], "code": "BL2", "name": "Unit BL2", "stalled": 2, "active": 2},
            ],
            "projects": [
                stalled(p["f4"], p["bl2"], "scaling", "2024-01-01", 546),
                stalled(p["f11"], p["bl2"], "experiment", "2024-03-01", 486),
                stalled(p["f3"], p["bl1"], "experiment", "2024-10-02", 271),
                stalled(p["f2"], p["bl1"], "exploration", "2024-12-31", 181),
                stalled(p["f10"], p["bl1"], "exploration", "2024-12-31", 181),
            ],
        },
    }


def stalled(project_id: int, unit_id: int, stage: str, since: str, days: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "title": "A project",
        "unit_id": unit_id,
        "stage": stage,
        "since": since,
        "days": days,
    }


def test_flow_scope_is_the_unit_at_the_end(portfolio, viewer):
    p = portfolio
    # BL2 owns F4 and F11 on 30 June 2025 (F11 moved there on 1 March): no transition or
    # entry within the window, nothing side of desk or individually sponsored at the start.
    report = viewer.get(FLOW, params={**WINDOW, "unit_id": p["bl2"]}).json()

    assert report["unit_id"] == p["bl2"]
    assert report["transitions"] == []
    assert report["entered"] == stages()
    assert report["time_in_stage"] == {
        "idea": no_stays(),
        "exploration": no_stays(),
        "experiment": {
            "completed_stays": 0,
            "median_days": None,
            "current": 1,
            "current_median_days": 486.0,
        },
        "scaling": {
            "completed_stays": 0,
            "median_days": None,
            "current": 1,
            "current_median_days": 546.0,
        },
    }
    assert report["mainstreaming"] == {
        "side_of_desk_at_start": 0,
        "work_mode_at_end": modes(0, 0, 0),
        "mainstreamed_share": None,
    }
    assert report["institutionalisation"] == {
        "individual_at_start": 0,
        "sponsor_level_at_end": sponsors(0, 0, 0),
        "institutionalised_share": None,
    }
    assert report["stalled"]["total"] == 2
    assert report["stalled"]["units"] == [
        {"unit_id": p["bl2"], "code": "BL2", "name": "Unit BL2", "stalled": 2, "active": 2}
    ]
    assert [s["project_id"] for s in report["stalled"]["projects"]] == [p["f4"], p["f11"]]

    # BL1 no longer owns F11 at the end: it is left out even though it was BL1's at the start.
    bl1 = viewer.get(FLOW, params={**WINDOW, "unit_id": p["bl1"]}).json()
    assert bl1["time_in_stage"]["experiment"]["current"] == 3  # F3, F5, F6
    assert bl1["stalled"]["by_stage"] == {"exploration": 2, "experiment": 1, "scaling": 0}
    # The root's subtree is the whole organization here.
    whole = viewer.get(FLOW, params=WINDOW).json()
    rooted = viewer.get(FLOW, params={**WINDOW, "unit_id": p["root"]}).json()
    assert {**rooted, "unit_id": None} == whole


def test_flow_submitter_sees_its_subtree_only(portfolio, make_client):
    p = portfolio
    submitter = make_client("submitter", unit_id=p["bl2"])

    report = submitter.get(FLOW, params=WINDOW).json()

    assert report["unit_id"] == p["bl2"]
    assert report["stalled"]["total"] == 2
    assert submitter.get(FLOW, params={**WINDOW, "unit_id": p["bl1"]}).status_code == 404


def test_flow_stall_days_setting(portfolio, settings, admin):
    """PORTFOLIO_STALL_DAYS={"exploration": 171}: F7's 171 days are not over it, F1's and
    F9's 180 are; experiment and scaling keep their defaults."""
    app = create_app(settings.model_copy(update={"stall_days": StallDays(exploration=171)}))
    key = admin.post("/api/v1/api-keys", json={"name": "v", "role": "viewer"}).json()["key"]
    client = client_with(app, key)

    report = client.get(FLOW, params=WINDOW).json()

    assert report["stall_days"] == {**DEFAULT_STALL_DAYS, "exploration": 171}
    # F1, F9 (180), F2, F10 (181) in exploration; F3, F11 in experiment; F4 in scaling.
    assert report["stalled"]["by_stage"] == {"exploration": 4, "experiment": 2, "scaling": 1}
    app.state.engine.dispose()


def test_stall_days_setting_is_validated():
    with pytest.raises(ValueError, match="(?i)extra"):
        StallDays.model_validate({"exploraton": 90})
    with pytest.raises(ValueError):
        StallDays.model_validate({"scaling": 0})


def test_flow_csv_lists_the_stalled_projects(portfolio, viewer):
    p = portfolio
    response = viewer.get(FLOW, params=WINDOW, headers={"Accept": "text/csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines() == [
        "project_id,title,unit_id,stage,since,days",
        f"{p['f4']},A project,{p['bl2']},scaling,2024-01-01,546",
        f"{p['f11']},A project,{p['bl2']},experiment,2024-03-01,486",
        f"{p['f3']},A project,{p['bl1']},experiment,2024-10-02,271",
        f"{p['f2']},A project,{p['bl1']},exploration,2024-12-31,181",
        f"{p['f10']},A project,{p['bl1']},exploration,2024-12-31,181",
    ]


def test_flow_defaults_to_the_year_up_to_today(viewer):
    report = viewer.get(FLOW).json()

    assert report["to"] == today().isoformat()
    assert report["from"] == years_before(today(), 1).isoformat()
    assert report["transitions"] == []
    assert report["stalled"] == {
        "total": 0,
        "by_stage": {"exploration": 0, "experiment": 0, "scaling": 0},
        "units": [],
        "projects": [],
    }


def test_flow_window_errors_name_the_parameter(viewer):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    late = viewer.get(FLOW, params={"to": tomorrow})
    assert late.status_code == 422
    assert problem_fields(late) == ["to"]

    backwards = viewer.get(FLOW, params={"from": "2025-02-01", "to": "2025-01-31"})
    assert backwards.status_code == 422
    assert problem_fields(backwards) == ["from"]

    malformed = viewer.get(FLOW, params={"from": "2025-02-30"})
    assert malformed.status_code == 422
    assert problem_fields(malformed) == ["from"]


def test_flow_etag_until_a_dated_change(portfolio, admin, viewer):
    first = viewer.get(FLOW, params=WINDOW)
    etag = first.headers["ETag"]
    assert viewer.get(FLOW, params=WINDOW, headers={"If-None-Match": etag}).status_code == 304
    # CSV is another representation: another tag.
    csv = viewer.get(FLOW, params=WINDOW, headers={"Accept": "text/csv"})
    assert csv.headers["ETag"] != etag

    # F12 moves from idea to exploration on 15 June 2025, inside the window.
    change(admin, portfolio["f12"], "2025-06-15", stage="exploration")
    after = viewer.get(FLOW, params=WINDOW, headers={"If-None-Match": etag})

    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    # idea -> exploration: F5, F9 and now F12; its idea stay lasted 14 days.
    assert after.json()["transitions"][0] == {
        "from_stage": "idea",
        "to_stage": "exploration",
        "count": 3,
    }
    assert after.json()["time_in_stage"]["idea"]["completed_stays"] == 3


# --- the whole organization up to today: the summaries' path --------------------------------


def test_flow_of_the_whole_organization_up_to_today_worked_by_hand(admin, viewer):
    """`to` is today and no unit is asked: the moves and completed stays come from the flow
    summaries, the current stays, stalled counts, units and projects from the open runs and
    the projects' own rows. T is today; the window is [T - 1 year, T]."""
    t = today()
    start = years_before(t, 1)

    def day(offset: int) -> str:
        return str(t - timedelta(days=offset))

    root = create_unit(admin, "ROOT", kind="corporate")
    bl1 = create_unit(admin, "BL1", parent_id=root["id"])
    bl2 = create_unit(admin, "BL2", parent_id=root["id"])
    # A: idea from T-400, exploration T-200 (an idea stay of 200 days, completed in the
    # window), experiment T-10 (an exploration stay of 190 days): 10 days in experiment.
    a = started(admin, bl1["id"], day(400), "idea")
    change(admin, a, day(200), stage="exploration")
    change(admin, a, day(10), stage="experiment", work_mode="dedicated")
    # B: exploration from T-100: 100 days, not stalled (180).
    started(admin, bl1["id"], day(100), "exploration")
    # C: exploration from T-500, moved to BL2 at T-20 (no transition): 500 days, stalled,
    # BL2's now.
    c = started(admin, bl1["id"], day(500), "exploration")
    change(admin, c, day(20), unit_id=bl2["id"])
    # D: exploration from T-50, experiment today (an exploration stay of 50 days,
    # completed on the window's last day, in the month the summaries leave to the periods
    # unless today is a month's last day).
    d = started(admin, bl2["id"], day(50), "exploration")
    change(admin, d, str(t), stage="experiment")
    # E: experiment from T-600 (before the window), scaling on the window's first day (an
    # experiment stay of 600 - 365 or 366 days), core business from T-5 (same stage).
    e = started(admin, bl2["id"], day(600), "experiment")
    change(admin, e, str(start), stage="scaling")
    change(admin, e, day(5), work_mode="core_business")
    # Never counted: an archived project.
    archived = started(admin, bl1["id"], day(300), "exploration")
    change(admin, archived, day(30), stage="experiment")
    archive(admin, f"projects/{archived}")

    e_stay = (start - (t - timedelta(days=600))).days  # 365, or 366 across a 29 February
    e_scaling = (t - start).days  # the same number of days
    report = viewer.get(FLOW).json()

    assert (report["from"], report["to"]) == (str(start), str(t))
    # Within the window: A's two changes, B's and D's starts, D's change, and E's, on its
    # first day (inclusive); C and E began before it.
    assert report["transitions"] == [
        {"from_stage": "idea", "to_stage": "exploration", "count": 1},
        {"from_stage": "exploration", "to_stage": "experiment", "count": 2},
        {"from_stage": "experiment", "to_stage": "scaling", "count": 1},
    ]
    assert report["entered"] == stages(exploration=3, experiment=2, scaling=1)
    assert report["time_in_stage"] == {
        "idea": {
            "completed_stays": 1,
            "median_days": 200.0,
            "current": 0,
            "current_median_days": None,
        },
        # A's 190 and D's 50 completed; B (100) and C (500) still in exploration.
        "exploration": {
            "completed_stays": 2,
            "median_days": 120.0,
            "current": 2,
            "current_median_days": 300.0,
        },
        # E's stay completed; A (10) and D (0) in experiment now.
        "experiment": {
            "completed_stays": 1,
            "median_days": float(e_stay),
            "current": 2,
            "current_median_days": 5.0,
        },
        "scaling": {
            "completed_stays": 0,
            "median_days": None,
            "current": 1,
            "current_median_days": float(e_scaling),
        },
    }
    # Active at the start, side of desk and individually sponsored: C (exploration) and E
    # (experiment); A was an idea. At the end E is core business, C still side of desk.
    assert report["mainstreaming"] == {
        "side_of_desk_at_start": 2,
        "work_mode_at_end": modes(1, 0, 1),
        "mainstreamed_share": 0.5,
    }
    assert report["institutionalisation"] == {
        "individual_at_start": 2,
        "sponsor_level_at_end": sponsors(2, 0, 0),
        "institutionalised_share": 0.0,
    }
    # Stalled: C (500 days in exploration) and E only if its scaling days pass 365.
    e_stalled = e_scaling > DEFAULT_STALL_DAYS["scaling"]
    assert report["stalled"]["by_stage"] == {
        "exploration": 1,
        "experiment": 0,
        "scaling": int(e_stalled),
    }
    assert report["stalled"]["total"] == 1 + int(e_stalled)
    assert report["stalled"]["units"] == [
        {
            "unit_id": bl2["id"],
            "code": "BL2",
            "name": "Unit BL2",
            "stalled": 1 + int(e_stalled),
            "active": 3,  # C, D, E
        }
    ]
    assert [s["project_id"] for s in report["stalled"]["projects"]] == [
        c,
        *([e] if e_stalled else []),
    ]
    assert report["stalled"]["projects"][0] == {
        "project_id": c,
        "title": report["stalled"]["projects"][0]["title"],
        "unit_id": bl2["id"],
        "stage": "exploration",
        "since": day(500),
        "days": 500,
    }
    # The same numbers as the root's subtree, which reads the periods themselves.
    rooted = viewer.get(FLOW, params={"unit_id": root["id"]}).json()
    assert {**rooted, "unit_id": None} == report


# --- random portfolios: the summaries' path equals the periods' ---------------------------

STAGE_NAMES = ("idea", "exploration", "experiment", "scaling", "embedded", "stopped")
FLOW_CHANGE = st.tuples(
    st.sampled_from([0, 0, 1, 13, 31, 45, 200]),  # days after the previous change
    st.sampled_from(["stage", "stage", "work_mode", "sponsor_level", "unit"]),
    st.integers(0, 5),
)
FLOW_PORTFOLIO = st.fixed_dictionaries(
    {
        "projects": st.lists(
            st.fixed_dictionaries(
                {
                    "unit": st.integers(0, 2),
                    "started": st.sampled_from([900, 400, 370, 200, 60, 31, 3, 0]),
                    "stage": st.sampled_from(STAGE_NAMES),
                    "changes": st.lists(FLOW_CHANGE, max_size=4),
                    "archived": st.integers(0, 5),  # 0: archived
                }
            ),
            min_size=1,
            max_size=4,
        ),
    }
)


def _day_of_month(months_back: int, day: int) -> date:
    """Day ``day`` (0: the last) of the month ``months_back`` months before today's."""
    first = today().replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    if day == 0:
        return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.replace(day=day)


def flow_windows() -> list[dict[str, str]]:
    """The default window, windows ending today or some days before, and windows whose
    edges fall early, late or at the end of a month (the organization's report reads an
    edge month from its summary less the days outside the window, or the days inside, by
    which are fewer), or inside one month."""
    now = today()
    relative = [(0, 40), (0, 400), (3, 60), (17, 365), (100, 31)]
    by_month = [((8, 3), (2, 28)), ((6, 20), (1, 10)), ((13, 1), (1, 0)), ((3, 5), (3, 25))]
    return [
        {},
        *(
            {"from": str(now - timedelta(days=back + days)), "to": str(now - timedelta(days=back))}
            for back, days in relative
        ),
        *(
            {"from": str(_day_of_month(*start)), "to": str(_day_of_month(*end))}
            for start, end in by_month
        ),
    ]


def test_whole_organization_stays_at_month_edges_worked_by_hand(admin, viewer):
    """The organization's report reads an edge month of its window from the month
    summaries less the days outside the window when those are fewer: here the two days
    before `from` (the 3rd) and the days after `to` (the 28th) to its month's end, which a
    past `to` has periods on."""
    start, end = _day_of_month(8, 3), _day_of_month(2, 28)
    unit = create_unit(admin, "EDGE", kind="business_line")["id"]
    # Left idea on the 2nd of `from`'s month (a 1-day stay, before the window).
    before = started(admin, unit, str(start - timedelta(days=2)), "idea")
    change(admin, before, str(start - timedelta(days=1)), stage="exploration")
    # Left idea after `to` in its month (a stay of 29 days, after the window).
    after = started(admin, unit, str(end.replace(day=1)), "idea")
    change(admin, after, str(end + timedelta(days=2)), stage="exploration")
    # Left idea 10 days after entering it, inside the window; then exploration for 40.
    inside = started(admin, unit, str(start + timedelta(days=2)), "idea")
    change(admin, inside, str(start + timedelta(days=12)), stage="exploration")
    change(admin, inside, str(start + timedelta(days=52)), stage="experiment")

    params = {"from": str(start), "to": str(end)}
    response = viewer.get(FLOW, params=params)
    assert response.status_code == 200, response.text
    whole = response.json()
    times = whole["time_in_stage"]
    assert times["idea"]["completed_stays"] == 1
    assert times["idea"]["median_days"] == 10.0
    assert times["exploration"]["completed_stays"] == 1
    assert times["exploration"]["median_days"] == 40.0
    # `after` is in idea at `to` since its month's first day: 27 days.
    assert times["idea"]["current"] == 1
    assert times["idea"]["current_median_days"] == 27.0
    rooted = viewer.get(FLOW, params={**params, "unit_id": unit}).json()
    assert {**rooted, "unit_id": None} == whole


@pytest.fixture
def one_root(admin) -> dict[str, Any]:
    """Units under one root, so the root's subtree is the whole organization."""
    root = create_unit(admin, "ONE", kind="corporate")
    children = [create_unit(admin, f"ONE{i}", parent_id=root["id"])["id"] for i in range(3)]
    return {"root": root["id"], "units": children}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(portfolio=FLOW_PORTFOLIO)
def test_whole_organization_flow_equals_the_root_subtree_flow(admin, viewer, one_root, portfolio):
    """Every example adds projects under the one root (they accumulate across examples):
    the organization's report, from the flow summaries, equals the root's, computed from
    the periods, at today and at earlier windows."""
    now = today()
    units = one_root["units"]
    for plan in portfolio["projects"]:
        on = now - timedelta(days=plan["started"])
        project = started(admin, units[plan["unit"]], str(on), plan["stage"])
        for gap, field, index in plan["changes"]:
            on = min(on + timedelta(days=gap), now)
            value: Any = {
                "stage": STAGE_NAMES[index],
                "work_mode": ("side_of_desk", "dedicated", "core_business")[index % 3],
                "sponsor_level": ("individual", "organizational", "system")[index % 3],
                "unit": units[index % 3],
            }[field]
            change(admin, project, str(on), **{"unit_id" if field == "unit" else field: value})
        if plan["archived"] == 0:
            archive(admin, f"projects/{project}")
    for params in flow_windows():
        whole = viewer.get(FLOW, params=params).json()
        rooted = viewer.get(FLOW, params={**params, "unit_id": one_root["root"]}).json()
        assert {**rooted, "unit_id": None} == whole, params
