"""A project's timeline: dated creates and changes, corrections, `stage_since`, the
timeline endpoint and the `stage_since_before` filter."""

from datetime import timedelta

import pytest

from app.core.db import today
from tests.builders import create_project, create_unit, item_ids, problem_fields

TOMORROW = str(today() + timedelta(days=1))
TODAY = str(today())


@pytest.fixture
def unit(admin):
    return create_unit(admin, "TAX")


def period(start, end, stage="idea", work_mode="side_of_desk", sponsor="individual", unit=None):
    return {
        "from": start,
        "to": end,
        "stage": stage,
        "work_mode": work_mode,
        "sponsor_level": sponsor,
        "unit_id": unit,
    }


def timeline(client, project_id):
    response = client.get(f"/api/v1/projects/{project_id}/timeline")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == project_id
    return body["periods"]


def patch(client, project_id, **fields):
    return client.patch(f"/api/v1/projects/{project_id}", json=fields)


def test_a_new_project_has_one_open_period_from_its_effective_on(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")

    assert "effective_on" not in project
    assert project["stage_since"] == "2025-01-10"
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", None, "exploration", unit=unit["id"])
    ]
    assert admin.get(f"/api/v1/projects/{project['id']}").json()["stage_since"] == "2025-01-10"


def test_effective_on_defaults_to_today(admin, unit):
    project = create_project(admin, unit["id"])

    assert project["stage_since"] == TODAY
    assert timeline(admin, project["id"]) == [period(TODAY, None, unit=unit["id"])]


def test_a_create_effective_after_today_is_a_422_on_effective_on(admin, unit):
    response = admin.post(
        "/api/v1/projects",
        json={
            "title": "Tomorrow",
            "unit_id": unit["id"],
            "sponsor_level": "individual",
            "work_mode": "side_of_desk",
            "effective_on": TOMORROW,
        },
    )

    assert response.status_code == 422
    assert problem_fields(response) == ["effective_on"]
    assert admin.get("/api/v1/projects").json()["items"] == []
    # Today itself is allowed.
    assert create_project(admin, unit["id"], effective_on=TODAY)["stage_since"] == TODAY


def test_a_dated_change_ends_the_last_period_and_begins_a_new_one(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")

    response = patch(admin, project["id"], stage="experiment", effective_on="2025-03-03")

    assert response.status_code == 200, response.text
    assert "effective_on" not in response.json()
    assert response.json()["stage"] == "experiment"
    assert response.json()["stage_since"] == "2025-03-03"
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", "2025-03-03", "exploration", unit=unit["id"]),
        period("2025-03-03", None, "experiment", unit=unit["id"]),
    ]


def test_a_change_without_effective_on_takes_effect_today(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")

    assert patch(admin, project["id"], stage="scaling").json()["stage_since"] == TODAY
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", TODAY, "exploration", unit=unit["id"]),
        period(TODAY, None, "scaling", unit=unit["id"]),
    ]


def test_a_change_effective_after_today_is_a_422(admin, unit):
    project = create_project(admin, unit["id"], effective_on="2025-01-10")

    response = patch(admin, project["id"], stage="exploration", effective_on=TOMORROW)

    assert response.status_code == 422
    assert problem_fields(response) == ["effective_on"]
    assert timeline(admin, project["id"]) == [period("2025-01-10", None, unit=unit["id"])]


def test_a_change_effective_before_the_last_period_names_the_earliest_date(admin, unit):
    project = create_project(admin, unit["id"], effective_on="2025-01-10")
    patch(admin, project["id"], stage="exploration", effective_on="2025-02-01")

    response = patch(admin, project["id"], stage="experiment", effective_on="2025-01-31")

    assert response.status_code == 422
    assert problem_fields(response) == ["effective_on"]
    assert "the earliest date allowed is 2025-02-01" in response.json()["errors"][0]["message"]
    assert admin.get(f"/api/v1/projects/{project['id']}").json()["stage"] == "exploration"
    assert len(timeline(admin, project["id"])) == 2


def test_a_change_effective_on_the_last_periods_from_corrects_it_in_place(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    patch(admin, project["id"], stage="experiment", effective_on="2025-03-03")

    response = patch(
        admin, project["id"], stage="scaling", work_mode="dedicated", effective_on="2025-03-03"
    )

    assert response.status_code == 200, response.text
    assert response.json()["stage_since"] == "2025-03-03"
    # No zero-length period: the period from 3 March now holds the corrected values.
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", "2025-03-03", "exploration", unit=unit["id"]),
        period("2025-03-03", None, "scaling", "dedicated", unit=unit["id"]),
    ]


def test_a_correction_back_to_the_previous_stage_joins_its_run(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    patch(admin, project["id"], stage="experiment", effective_on="2025-03-03")

    # The move to experiment was a mistake: corrected in place, the two periods now hold
    # equal values and are kept as written; the project is in exploration since 10 January.
    response = patch(admin, project["id"], stage="exploration", effective_on="2025-03-03")

    assert response.json()["stage_since"] == "2025-01-10"
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", "2025-03-03", "exploration", unit=unit["id"]),
        period("2025-03-03", None, "exploration", unit=unit["id"]),
    ]


