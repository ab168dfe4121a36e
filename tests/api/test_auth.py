"""Authentication and each role's permissions, including a submitter's unit scope."""

import pytest

from tests.builders import (
    client_with,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    item_ids,
    problem_fields,
)

PROJECT = {"title": "P", "sponsor_level": "individual", "work_mode": "side_of_desk"}


def is_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    return True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/projects"),
        ("post", "/api/v1/projects"),
        ("get", "/api/v1/units"),
        ("get", "/api/v1/experiments/1"),
        ("patch", "/api/v1/criteria/1"),
        ("get", "/api/v1/api-keys"),
    ],
)
def test_no_key_or_a_wrong_key_is_401(anon, app, method, path):
    response = getattr(anon, method)(path)
    assert is_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert is_problem(getattr(client_with(app, "pf_not-a-key"), method)(path), 401)
    basic = anon.request(method, path, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert is_problem(basic, 401)


def test_health_probes_need_no_key(anon):
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/readyz").status_code == 200


@pytest.fixture
def world(admin):
    """A unit with a project, an experiment and a criterion on each."""
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    experiment = create_experiment(admin, project["id"])
    criterion = create_criterion(admin, "projects", project["id"])
    return {"unit": unit, "project": project, "experiment": experiment, "criterion": criterion}


def test_viewer_reads_everything_and_writes_nothing(viewer, admin, world):
    pid, eid, cid = world["project"]["id"], world["experiment"]["id"], world["criterion"]["id"]
    for path in (
        "/api/v1/units",
        "/api/v1/projects",
        f"/api/v1/projects/{pid}",
        f"/api/v1/projects/{pid}/history",
        f"/api/v1/projects/{pid}/criteria",
        "/api/v1/experiments",
        f"/api/v1/experiments/{eid}",
        f"/api/v1/criteria/{cid}",
        f"/api/v1/criteria/{cid}/measurements",
    ):
        assert viewer.get(path).status_code == 200, path
    writes = [
        viewer.post("/api/v1/projects", json={**PROJECT, "unit_id": world["unit"]["id"]}),
        viewer.patch(f"/api/v1/projects/{pid}", json={"title": "Mine"}),
        viewer.delete(f"/api/v1/projects/{pid}"),
        viewer.post(
            "/api/v1/experiments",
            json={"project_id": pid, "title": "E", "hypothesis": "H", "method": "rct"},
        ),
        viewer.patch(f"/api/v1/experiments/{eid}", json={"title": "Mine"}),
        viewer.delete(f"/api/v1/experiments/{eid}"),
        viewer.post(
            f"/api/v1/projects/{pid}/criteria",
            json={
                "metric": "m",
                "kind": "output",
                "baseline": 0,
                "target": 1,
                "direction": "increase",
            },
        ),
        viewer.patch(f"/api/v1/criteria/{cid}", json={"metric": "Mine"}),
        viewer.delete(f"/api/v1/criteria/{cid}"),
        viewer.post(
            f"/api/v1/criteria/{cid}/measurements", json={"value": 1, "measured_on": "2026-01-01"}
        ),
        viewer.post("/api/v1/units", json={"code": "V", "name": "V", "kind": "corporate"}),
        viewer.patch(f"/api/v1/units/{world['unit']['id']}", json={"name": "Mine"}),
        viewer.delete(f"/api/v1/units/{world['unit']['id']}"),
    ]
    assert all(is_problem(r, 403) for r in writes)
    assert admin.get(f"/api/v1/projects/{pid}").json()["version"] == 1
    assert admin.get(f"/api/v1/criteria/{cid}/measurements").json()["items"] == []


def test_manager_writes_projects_but_not_units(manager, admin, world):
    uid, pid = world["unit"]["id"], world["project"]["id"]
    project = manager.post("/api/v1/projects", json={**PROJECT, "unit_id": uid})
    assert project.status_code == 201
    assert manager.patch(f"/api/v1/projects/{pid}", json={"stage": "scaling"}).status_code == 200
    experiment = create_experiment(manager, pid)
    criterion = create_criterion(manager, "experiments", experiment["id"])
    measured = manager.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 30, "measured_on": "2026-01-01"},
    )
    assert measured.status_code == 201
    assert manager.delete(f"/api/v1/projects/{project.json()['id']}").status_code == 200
    assert manager.get("/api/v1/units").status_code == 200
    assert is_problem(
        manager.post("/api/v1/units", json={"code": "M", "name": "M", "kind": "corporate"}), 403
    )
    assert is_problem(manager.patch(f"/api/v1/units/{uid}", json={"name": "Mine"}), 403)
    assert is_problem(manager.delete(f"/api/v1/units/{uid}"), 403)
    assert admin.get(f"/api/v1/units/{uid}").json()["version"] == 1


