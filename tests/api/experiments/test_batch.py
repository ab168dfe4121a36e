"""POST /experiments/batch: all or nothing, every failing item named, scope, idempotency."""

import time

from tests.builders import count, create_project, create_unit

BATCH = "/api/v1/experiments/batch"
CRITERION = {
    "metric": "Minutes to file",
    "kind": "outcome",
    "baseline": 45,
    "target": 30,
    "direction": "decrease",
}


def item(project_id: int, title: str = "E", **fields):
    return {
        "project_id": project_id,
        "title": title,
        "hypothesis": "It helps",
        "method": "pilot",
        **fields,
    }


def test_a_batch_creates_every_experiment_and_criterion(admin, database_url):
    unit = create_unit(admin, "TAX")
    first = create_project(admin, unit["id"])
    second = create_project(admin, unit["id"], title="Second")
    body = {
        "items": [
            item(first["id"], "A", criteria=[CRITERION, {**CRITERION, "metric": "Errors"}]),
            item(
                second["id"],
                "B",
                determinants=[
                    {"determinant": "clarity", "effect": "barrier", "note": "No owner"},
                    {"determinant": "parity", "effect": "enabler"},
                ],
            ),
            item(first["id"], "C", criteria=[CRITERION]),
        ]
    }
    response = admin.post(BATCH, json=body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["experiments_created"] == 3
    assert result["criteria_created"] == 3
    assert [e["title"] for e in result["items"]] == ["A", "B", "C"]
    assert [e["project_id"] for e in result["items"]] == [first["id"], second["id"], first["id"]]
    assert [len(e["criteria"]) for e in result["items"]] == [2, 0, 1]
    assert result["items"][1]["determinants"] == [
        {"determinant": "clarity", "effect": "barrier", "note": "No owner"},
        {"determinant": "parity", "effect": "enabler", "note": None},
    ]
    stored = admin.get(f"/api/v1/experiments/{result['items'][1]['id']}").json()
    assert stored["determinants"] == result["items"][1]["determinants"]
    assert [c["metric"] for c in result["items"][0]["criteria"]] == ["Minutes to file", "Errors"]
    a = result["items"][0]
    assert all(c["experiment_id"] == a["id"] and c["project_id"] is None for c in a["criteria"])
    assert a["unit_id"] == unit["id"] and a["version"] == 1
    # The experiments and criteria are there, each with its own history entry.
    listed = admin.get(f"/api/v1/experiments/{a['id']}/criteria").json()["items"]
    assert [c["id"] for c in listed] == [c["id"] for c in a["criteria"]]
    history = admin.get(f"/api/v1/experiments/{a['id']}/history").json()["items"]
    assert [(h["entity_type"], h["action"]) for h in history] == [
        ("criterion", "create"),
        ("criterion", "create"),
        ("experiment", "create"),
    ]
    assert count(database_url, "experiments") == 3
    assert count(database_url, "criteria") == 3


def test_any_invalid_item_writes_nothing_and_every_failing_item_is_named(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {
        "items": [
            item(project["id"], "fine"),
            item(project["id"], method="guesswork"),
            item(project["id"], "fine too"),
            item(project["id"], criteria=[{**CRITERION, "direction": "sideways"}]),
            item(project["id"], status="running", result="supported"),
        ]
    }
    response = admin.post(BATCH, json=body)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["items.1.method", "items.3.criteria.0.direction", "items.4.result"]
    assert response.json()["errors"][2]["message"] == (
        "result is only allowed when status is completed"
    )
    assert count(database_url, "experiments") == 0
    assert count(database_url, "criteria") == 0
    assert count(database_url, "history") == 2  # the unit and the project


def test_unknown_projects_are_listed_for_every_item_and_nothing_is_written(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {
        "items": [
            item(project["id"], criteria=[CRITERION]),
            item(998),
            item(project["id"]),
            item(999),
        ]
    }
    response = admin.post(BATCH, json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "items.1.project_id",
            "location": "body",
            "message": "project 998 does not exist",
            "type": "invalid",
        },
        {
            "field": "items.3.project_id",
            "location": "body",
            "message": "project 999 does not exist",
            "type": "invalid",
        },
    ]
    assert count(database_url, "experiments") == 0
    assert count(database_url, "criteria") == 0
    assert count(database_url, "history") == 2


def test_an_archived_project_is_refused_like_a_missing_one(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    assert admin.delete(f"/api/v1/projects/{project['id']}").status_code == 200
    response = admin.post(BATCH, json={"items": [item(project["id"])]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["items.0.project_id"]


def test_a_submitter_batches_only_into_its_own_unit(admin, make_client, database_url):
    tax = create_unit(admin, "TAX")
    branch = create_unit(admin, "TAXN", kind="innovation_lab", parent_id=tax["id"])
    other = create_unit(admin, "HR")
    own = create_project(admin, branch["id"])
    foreign = create_project(admin, other["id"])
    submitter = make_client("submitter", unit_id=tax["id"])
    response = submitter.post(
        BATCH, json={"items": [item(own["id"]), item(foreign["id"]), item(own["id"])]}
    )
    # Another unit's project reads exactly like a missing one: nothing about it leaks.
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["items.1.project_id"]
    assert response.json()["errors"][0]["message"] == f"project {foreign['id']} does not exist"
    assert count(database_url, "experiments") == 0
    allowed = submitter.post(BATCH, json={"items": [item(own["id"]), item(own["id"])]})
    assert allowed.status_code == 201
    assert allowed.json()["experiments_created"] == 2


def test_viewers_may_not_batch(admin, viewer):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    assert viewer.post(BATCH, json={"items": [item(project["id"])]}).status_code == 403


def test_batch_size_is_1_to_1000_items(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    empty = admin.post(BATCH, json={"items": []})
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["items"]
    too_many = admin.post(BATCH, json={"items": [item(project["id"])] * 1001})
    assert too_many.status_code == 422
    assert [e["field"] for e in too_many.json()["errors"]] == ["items"]
    assert count(database_url, "experiments") == 0


def test_a_full_batch_of_1000_with_criteria_is_written(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {"items": [item(project["id"], f"E{n}", criteria=[CRITERION]) for n in range(1000)]}
    started = time.monotonic()
    response = admin.post(BATCH, json=body, headers={"Idempotency-Key": "big"})
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text[:500]
    assert response.json()["experiments_created"] == 1000
    assert response.json()["criteria_created"] == 1000
    assert count(database_url, "experiments") == 1000
    assert count(database_url, "criteria") == 1000
    assert elapsed < 30
    again = admin.post(BATCH, json=body, headers={"Idempotency-Key": "big"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == response.json()
    assert count(database_url, "experiments") == 1000


def test_a_batch_honours_the_idempotency_key_as_a_whole(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {"items": [item(project["id"], "A"), item(project["id"], "B")]}
    headers = {"Idempotency-Key": "batch-7"}
    first = admin.post(BATCH, json=body, headers=headers)
    again = admin.post(BATCH, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert count(database_url, "experiments") == 2
    changed = admin.post(BATCH, json={"items": body["items"][:1]}, headers=headers)
    assert changed.status_code == 422
    assert [e["field"] for e in changed.json()["errors"]] == ["Idempotency-Key"]
