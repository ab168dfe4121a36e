"""Experiments: validation, the result rule, the owning unit, filters, archiving, history."""

import pytest

from tests.builders import create_experiment, create_project, create_unit, item_ids, problem_fields


@pytest.fixture
def project(admin):
    return create_project(admin, create_unit(admin, "TAX")["id"])


def body(project_id, **fields):
    return {
        "project_id": project_id,
        "title": "Pre-filled return, 500 sole traders",
        "hypothesis": "Pre-filling cuts filing time by a third",
        "method": "rct",
    } | fields


def test_create_fills_defaults_and_takes_the_projects_unit(admin, project):
    response = admin.post("/api/v1/experiments", json=body(project["id"]))
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    experiment = response.json()
    for key in ("created_at", "updated_at"):
        experiment.pop(key)
    assert experiment == {
        "id": experiment["id"],
        "project_id": project["id"],
        "unit_id": project["unit_id"],
        "title": "Pre-filled return, 500 sole traders",
        "hypothesis": "Pre-filling cuts filing time by a third",
        "method": "rct",
        "status": "proposed",
        "result": None,
        "lessons": None,
        "determinants": [],
        "started_on": None,
        "ended_on": None,
        "comparison": "none",
        "sample_size": None,
        "preregistered_on": None,
        "independent_evaluation": False,
        "cost": None,
        "published_on": None,
        "publication_url": None,
        "rigour": 0,
        "rigour_features": [],
        "version": 1,
        "archived": False,
    }


