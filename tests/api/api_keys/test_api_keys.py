"""API keys: admin only, shown once, stored as a hash, submitters bound to a unit."""

import pytest

from tests.builders import client_with, create_unit, problem_fields


def test_a_new_key_is_shown_once_and_works(admin, app):
    response = admin.post("/api/v1/api-keys", json={"name": "Dashboard", "role": "viewer"})
    assert response.status_code == 201
    created = response.json()
    secret = created["key"]
    assert secret.startswith("pf_") and len(secret) > 40
    assert created["prefix"] == secret[:10]
    assert (created["name"], created["role"], created["unit_id"], created["revoked_at"]) == (
        "Dashboard",
        "viewer",
        None,
        None,
    )
    assert client_with(app, secret).get("/api/v1/projects").status_code == 200

    listing = admin.get("/api/v1/api-keys")
    assert listing.status_code == 200
    assert secret not in listing.text
    listed = {k["id"]: k for k in listing.json()["items"]}
    assert set(listed[created["id"]]) == {
        "id",
        "name",
        "role",
        "unit_id",
        "prefix",
        "created_at",
        "revoked_at",
    }
    assert [k["name"] for k in listing.json()["items"]] == ["bootstrap", "Dashboard"]


def test_submitter_keys_need_an_existing_unit(admin):
    unit = create_unit(admin, "TAX")
    missing = admin.post("/api/v1/api-keys", json={"name": "Intake", "role": "submitter"})
    assert missing.status_code == 422
    assert problem_fields(missing) == ["unit_id"]
    unknown = admin.post(
        "/api/v1/api-keys", json={"name": "Intake", "role": "submitter", "unit_id": 999}
    )
    assert (unknown.status_code, problem_fields(unknown)) == (422, ["unit_id"])
    bound = admin.post(
        "/api/v1/api-keys", json={"name": "Intake", "role": "submitter", "unit_id": unit["id"]}
    )
    assert (bound.status_code, bound.json()["unit_id"]) == (201, unit["id"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "M", "role": "manager", "unit_id": 1}, "unit_id"),  # only submitters
        ({"name": "X", "role": "superuser"}, "role"),
        ({"name": "", "role": "viewer"}, "name"),
        ({"name": "N" * 101, "role": "viewer"}, "name"),
        ({"role": "viewer"}, "name"),
        ({"name": "X", "role": "viewer", "key": "pf_mine"}, "key"),
        ({"name": "X", "role": "viewer", "key_hash": "00"}, "key_hash"),
        ({"name": "X", "role": "viewer", "id": 1}, "id"),
    ],
)
def test_bad_key_requests_name_the_field(admin, payload, field):
    create_unit(admin, "TAX")
    response = admin.post("/api/v1/api-keys", json=payload)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert len(admin.get("/api/v1/api-keys").json()["items"]) == 1


def test_revoked_keys_stop_at_once(admin, app):
    created = admin.post("/api/v1/api-keys", json={"name": "Temp", "role": "manager"}).json()
    temp = client_with(app, created["key"])
    assert temp.get("/api/v1/projects").status_code == 200
    revoked = admin.delete(f"/api/v1/api-keys/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = temp.get("/api/v1/projects")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert admin.delete("/api/v1/api-keys/999").status_code == 404


@pytest.mark.parametrize("role", ["manager", "viewer", "submitter"])
def test_only_admins_manage_keys(admin, make_client, role):
    unit = create_unit(admin, "TAX")
    client = make_client(role, unit_id=unit["id"] if role == "submitter" else None)
    attempts = [
        client.post("/api/v1/api-keys", json={"name": "Mine", "role": "admin"}),
        client.get("/api/v1/api-keys"),
        client.delete("/api/v1/api-keys/1"),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert attempts[0].headers["content-type"].startswith("application/problem+json")
    assert len(admin.get("/api/v1/api-keys").json()["items"]) == 2
    assert admin.get("/api/v1/api-keys").json()["items"][0]["revoked_at"] is None
