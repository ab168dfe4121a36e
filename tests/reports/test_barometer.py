"""GET /api/v1/reports/barometer: the Innovation Barometer's indicators, per unit and window."""

import csv
import io
from datetime import date, timedelta

import pytest

from app.core.db import today
from app.reports import barometer
from tests.builders import create_project, create_unit, problem_fields

BAROMETER = "/api/v1/reports/barometer"
YEAR_2025 = {"from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture
def org(admin):
    """Units ORG > A-LINE > D-SUB, ORG > B-LINE, ORG > C-LAB, and an archived unit; the
    projects below (p1 ... p11), chosen so every rule has a case on each side."""
    root = create_unit(admin, "ORG", kind="corporate")
    a = create_unit(admin, "A-LINE", parent_id=root["id"])
    b = create_unit(admin, "B-LINE", parent_id=root["id"])
    c = create_unit(admin, "C-LAB", kind="innovation_lab", parent_id=root["id"])
    d = create_unit(admin, "D-SUB", parent_id=a["id"])
    gone = create_unit(admin, "GONE", parent_id=root["id"])
    assert admin.delete(f"/api/v1/units/{gone['id']}").status_code == 200

    def embedded(unit, on, **fields):
        return create_project(admin, unit["id"], stage="embedded", embedded_on=on, **fields)

    p = {}
    # Innovations of 2025 (embedded_on in the window, both ends inclusive).
    p[1] = embedded(
        a,
        "2025-03-01",
        title="Chatbot",
        novelty="first",
        initiated_by="employees",
        evaluation="internal",
        innovation_types=["service", "process"],
        collaborators=["citizens"],
        value_types=["quality"],
    )
    p[2] = embedded(
        a,
        "2025-06-01",
        novelty="adapted",
        adopted_from=p[1]["id"],
        started_on="2025-02-01",
        initiated_by="managers",
        evaluation="none",
        innovation_types=["process"],
        value_types=["quality", "efficiency"],
    )
    p[3] = embedded(
        b,
        "2025-12-31",
        novelty="copied",
        adopted_from=p[1]["id"],
        started_on="2025-04-01",
        evaluation="external",
        innovation_types=["policy"],
        collaborators=["research", "other_public"],
        value_types=["political_goals"],
    )
    p[4] = embedded(d, "2025-01-01", initiated_by="citizens")
    # Not innovations of 2025: a day early, archived, not embedded.
    p[5] = embedded(c, "2024-12-31", novelty="first")
    p[6] = embedded(b, "2025-05-01", novelty="first")
    assert admin.delete(f"/api/v1/projects/{p[6]['id']}").status_code == 200
    p[7] = create_project(admin, c["id"], stage="scaling", novelty="first")
    # More adoptions: in the window (p8), started today by created_at (p9), archived (p10),
    # started before the window (p11).
    p[8] = create_project(
        admin, d["id"], novelty="copied", adopted_from=p[1]["id"], started_on="2025-07-01"
    )
    p[9] = create_project(admin, c["id"], novelty="adapted", adopted_from=p[3]["id"])
    p[10] = create_project(
        admin, b["id"], novelty="adapted", adopted_from=p[1]["id"], started_on="2025-08-01"
    )
    assert admin.delete(f"/api/v1/projects/{p[10]['id']}").status_code == 200
    p[11] = create_project(
        admin, c["id"], novelty="copied", adopted_from=p[1]["id"], started_on="2024-06-01"
    )
    return {"root": root, "a": a, "b": b, "c": c, "d": d, "p": p}


def test_every_number_for_the_whole_organization(org, viewer):
    a, b, d, p = org["a"], org["b"], org["d"], org["p"]
    response = viewer.get(BAROMETER, params=YEAR_2025)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report == {
        "unit_id": None,
        "from_date": "2025-01-01",
        "to_date": "2025-12-31",
        # p1, p2, p3, p4 (p5 a day early, p6 archived, p7 not embedded).
        "innovations": 4,
        # ORG, A-LINE, B-LINE, C-LAB, D-SUB (GONE is archived).
        "units": 5,
        # A-LINE (p1, p2), B-LINE (p3), D-SUB (p4): 3 / 5.
        "units_innovating": 3,
        "units_innovating_share": 0.6,
        "by_novelty": {"first": 1, "adapted": 1, "copied": 1, "unknown": 1},
        "by_initiator": {
            "employees": 1,
            "managers": 1,
            "politicians": 0,
            "citizens": 1,
            "businesses": 0,
            "other": 0,
            "unknown": 1,
        },
        # service: p1; process: p1, p2; policy: p3.
        "by_type": {"service": 1, "process": 2, "organisation": 0, "communication": 0, "policy": 1},
        "by_collaborator": {
            "citizens": 1,
            "businesses": 0,
            "research": 1,
            "other_public": 1,
            "civil_society": 0,
        },
        # quality: p1, p2; efficiency: p2; political goals: p3.
        "by_value": {
            "quality": 2,
            "efficiency": 1,
            "citizen_involvement": 0,
            "employee_satisfaction": 0,
            "political_goals": 1,
        },
        # p1 and p3 have collaborators: 2 / 4.
        "collaborating_share": 0.5,
        # Known: p1 internal, p2 none, p3 external; evaluated p1, p3: 2 / 3.
        "evaluated_share": 2 / 3,
        "evaluation_unknown": 1,
        # Known novelty: p1, p2, p3; adapted or copied p2, p3: 2 / 3.
        "copied_or_adapted_share": 2 / 3,
        "diffusion": {
            # p2 (A from A), p3 (B from A), p8 (D from A); p9 started today, p10 archived,
            # p11 started in 2024.
            "adoptions": 3,
            "cross_unit_adoptions": 2,
            "sources": [
                # Adopted by B-LINE (p3) and D-SUB (p8); three adoptions with A's own p2.
                {
                    "project_id": p[1]["id"],
                    "title": "Chatbot",
                    "unit_id": a["id"],
                    "adopting_units": 2,
                    "adoptions": 3,
                }
            ],
            "unit_flows": [
                {"unit_id": a["id"], "code": "A-LINE", "adopted_in": 0, "adopted_out": 2},
                {"unit_id": b["id"], "code": "B-LINE", "adopted_in": 1, "adopted_out": 0},
                {"unit_id": d["id"], "code": "D-SUB", "adopted_in": 1, "adopted_out": 0},
            ],
        },
        "comparison": {
            "source": "Danish Innovation Barometer (Innovationsbarometeret), National Centre "
            "for Public Sector Innovation (COI) with Statistics Denmark",
            "units_innovating_share": {"organization": 0.6, "national": 0.8},
            "copied_or_adapted_share": {"organization": 2 / 3, "national": 0.73},
            "evaluated_share": {"organization": 2 / 3, "national": 0.4},
        },
        # 2/3 evaluated >= 0.4 and 2/3 reused >= 0.5: nothing crossed.
        "findings": [],
    }


def test_a_unit_scope_is_its_subtree(org, viewer):
    a, d, p = org["a"], org["d"], org["p"]
    report = viewer.get(BAROMETER, params={**YEAR_2025, "unit_id": a["id"]}).json()
    assert report["unit_id"] == a["id"]
    # p1, p2 (A-LINE), p4 (D-SUB); units A-LINE and D-SUB both innovate: 2 / 2.
    assert (report["innovations"], report["units"], report["units_innovating"]) == (3, 2, 2)
    assert report["units_innovating_share"] == 1.0
    # Adopters in the subtree: p2 (same unit), p8 (D from A).
    assert report["diffusion"] == {
        "adoptions": 2,
        "cross_unit_adoptions": 1,
        "sources": [
            {
                "project_id": p[1]["id"],
                "title": "Chatbot",
                "unit_id": a["id"],
                "adopting_units": 1,
                "adoptions": 2,
            }
        ],
        "unit_flows": [
            {"unit_id": a["id"], "code": "A-LINE", "adopted_in": 0, "adopted_out": 1},
            {"unit_id": d["id"], "code": "D-SUB", "adopted_in": 1, "adopted_out": 0},
        ],
    }


def test_a_submitter_sees_its_own_subtree_and_no_foreign_source(org, make_client):
    b = org["b"]
    submitter = make_client("submitter", unit_id=b["id"])
    report = submitter.get(BAROMETER, params=YEAR_2025).json()
    assert report["unit_id"] == b["id"]
    # p3 only; B-LINE innovates: 1 / 1.
    assert (report["innovations"], report["units"], report["units_innovating"]) == (1, 1, 1)
    # p3 adopted A-LINE's p1, which the submitter may not read: counted, never named.
    assert report["diffusion"] == {
        "adoptions": 1,
        "cross_unit_adoptions": 1,
        "sources": [],
        "unit_flows": [{"unit_id": b["id"], "code": "B-LINE", "adopted_in": 1, "adopted_out": 0}],
    }
    response = submitter.get(BAROMETER, params={"unit_id": org["a"]["id"]})
    assert response.status_code == 404


def test_an_adoption_without_started_on_counts_on_the_day_it_was_created(org, viewer):
    b, c, p = org["b"], org["c"], org["p"]
    day = today().isoformat()
    report = viewer.get(BAROMETER, params={"from": day, "to": day}).json()
    # Only p9 (C-LAB from B-LINE's p3) is dated today, by its created_at.
    assert report["diffusion"] == {
        "adoptions": 1,
        "cross_unit_adoptions": 1,
        "sources": [
            {
                "project_id": p[3]["id"],
                "title": "A project",
                "unit_id": b["id"],
                "adopting_units": 1,
                "adoptions": 1,
            }
        ],
        "unit_flows": [
            {"unit_id": b["id"], "code": "B-LINE", "adopted_in": 0, "adopted_out": 1},
            {"unit_id": c["id"], "code": "C-LAB", "adopted_in": 1, "adopted_out": 0},
        ],
    }
    # No innovation was embedded today.
    assert report["innovations"] == 0


def two_years_before(day: date) -> date:
    return day.replace(year=day.year - 2, day=28 if (day.month, day.day) == (2, 29) else day.day)


def test_the_default_window_is_the_last_two_years_to_today(admin, viewer):
    unit = create_unit(admin, "ONE")
    end = today()
    start = two_years_before(end)
    for day in (start - timedelta(days=1), start, end):
        create_project(admin, unit["id"], stage="embedded", embedded_on=day.isoformat())
    report = viewer.get(BAROMETER).json()
    assert (report["from_date"], report["to_date"]) == (start.isoformat(), end.isoformat())
    # The first day of the window and today count; the day before does not.
    assert report["innovations"] == 2


def test_findings_low_evaluation_and_little_reuse(admin, viewer):
    unit = create_unit(admin, "ONE")
    for _ in range(2):
        create_project(
            admin,
            unit["id"],
            stage="embedded",
            embedded_on="2025-05-05",
            novelty="first",
            evaluation="none",
        )
    report = viewer.get(BAROMETER, params=YEAR_2025).json()
    # Evaluated 0 of 2 known (< 0.4); copied or adapted 0 of 2 known (< 0.5).
    assert (report["evaluated_share"], report["copied_or_adapted_share"]) == (0.0, 0.0)
    assert [(f["code"], f["value"], f["threshold"]) for f in report["findings"]] == [
        ("low_evaluation", 0.0, 0.4),
        ("little_reuse", 0.0, 0.5),
    ]
    assert report["findings"][0]["message"].startswith(
        "Only 0 of the 2 innovations whose evaluation is known (0%) were evaluated"
    )


def test_shares_are_null_without_a_denominator(admin, viewer):
    create_unit(admin, "EMPTY")
    report = viewer.get(BAROMETER).json()
    assert (report["innovations"], report["units"], report["units_innovating"]) == (0, 1, 0)
    assert report["units_innovating_share"] == 0.0
    for share in ("collaborating_share", "evaluated_share", "copied_or_adapted_share"):
        assert report[share] is None
    assert report["comparison"]["evaluated_share"] == {"organization": None, "national": 0.4}
    assert report["findings"] == []


def test_a_window_that_ends_before_it_starts_is_a_422_naming_from(viewer):
    response = viewer.get(BAROMETER, params={"from": "2025-02-01", "to": "2025-01-31"})
    assert response.status_code == 422
    assert problem_fields(response) == ["from"]
    response = viewer.get(BAROMETER, params={"from": "2025-13-01"})
    assert response.status_code == 422
    assert problem_fields(response) == ["from"]


def test_csv_has_the_unit_flow_rows(org, viewer):
    a, b, d = org["a"], org["b"], org["d"]
    response = viewer.get(BAROMETER, params=YEAR_2025, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["unit_id", "code", "adopted_in", "adopted_out"],
        [str(a["id"]), "A-LINE", "0", "2"],
        [str(b["id"]), "B-LINE", "1", "0"],
        [str(d["id"]), "D-SUB", "1", "0"],
    ]


def test_etag_and_304_until_a_project_changes(org, viewer, admin):
    first = viewer.get(BAROMETER, params=YEAR_2025)
    etag = first.headers["ETag"]
    again = viewer.get(BAROMETER, params=YEAR_2025, headers={"If-None-Match": etag})
    assert again.status_code == 304
    as_csv = viewer.get(BAROMETER, params=YEAR_2025, headers={"Accept": "text/csv"})
    assert as_csv.headers["ETag"] != etag
    admin.patch(f"/api/v1/projects/{org['p'][4]['id']}", json={"evaluation": "external"})
    after = viewer.get(BAROMETER, params=YEAR_2025, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    # p4's evaluation is now known and external: 3 of 4 evaluated.
    assert after.json()["evaluated_share"] == 0.75


def test_leaving_embedded_drops_an_innovation(org, viewer, admin):
    admin.patch(f"/api/v1/projects/{org['p'][4]['id']}", json={"stage": "scaling"})
    report = viewer.get(BAROMETER, params=YEAR_2025).json()
    # p4 was D-SUB's only innovation: 3 innovations, A-LINE and B-LINE innovate, 2 / 5.
    assert (report["innovations"], report["units_innovating"]) == (3, 2)
    assert report["units_innovating_share"] == 0.4


def test_ranked_sources_from_the_reach_or_from_every_adoption(admin, viewer, monkeypatch):
    """Two sources listed, first from the 2 sources of most reach (adopters in other units,
    all time) when both have at least that reach's adopting units in the window, else from
    every adoption of the window."""
    monkeypatch.setattr(barometer, "TOP_SOURCES", 2)
    monkeypatch.setattr(barometer, "REACH_CANDIDATES", 2)
    a, b, c, d = (create_unit(admin, code) for code in ("RA", "RB", "RC", "RD"))

    def adopt(source, unit, started_on):
        create_project(
            admin, unit["id"], novelty="copied", adopted_from=source["id"], started_on=started_on
        )

    s1 = create_project(admin, a["id"], title="S1")  # reach 3: RB, RC, RD in 2025
    s2 = create_project(admin, a["id"], title="S2")  # reach 2: RB, RC in 2024
    s3 = create_project(admin, b["id"], title="S3")  # reach 1: RC in 2025
    s4 = create_project(admin, a["id"], title="S4")  # reach 1: RB in 2025, and RA itself
    for unit in (b, c, d):
        adopt(s1, unit, "2025-03-01")
    adopt(s2, b, "2024-03-01")
    adopt(s2, c, "2024-04-01")
    adopt(s3, c, "2025-05-01")
    adopt(s4, b, "2025-06-01")
    adopt(s4, a, "2025-06-02")

    def ranked(start: str, end: str) -> list[tuple[str, int, int]]:
        body = viewer.get(BAROMETER, params={"from": start, "to": end}).json()
        return [
            (s["title"], s["adopting_units"], s["adoptions"]) for s in body["diffusion"]["sources"]
        ]

    # The reach of the second source by reach is 2; S1 (3) and S2 (2) have as many
    # adopting units over both years: read from those two.
    assert ranked("2024-01-01", "2025-12-31") == [("S1", 3, 3), ("S2", 2, 2)]
    # In 2025 only S1 has 2 or more: S2 has none, so the rest is S3 and S4 with one
    # adopting unit each (S4's own unit is no adopting unit), by id.
    assert ranked("2025-01-01", "2025-12-31") == [("S1", 3, 3), ("S3", 1, 1)]
    # A source moved to the unit of one of its adopters reaches one unit fewer: S1 to RB.
    assert admin.patch(f"/api/v1/projects/{s1['id']}", json={"unit_id": b["id"]}).status_code == 200
    assert ranked("2024-01-01", "2025-12-31") == [("S1", 2, 3), ("S2", 2, 2)]
    assert ranked("2025-01-01", "2025-12-31") == [("S1", 2, 3), ("S3", 1, 1)]
