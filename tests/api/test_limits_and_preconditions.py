"""413 on large bodies, 422 on large limits, If-Match: 412 on a stale tag, 428 when required."""

import json

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.builders import (
    bootstrap_key,
    client_with,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
)

MIB = 1024 * 1024


def padded_project(unit_id: int, size: int) -> bytes:
    """A project body of exactly `size` bytes (the padding is in an over-long summary)."""
    body = {
        "title": "P",
        "unit_id": unit_id,
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
        "summary": "",
    }
    empty = len(json.dumps(body).encode())
    body["summary"] = "x" * (size - empty)
    encoded = json.dumps(body).encode()
    assert len(encoded) == size
    return encoded


def test_a_body_over_1_mib_is_413(admin):
    unit = create_unit(admin, "TAX")
    response = admin.post(
        "/api/v1/projects",
        content=padded_project(unit["id"], MIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"the request body is larger than {MIB} bytes"
    assert response.json()["type"].endswith("/payload-too-large")


def test_a_body_of_exactly_1_mib_is_read(admin):
    unit = create_unit(admin, "TAX")
    response = admin.post(
        "/api/v1/projects",
        content=padded_project(unit["id"], MIB),
        headers={"Content-Type": "application/json"},
    )
    # Read and validated: the summary is longer than its 5000 characters.
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["summary"]


def test_a_chunked_body_is_counted_as_it_streams(admin):
    unit = create_unit(admin, "TAX")
    data = padded_project(unit["id"], MIB + 10)

    def chunks():
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    response = admin.post(
        "/api/v1/projects", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == f"the request body is larger than {MIB} bytes"
    assert response.headers["content-type"] == "application/problem+json"


def test_patch_bodies_are_limited_too(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    response = admin.patch(
        f"/api/v1/projects/{project['id']}",
        content=b'{"summary": "' + b"x" * MIB + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_a_batch_may_be_up_to_10_mib(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    item = {"project_id": project["id"], "title": "E", "hypothesis": "h" * 5000, "method": "pilot"}
    body = json.dumps({"items": [item] * 250}).encode()
    assert MIB < len(body) < 10 * MIB
    response = admin.post(
        "/api/v1/experiments/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["experiments_created"] == 250
    too_big = admin.post(
        "/api/v1/experiments/batch",
        content=b" " * (10 * MIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["detail"] == f"the request body is larger than {10 * MIB} bytes"


def test_limits_are_settings(database_url):
    settings = Settings(database_url=database_url, max_body_bytes=100)
    app = create_app(settings)
    client = client_with(app, bootstrap_key(settings))
    response = client.post(
        "/api/v1/units", json={"code": "A", "name": "n" * 100, "kind": "business_line"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is larger than 100 bytes"
    app.state.engine.dispose()


@pytest.mark.parametrize("limit", [0, 501])
def test_limit_outside_1_to_500_is_422(admin, limit):
    response = admin.get("/api/v1/projects", params={"limit": limit})
    assert response.status_code == 422
    assert [(e["field"], e["location"]) for e in response.json()["errors"]] == [("limit", "query")]


def test_limit_500_is_allowed(admin):
    assert admin.get("/api/v1/projects", params={"limit": 500}).status_code == 200


def test_a_stale_if_match_is_412_with_the_current_version(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    path = f"/api/v1/projects/{project['id']}"
    etag = admin.get(path).headers["ETag"]
    assert etag == '"1"'
    first = admin.patch(path, json={"title": "Mine"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    second = admin.patch(path, json={"title": "Theirs"}, headers={"If-Match": etag})
    assert second.status_code == 412
    assert second.json()["current_version"] == 2
    assert second.headers["ETag"] == '"2"'
    assert admin.delete(path, headers={"If-Match": etag}).status_code == 412
    assert admin.get(path).json()["title"] == "Mine"


@pytest.mark.parametrize("kind", ["units", "projects", "experiments", "criteria"])
def test_every_editable_object_has_an_etag_and_checks_if_match(admin, kind):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    ids = {
        "units": create_unit(admin, "EMPTY")["id"],
        "projects": project["id"],
        "experiments": create_experiment(admin, project["id"])["id"],
        "criteria": create_criterion(admin, "projects", project["id"])["id"],
    }
    path = f"/api/v1/{kind}/{ids[kind]}"
    assert admin.get(path).headers["ETag"] == '"1"'
    stale = admin.delete(path, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1
    assert admin.delete(path, headers={"If-Match": '"1"'}).status_code == 200


def test_a_malformed_if_match_is_422(admin):
    unit = create_unit(admin, "TAX")
    response = admin.patch(
        f"/api/v1/units/{unit['id']}", json={"name": "N"}, headers={"If-Match": "yesterday"}
    )
    assert response.status_code == 422
    assert [(e["field"], e["location"]) for e in response.json()["errors"]] == [
        ("If-Match", "header")
    ]


def test_if_match_can_be_required(database_url):
    settings = Settings(database_url=database_url, require_if_match=True)
    app = create_app(settings)
    client: TestClient = client_with(app, bootstrap_key(settings))
    unit = create_unit(client, "TAX")
    path = f"/api/v1/units/{unit['id']}"
    missing = client.patch(path, json={"name": "N"})
    assert missing.status_code == 428
    assert missing.json()["detail"] == "send If-Match with the ETag of your last read"
    assert client.delete(path).status_code == 428
    assert client.get(path).json()["version"] == 1
    assert client.patch(path, json={"name": "N"}, headers={"If-Match": '"1"'}).status_code == 200
    # "*" says "whatever the version": allowed even when If-Match is required.
    assert client.delete(path, headers={"If-Match": "*"}).status_code == 200
    app.state.engine.dispose()


def test_openapi_documents_every_error_status_of_writes(anon):
    spec = anon.get("/openapi.json").json()
    writes = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert len(writes) == 19  # 8 POST, 1 PUT, 4 PATCH, 6 DELETE
    for path, method, operation in writes:
        assert {"401", "403", "413", "422", "503"} <= set(operation["responses"]), (path, method)
        assert operation["responses"]["413"]["content"]["application/problem+json"]
    versioned = [
        (path, method, operation)
        for path, method, operation in writes
        if method in ("patch", "delete")
        and not path.startswith("/api/v1/api-keys")
        # A commitment has no version: PUT replaces it whole, DELETE removes it.
        and "/commitments/" not in path
    ]
    assert len(versioned) == 8
    for path, method, operation in versioned:
        assert {"404", "412", "428"} <= set(operation["responses"]), (path, method)
        header = [p for p in operation["parameters"] if p["name"] == "If-Match"]
        assert header and header[0]["in"] == "header", (path, method)