def test_a_completed_experiment_may_carry_a_result(admin, project):
    experiment = create_experiment(
        admin, project["id"], status="completed", result="not_supported", lessons="Too slow"
    )
    assert (experiment["status"], experiment["result"]) == ("completed", "not_supported")


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        ({"method": "survey"}, "method", "enum"),
        ({"status": "done"}, "status", "enum"),
        ({"status": "completed", "result": "great"}, "result", "enum"),
        ({"result": "supported"}, "result", "value_error"),  # status defaults to proposed
        ({"status": "running", "result": "inconclusive"}, "result", "value_error"),
        ({"started_on": "2026-05-02", "ended_on": "2026-05-01"}, "ended_on", "value_error"),
        (
            {
                "determinants": [
                    {"determinant": "normality", "effect": "barrier"},
                    {"determinant": "normality", "effect": "barrier"},
                ]
            },
            "determinants",
            "value_error",
        ),
        ({"project_id": 999}, "project_id", "invalid"),
        ({"title": "T" * 201}, "title", "string_too_long"),
        ({"hypothesis": ""}, "hypothesis", "string_too_short"),
        ({"hypothesis": "H" * 5001}, "hypothesis", "string_too_long"),
        ({"lessons": "L" * 10001}, "lessons", "string_too_long"),
        ({"id": 4}, "id", "extra_forbidden"),
        ({"version": 1}, "version", "extra_forbidden"),
        ({"archived": False}, "archived", "extra_forbidden"),
        ({"unit_id": 1}, "unit_id", "extra_forbidden"),
    ],
)
def test_create_rejects_bad_fields_naming_them(admin, project, change, field, error_type):
    response = admin.post("/api/v1/experiments", json=body(project["id"]) | change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    assert response.json()["errors"][0]["type"] == error_type
    assert admin.get("/api/v1/experiments").json()["items"] == []


def test_missing_required_fields_are_each_named(admin):
    response = admin.post("/api/v1/experiments", json={})
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["hypothesis", "method", "project_id", "title"]


def test_an_archived_project_takes_no_new_experiments(admin, project):
    admin.delete(f"/api/v1/projects/{project['id']}")
    response = admin.post("/api/v1/experiments", json=body(project["id"]))
    assert response.status_code == 422
    assert problem_fields(response) == ["project_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "running"}, "result"),  # the stored result needs `completed`
        ({"result": None, "status": "done"}, "status"),
        ({"title": None}, "title"),
        ({"hypothesis": None}, "hypothesis"),
        ({"method": None}, "method"),
        ({"status": None}, "status"),
        ({"project_id": None}, "project_id"),
        ({"project_id": 999}, "project_id"),
        ({"ended_on": "2026-02-27"}, "ended_on"),
        ({"started_on": "2026-04-01"}, "ended_on"),
        ({"version": 2}, "version"),
        ({"unit_id": 2}, "unit_id"),
    ],
)
def test_patch_rejects_bad_fields_and_changes_nothing(admin, project, change, field):
    experiment = create_experiment(
        admin,
        project["id"],
        status="completed",
        result="supported",
        started_on="2026-03-01",
        ended_on="2026-03-31",
    )
    url = f"/api/v1/experiments/{experiment['id']}"
    response = admin.patch(url, json=change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    assert admin.get(url).json() == experiment


def test_result_can_be_set_once_completed_and_cleared_to_reopen(admin, project):
    experiment = create_experiment(admin, project["id"])
    url = f"/api/v1/experiments/{experiment['id']}"
    refused = admin.patch(url, json={"result": "supported"})
    assert (refused.status_code, problem_fields(refused)) == (422, ["result"])
    done = admin.patch(url, json={"status": "completed", "result": "supported"})
    assert (done.status_code, done.json()["version"]) == (200, 2)
    reopened = admin.patch(url, json={"status": "running", "result": None})
    assert reopened.status_code == 200
    assert (reopened.json()["status"], reopened.json()["result"]) == ("running", None)


def test_experiments_follow_their_project_to_another_unit(admin, project):
    other = create_unit(admin, "OPS")
    experiment = create_experiment(admin, project["id"])
    moved = admin.patch(f"/api/v1/projects/{project['id']}", json={"unit_id": other["id"]})
    assert moved.status_code == 200
    assert admin.get(f"/api/v1/experiments/{experiment['id']}").json()["unit_id"] == other["id"]
    assert item_ids(admin.get("/api/v1/experiments", params={"unit_id": other["id"]})) == [
        experiment["id"]
    ]


def test_moving_an_experiment_to_another_project_takes_that_projects_unit(admin, project):
    other_unit = create_unit(admin, "OPS")
    other_project = create_project(admin, other_unit["id"])
    experiment = create_experiment(admin, project["id"])
    response = admin.patch(
        f"/api/v1/experiments/{experiment['id']}", json={"project_id": other_project["id"]}
    )
    assert response.status_code == 200
    assert (response.json()["project_id"], response.json()["unit_id"]) == (
        other_project["id"],
        other_unit["id"],
    )


def test_archive_keeps_the_row_and_hides_it_from_lists(admin, project):
    kept = create_experiment(admin, project["id"])
    gone = create_experiment(admin, project["id"])
    response = admin.delete(f"/api/v1/experiments/{gone['id']}")
    assert (response.status_code, response.json()["archived"]) == (200, True)
    assert admin.get(f"/api/v1/experiments/{gone['id']}").json()["archived"] is True
    assert item_ids(admin.get("/api/v1/experiments")) == [kept["id"]]
    assert item_ids(admin.get("/api/v1/experiments", params={"include_archived": True})) == [
        kept["id"],
        gone["id"],
    ]


def test_list_filters_return_exactly_the_matching_experiments(admin, project):
    second_project = create_project(admin, project["unit_id"])

    def make(project_id=project["id"], **fields):
        return create_experiment(admin, project_id, **fields)["id"]

    rct = make(
        method="rct",
        status="completed",
        result="supported",
        determinants=[{"determinant": "suitability", "effect": "enabler"}],
    )
    pilot = make(
        method="pilot",
        status="running",
        determinants=[{"determinant": "suitability", "effect": "barrier"}],
    )
    ab = make(
        second_project["id"],
        method="ab_test",
        status="completed",
        result="inconclusive",
        determinants=[{"determinant": "clarity", "effect": "enabler"}],
    )
    sim = make(second_project["id"], method="simulation", status="stopped")

    def listed(**params):
        return item_ids(admin.get("/api/v1/experiments", params=params))

    assert listed() == [rct, pilot, ab, sim]
    assert listed(status="completed") == [rct, ab]
    assert listed(status=["running", "stopped"]) == [pilot, sim]
    assert listed(method="pilot") == [pilot]
    assert listed(method=["rct", "simulation"]) == [rct, sim]
    assert listed(result="supported") == [rct]
    assert listed(project_id=second_project["id"]) == [ab, sim]
    assert listed(determinant="suitability") == [rct, pilot]
    assert listed(determinant="suitability", effect="barrier") == [pilot]
    assert listed(effect="enabler") == [rct, ab]
    assert listed(status="completed", method="ab_test") == [ab]
    assert listed(project_id=project["id"], status="stopped") == []
    bad = admin.get("/api/v1/experiments", params={"method": "survey"})
    assert (bad.status_code, problem_fields(bad)) == (422, ["method.0"])
    bad = admin.get("/api/v1/experiments", params={"status": ["running", "done"]})
    assert (bad.status_code, problem_fields(bad)) == (422, ["status.1"])


def test_updated_since_on_experiments(admin, project):
    first = create_experiment(admin, project["id"])
    second = create_experiment(admin, project["id"])

    def listed(since):
        return item_ids(admin.get("/api/v1/experiments", params={"updated_since": since}))

    assert listed(second["updated_at"]) == [second["id"]]
    touched = admin.patch(f"/api/v1/experiments/{first['id']}", json={"status": "running"})
    assert listed(second["updated_at"]) == [first["id"], second["id"]]
    assert listed(touched.json()["updated_at"]) == [first["id"]]
    bad = admin.get("/api/v1/experiments", params={"updated_since": "0001-01-01T00:00:00+01:00"})
    assert (bad.status_code, problem_fields(bad)) == (422, ["updated_since"])


def test_history_newest_first_with_fields_and_key_name(admin, make_client, project):
    submitter = make_client("submitter", unit_id=project["unit_id"], name="Tax intake script")
    created = submitter.post("/api/v1/experiments", json=body(project["id"]))
    assert created.status_code == 201
    url = f"/api/v1/experiments/{created.json()['id']}"
    assert admin.patch(url, json={"status": "completed", "result": "supported"}).status_code == 200
    assert admin.delete(url).status_code == 200

    entries = admin.get(f"{url}/history").json()["items"]
    assert [(e["action"], e["api_key_name"]) for e in entries] == [
        ("archive", "bootstrap"),
        ("update", "bootstrap"),
        ("create", "Tax intake script"),
    ]
    assert entries[1]["changes"] == {
        "status": {"old": "proposed", "new": "completed"},
        "result": {"old": None, "new": "supported"},
    }
    assert entries[2]["changes"]["method"] == {"old": None, "new": "rct"}
    assert entries[0]["changes"] == {"archived": {"old": False, "new": True}}


def test_etag_and_if_match(admin, project):
    experiment = create_experiment(admin, project["id"])
    url = f"/api/v1/experiments/{experiment['id']}"
    assert admin.get(url).headers["ETag"] == '"1"'
    good = admin.patch(url, json={"status": "running"}, headers={"If-Match": '"1"'})
    assert (good.status_code, good.json()["version"]) == (200, 2)
    stale = admin.patch(url, json={"status": "stopped"}, headers={"If-Match": '"1"'})
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)
    assert stale.headers["ETag"] == '"2"'
    stale_delete = admin.delete(url, headers={"If-Match": '"1"'})
    assert stale_delete.status_code == 412
    deleted = admin.delete(url, headers={"If-Match": '"2"'})
    assert (deleted.status_code, deleted.json()["version"]) == (200, 3)


def test_determinants_are_replaced_whole_and_null_clears_them(admin, project):
    tags = [{"determinant": "suitability", "effect": "enabler", "note": "Data is ready"}]
    experiment = create_experiment(admin, project["id"], determinants=tags)
    url = f"/api/v1/experiments/{experiment['id']}"
    assert admin.get(url).json()["determinants"] == tags
    swapped = [{"determinant": "normality", "effect": "barrier", "note": None}]
    replaced = admin.patch(url, json={"determinants": swapped})
    assert (replaced.json()["determinants"], replaced.json()["version"]) == (swapped, 2)
    cleared = admin.patch(url, json={"determinants": None})
    assert (cleared.json()["determinants"], cleared.json()["version"]) == ([], 3)
    assert admin.patch(url, json={"determinants": []}).json()["version"] == 3
    assert item_ids(admin.get("/api/v1/experiments", params={"determinant": "normality"})) == []
