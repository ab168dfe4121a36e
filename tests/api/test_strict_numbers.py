"""Numbers in request bodies are read strictly (issue 13): a boolean is never an integer or
a number (`"unit_id": true` is not unit 1), a string is not a number, and 3.0 is not an id.
Every case is a 422 naming the field, and nothing is written."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import (
    count,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    problem_fields,
)


@pytest.fixture
def world(admin: TestClient) -> dict[str, Any]:
    # Unit 1 exists, so `true` read as 1 would have passed before.
    unit = create_unit(admin, "U1")
    assert unit["id"] == 1
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"])
    criterion = create_criterion(admin, "experiments", experiment["id"])
    return {"unit": unit, "project": project, "experiment": experiment, "criterion": criterion}


PROJECT = {"title": "P", "unit_id": 1, "sponsor_level": "individual", "work_mode": "dedicated"}
EXPERIMENT = {"project_id": 1, "title": "E", "hypothesis": "H", "method": "pilot"}
CRITERION = {"metric": "M", "kind": "outcome", "baseline": 1, "target": 2, "direction": "increase"}
RISK = {"likelihood": 2, "impact": 2, "risk_of_not_innovating": 2}


def cases(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, the field the 422 must name)"""
    project, experiment, criterion = (
        world[k]["id"] for k in ("project", "experiment", "criterion")
    )
    return [
        (
            "POST",
            "/api/v1/units",
            {"code": "U2", "name": "N", "kind": "corporate", "parent_id": True},
            "parent_id",
        ),
        ("PATCH", "/api/v1/units/1", {"parent_id": True}, "parent_id"),
        ("POST", "/api/v1/projects", PROJECT | {"unit_id": True}, "unit_id"),
        ("POST", "/api/v1/projects", PROJECT | {"unit_id": "1"}, "unit_id"),
        ("POST", "/api/v1/projects", PROJECT | {"unit_id": 1.0}, "unit_id"),
        ("POST", "/api/v1/projects", PROJECT | {"risk": RISK | {"impact": True}}, "risk.impact"),
        ("POST", "/api/v1/projects", PROJECT | {"budget": True}, "budget"),
        ("PATCH", f"/api/v1/projects/{project}", {"unit_id": True}, "unit_id"),
        (
            "PATCH",
            f"/api/v1/projects/{project}",
            {"risk": RISK | {"likelihood": False}},
            "risk.likelihood",
        ),
        ("POST", "/api/v1/experiments", EXPERIMENT | {"project_id": True}, "project_id"),
        ("PATCH", f"/api/v1/experiments/{experiment}", {"project_id": True}, "project_id"),
        (
            "POST",
            "/api/v1/experiments/batch",
            {"items": [EXPERIMENT | {"project_id": True}]},
            "items.0.project_id",
        ),
        ("POST", f"/api/v1/projects/{project}/criteria", CRITERION | {"target": True}, "target"),
        ("PATCH", f"/api/v1/criteria/{criterion}", {"baseline": False}, "baseline"),
        (
            "POST",
            f"/api/v1/criteria/{criterion}/measurements",
            {"value": True, "measured_on": "2026-01-01"},
            "value",
        ),
        (
            "POST",
            "/api/v1/api-keys",
            {"name": "k", "role": "submitter", "unit_id": True},
            "unit_id",
        ),
    ]


def test_booleans_and_strings_are_not_numbers(admin, world, database_url):
    before = {
        t: count(database_url, t)
        for t in (
            "units",
            "projects",
            "experiments",
            "criteria",
            "measurements",
            "api_keys",
            "history",
        )
    }
    for method, path, body, field in cases(world):
        response = admin.request(method, path, json=body)
        assert response.status_code == 422, (method, path, body, response.text)
        assert problem_fields(response) == [field], (method, path, body)
    after = {t: count(database_url, t) for t in before}
    assert after == before
    assert admin.get(f"/api/v1/projects/{world['project']['id']}").json()["version"] == 1


def test_integers_are_still_numbers(admin, world):
    # An integer where a float is expected is fine: 25 is 25.0.
    criterion = world["criterion"]["id"]
    measured = admin.post(
        f"/api/v1/criteria/{criterion}/measurements",
        json={"value": 25, "measured_on": "2026-01-01"},
    )
    assert (measured.status_code, measured.json()["value"]) == (201, 25.0)
    # Budgets stay numbers or decimal strings, as documented.
    created = admin.post("/api/v1/projects", json=PROJECT | {"budget": "1200.50", "fte": 1.5})
    assert created.status_code == 201, created.text
    assert (created.json()["budget"], created.json()["fte"]) == ("1200.50", "1.50")


def test_a_boolean_query_id_is_a_422_too(admin, world):
    response = admin.get("/api/v1/projects", params={"unit_id": "true"})
    assert response.status_code == 422
    assert problem_fields(response) == ["unit_id"]
