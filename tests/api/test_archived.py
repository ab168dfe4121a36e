"""Archived objects and everything under them are read-only (issue 13): every write to an
archived unit, project, experiment or criterion, or to anything under one, is a 409
(`type` .../archived); a body that names an archived project is a 422 on that field, as for
an unknown one. Archiving again is a no-op (a retried DELETE). Reads stay as they were."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import create_criterion, create_experiment, create_project, create_unit

MEASUREMENT = {"value": 5, "measured_on": "2026-01-01"}


def archived_problem(response: Any) -> bool:
    return (
        response.status_code == 409
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["type"].endswith("/archived")
    )


@pytest.fixture
def archived_project(admin: TestClient) -> dict[str, Any]:
    unit = create_unit(admin, "U")
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"])
    on_project = create_criterion(admin, "projects", project["id"])
    on_experiment = create_criterion(admin, "experiments", experiment["id"])
    assert admin.delete(f"/api/v1/projects/{project['id']}").status_code == 200
    return {
        "project": project["id"],
        "experiment": experiment["id"],
        "on_project": on_project["id"],
        "on_experiment": on_experiment["id"],
    }


def history_sizes(client: TestClient, ids: dict[str, Any]) -> tuple[int, int]:
    project = client.get(f"/api/v1/projects/{ids['project']}/history?limit=500")
    experiment = client.get(f"/api/v1/experiments/{ids['experiment']}/history?limit=500")
    return len(project.json()["items"]), len(experiment.json()["items"])


def test_nothing_under_an_archived_project_can_be_written(admin, manager, archived_project):
    ids = archived_project
    before = history_sizes(admin, ids)
    project, experiment = (
        f"/api/v1/projects/{ids['project']}",
        f"/api/v1/experiments/{ids['experiment']}",
    )
    writes = [
        manager.patch(project, json={"title": "Revived"}),
        manager.patch(project, json={"title": "Revived"}, headers={"If-Match": '"2"'}),
        manager.patch(experiment, json={"status": "running"}),
        manager.delete(experiment),
        manager.post(f"{project}/criteria", json=CRITERION),
        manager.post(f"{experiment}/criteria", json=CRITERION),
        manager.patch(f"/api/v1/criteria/{ids['on_project']}", json={"target": 50}),
        manager.patch(f"/api/v1/criteria/{ids['on_experiment']}", json={"target": 50}),
        manager.delete(f"/api/v1/criteria/{ids['on_project']}"),
        manager.delete(f"/api/v1/criteria/{ids['on_experiment']}"),
        manager.post(f"/api/v1/criteria/{ids['on_project']}/measurements", json=MEASUREMENT),
        manager.post(f"/api/v1/criteria/{ids['on_experiment']}/measurements", json=MEASUREMENT),
    ]
    for response in writes:
        assert archived_problem(response), (response.request.method, response.request.url)

    # A body naming the archived project: 422 on that field, as for one that does not exist.
    created = manager.post(
        "/api/v1/experiments",
        json={"project_id": ids["project"], "title": "E", "hypothesis": "H", "method": "pilot"},
    )
    assert created.status_code == 422
    assert created.json()["errors"][0]["field"] == "project_id"

    # Archiving it again changes nothing and is not an error: a retried DELETE.
    again = manager.delete(project)
    assert (again.status_code, again.json()["version"], again.json()["archived"]) == (200, 2, True)

    # Nothing was written: same versions, same history, readable as before.
    assert admin.get(project).json()["title"] == "A project"
    assert admin.get(experiment).json()["version"] == 1
    assert admin.get(f"/api/v1/criteria/{ids['on_project']}").json()["latest_value"] is None
    assert history_sizes(admin, ids) == before


CRITERION = {"metric": "M", "kind": "outcome", "baseline": 1, "target": 2, "direction": "increase"}


def test_an_archived_experiment_and_an_archived_criterion_are_read_only(admin, manager):
    unit = create_unit(admin, "U")
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"])
    criterion = create_criterion(admin, "experiments", experiment["id"])
    live = create_criterion(admin, "projects", project["id"])
    assert admin.delete(f"/api/v1/experiments/{experiment['id']}").status_code == 200
    assert admin.delete(f"/api/v1/criteria/{live['id']}").status_code == 200

    for response in (
        manager.patch(f"/api/v1/experiments/{experiment['id']}", json={"title": "Again"}),
        manager.post(f"/api/v1/experiments/{experiment['id']}/criteria", json=CRITERION),
        manager.patch(f"/api/v1/criteria/{criterion['id']}", json={"target": 9}),
        manager.post(f"/api/v1/criteria/{criterion['id']}/measurements", json=MEASUREMENT),
        manager.patch(f"/api/v1/criteria/{live['id']}", json={"target": 9}),
        manager.post(f"/api/v1/criteria/{live['id']}/measurements", json=MEASUREMENT),
    ):
        assert archived_problem(response), (response.request.method, response.request.url)
    # The project itself is still live: it takes new work.
    assert (
        manager.post(f"/api/v1/projects/{project['id']}/criteria", json=CRITERION).status_code
        == 201
    )
    assert (
        manager.patch(f"/api/v1/projects/{project['id']}", json={"title": "T"}).status_code == 200
    )


def test_a_unit_is_archived_only_once_nothing_below_it_is_live(admin):
    root = create_unit(admin, "ROOT", kind="corporate")
    child = create_unit(admin, "CHILD", parent_id=root["id"])
    grandchild = create_unit(admin, "GRAND", parent_id=child["id"])
    project = create_project(admin, grandchild["id"])

    # A project two levels down keeps both ancestors live.
    for unit in (root, child):
        refused = admin.delete(f"/api/v1/units/{unit['id']}")
        assert refused.status_code == 409
        assert "1 non-archived project(s) in its subtree" in refused.json()["detail"]
    assert admin.delete(f"/api/v1/projects/{project['id']}").status_code == 200
    # Live units below still keep it: root has 2 (child, grandchild), child has 1.
    refused = admin.delete(f"/api/v1/units/{root['id']}")
    assert refused.status_code == 409
    assert "2 non-archived unit(s) below it" in refused.json()["detail"]

    for unit in (grandchild, child, root):
        archived = admin.delete(f"/api/v1/units/{unit['id']}")
        assert (archived.status_code, archived.json()["archived"]) == (200, True)
    # An archived unit is read-only too; archiving it again is a no-op.
    assert archived_problem(admin.patch(f"/api/v1/units/{root['id']}", json={"name": "Back"}))
    assert admin.delete(f"/api/v1/units/{root['id']}").status_code == 200
    assert admin.get(f"/api/v1/units/{root['id']}").json()["name"] == "Unit ROOT"
