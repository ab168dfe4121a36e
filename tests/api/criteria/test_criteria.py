"""Success criteria: the target rule, measurements, latest_value and status."""

from datetime import timedelta

import pytest

from app.core.db import today
from tests.builders import (
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    item_ids,
    problem_fields,
)


@pytest.fixture
def project(admin):
    return create_project(admin, create_unit(admin, "TAX")["id"])


def measure(client, criterion_id, value, measured_on, **fields):
    response = client.post(
        f"/api/v1/criteria/{criterion_id}/measurements",
        json={"value": value, "measured_on": str(measured_on), **fields},
    )
    assert response.status_code == 201, response.text
    return response.json()


def read(client, criterion_id):
    response = client.get(f"/api/v1/criteria/{criterion_id}")
    assert response.status_code == 200
    return response.json()


def test_criterion_on_a_project_and_on_an_experiment(admin, project):
    experiment = create_experiment(admin, project["id"])
    on_project = create_criterion(
        admin, "projects", project["id"], unit_of_measure="minutes", due_on="2030-12-31"
    )
    on_experiment = create_criterion(
        admin, "experiments", experiment["id"], baseline=95, target=60, direction="decrease"
    )
    for key in ("created_at", "updated_at"):
        on_project.pop(key)
    assert on_project == {
        "id": on_project["id"],
        "project_id": project["id"],
        "experiment_id": None,
        "metric": "Minutes to file",
        "kind": "outcome",
        "unit_of_measure": "minutes",
        "baseline": 10.0,
        "target": 20.0,
        "direction": "increase",
        "due_on": "2030-12-31",
        "latest_value": None,
        "latest_measured_on": None,
        "status": "pending",
        "version": 1,
        "archived": False,
    }
    assert (on_experiment["project_id"], on_experiment["experiment_id"]) == (
        None,
        experiment["id"],
    )
    assert item_ids(admin.get(f"/api/v1/projects/{project['id']}/criteria")) == [on_project["id"]]
    assert item_ids(admin.get(f"/api/v1/experiments/{experiment['id']}/criteria")) == [
        on_experiment["id"]
    ]