def test_a_change_of_work_mode_does_not_reset_stage_since(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    other = create_unit(admin, "OTHER")

    patch(admin, project["id"], work_mode="dedicated", effective_on="2025-02-01")
    patch(admin, project["id"], sponsor_level="system", effective_on="2025-03-01")
    response = patch(admin, project["id"], unit_id=other["id"], effective_on="2025-04-01")

    assert response.json()["stage_since"] == "2025-01-10"
    assert timeline(admin, project["id"]) == [
        period("2025-01-10", "2025-02-01", "exploration", unit=unit["id"]),
        period("2025-02-01", "2025-03-01", "exploration", "dedicated", unit=unit["id"]),
        period("2025-03-01", "2025-04-01", "exploration", "dedicated", "system", unit["id"]),
        period("2025-04-01", None, "exploration", "dedicated", "system", other["id"]),
    ]
    # A stage change after them does reset it.
    assert patch(admin, project["id"], stage="experiment").json()["stage_since"] == TODAY


def test_a_patch_changing_no_tracked_value_ignores_effective_on(admin, unit):
    project = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    patch(admin, project["id"], stage="experiment", effective_on="2025-03-03")

    # Before the last period's from, but nothing tracked changes: no 422, no effect.
    response = patch(
        admin, project["id"], title="Renamed", stage="experiment", effective_on="2025-01-01"
    )

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Renamed"
    assert response.json()["stage_since"] == "2025-03-03"
    assert len(timeline(admin, project["id"])) == 2
    history = admin.get(f"/api/v1/projects/{project['id']}/history").json()["items"]
    assert history[0]["changes"] == {"title": {"old": "A project", "new": "Renamed"}}
    assert history[0]["effective_on"] is None
    # Still validated: after today is a 422 even then.
    response = patch(admin, project["id"], title="Later", effective_on=TOMORROW)
    assert response.status_code == 422
    assert problem_fields(response) == ["effective_on"]


def test_history_records_effective_on(admin, unit):
    project = create_project(admin, unit["id"], effective_on="2025-01-10")
    patch(admin, project["id"], stage="exploration", effective_on="2025-03-03")

    history = admin.get(f"/api/v1/projects/{project['id']}/history").json()["items"]

    assert [(h["action"], h["effective_on"]) for h in history] == [
        ("update", "2025-03-03"),
        ("create", "2025-01-10"),
    ]
    assert history[0]["changes"] == {"stage": {"old": "idea", "new": "exploration"}}
    assert "effective_on" not in history[1]["changes"]


def test_the_timeline_follows_the_scope_of_the_project(admin, make_client, unit):
    other = create_unit(admin, "OTHER")
    mine = create_project(admin, unit["id"], effective_on="2025-01-10")
    theirs = create_project(admin, other["id"])
    submitter = make_client("submitter", unit_id=unit["id"])

    assert timeline(submitter, mine["id"]) == [period("2025-01-10", None, unit=unit["id"])]
    assert submitter.get(f"/api/v1/projects/{theirs['id']}/timeline").status_code == 404
    assert admin.get("/api/v1/projects/999999/timeline").status_code == 404


def test_lists_filter_on_stage_since_before(admin, unit):
    early = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    late = create_project(admin, unit["id"], stage="exploration", effective_on="2025-06-01")
    moved = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    patch(admin, moved["id"], stage="experiment", effective_on="2025-07-01")
    reworked = create_project(admin, unit["id"], stage="exploration", effective_on="2025-01-10")
    patch(admin, reworked["id"], work_mode="core_business", effective_on="2025-07-01")

    # Lists (JSON pages, built by PostgreSQL there, and CSV) carry stage_since too.
    items = admin.get("/api/v1/projects").json()["items"]
    expected = ["2025-01-10", "2025-06-01", "2025-07-01", "2025-01-10"]
    assert [item["stage_since"] for item in items] == expected
    csv = admin.get("/api/v1/projects", headers={"Accept": "text/csv"}).text.splitlines()
    column = csv[0].split(",").index("stage_since")
    assert [line.split(",")[column] for line in csv[1:]] == expected

    def listed(before):
        return item_ids(admin.get(f"/api/v1/projects?stage_since_before={before}"))

    # stage_since: early 2025-01-10, late 2025-06-01, moved 2025-07-01, reworked 2025-01-10
    assert listed("2025-01-10") == []  # strictly before
    assert listed("2025-01-11") == [early["id"], reworked["id"]]
    assert listed("2025-06-02") == [early["id"], late["id"], reworked["id"]]
    assert listed("2025-07-02") == [early["id"], late["id"], moved["id"], reworked["id"]]
    response = admin.get("/api/v1/projects?stage_since_before=not-a-date")
    assert response.status_code == 422
    assert problem_fields(response) == ["stage_since_before"]
