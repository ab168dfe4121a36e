"""Idempotency-Key on every POST that creates: replay, mismatch, in flight, release, expiry."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, text
from sqlmodel import Session

from app.api.idempotency import service as idempotency_service
from app.core.db import utcnow
from tests.builders import count, create_criterion, create_experiment, create_project, create_unit

KEY = {"Idempotency-Key": "submission-0001"}


def bootstrap_key_id(admin) -> int:
    keys = admin.get("/api/v1/api-keys").json()["items"]
    return next(k["id"] for k in keys if k["name"] == "bootstrap")


def test_same_key_and_body_replays_the_first_response(admin, database_url):
    unit = create_unit(admin, "TAX")
    body = {
        "title": "Pre-filled returns",
        "unit_id": unit["id"],
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
    }
    first = admin.post("/api/v1/projects", json=body, headers=KEY)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    # Same JSON with other key order and spacing is the same body.
    again = admin.post(
        "/api/v1/projects",
        content=json.dumps(dict(reversed(list(body.items()))), indent=2),
        headers={**KEY, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert again.headers["content-type"] == "application/json"
    assert count(database_url, "projects") == 1
    history = admin.get(f"/api/v1/projects/{first.json()['id']}/history").json()["items"]
    assert [entry["action"] for entry in history] == ["create"]


def test_same_key_with_another_body_is_422_naming_the_header(admin, database_url):
    assert (
        admin.post(
            "/api/v1/units", json={"code": "A", "name": "A", "kind": "business_line"}, headers=KEY
        ).status_code
        == 201
    )
    response = admin.post(
        "/api/v1/units", json={"code": "B", "name": "B", "kind": "business_line"}, headers=KEY
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "location": "header",
            "message": "already used for a different request (method, path or body); "
            "use a new key for a new request",
            "type": "idempotency_key_reused",
        }
    ]
    assert count(database_url, "units") == 1


def test_same_key_on_another_path_is_422(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    criterion = {
        "metric": "Minutes",
        "kind": "outcome",
        "baseline": 1,
        "target": 2,
        "direction": "increase",
    }
    experiment = create_experiment(admin, project["id"])
    assert (
        admin.post(
            f"/api/v1/projects/{project['id']}/criteria", json=criterion, headers=KEY
        ).status_code
        == 201
    )
    other = admin.post(
        f"/api/v1/experiments/{experiment['id']}/criteria", json=criterion, headers=KEY
    )
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]


def test_keys_belong_to_one_api_key(admin, make_client, database_url):
    unit = create_unit(admin, "TAX")
    body = {
        "title": "P",
        "unit_id": unit["id"],
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
    }
    manager_a, manager_b = make_client("manager", name="a"), make_client("manager", name="b")
    first = manager_a.post("/api/v1/projects", json=body, headers=KEY)
    second = manager_b.post("/api/v1/projects", json=body, headers=KEY)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers
    assert count(database_url, "projects") == 2


def test_every_creating_post_replays(admin, database_url):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"])
    criterion = create_criterion(admin, "projects", project["id"])
    criterion_body = {
        "metric": "M",
        "kind": "outcome",
        "baseline": 1,
        "target": 2,
        "direction": "increase",
    }
    posts = [
        ("/api/v1/units", {"code": "HR", "name": "HR", "kind": "business_line"}, "units"),
        (
            "/api/v1/projects",
            {
                "title": "P",
                "unit_id": unit["id"],
                "sponsor_level": "individual",
                "work_mode": "dedicated",
            },
            "projects",
        ),
        (
            "/api/v1/experiments",
            {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"},
            "experiments",
        ),
        (f"/api/v1/projects/{project['id']}/criteria", criterion_body, "criteria"),
        (f"/api/v1/experiments/{experiment['id']}/criteria", criterion_body, "criteria"),
        (
            f"/api/v1/criteria/{criterion['id']}/measurements",
            {"value": 3, "measured_on": "2026-01-05"},
            "measurements",
        ),
    ]
    for number, (path, body, table) in enumerate(posts):
        headers = {"Idempotency-Key": f"key-{number}"}
        first = admin.post(path, json=body, headers=headers)
        assert first.status_code == 201, (path, first.text)
        before = count(database_url, table)
        again = admin.post(path, json=body, headers=headers)
        assert again.status_code == 201, path
        assert again.headers["Idempotent-Replayed"] == "true", path
        assert again.json() == first.json(), path
        assert count(database_url, table) == before, path


def test_a_replayed_api_key_creation_names_the_key_but_never_stores_its_secret(admin, database_url):
    body = {"name": "intake", "role": "viewer"}
    first = admin.post("/api/v1/api-keys", json=body, headers=KEY)
    assert first.status_code == 201
    created = first.json()
    again = admin.post("/api/v1/api-keys", json=body, headers=KEY)
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json() == {
        "type": "/problems/secret-not-stored",
        "title": "Already created; its secret was shown only once",
        "status": 409,
        "detail": f"API key {created['id']} was created by the first request with this "
        f"Idempotency-Key. Its secret is not stored; if the first response was lost, revoke "
        f"key {created['id']} and create another.",
        "instance": "/api/v1/api-keys",
        "created_id": created["id"],
    }
    assert len(admin.get("/api/v1/api-keys").json()["items"]) == 2
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = " ".join(
            str(row) for row in connection.execute(text("SELECT * FROM idempotency_keys"))
        )
    engine.dispose()
    assert created["key"] not in stored


def test_4xx_answers_are_stored_and_replayed(admin, database_url):
    body = {
        "title": "P",
        "unit_id": 999,
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
    }
    first = admin.post("/api/v1/projects", json=body, headers=KEY)
    assert first.status_code == 422
    assert [e["field"] for e in first.json()["errors"]] == ["unit_id"]
    # The unit now exists, but the key names that first attempt and its outcome.
    create_unit(admin, "TAX")
    again = admin.post("/api/v1/projects", json=body, headers=KEY)
    assert again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-type"] == "application/problem+json"
    assert count(database_url, "projects") == 0


def test_401_and_403_do_not_use_the_key(admin, viewer, anon, database_url):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    assert anon.post("/api/v1/units", json=body, headers=KEY).status_code == 401
    assert viewer.post("/api/v1/units", json=body, headers=KEY).status_code == 403
    assert count(database_url, "idempotency_keys") == 0
    assert admin.post("/api/v1/units", json=body, headers=KEY).status_code == 201


def test_a_request_in_flight_gets_409_until_it_is_released(admin, settings, app):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    path = "/api/v1/units"
    admin_key_id = bootstrap_key_id(admin)
    engine = app.state.engine
    # Another process is working on this key right now: it holds the claim.
    with Session(engine) as session:
        claim = idempotency_service.claim(
            session=session,
            api_key_id=admin_key_id,
            key=KEY["Idempotency-Key"],
            method="POST",
            path=path,
            request_hash=idempotency_service.fingerprint(
                method="POST", path=path, body=json.dumps(body).encode()
            ),
            retention=timedelta(hours=24),
            lock_timeout=timedelta(seconds=120),
        )
    assert isinstance(claim, idempotency_service.Claim)
    response = admin.post(path, json=body, headers=KEY)
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert response.json()["detail"] == (
        "a request with this Idempotency-Key is still being processed; retry after it finishes"
    )
    # A different body is still a 422, in flight or not.
    other = admin.post(path, json={**body, "code": "B"}, headers=KEY)
    assert other.status_code == 422
    with Session(engine) as session:
        idempotency_service.release(session=session, claim=claim)
    assert admin.post(path, json=body, headers=KEY).status_code == 201


def test_a_claim_abandoned_by_a_dead_process_is_taken_over_after_the_lock_timeout(
    admin, app, database_url
):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    with Session(app.state.engine) as session:
        idempotency_service.claim(
            session=session,
            api_key_id=bootstrap_key_id(admin),
            key="k",
            method="POST",
            path="/api/v1/units",
            request_hash=idempotency_service.fingerprint(
                method="POST", path="/api/v1/units", body=json.dumps(body).encode()
            ),
            retention=timedelta(hours=24),
            lock_timeout=timedelta(seconds=120),
        )
    assert (
        admin.post("/api/v1/units", json=body, headers={"Idempotency-Key": "k"}).status_code == 409
    )
    set_created_at(database_url, utcnow() - timedelta(seconds=121))
    response = admin.post("/api/v1/units", json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def set_created_at(database_url: str, when) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE idempotency_keys SET created_at = :when"),
            {"when": when.replace(tzinfo=None) if database_url.startswith("sqlite") else when},
        )
    engine.dispose()


def test_a_failed_request_releases_its_key_for_a_retry(admin, database_url, monkeypatch):
    from app.units import service as unit_service

    real_create = unit_service.create
    calls = []

    def crash_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return real_create(**kwargs)

    monkeypatch.setattr(unit_service, "create", crash_once)
    body = {"code": "A", "name": "A", "kind": "business_line"}
    failed = admin.post("/api/v1/units", json=body, headers=KEY)
    assert failed.status_code == 500
    assert count(database_url, "idempotency_keys") == 0
    retried = admin.post("/api/v1/units", json=body, headers=KEY)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert count(database_url, "units") == 1


def test_expired_keys_are_forgotten(admin, database_url):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    first = admin.post("/api/v1/units", json=body, headers=KEY)
    assert first.status_code == 201
    set_created_at(database_url, utcnow() - timedelta(hours=24, minutes=1))
    # Past retention the key is free again, even for another body.
    other = admin.post("/api/v1/units", json={**body, "code": "B"}, headers=KEY)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


def test_expired_keys_are_purged(admin, app, database_url, monkeypatch):
    for number in range(3):
        admin.post(
            "/api/v1/units",
            json={"code": f"U{number}", "name": "U", "kind": "business_line"},
            headers={"Idempotency-Key": f"k{number}"},
        )
    set_created_at(database_url, utcnow() - timedelta(hours=25))
    monkeypatch.setattr(idempotency_service, "_last_purge", 0.0)
    admin.post(
        "/api/v1/units",
        json={"code": "N", "name": "N", "kind": "business_line"},
        headers={"Idempotency-Key": "fresh"},
    )
    assert count(database_url, "idempotency_keys") == 1


def test_a_young_key_is_kept(admin, database_url, monkeypatch):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    admin.post("/api/v1/units", json=body, headers=KEY)
    set_created_at(database_url, utcnow() - timedelta(hours=23, minutes=59))
    monkeypatch.setattr(idempotency_service, "_last_purge", 0.0)
    again = admin.post("/api/v1/units", json=body, headers=KEY)
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_key_length_is_1_to_255(admin, key):
    response = admin.post(
        "/api/v1/units",
        json={"code": "A", "name": "A", "kind": "business_line"},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]


def test_a_255_character_key_works(admin):
    headers = {"Idempotency-Key": "x" * 255}
    body = {"code": "A", "name": "A", "kind": "business_line"}
    assert admin.post("/api/v1/units", json=body, headers=headers).status_code == 201
    assert (
        admin.post("/api/v1/units", json=body, headers=headers).headers["Idempotent-Replayed"]
        == "true"
    )


def test_without_a_key_every_post_creates(admin, database_url):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    assert admin.post("/api/v1/units", json=body).status_code == 201
    assert admin.post("/api/v1/units", json={**body, "code": "B"}).status_code == 201
    assert count(database_url, "idempotency_keys") == 0


def test_openapi_documents_the_header_on_every_creating_post(anon):
    spec = anon.get("/openapi.json").json()
    creating = [
        ("/api/v1/units", "post"),
        ("/api/v1/projects", "post"),
        ("/api/v1/experiments", "post"),
        ("/api/v1/projects/{project_id}/criteria", "post"),
        ("/api/v1/experiments/{experiment_id}/criteria", "post"),
        ("/api/v1/criteria/{criterion_id}/measurements", "post"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/experiments/batch", "post"),
    ]
    for path, method in creating:
        operation = spec["paths"][path][method]
        header = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert len(header) == 1, path
        assert header[0]["in"] == "header"
        assert header[0]["schema"]["anyOf"][0]["maxLength"] == 255
        assert "same key" in header[0]["description"]
        assert {"201", "409", "422"} <= set(operation["responses"]), path
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


def test_a_crash_after_the_work_was_saved_keeps_the_key_so_nothing_is_saved_twice(
    admin, database_url, monkeypatch
):
    from app.api import objects

    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    real_set_etag = objects.set_etag
    calls = []

    # The service has committed and returned the experiment; the answer is not built yet.
    def crash_once(response, version, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("response building failed after the commit")
        return real_set_etag(response, version, **kwargs)

    monkeypatch.setattr(objects, "set_etag", crash_once)
    body = {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"}
    failed = admin.post("/api/v1/experiments", json=body, headers=KEY)
    assert failed.status_code == 500
    assert count(database_url, "experiments") == 1
    # The 500 is not the outcome (the experiment is saved), so it is not replayed: the key
    # stays claimed, in flight until the lock timeout, then a 409 that says what happened.
    retried = admin.post("/api/v1/experiments", json=body, headers=KEY)
    assert retried.status_code == 409
    assert "still being processed" in retried.json()["detail"]
    assert retried.headers["Retry-After"] == "1"
    assert "Idempotent-Replayed" not in retried.headers
    set_created_at(database_url, utcnow() - timedelta(minutes=3))  # lock timeout: 120 s
    lost = admin.post("/api/v1/experiments", json=body, headers=KEY)
    assert lost.status_code == 409
    assert lost.json()["detail"].startswith(
        "the first request with this Idempotency-Key was saved, but"
    )
    assert "Idempotent-Replayed" not in lost.headers
    assert count(database_url, "experiments") == 1


def test_a_dead_process_that_saved_its_work_never_frees_the_key(admin, app, database_url):
    body = {"code": "A", "name": "A", "kind": "business_line"}
    path = "/api/v1/units"
    with Session(app.state.engine) as session:
        claim = idempotency_service.claim(
            session=session,
            api_key_id=bootstrap_key_id(admin),
            key="k",
            method="POST",
            path=path,
            request_hash=idempotency_service.fingerprint(
                method="POST", path=path, body=json.dumps(body).encode()
            ),
            retention=timedelta(hours=24),
            lock_timeout=timedelta(seconds=120),
        )
        assert isinstance(claim, idempotency_service.Claim)
        # Its work committed, then the process died before storing the response.
        idempotency_service.mark_work_committed(session=session, claim=claim)
        session.commit()
    set_created_at(database_url, utcnow() - timedelta(seconds=121))
    response = admin.post(path, json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "the first request with this Idempotency-Key was saved, but its response was not "
        "stored (its process stopped, or failed after saving); find the object (e.g. by "
        "`updated_since`) instead of retrying"
    )
    assert "Retry-After" not in response.headers
    assert count(database_url, "units") == 0


def test_a_commit_that_fails_frees_the_key_instead_of_storing_its_503(
    app, admin, database_url, monkeypatch
):
    """The work's COMMIT fails (as when the connection dies during it): nothing was saved,
    so the answer is a 503 that is not stored, and a retry with the key runs again."""
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    engine = app.state.engine
    dialect = engine.dialect
    real_do_commit = dialect.do_commit
    armed = []

    def arm(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO EXPERIMENTS"):
            armed.append(True)

    def failing_commit(dbapi_connection):
        if armed:
            armed.clear()
            dbapi_connection.rollback()  # the server never got the COMMIT: nothing saved
            raise dialect.loaded_dbapi.OperationalError("server closed the connection")
        real_do_commit(dbapi_connection)

    body = {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"}
    event.listen(engine, "before_cursor_execute", arm)
    monkeypatch.setattr(dialect, "do_commit", failing_commit)
    try:
        failed = admin.post("/api/v1/experiments", json=body, headers=KEY)
    finally:
        event.remove(engine, "before_cursor_execute", arm)
    monkeypatch.setattr(dialect, "do_commit", real_do_commit)
    assert failed.status_code == 503, failed.text
    assert count(database_url, "experiments") == 0
    assert count(database_url, "idempotency_keys") == 0
    retried = admin.post("/api/v1/experiments", json=body, headers=KEY)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert count(database_url, "experiments") == 1