GOOD = {
    "metric": "Minutes to file",
    "kind": "outcome",
    "baseline": 10,
    "target": 20,
    "direction": "increase",
}


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        ({"target": 5}, "target", "value_error"),  # increase needs target > baseline
        ({"target": 10}, "target", "value_error"),  # equal is not an improvement
        ({"direction": "decrease"}, "target", "value_error"),  # 20 is not below 10
        ({"direction": "decrease", "target": 10}, "target", "value_error"),
        ({"kind": "impact"}, "kind", "enum"),
        ({"direction": "up"}, "direction", "enum"),
        # Numbers are read strictly: no strings, no booleans (issue 13).
        ({"baseline": "ten"}, "baseline", "float_type"),
        ({"baseline": "10"}, "baseline", "float_type"),
        ({"baseline": True}, "baseline", "float_type"),
        ({"target": None}, "target", "float_type"),
        ({"metric": ""}, "metric", "string_too_short"),
        ({"metric": "M" * 201}, "metric", "string_too_long"),
        ({"unit_of_measure": "U" * 51}, "unit_of_measure", "string_too_long"),
        ({"due_on": "soon"}, "due_on", "date_from_datetime_parsing"),
        ({"status": "met"}, "status", "extra_forbidden"),
        ({"latest_value": 30}, "latest_value", "extra_forbidden"),
        ({"id": 1}, "id", "extra_forbidden"),
        ({"version": 1}, "version", "extra_forbidden"),
        ({"archived": True}, "archived", "extra_forbidden"),
        ({"project_id": 2}, "project_id", "extra_forbidden"),
    ],
)
def test_create_rejects_bad_fields_naming_them(admin, project, change, field, error_type):
    url = f"/api/v1/projects/{project['id']}/criteria"
    response = admin.post(url, json=GOOD | change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    assert response.json()["errors"][0]["type"] == error_type
    assert admin.get(url).json()["items"] == []


def test_decrease_with_target_below_baseline_is_accepted(admin, project):
    criterion = create_criterion(
        admin, "projects", project["id"], baseline=95, target=60, direction="decrease"
    )
    assert (criterion["baseline"], criterion["target"]) == (95, 60)


def test_criteria_need_a_live_visible_owner(admin, project):
    assert admin.post("/api/v1/projects/999/criteria", json=GOOD).status_code == 404
    assert admin.post("/api/v1/experiments/999/criteria", json=GOOD).status_code == 404
    assert admin.get("/api/v1/projects/999/criteria").status_code == 404
    admin.delete(f"/api/v1/projects/{project['id']}")
    archived = admin.post(f"/api/v1/projects/{project['id']}/criteria", json=GOOD)
    assert archived.status_code == 409
    assert archived.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"direction": "decrease"}, "target"),  # merged: 10 -> 20 decreasing
        ({"baseline": 25}, "target"),  # merged: 25 -> 20 increasing
        ({"target": 10}, "target"),
        ({"baseline": 5, "target": 4}, "target"),
        ({"metric": None}, "metric"),
        ({"kind": None}, "kind"),
        ({"baseline": None}, "baseline"),
        ({"target": None}, "target"),
        ({"direction": None}, "direction"),
        ({"unit_of_measure": "U" * 51}, "unit_of_measure"),
        ({"status": "met"}, "status"),
        ({"latest_value": 99}, "latest_value"),
        ({"version": 5}, "version"),
    ],
)
def test_patch_rejects_bad_merged_values_and_changes_nothing(admin, project, change, field):
    criterion = create_criterion(admin, "projects", project["id"])
    url = f"/api/v1/criteria/{criterion['id']}"
    response = admin.patch(url, json=change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    assert read(admin, criterion["id"]) == criterion


def test_patch_flipping_direction_with_consistent_values_is_accepted(admin, project):
    criterion = create_criterion(admin, "projects", project["id"])
    response = admin.patch(
        f"/api/v1/criteria/{criterion['id']}",
        json={"direction": "decrease", "baseline": 30},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert (response.json()["direction"], response.json()["baseline"]) == ("decrease", 30)
    assert (response.json()["version"], response.headers["ETag"]) == (2, '"2"')
    stale = admin.patch(
        f"/api/v1/criteria/{criterion['id']}", json={"target": 15}, headers={"If-Match": '"1"'}
    )
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)


def test_latest_value_is_the_latest_measured_on_not_the_latest_inserted(admin, project):
    criterion = create_criterion(admin, "projects", project["id"], baseline=10, target=100)
    assert read(admin, criterion["id"])["latest_value"] is None
    measure(admin, criterion["id"], 15, "2026-03-01")
    measure(admin, criterion["id"], 30, "2026-01-01")  # older reading, submitted late
    got = read(admin, criterion["id"])
    assert (got["latest_value"], got["latest_measured_on"]) == (15, "2026-03-01")
    measure(admin, criterion["id"], 18, "2026-03-01")  # same day: the later submission wins
    assert read(admin, criterion["id"])["latest_value"] == 18
    measure(admin, criterion["id"], 12.5, "2026-04-15")
    got = read(admin, criterion["id"])
    assert (got["latest_value"], got["latest_measured_on"]) == (12.5, "2026-04-15")
    listed = admin.get(f"/api/v1/criteria/{criterion['id']}/measurements").json()["items"]
    assert [(m["value"], m["measured_on"]) for m in listed] == [
        (15, "2026-03-01"),
        (30, "2026-01-01"),
        (18, "2026-03-01"),
        (12.5, "2026-04-15"),
    ]


YESTERDAY = str(today() - timedelta(days=1))
TODAY = str(today())
NEXT_YEAR = str(today() + timedelta(days=365))


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "values", "due_on", "status"),
    [
        ("increase", 10, 20, [], None, "pending"),
        ("increase", 10, 20, [], YESTERDAY, "missed"),
        ("increase", 10, 20, [], TODAY, "pending"),  # due today is not overdue yet
        ("increase", 10, 20, [19], NEXT_YEAR, "pending"),
        ("increase", 10, 20, [20], None, "met"),  # reaching the target is enough
        ("increase", 10, 20, [25], YESTERDAY, "met"),  # met beats overdue
        ("increase", 10, 20, [19.9], YESTERDAY, "missed"),
        ("increase", 10, 20, [25, 15], None, "pending"),  # the latest reading counts
        ("decrease", 95, 60, [60], None, "met"),
        ("decrease", 95, 60, [40], YESTERDAY, "met"),
        ("decrease", 95, 60, [61], None, "pending"),
        ("decrease", 95, 60, [61], YESTERDAY, "missed"),
        ("decrease", 95, 60, [55, 70], NEXT_YEAR, "pending"),
    ],
)
def test_status_in_both_directions(
    admin, project, direction, baseline, target, values, due_on, status
):
    criterion = create_criterion(
        admin,
        "projects",
        project["id"],
        direction=direction,
        baseline=baseline,
        target=target,
        due_on=due_on,
    )
    for day, value in enumerate(values, start=1):
        measure(admin, criterion["id"], value, f"2026-01-{day:02d}")
    got = read(admin, criterion["id"])
    assert got["status"] == status
    assert got["latest_value"] == (values[-1] if values else None)
    listed = admin.get(f"/api/v1/projects/{project['id']}/criteria").json()["items"]
    assert [c["status"] for c in listed] == [status]