def test_admin_does_everything(admin, world):
    uid = world["unit"]["id"]
    assert admin.patch(f"/api/v1/units/{uid}", json={"name": "Tax"}).status_code == 200
    assert admin.delete(f"/api/v1/projects/{world['project']['id']}").status_code == 200
    assert admin.delete(f"/api/v1/units/{uid}").status_code == 200


@pytest.fixture
def org(admin):
    """HQ > TAX > TAX-NORTH, OPS elsewhere; one project (with experiment and criterion) each."""
    hq = create_unit(admin, "HQ", kind="corporate")
    tax = create_unit(admin, "TAX", parent_id=hq["id"])
    north = create_unit(admin, "TAX-NORTH", parent_id=tax["id"])
    ops = create_unit(admin, "OPS")
    units = {"hq": hq["id"], "tax": tax["id"], "north": north["id"], "ops": ops["id"]}
    projects = {k: create_project(admin, u, title=f"{k} project")["id"] for k, u in units.items()}
    experiments = {k: create_experiment(admin, p)["id"] for k, p in projects.items()}
    criteria = {k: create_criterion(admin, "projects", p)["id"] for k, p in projects.items()}
    return {"units": units, "projects": projects, "experiments": experiments, "criteria": criteria}


@pytest.fixture
def submitter(make_client, org):
    """Bound to TAX: sees TAX and TAX-NORTH, not HQ above it nor OPS beside it."""
    return make_client("submitter", unit_id=org["units"]["tax"], name="Tax intake")


def test_submitter_lists_only_its_unit_and_descendants(submitter, org):
    p, e, u = org["projects"], org["experiments"], org["units"]
    assert item_ids(submitter.get("/api/v1/projects")) == [p["tax"], p["north"]]
    assert item_ids(submitter.get("/api/v1/experiments")) == [e["tax"], e["north"]]
    assert item_ids(submitter.get("/api/v1/units")) == [u["tax"], u["north"]]
    assert item_ids(submitter.get("/api/v1/projects", params={"unit_id": u["hq"]})) == [
        p["tax"],
        p["north"],
    ]
    assert item_ids(submitter.get("/api/v1/projects", params={"unit_id": u["ops"]})) == []
    assert (
        item_ids(
            submitter.get(
                "/api/v1/projects", params={"unit_id": u["ops"], "include_archived": True}
            )
        )
        == []
    )
    for key in ("tax", "north"):
        assert submitter.get(f"/api/v1/projects/{p[key]}").status_code == 200
        assert submitter.get(f"/api/v1/experiments/{e[key]}").status_code == 200
        assert submitter.get(f"/api/v1/criteria/{org['criteria'][key]}").status_code == 200


@pytest.mark.parametrize("outside", ["hq", "ops"])
def test_submitter_gets_404_for_everything_outside_its_scope(submitter, admin, org, outside):
    pid = org["projects"][outside]
    eid = org["experiments"][outside]
    cid = org["criteria"][outside]
    criterion = {
        "metric": "m",
        "kind": "output",
        "baseline": 0,
        "target": 1,
        "direction": "increase",
    }
    attempts = {
        "get project": submitter.get(f"/api/v1/projects/{pid}"),
        "patch project": submitter.patch(f"/api/v1/projects/{pid}", json={"title": "Mine"}),
        "archive project": submitter.delete(f"/api/v1/projects/{pid}"),
        "project history": submitter.get(f"/api/v1/projects/{pid}/history"),
        "project criteria": submitter.get(f"/api/v1/projects/{pid}/criteria"),
        "add project criterion": submitter.post(f"/api/v1/projects/{pid}/criteria", json=criterion),
        "get experiment": submitter.get(f"/api/v1/experiments/{eid}"),
        "patch experiment": submitter.patch(f"/api/v1/experiments/{eid}", json={"title": "Mine"}),
        "archive experiment": submitter.delete(f"/api/v1/experiments/{eid}"),
        "experiment history": submitter.get(f"/api/v1/experiments/{eid}/history"),
        "experiment criteria": submitter.get(f"/api/v1/experiments/{eid}/criteria"),
        "add experiment criterion": submitter.post(
            f"/api/v1/experiments/{eid}/criteria", json=criterion
        ),
        "get criterion": submitter.get(f"/api/v1/criteria/{cid}"),
        "patch criterion": submitter.patch(f"/api/v1/criteria/{cid}", json={"metric": "Mine"}),
        "archive criterion": submitter.delete(f"/api/v1/criteria/{cid}"),
        "measurements": submitter.get(f"/api/v1/criteria/{cid}/measurements"),
        "add measurement": submitter.post(
            f"/api/v1/criteria/{cid}/measurements", json={"value": 1, "measured_on": "2026-01-01"}
        ),
        "get unit": submitter.get(f"/api/v1/units/{org['units'][outside]}"),
    }
    assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 404)
    # Indistinguishable from an id that does not exist.
    missing = submitter.get("/api/v1/projects/999999").json()
    hidden = attempts["get project"].json()
    assert hidden["detail"] == missing["detail"].replace("999999", str(pid))
    assert hidden["title"] == missing["title"]
    # Nothing changed.
    for kind, ident in (("projects", pid), ("experiments", eid), ("criteria", cid)):
        assert admin.get(f"/api/v1/{kind}/{ident}").json()["version"] == 1
    assert admin.get(f"/api/v1/criteria/{cid}/measurements").json()["items"] == []


