"""GET /reports/experimentation: rigour, publication duty and gap, spend against the units'
commitments, overdue publications. Fiscal years start in April here (start month 4), so
year 2025 runs from 2025-04-01 to 2026-03-31."""

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.core import fiscal
from app.core.config import Settings
from app.core.db import today
from app.reports import experimentation
from tests.builders import (
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    settings_for,
)
from tests.reports.test_statements import counting_statements

REPORT = "/api/v1/reports/experimentation"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(
        database_url,
        fiscal_year_start_month=4,
        publication_due_days=90,
    )


def batch(admin: Any, project_id: int, *items: dict[str, Any]) -> list[dict[str, Any]]:
    body = {
        "items": [
            {"project_id": project_id, "title": f"E{n}", "hypothesis": "H", "method": "rct", **i}
            for n, i in enumerate(items)
        ]
    }
    response = admin.post("/api/v1/experiments/batch", json=body)
    assert response.status_code == 201, response.text
    return response.json()["items"]


def report(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get(REPORT, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_experiments_started_within_the_year_by_comparison_and_rigour(admin):
    root = create_unit(admin, "ROOT", kind="corporate")
    a = create_unit(admin, "A", parent_id=root["id"])
    b = create_unit(admin, "B", parent_id=root["id"])
    pa = create_project(admin, a["id"])
    pb = create_project(admin, b["id"])
    create_experiment(admin, pa["id"], started_on="2025-04-01")  # first day, rigour 0
    randomized = create_experiment(
        admin, pa["id"], started_on="2026-03-31", comparison="randomized"
    )  # last day
    create_criterion(admin, "experiments", randomized["id"], kind="outcome")  # rigour 3
    create_experiment(
        admin,
        pb["id"],
        started_on="2025-06-01",
        comparison="comparison_group",
        independent_evaluation=True,
    )  # rigour 2
    create_experiment(
        admin,
        pb["id"],
        started_on="2025-07-01",
        preregistered_on="2025-07-01",
        comparison="before_after",
    )  # rigour 1: preregistered on the start day counts
    # Not counted: started the day before or after the year, archived, archived project.
    create_experiment(admin, pa["id"], started_on="2025-03-31")
    create_experiment(admin, pa["id"], started_on="2026-04-01")
    archived = create_experiment(admin, pa["id"], started_on="2025-05-01")
    admin.delete(f"/api/v1/experiments/{archived['id']}")
    gone = create_project(admin, a["id"])
    create_experiment(admin, gone["id"], started_on="2025-05-01")
    admin.delete(f"/api/v1/projects/{gone['id']}")

    whole = report(admin, year=2025)
    assert (whole["year"], whole["starts_on"], whole["ends_on"]) == (
        2025,
        "2025-04-01",
        "2026-03-31",
    )
    assert whole["experiments"] == {
        "experiments": 4,
        "by_comparison": {"none": 1, "before_after": 1, "comparison_group": 1, "randomized": 1},
        "by_rigour": {"0": 1, "1": 1, "2": 1, "3": 1, "4": 0, "5": 0},
        "median_rigour": 1.5,  # rigours 0, 1, 2, 3: the mean of 1 and 2
    }
    only_a = report(admin, year=2025, unit_id=a["id"])["experiments"]
    assert only_a["experiments"] == 2
    assert only_a["median_rigour"] == 1.5  # 0 and 3
    only_b = report(admin, year=2025, unit_id=b["id"])["experiments"]
    assert only_b["median_rigour"] == 1.5  # 1 and 2
    create_experiment(admin, pb["id"], started_on="2025-08-01", comparison="randomized")
    assert report(admin, year=2025, unit_id=b["id"])["experiments"]["median_rigour"] == 2.0
    # rigours 1, 2, 2: the middle one
    assert report(admin, year=2023)["experiments"]["median_rigour"] is None


def finished(result: str | None, published: bool, ended_on: str = "2025-06-30") -> dict[str, Any]:
    status = "stopped" if result is None else "completed"
    item: dict[str, Any] = {"status": status, "ended_on": ended_on}
    if result is not None:
        item["result"] = result
    if published:
        item["published_on"] = "2026-04-15"
    return item


def test_publication_counts_and_a_gap_of_exactly_0_2_is_a_finding(admin):
    unit = create_unit(admin, "LAB", kind="innovation_lab")
    project = create_project(admin, unit["id"])
    items = batch(
        admin,
        project["id"],
        # supported: 3 of 5 published (0.6)
        *[finished("supported", published=n < 3) for n in range(5)],
        # not supported 1 of 3, inconclusive 1 of 2: the others 2 of 5 (0.4)
        *[finished("not_supported", published=n < 1) for n in range(3)],
        *[finished("inconclusive", published=n < 1) for n in range(2)],
        finished(None, published=False, ended_on="2025-05-01"),  # stopped, due
        # Not counted: ended before the year, still running, archived.
        finished("supported", published=False, ended_on="2025-03-31"),
        {"status": "running", "ended_on": "2025-06-30"},
    )
    archived = create_experiment(admin, project["id"], **finished("supported", published=False))
    admin.delete(f"/api/v1/experiments/{archived['id']}")

    publication = report(admin, year=2025)["publication"]
    assert publication == {
        "finished": 11,  # 5 + 3 + 2 completed, 1 stopped
        "published": 5,  # 3 + 1 + 1
        "due": 6,
        "overdue": 6,  # ended by 2025-06-30: far more than 90 days ago
        "due_days": 90,
        "by_result": {
            "supported": {"finished": 5, "published": 3, "published_share": 0.6},
            "not_supported": {"finished": 3, "published": 1, "published_share": 1 / 3},
            "inconclusive": {"finished": 2, "published": 1, "published_share": 0.5},
        },
        # 3/5 - 2/5, computed exactly (in floats 0.6 - 0.4 is 0.19999999999999996)
        "publication_gap": 0.2,
    }
    whole = report(admin, year=2025)
    assert [f["code"] for f in whole["findings"]] == ["publication_bias", "overdue_publications"]
    assert (whole["findings"][0]["value"], whole["findings"][0]["threshold"]) == (0.2, 0.2)
    assert whole["findings"][1]["value"] == 6
    # Most overdue first: the stopped one ended 2025-05-01, then the others by id.
    stopped = items[10]
    unpublished = [items[i]["id"] for i in (3, 4, 6, 7, 9)]
    assert [o["experiment_id"] for o in whole["overdue"]] == [stopped["id"], *unpublished]
    first = whole["overdue"][0]
    assert first == {
        "experiment_id": stopped["id"],
        "title": stopped["title"],
        "unit_id": unit["id"],
        "ended_on": "2025-05-01",
        "days_overdue": (today() - date(2025, 5, 1)).days - 90,
    }


def test_a_gap_below_0_2_is_no_finding_and_one_empty_side_gives_no_gap(admin):
    unit = create_unit(admin, "LAB")
    project = create_project(admin, unit["id"])
    batch(
        admin,
        project["id"],
        # supported 1 of 2 (0.5), inconclusive 2 of 5 (0.4): a gap of 0.1
        *[finished("supported", published=n < 1) for n in range(2)],
        *[finished("inconclusive", published=n < 2) for n in range(5)],
    )
    whole = report(admin, year=2025)
    assert whole["publication"]["publication_gap"] == pytest.approx(0.1)
    assert "publication_bias" not in [f["code"] for f in whole["findings"]]

    other = create_unit(admin, "ONLY-SUPPORTED")
    batch(admin, create_project(admin, other["id"])["id"], finished("supported", published=True))
    alone = report(admin, year=2025, unit_id=other["id"])["publication"]
    assert alone["publication_gap"] is None  # nothing finished on the other side
    assert alone["by_result"]["not_supported"]["published_share"] is None


def test_overdue_on_day_91_not_day_90(admin):
    unit = create_unit(admin, "LAB")
    project = create_project(admin, unit["id"])
    day_90 = today() - timedelta(days=90)
    day_91 = today() - timedelta(days=91)
    on_90 = create_experiment(admin, project["id"], status="completed", ended_on=str(day_90))
    on_91 = create_experiment(admin, project["id"], status="completed", ended_on=str(day_91))

    late = report(admin, year=fiscal.year_of(day_91, 4))
    assert [(o["experiment_id"], o["days_overdue"]) for o in late["overdue"]] == [(on_91["id"], 1)]
    assert late["publication"]["overdue"] == 1
    in_time = report(admin, year=fiscal.year_of(day_90, 4))
    assert on_90["id"] not in [o["experiment_id"] for o in in_time["overdue"]]
    # Due all the same: finished, ended and unpublished.
    assert in_time["publication"]["due"] >= 1
    # Published, it is neither due nor overdue.
    admin.patch(f"/api/v1/experiments/{on_91['id']}", json={"published_on": str(today())})
    assert report(admin, year=fiscal.year_of(day_91, 4))["overdue"] == []


def build_spend(admin: Any) -> dict[str, Any]:
    root = create_unit(admin, "ROOT", kind="corporate")
    a = create_unit(admin, "A", parent_id=root["id"])
    b = create_unit(admin, "B", parent_id=root["id"])
    c = create_unit(admin, "C", parent_id=root["id"])
    d = create_unit(admin, "D", parent_id=root["id"])
    e = create_unit(admin, "E", parent_id=root["id"])

    def commit(unit: dict[str, Any], funds: Any, share: float) -> None:
        response = admin.put(
            f"/api/v1/units/{unit['id']}/commitments/2026",
            json={"program_funds": funds, "target_share": share},
        )
        assert response.status_code == 201, response.text

    commit(root, "1000000.00", 0.05)  # target 50,000
    commit(a, 200000, 0.1)  # target 20,000
    commit(c, 0, 0)
    commit(e, 5000, 0.5)
    admin.delete(f"/api/v1/units/{e['id']}")  # archived: no row
    # another year's commitment does not count
    admin.put(
        f"/api/v1/units/{b['id']}/commitments/2025", json={"program_funds": 1, "target_share": 1}
    )

    batch(
        admin, create_project(admin, root["id"])["id"], {"started_on": "2026-04-01", "cost": 50000}
    )
    pa = create_project(admin, a["id"])["id"]
    items = batch(
        admin,
        pa,
        {"started_on": "2026-05-01", "cost": 5000},
        {"started_on": "2027-03-31", "cost": "4999.99"},
        {"started_on": "2026-03-31", "cost": 1000000},  # the year before
        {"started_on": "2027-04-01", "cost": 1000000},  # the year after
        {"started_on": "2026-05-01", "cost": 1000000},  # archived below
        {"started_on": "2026-05-01"},  # no cost
    )
    admin.delete(f"/api/v1/experiments/{items[4]['id']}")
    batch(admin, create_project(admin, b["id"])["id"], {"started_on": "2026-05-05", "cost": 300})
    batch(admin, create_project(admin, d["id"])["id"], {"started_on": "2026-05-05"})  # no cost
    return {"root": root, "a": a, "b": b, "c": c}


def test_spend_against_commitments(admin):
    units = build_spend(admin)
    whole = report(admin, year=2026)
    assert whole["spend"] == [
        {
            "unit_id": units["a"]["id"],
            "code": "A",
            "name": "Unit A",
            "program_funds": "200000.00",
            "target_share": 0.1,
            "target_amount": "20000.00",
            "experiment_spend": "9999.99",  # 5,000 + 4,999.99
            "spend_share": 9999.99 / 200000,
            "meets_target": False,
        },
        {
            "unit_id": units["b"]["id"],
            "code": "B",
            "name": "Unit B",
            "program_funds": None,
            "target_share": None,
            "target_amount": None,
            "experiment_spend": "300.00",
            "spend_share": None,
            "meets_target": None,
        },
        {
            "unit_id": units["c"]["id"],
            "code": "C",
            "name": "Unit C",
            "program_funds": "0.00",
            "target_share": 0.0,
            "target_amount": "0.00",
            "experiment_spend": "0.00",
            "spend_share": None,  # no funds
            "meets_target": True,  # 0 spent >= 0 x 0
        },
        {
            "unit_id": units["root"]["id"],
            "code": "ROOT",
            "name": "Unit ROOT",
            "program_funds": "1000000.00",
            "target_share": 0.05,
            "target_amount": "50000.00",
            "experiment_spend": "50000.00",  # exactly the target: met
            "spend_share": 0.05,
            "meets_target": True,
        },
    ]
    assert whole["totals"] == {
        "program_funds": "1200000.00",  # 200,000 + 0 + 1,000,000
        "experiment_spend": "60299.99",  # 9,999.99 + 300 + 0 + 50,000
        "spend_share": 60299.99 / 1200000,
        "target_amount": "70000.00",  # 20,000 + 0 + 50,000
        "units_meeting_target": 2,
        "units_with_commitment": 3,
    }
    below = [f for f in whole["findings"] if f["code"] == "below_commitment"]
    assert [(f["value"], f["threshold"]) for f in below] == [(1, 1)]

    scoped = report(admin, year=2026, unit_id=units["a"]["id"])
    assert [row["code"] for row in scoped["spend"]] == ["A"]
    assert scoped["totals"]["units_with_commitment"] == 1

    csv = admin.get(REPORT, params={"year": 2026}, headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "unit_id,code,name,program_funds,target_share,target_amount,experiment_spend,"
        "spend_share,meets_target",
        f"{units['a']['id']},A,Unit A,200000.00,0.1,20000.00,9999.99,{9999.99 / 200000},false",
        f"{units['b']['id']},B,Unit B,,,,300.00,,",
        f"{units['c']['id']},C,Unit C,0.00,0.0,0.00,0.00,,true",
        f"{units['root']['id']},ROOT,Unit ROOT,1000000.00,0.05,50000.00,50000.00,0.05,true",
    ]


def test_the_json_report_is_the_model_serialized(admin, app, settings):
    """The API writes the spend rows as JSON directly (`experimentation.build_json`); the
    document must be the model's, values and key order: money as 2-decimal text (zero
    spend too), nulls without a commitment, the float shares as Pydantic writes them."""
    build_spend(admin)
    response = admin.get(REPORT, params={"year": 2026})
    with Session(app.state.engine) as session:
        model = experimentation.build(
            session=session, settings=settings, root_id=None, year=2026, today=today()
        )
    expected = json.loads(model.model_dump_json())
    assert [row["code"] for row in expected["spend"]] == ["A", "B", "C", "ROOT"]
    assert response.json() == expected
    assert list(response.json()) == list(expected)
    assert [list(row) for row in response.json()["spend"]] == [
        list(row) for row in expected["spend"]
    ]


def test_an_empty_year(admin):
    create_unit(admin, "ROOT")
    whole = report(admin, year=2030)
    assert whole["experiments"]["median_rigour"] is None
    assert whole["publication"]["publication_gap"] is None
    assert whole["spend"] == []
    assert whole["totals"] == {
        "program_funds": "0.00",
        "experiment_spend": "0.00",
        "spend_share": None,
        "target_amount": "0.00",
        "units_meeting_target": 0,
        "units_with_commitment": 0,
    }
    assert whole["findings"] == []
    assert whole["overdue"] == []


def test_the_default_year_contains_today(admin):
    whole = report(admin)
    assert whole["year"] == fiscal.year_of(today(), 4)


def test_scope_etag_and_304(admin, make_client):
    units = build_spend(admin)
    outsider_unit = create_unit(admin, "OUT")
    submitter = make_client("submitter", unit_id=units["a"]["id"])
    own = submitter.get(REPORT, params={"year": 2026})
    assert own.status_code == 200
    assert own.json()["unit_id"] == units["a"]["id"]
    assert [row["code"] for row in own.json()["spend"]] == ["A"]
    foreign = submitter.get(REPORT, params={"unit_id": outsider_unit["id"]})
    assert foreign.status_code == 404

    first = admin.get(REPORT, params={"year": 2026})
    etag = first.headers["ETag"]
    again = admin.get(REPORT, params={"year": 2026}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A commitment is report data: changing one changes the tag.
    admin.put(
        f"/api/v1/units/{units['b']['id']}/commitments/2026",
        json={"program_funds": 100, "target_share": 0.5},
    )
    changed = admin.get(REPORT, params={"year": 2026}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    other_year = admin.get(REPORT, params={"year": 2025}, headers={"If-None-Match": etag})
    assert other_year.status_code == 200
    assert admin.get(REPORT, params={"year": 1899}).status_code == 422


def add_units(admin: Any, first: int, count: int) -> None:
    """Per unit: a commitment, and experiments with cost, rigour, results and publication."""
    for number in range(first, first + count):
        unit = create_unit(admin, f"U{number}")
        admin.put(
            f"/api/v1/units/{unit['id']}/commitments/2026",
            json={"program_funds": 1000, "target_share": 0.1},
        )
        items = batch(
            admin,
            create_project(admin, unit["id"])["id"],
            {"started_on": "2026-05-01", "cost": 10, "comparison": "randomized"},
            {**finished("supported", published=True, ended_on="2026-06-01")},
            {**finished("not_supported", published=False, ended_on="2026-06-01")},
        )
        create_criterion(admin, "experiments", items[0]["id"], kind="outcome")


def test_statement_count_is_the_same_at_n_and_3n(app, admin, viewer):
    def statements() -> list[int]:
        counts = []
        for headers in ({}, {"Accept": "text/csv"}):
            with counting_statements(app.state.engine) as seen:
                response = viewer.get(REPORT, params={"year": 2026}, headers=headers)
            assert response.status_code == 200
            counts.append(len(seen))
        return counts

    add_units(admin, 1, 2)
    small = statements()
    add_units(admin, 3, 4)
    large = statements()
    assert report(viewer, year=2026)["totals"]["units_with_commitment"] == 6
    assert large == small
    # key lookup + revision + four report statements (+ BEGIN/COMMIT on SQLite)
    assert max(small) <= 9, small