def test_status_follows_a_changed_target(admin, project):
    criterion = create_criterion(admin, "projects", project["id"], baseline=10, target=20)
    measure(admin, criterion["id"], 18, "2026-02-01")
    assert read(admin, criterion["id"])["status"] == "pending"
    patched = admin.patch(f"/api/v1/criteria/{criterion['id']}", json={"target": 15})
    assert (patched.json()["status"], patched.json()["latest_value"]) == ("met", 18)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"value": 1}, "measured_on"),
        ({"measured_on": "2026-01-01"}, "value"),
        ({"value": "many", "measured_on": "2026-01-01"}, "value"),
        ({"value": 1, "measured_on": "2026-02-30"}, "measured_on"),
        ({"value": 1, "measured_on": "2026-01-01", "note": "N" * 2001}, "note"),
        ({"value": 1, "measured_on": "2026-01-01", "criterion_id": 3}, "criterion_id"),
        ({"value": 1, "measured_on": "2026-01-01", "note": "\u0000"}, "note"),
    ],
)
def test_measurement_validation(admin, project, payload, field):
    criterion = create_criterion(admin, "projects", project["id"])
    response = admin.post(f"/api/v1/criteria/{criterion['id']}/measurements", json=payload)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert read(admin, criterion["id"])["latest_value"] is None


def test_archived_criteria_keep_their_row_and_take_no_measurements(admin, project):
    kept = create_criterion(admin, "projects", project["id"], kind="output")
    gone = create_criterion(admin, "projects", project["id"], kind="activity")
    url = f"/api/v1/criteria/{gone['id']}"
    response = admin.delete(url)
    assert (response.status_code, response.json()["archived"], response.json()["version"]) == (
        200,
        True,
        2,
    )
    assert read(admin, gone["id"])["archived"] is True
    listing = f"/api/v1/projects/{project['id']}/criteria"
    assert item_ids(admin.get(listing)) == [kept["id"]]
    assert item_ids(admin.get(listing, params={"include_archived": True})) == [
        kept["id"],
        gone["id"],
    ]
    assert item_ids(admin.get(listing, params={"kind": "output"})) == [kept["id"]]
    late = admin.post(f"{url}/measurements", json={"value": 1, "measured_on": "2026-01-01"})
    assert late.status_code == 409


def test_criterion_and_measurement_changes_show_in_the_project_history(admin, project):
    criterion = create_criterion(admin, "projects", project["id"])
    measurement = measure(admin, criterion["id"], 12, "2026-01-05", note="first cohort")
    admin.patch(f"/api/v1/criteria/{criterion['id']}", json={"target": 25})
    entries = admin.get(f"/api/v1/projects/{project['id']}/history").json()["items"]
    assert [(e["entity_type"], e["action"]) for e in entries] == [
        ("criterion", "update"),
        ("measurement", "create"),
        ("criterion", "create"),
        ("project", "create"),
    ]
    assert entries[0]["changes"] == {"target": {"old": 20.0, "new": 25.0}}
    assert entries[1]["entity_id"] == measurement["id"]
    assert entries[1]["changes"] == {
        "value": {"old": None, "new": 12.0},
        "measured_on": {"old": None, "new": "2026-01-05"},
        "note": {"old": None, "new": "first cohort"},
    }
