"""Every API route x every kind of caller gets exactly the status in RULES.

The routes come from the app's route table, so a new route without a rule fails
`test_every_route_has_exactly_one_rule` (and its own cell) until someone decides who may
call it. Each cell acts on objects created for it alone, so cells never see each other's
writes: the object under test lives in unit IN; "submitter in scope" is bound to IN,
"submitter out of scope" to OUT, a sibling unit.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from app.main import API_PREFIX
from app.main import app as default_app
from app.register.router import PUBLIC_PREFIX
from tests.builders import (
    client_with,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
)

CALLERS = (
    "none",
    "bad key",
    "revoked key",
    "viewer",
    "submitter in scope",
    "submitter out of scope",
    "manager",
    "admin",
)


def api_routes() -> list[tuple[str, str]]:
    routes = set()
    for route in iter_route_contexts(default_app.routes):
        path = route.path or ""
        if path.startswith((API_PREFIX + "/", PUBLIC_PREFIX + "/")):
            routes.update((method, path) for method in route.methods or () if method != "HEAD")
    return sorted(routes, key=lambda r: (r[1], r[0]))


@dataclass
class World:
    admin: Any
    unit_in: int
    counter: itertools.count  # unique codes and titles per cell

    def next(self) -> int:
        return next(self.counter)


@dataclass
class Call:
    """What a cell sends: path parameters, query and JSON body."""

    params: dict[str, int]
    body: Any = None
    query: dict[str, Any] | None = None


def project(w: World) -> dict[str, Any]:
    return create_project(w.admin, w.unit_in, title=f"P{w.next()}")


def experiment(w: World) -> dict[str, Any]:
    return create_experiment(w.admin, project(w)["id"], title=f"E{w.next()}")


def criterion(w: World) -> dict[str, Any]:
    return create_criterion(w.admin, "projects", project(w)["id"])


def experiment_body(project_id: int, n: int) -> dict[str, Any]:
    return {"project_id": project_id, "title": f"E{n}", "hypothesis": "It helps", "method": "pilot"}


CRITERION_BODY = {
    "metric": "Minutes",
    "kind": "outcome",
    "baseline": 10,
    "target": 20,
    "direction": "increase",
}


def expect(viewer: int, sub_in: int, sub_out: int, manager: int, admin: int) -> dict[str, int]:
    return {
        "none": 401,
        "bad key": 401,
        "revoked key": 401,
        "viewer": viewer,
        "submitter in scope": sub_in,
        "submitter out of scope": sub_out,
        "manager": manager,
        "admin": admin,
    }


LIST = expect(200, 200, 200, 200, 200)  # a list: out-of-scope rows are filtered, not refused
READ_ONE = expect(200, 200, 404, 200, 200)  # outside the submitter's unit: as if missing
UPDATE = expect(403, 200, 404, 200, 200)
CREATE_UNDER = expect(403, 201, 404, 201, 201)  # POST under an object in the path
ADMIN_ONLY = expect(403, 403, 403, 403, 200)
ADMIN_CREATES = expect(403, 403, 403, 403, 201)
# The open register needs no key; switched off (the default, as here) it is 404 for all.
# tests/api/register/test_register.py has every caller get 200 once it is on.
REGISTER_OFF = {caller: 404 for caller in CALLERS}


@dataclass
class Rule:
    expected: dict[str, int]
    call: Callable[[World], Call]


def commitment(w: World) -> int:
    """A unit under IN with a 2026 commitment; its id."""
    unit = create_unit(w.admin, f"K{w.next()}", parent_id=w.unit_in)
    response = w.admin.put(
        f"/api/v1/units/{unit['id']}/commitments/2026",
        json={"program_funds": 1000, "target_share": 0.1},
    )
    assert response.status_code == 201, response.text
    return int(unit["id"])


def unit_in(w: World) -> Call:
    return Call({"unit_id": w.unit_in})


RULES: dict[tuple[str, str], Rule] = {
    # Units: everyone reads (a submitter only its subtree); only admins write.
    ("GET", "/api/v1/units"): Rule(LIST, lambda w: Call({})),
    ("POST", "/api/v1/units"): Rule(
        ADMIN_CREATES,
        lambda w: Call({}, {"code": f"U{w.next()}", "name": "New", "kind": "corporate"}),
    ),
    ("GET", "/api/v1/units/{unit_id}"): Rule(READ_ONE, unit_in),
    ("GET", "/api/v1/units/{unit_id}/history"): Rule(READ_ONE, unit_in),
    ("PATCH", "/api/v1/units/{unit_id}"): Rule(
        ADMIN_ONLY, lambda w: Call({"unit_id": w.unit_in}, {"name": f"Renamed {w.next()}"})
    ),
    # Commitments: read with the unit, written by admins.
    ("GET", "/api/v1/units/{unit_id}/commitments"): Rule(READ_ONE, unit_in),
    ("GET", "/api/v1/units/{unit_id}/commitments/{year}"): Rule(
        READ_ONE, lambda w: Call({"unit_id": commitment(w), "year": 2026})
    ),
    ("PUT", "/api/v1/units/{unit_id}/commitments/{year}"): Rule(
        ADMIN_CREATES,
        lambda w: Call(
            {"unit_id": w.unit_in, "year": 2000 + w.next()},
            {"program_funds": 1000, "target_share": 0.1},
        ),
    ),
    ("DELETE", "/api/v1/units/{unit_id}/commitments/{year}"): Rule(
        expect(403, 403, 403, 403, 204),
        lambda w: Call({"unit_id": commitment(w), "year": 2026}),
    ),
    ("DELETE", "/api/v1/units/{unit_id}"): Rule(
        ADMIN_ONLY,
        lambda w: Call(
            {"unit_id": create_unit(w.admin, f"C{w.next()}", parent_id=w.unit_in)["id"]}
        ),
    ),
    # Projects: writers within scope; placing one outside the submitter's unit is a 403.
    ("GET", "/api/v1/projects"): Rule(LIST, lambda w: Call({})),
    ("POST", "/api/v1/projects"): Rule(
        expect(403, 201, 403, 201, 201),
        lambda w: Call(
            {},
            {
                "title": f"P{w.next()}",
                "unit_id": w.unit_in,
                "sponsor_level": "individual",
                "work_mode": "side_of_desk",
            },
        ),
    ),
    ("GET", "/api/v1/projects/{project_id}"): Rule(
        READ_ONE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    ("GET", "/api/v1/projects/{project_id}/history"): Rule(
        READ_ONE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    ("GET", "/api/v1/projects/{project_id}/timeline"): Rule(
        READ_ONE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    ("GET", "/api/v1/projects/{project_id}/lineage"): Rule(
        READ_ONE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    ("PATCH", "/api/v1/projects/{project_id}"): Rule(
        UPDATE, lambda w: Call({"project_id": project(w)["id"]}, {"stage": "exploration"})
    ),
    ("DELETE", "/api/v1/projects/{project_id}"): Rule(
        UPDATE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    # Experiments: a project outside the submitter's unit in the body reads as missing (422).
    ("GET", "/api/v1/experiments"): Rule(LIST, lambda w: Call({})),
    ("POST", "/api/v1/experiments"): Rule(
        expect(403, 201, 422, 201, 201),
        lambda w: Call({}, experiment_body(project(w)["id"], w.next())),
    ),
    ("POST", "/api/v1/experiments/batch"): Rule(
        expect(403, 201, 422, 201, 201),
        lambda w: Call({}, {"items": [experiment_body(project(w)["id"], w.next())]}),
    ),
    ("GET", "/api/v1/experiments/{experiment_id}"): Rule(
        READ_ONE, lambda w: Call({"experiment_id": experiment(w)["id"]})
    ),
    ("GET", "/api/v1/experiments/{experiment_id}/history"): Rule(
        READ_ONE, lambda w: Call({"experiment_id": experiment(w)["id"]})
    ),
    ("PATCH", "/api/v1/experiments/{experiment_id}"): Rule(
        UPDATE,
        lambda w: Call({"experiment_id": experiment(w)["id"]}, {"status": "running"}),
    ),
    ("DELETE", "/api/v1/experiments/{experiment_id}"): Rule(
        UPDATE, lambda w: Call({"experiment_id": experiment(w)["id"]})
    ),
    # Criteria and measurements follow their project or experiment.
    ("GET", "/api/v1/projects/{project_id}/criteria"): Rule(
        READ_ONE, lambda w: Call({"project_id": project(w)["id"]})
    ),
    ("POST", "/api/v1/projects/{project_id}/criteria"): Rule(
        CREATE_UNDER, lambda w: Call({"project_id": project(w)["id"]}, CRITERION_BODY)
    ),
    ("GET", "/api/v1/experiments/{experiment_id}/criteria"): Rule(
        READ_ONE, lambda w: Call({"experiment_id": experiment(w)["id"]})
    ),
    ("POST", "/api/v1/experiments/{experiment_id}/criteria"): Rule(
        CREATE_UNDER, lambda w: Call({"experiment_id": experiment(w)["id"]}, CRITERION_BODY)
    ),
    ("GET", "/api/v1/criteria/{criterion_id}"): Rule(
        READ_ONE, lambda w: Call({"criterion_id": criterion(w)["id"]})
    ),
    ("PATCH", "/api/v1/criteria/{criterion_id}"): Rule(
        UPDATE, lambda w: Call({"criterion_id": criterion(w)["id"]}, {"target": 30})
    ),
    ("DELETE", "/api/v1/criteria/{criterion_id}"): Rule(
        UPDATE, lambda w: Call({"criterion_id": criterion(w)["id"]})
    ),
    ("GET", "/api/v1/criteria/{criterion_id}/measurements"): Rule(
        READ_ONE, lambda w: Call({"criterion_id": criterion(w)["id"]})
    ),
    ("POST", "/api/v1/criteria/{criterion_id}/measurements"): Rule(
        CREATE_UNDER,
        lambda w: Call(
            {"criterion_id": criterion(w)["id"]}, {"value": 15, "measured_on": "2026-03-01"}
        ),
    ),
    # API keys: admins only.
    ("GET", "/api/v1/api-keys"): Rule(ADMIN_ONLY, lambda w: Call({})),
    ("POST", "/api/v1/api-keys"): Rule(
        ADMIN_CREATES, lambda w: Call({}, {"name": f"K{w.next()}", "role": "viewer"})
    ),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Rule(
        ADMIN_ONLY,
        lambda w: Call(
            {
                "key_id": w.admin.post(
                    "/api/v1/api-keys", json={"name": f"K{w.next()}", "role": "viewer"}
                ).json()["id"]
            }
        ),
    ),
    # Reports: every role; a unit outside the submitter's subtree is a 404.
    **{
        ("GET", f"/api/v1/reports/{name}"): Rule(
            READ_ONE, lambda w: Call({}, query={"unit_id": w.unit_in})
        )
        for name in (
            "spread",
            "portfolio",
            "outcomes",
            "determinants",
            "trends",
            "flow",
            "experimentation",
            "barometer",
        )
    },
    ("GET", "/public/v1/experiments"): Rule(REGISTER_OFF, lambda w: Call({})),
    ("GET", "/public/v1/experiments.atom"): Rule(REGISTER_OFF, lambda w: Call({})),
}

ROUTES = api_routes()


def test_every_route_has_exactly_one_rule():
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in RULES]
    stale = [f"{m} {p}" for m, p in RULES if (m, p) not in ROUTES]
    assert missing == [], f"routes without an access rule (add them to RULES): {missing}"
    assert stale == [], f"rules for routes that no longer exist: {stale}"


@pytest.fixture
def callers(app: Any, admin: Any, make_client: Callable[..., Any]) -> dict[str, Any]:
    unit_in = create_unit(admin, "IN")
    unit_out = create_unit(admin, "OUT")
    revoked = admin.post("/api/v1/api-keys", json={"name": "revoked", "role": "admin"}).json()
    assert admin.delete(f"/api/v1/api-keys/{revoked['id']}").status_code == 200
    return {
        "unit_in": unit_in["id"],
        "none": client_with(app, None),
        "bad key": client_with(app, "pf_" + "x" * 43),
        "revoked key": client_with(app, revoked["key"]),
        "viewer": make_client("viewer"),
        "submitter in scope": make_client("submitter", unit_id=unit_in["id"]),
        "submitter out of scope": make_client("submitter", unit_id=unit_out["id"]),
        "manager": make_client("manager"),
        "admin": admin,
    }


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_caller_gets_exactly_the_status_in_the_rules(
    method: str, path: str, admin: Any, callers: dict[str, Any]
):
    rule = RULES.get((method, path))
    if rule is None:
        pytest.fail(f"no access rule for {method} {path}: add one to RULES in this file")
    world = World(admin=admin, unit_in=callers["unit_in"], counter=itertools.count(1))
    got = {}
    for caller in CALLERS:
        call = rule.call(world)
        response = callers[caller].request(
            method, path.format(**call.params), json=call.body, params=call.query
        )
        got[caller] = response.status_code
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert got == rule.expected
