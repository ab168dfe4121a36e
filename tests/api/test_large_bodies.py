"""Bad bodies cost a bounded answer: at most 100 errors with a count of the rest, and a
flood of unknown keys is one error per object (issue 13, item 1)."""

from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from tests.builders import bootstrap_key, client_with, count, create_project, create_unit

BATCH = "/api/v1/experiments/batch"
KEY = {"Idempotency-Key": "big-body-1"}


def item(project_id: int, **fields: Any) -> dict[str, Any]:
    return {"project_id": project_id, "title": "E", "hypothesis": "H", "method": "pilot", **fields}


def errors(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(e["field"], e["type"]) for e in response.json()["errors"]]


def test_a_flood_of_unknown_keys_is_one_error_for_the_object(admin, database_url):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    body.update({f"k{number}": 0 for number in range(5000)})
    response = admin.post("/api/v1/units", json=body, headers=KEY)
    assert errors(response) == [("body", "too_many_fields")]
    # 3 fields + 5,000 unknown keys.
    assert response.json()["errors"][0]["message"] == (
        "has 5003 fields; an object in a request has at most 100"
    )
    assert "errors_omitted" not in response.json()
    # Refused before the key was claimed: nothing stored, nothing written.
    assert count(database_url, "idempotency_keys") == 0
    assert count(database_url, "units") == 0


def test_a_batch_item_with_a_million_keys_costs_one_error(admin):
    flooded = item(1)
    flooded.update({f"k{number}": 0 for number in range(20_000)})
    response = admin.post(BATCH, json={"items": [item(1), flooded]})
    assert errors(response) == [("items.1", "too_many_fields")]
    assert len(response.content) < 2000


def test_a_batch_with_4000_failing_fields_lists_100_and_counts_the_rest(admin, database_url):
    # Each empty item misses its 4 required fields: 1,000 x 4 = 4,000 errors; the first 100
    # are items 0-24 (25 x 4), the other 3,900 are counted.
    response = admin.post(BATCH, json={"items": [{}] * 1000}, headers=KEY)
    listed = errors(response)
    assert len(listed) == 100
    assert listed[:4] == [
        ("items.0.project_id", "missing"),
        ("items.0.title", "missing"),
        ("items.0.hypothesis", "missing"),
        ("items.0.method", "missing"),
    ]
    assert listed[-1] == ("items.24.method", "missing")
    assert response.json()["errors_omitted"] == 3900
    # The short answer is what is stored and replayed under the key.
    replay = admin.post(BATCH, json={"items": [{}] * 1000}, headers=KEY)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["errors_omitted"] == 3900
    assert count(database_url, "experiments") == 0


def test_exactly_100_failing_fields_are_all_listed(admin):
    response = admin.post(BATCH, json={"items": [{}] * 25})  # 25 x 4 = 100
    assert len(errors(response)) == 100
    assert "errors_omitted" not in response.json()


def test_an_unknown_top_level_field_comes_first_then_the_items(admin):
    response = admin.post(BATCH, json={"items": [{"title": "E"}], "extra": 1})
    assert errors(response) == [
        ("extra", "extra_forbidden"),
        ("items.0.project_id", "missing"),
        ("items.0.hypothesis", "missing"),
        ("items.0.method", "missing"),
    ]


def test_1000_unknown_projects_list_100_and_count_900(admin):
    response = admin.post(BATCH, json={"items": [item(999_999)] * 1000})
    listed = errors(response)
    assert listed == [(f"items.{index}.project_id", "invalid") for index in range(100)]
    assert response.json()["errors_omitted"] == 900


def test_a_valid_batch_is_still_validated_and_created(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    response = admin.post(BATCH, json={"items": [item(project["id"])] * 3})
    assert response.status_code == 201, response.text
    assert response.json()["experiments_created"] == 3
    assert count(database_url, "experiments") == 3


def small_store_client(settings: Any) -> TestClient:
    """A server that keeps replayed responses of at most 2,000 bytes."""
    app = create_app(settings.model_copy(update={"idempotency_max_response_bytes": 2000}))
    return client_with(app, bootstrap_key(settings))


def test_a_saved_response_too_large_to_keep_replays_as_a_409(settings, admin, database_url):
    client = small_store_client(settings)
    unit = create_unit(client, "TAX")
    project = create_project(client, unit["id"])
    body = {"items": [item(project["id"])] * 8}  # 8 x ~320 bytes of 201
    first = client.post(BATCH, json=body, headers=KEY)
    assert first.status_code == 201, first.text
    assert len(first.content) > 2000
    retry = client.post(BATCH, json=body, headers=KEY)
    assert retry.status_code == 409
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["type"] == "/problems/response-not-stored"
    assert retry.json()["detail"] == (
        "The first request with this Idempotency-Key was answered 201 and its work is saved, "
        f"but its response ({len(first.content)} bytes) was larger than the 2000 bytes kept "
        "for replays. Find what it created (e.g. by `updated_since`) instead of retrying."
    )
    assert count(database_url, "experiments") == 8  # never run twice


def test_an_unsaved_answer_too_large_to_keep_frees_the_key(settings, admin, database_url):
    client = small_store_client(settings)
    body = {"items": [{}] * 100}  # 400 errors: 100 listed, about 9,000 bytes
    first = client.post(BATCH, json=body, headers=KEY)
    assert first.status_code == 422
    assert len(first.content) > 2000
    assert count(database_url, "idempotency_keys") == 0
    again = client.post(BATCH, json=body, headers=KEY)
    assert again.status_code == 422
    assert "Idempotent-Replayed" not in again.headers
