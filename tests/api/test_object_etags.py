"""ETags on objects: every create and read carries `ETag: "<version>"`, and a GET whose
If-None-Match is still current is a 304 without a body."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import create_criterion, create_experiment, create_project, create_unit

# (object path, a PATCH body that changes it) for each versioned kind, built through the API.
Setup = Callable[[TestClient], tuple[str, dict[str, Any]]]


def unit(admin: TestClient) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/units/{create_unit(admin, 'BL1')['id']}", {"name": "Renamed"}


def project(admin: TestClient) -> tuple[str, dict[str, Any]]:
    created = create_project(admin, create_unit(admin, "BL1")["id"])
    return f"/api/v1/projects/{created['id']}", {"title": "Renamed"}


def experiment(admin: TestClient) -> tuple[str, dict[str, Any]]:
    owner = create_project(admin, create_unit(admin, "BL1")["id"])
    return f"/api/v1/experiments/{create_experiment(admin, owner['id'])['id']}", {"title": "B"}


def criterion(admin: TestClient) -> tuple[str, dict[str, Any]]:
    owner = create_project(admin, create_unit(admin, "BL1")["id"])
    created = create_criterion(admin, "projects", owner["id"])
    return f"/api/v1/criteria/{created['id']}", {"target": 30}


@pytest.mark.parametrize("setup", [unit, project, experiment, criterion])
def test_a_current_if_none_match_is_a_304(admin: TestClient, viewer: TestClient, setup: Setup):
    path, change = setup(admin)
    first = viewer.get(path)
    assert first.status_code == 200
    assert first.headers["ETag"] == '"1"'

    again = viewer.get(path, headers={"If-None-Match": '"1"'})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == '"1"'
    # Weak tags and lists match too; another version does not.
    assert viewer.get(path, headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert viewer.get(path, headers={"If-None-Match": '"7", "1"'}).status_code == 304
    assert viewer.get(path, headers={"If-None-Match": '"2"'}).status_code == 200

    assert admin.patch(path, json=change).status_code == 200  # version 1 -> 2
    changed = viewer.get(path, headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    assert changed.json() == viewer.get(path).json()
    assert viewer.get(path, headers={"If-None-Match": '"2"'}).status_code == 304


def test_a_304_never_hides_what_the_caller_may_not_see(admin: TestClient, make_client):
    path, _ = project(admin)
    other = create_unit(admin, "BL2")
    outsider = make_client("submitter", unit_id=other["id"])

    response = outsider.get(path, headers={"If-None-Match": "*"})

    assert response.status_code == 404


def test_every_create_returns_the_etag(admin: TestClient):
    units = admin.post("/api/v1/units", json={"code": "BL1", "name": "Line", "kind": "corporate"})
    assert (units.status_code, units.headers.get("ETag")) == (201, '"1"'), units.text
    project = admin.post(
        "/api/v1/projects",
        json={
            "title": "P",
            "unit_id": units.json()["id"],
            "sponsor_level": "individual",
            "work_mode": "dedicated",
        },
    )
    assert (project.status_code, project.headers.get("ETag")) == (201, '"1"'), project.text
    experiment = admin.post(
        "/api/v1/experiments",
        json={"project_id": project.json()["id"], "title": "E", "hypothesis": "H", "method": "rct"},
    )
    assert (experiment.status_code, experiment.headers["ETag"]) == (201, '"1"')
    criterion = {
        "metric": "m",
        "kind": "outcome",
        "baseline": 0,
        "target": 1,
        "direction": "increase",
    }
    on_project = admin.post(f"/api/v1/projects/{project.json()['id']}/criteria", json=criterion)
    assert (on_project.status_code, on_project.headers["ETag"]) == (201, '"1"')
    on_experiment = admin.post(
        f"/api/v1/experiments/{experiment.json()['id']}/criteria", json=criterion
    )
    assert (on_experiment.status_code, on_experiment.headers["ETag"]) == (201, '"1"')
    # The tag from the create is good for the first edit.
    edit = admin.patch(
        f"/api/v1/units/{units.json()['id']}", json={"name": "L"}, headers={"If-Match": '"1"'}
    )
    assert (edit.status_code, edit.headers["ETag"]) == (200, '"2"')


def test_a_replayed_create_carries_the_same_etag(admin: TestClient):
    body = {"code": "BL1", "name": "Line", "kind": "corporate"}
    headers = {"Idempotency-Key": "create-bl1"}

    first = admin.post("/api/v1/units", json=body, headers=headers)
    replay = admin.post("/api/v1/units", json=body, headers=headers)

    assert first.headers["ETag"] == replay.headers["ETag"] == '"1"'
    assert replay.headers["Idempotent-Replayed"] == "true"