def test_submitter_writes_within_its_subtree(submitter, org):
    created = submitter.post("/api/v1/projects", json={**PROJECT, "unit_id": org["units"]["north"]})
    assert created.status_code == 201
    pid = org["projects"]["tax"]
    assert submitter.patch(f"/api/v1/projects/{pid}", json={"stage": "scaling"}).status_code == 200
    experiment = create_experiment(submitter, created.json()["id"])
    assert experiment["unit_id"] == org["units"]["north"]
    criterion = create_criterion(submitter, "experiments", experiment["id"])
    measured = submitter.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 25, "measured_on": "2026-01-01"},
    )
    assert measured.status_code == 201
    assert submitter.delete(f"/api/v1/experiments/{experiment['id']}").status_code == 200
    # Units stay an admin's business.
    assert is_problem(
        submitter.post("/api/v1/units", json={"code": "S", "name": "S", "kind": "corporate"}),
        403,
    )


@pytest.mark.parametrize("outside", ["hq", "ops"])
def test_submitter_cannot_create_a_project_outside_its_subtree(submitter, admin, org, outside):
    response = submitter.post(
        "/api/v1/projects", json={**PROJECT, "unit_id": org["units"][outside]}
    )
    assert is_problem(response, 403)
    # The same answer for a unit that does not exist: nothing is learned about other units.
    assert is_problem(submitter.post("/api/v1/projects", json={**PROJECT, "unit_id": 999}), 403)
    assert len(admin.get("/api/v1/projects").json()["items"]) == 4


@pytest.mark.parametrize("outside", ["hq", "ops"])
def test_submitter_cannot_move_its_project_out_of_scope(submitter, admin, org, outside):
    pid = org["projects"]["north"]
    response = submitter.patch(f"/api/v1/projects/{pid}", json={"unit_id": org["units"][outside]})
    assert is_problem(response, 403)
    unchanged = admin.get(f"/api/v1/projects/{pid}").json()
    assert (unchanged["unit_id"], unchanged["version"]) == (org["units"]["north"], 1)
    experiment = admin.get(f"/api/v1/experiments/{org['experiments']['north']}").json()
    assert experiment["unit_id"] == org["units"]["north"]
    # Moving within the subtree is fine.
    inside = submitter.patch(f"/api/v1/projects/{pid}", json={"unit_id": org["units"]["tax"]})
    assert (inside.status_code, inside.json()["unit_id"]) == (200, org["units"]["tax"])


@pytest.mark.parametrize("outside", ["hq", "ops"])
def test_submitter_cannot_attach_experiments_to_projects_it_cannot_see(submitter, org, outside):
    """An out-of-scope project answers like a missing one: 422 on project_id, nothing leaked."""
    body = {"title": "E", "hypothesis": "H", "method": "pilot"}
    hidden = submitter.post(
        "/api/v1/experiments", json={**body, "project_id": org["projects"][outside]}
    )
    missing = submitter.post("/api/v1/experiments", json={**body, "project_id": 999})
    assert (hidden.status_code, problem_fields(hidden)) == (422, ["project_id"])
    assert (missing.status_code, problem_fields(missing)) == (422, ["project_id"])
    own = org["experiments"]["tax"]
    moved = submitter.patch(
        f"/api/v1/experiments/{own}", json={"project_id": org["projects"][outside]}
    )
    assert (moved.status_code, problem_fields(moved)) == (422, ["project_id"])
