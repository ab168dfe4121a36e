"""History: every create, update and archive is recorded; newest first, paged, in scope."""

from tests.builders import create_criterion, create_experiment, create_project, create_unit


def history(client, path: str, **params) -> list[dict]:
    response = client.get(f"/api/v1/{path}/history", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_project_history_is_newest_first_and_shows_stage_changes(admin, make_client):
    unit = create_unit(admin, "TAX")
    office = make_client("manager", name="Portfolio office")
    project = create_project(office, unit["id"], title="Pre-filled returns")
    pid = project["id"]
    assert (
        office.patch(
            f"/api/v1/projects/{pid}", json={"stage": "experiment"}, headers={"If-Match": '"1"'}
        ).status_code
        == 200
    )
    assert (
        admin.patch(
            f"/api/v1/projects/{pid}", json={"stage": "scaling", "title": "Pre-filled returns v2"}
        ).status_code
        == 200
    )
    assert office.delete(f"/api/v1/projects/{pid}").status_code == 200
    entries = history(admin, f"projects/{pid}")
    assert [(e["action"], e["api_key_name"]) for e in entries] == [
        ("archive", "Portfolio office"),
        ("update", "bootstrap"),
        ("update", "Portfolio office"),
        ("create", "Portfolio office"),
    ]
    assert entries[0]["changes"] == {"archived": {"old": False, "new": True}}
    assert entries[1]["changes"] == {
        "stage": {"old": "experiment", "new": "scaling"},
        "title": {"old": "Pre-filled returns", "new": "Pre-filled returns v2"},
    }
    assert entries[2]["changes"] == {"stage": {"old": "idea", "new": "experiment"}}
    assert entries[3]["changes"]["stage"] == {"old": None, "new": "idea"}
    assert entries[3]["changes"]["title"] == {"old": None, "new": "Pre-filled returns"}
    keys = {k["name"]: k["id"] for k in admin.get("/api/v1/api-keys").json()["items"]}
    assert [e["api_key_id"] for e in entries] == [
        keys["Portfolio office"],
        keys["bootstrap"],
        keys["Portfolio office"],
        keys["Portfolio office"],
    ]
    assert all(e["entity_type"] == "project" and e["entity_id"] == pid for e in entries)
    times = [e["changed_at"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert all(t.endswith("Z") or t.endswith("+00:00") for t in times)


def test_history_pages_by_cursor(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    for number in range(4):
        admin.patch(f"/api/v1/projects/{project['id']}", json={"title": f"T{number}"})
    first = admin.get(f"/api/v1/projects/{project['id']}/history", params={"limit": 2}).json()
    assert [e["changes"].get("title", {}).get("new") for e in first["items"]] == ["T3", "T2"]
    second = admin.get(
        f"/api/v1/projects/{project['id']}/history",
        params={"limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert [e["changes"]["title"]["new"] for e in second["items"]] == ["T1", "T0"]
    third = admin.get(
        f"/api/v1/projects/{project['id']}/history",
        params={"limit": 2, "cursor": second["next_cursor"]},
    ).json()
    assert [e["action"] for e in third["items"]] == ["create"]
    assert third["next_cursor"] is None


def test_project_history_includes_its_criteria_and_measurements(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    criterion = create_criterion(admin, "projects", project["id"], metric="Minutes")
    cid = criterion["id"]
    measured = admin.post(
        f"/api/v1/criteria/{cid}/measurements", json={"value": 12, "measured_on": "2026-02-01"}
    )
    assert measured.status_code == 201
    assert admin.patch(f"/api/v1/criteria/{cid}", json={"target": 25}).status_code == 200
    assert admin.delete(f"/api/v1/criteria/{cid}").status_code == 200
    entries = history(admin, f"projects/{project['id']}")
    assert [(e["entity_type"], e["action"]) for e in entries] == [
        ("criterion", "archive"),
        ("criterion", "update"),
        ("measurement", "create"),
        ("criterion", "create"),
        ("project", "create"),
    ]
    assert entries[1]["changes"] == {"target": {"old": 20.0, "new": 25.0}}
    assert entries[2]["entity_id"] == measured.json()["id"]
    assert entries[2]["changes"] == {
        "value": {"old": None, "new": 12.0},
        "measured_on": {"old": None, "new": "2026-02-01"},
    }


def test_experiment_history_records_every_change(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"], title="Pilot")
    eid = experiment["id"]
    criterion = create_criterion(admin, "experiments", eid)
    admin.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 3, "measured_on": "2026-02-01"},
    )
    assert admin.patch(f"/api/v1/experiments/{eid}", json={"status": "running"}).status_code == 200
    assert admin.delete(f"/api/v1/experiments/{eid}").status_code == 200
    entries = history(admin, f"experiments/{eid}")
    assert [(e["entity_type"], e["action"]) for e in entries] == [
        ("experiment", "archive"),
        ("experiment", "update"),
        ("measurement", "create"),
        ("criterion", "create"),
        ("experiment", "create"),
    ]
    assert entries[1]["changes"] == {"status": {"old": "proposed", "new": "running"}}
    # The experiment's changes are not in its project's history.
    assert [e["entity_type"] for e in history(admin, f"projects/{project['id']}")] == ["project"]


def test_a_change_that_changes_nothing_writes_no_entry(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"], title="Same")
    response = admin.patch(f"/api/v1/projects/{project['id']}", json={"title": "Same"})
    assert response.json()["version"] == 1
    assert [e["action"] for e in history(admin, f"projects/{project['id']}")] == ["create"]


def test_unit_history(admin, viewer):
    unit = create_unit(admin, "TAX", name="Tax")
    uid = unit["id"]
    assert (
        admin.patch(
            f"/api/v1/units/{uid}", json={"name": "Tax office"}, headers={"If-Match": '"1"'}
        ).status_code
        == 200
    )
    assert admin.delete(f"/api/v1/units/{uid}").status_code == 200
    other = create_unit(admin, "HR")
    entries = history(viewer, f"units/{uid}")
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("archive", uid),
        ("update", uid),
        ("create", uid),
    ]
    assert entries[1]["changes"] == {"name": {"old": "Tax", "new": "Tax office"}}
    assert entries[2]["changes"] == {
        "code": {"old": None, "new": "TAX"},
        "name": {"old": None, "new": "Tax"},
        "kind": {"old": None, "new": "business_line"},
    }
    assert [e["action"] for e in history(admin, f"units/{other['id']}")] == ["create"]
    assert admin.get("/api/v1/units/999/history").status_code == 404


def test_history_follows_the_scope_of_the_object(admin, make_client):
    tax = create_unit(admin, "TAX")
    hr = create_unit(admin, "HR")
    own = create_project(admin, tax["id"])
    foreign = create_project(admin, hr["id"])
    foreign_experiment = create_experiment(admin, foreign["id"])
    submitter = make_client("submitter", unit_id=tax["id"])
    assert [e["action"] for e in history(submitter, f"projects/{own['id']}")] == ["create"]
    assert [e["action"] for e in history(submitter, f"units/{tax['id']}")] == ["create"]
    for path in (
        f"projects/{foreign['id']}",
        f"experiments/{foreign_experiment['id']}",
        f"units/{hr['id']}",
        "projects/999",
    ):
        response = submitter.get(f"/api/v1/{path}/history")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_history_needs_a_key(anon, admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    assert anon.get(f"/api/v1/projects/{project['id']}/history").status_code == 401
