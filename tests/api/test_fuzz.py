"""Property-based fuzzing of every operation in the committed OpenAPI spec (schemathesis).

Each operation is called in-process (ASGI transport) against a fresh SQLite or PostgreSQL
database seeded so that the ids 1 and 2 of every kind exist: once with an admin key and
once with a submitter key bound to unit 1 (unit 2 and its project are outside its scope).
Valid and invalid inputs alike must get a documented status code with the documented
content type, body and headers, never a 5xx, and every error must be problem JSON.

Deterministic: Hypothesis runs derandomized with no example database, so every run sends
the same requests.
"""

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth.models import Role
from tests.builders import (
    bootstrap_key,
    client_with,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
)

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES_PER_OPERATION = 15
SEEDED_IDS = 3  # ids 1 and 2 exist for every kind (see seed); 3 does not

# Admin: schemathesis' coverage phase (boundary and invalid values of every parameter and
# field, a few hundred requests per operation) plus random fuzzing.
admin_schema = schemathesis.openapi.from_path(SPEC)
# Submitter: random fuzzing only, with path ids folded onto the seeded rows, so that most
# requests reach an object in scope (id 1) or out of scope (id 2) rather than a 404.
submitter_schema = schemathesis.openapi.from_path(
    SPEC, config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
)


@submitter_schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return path_parameters
    return {
        name: 1 + (value - 1) % SEEDED_IDS if isinstance(value, int) and value >= 1 else value
        for name, value in path_parameters.items()
    }


def seed(admin: Any) -> None:
    """Two of everything: unit 1 is the submitter's, unit 2 is outside its scope."""
    for code in ("IN", "OUT"):
        unit = create_unit(admin, code)
        project = create_project(admin, unit["id"], title=f"Project of {code}")
        experiment = create_experiment(admin, project["id"])
        criterion = create_criterion(admin, "projects", project["id"])
        create_criterion(admin, "experiments", experiment["id"])
        response = admin.post(
            f"/api/v1/criteria/{criterion['id']}/measurements",
            json={"value": 12.5, "measured_on": "2026-01-15"},
        )
        assert response.status_code == 201, response.text


def key_for(app: Any, settings: Any, role: str) -> dict[str, str]:
    seed(client_with(app, bootstrap_key(settings)))
    unit_id = 1 if role == "submitter" else None
    secret = bootstrap_key(settings, role=Role(role), name=f"fuzzing {role}", unit_id=unit_id)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_key(app: Any, settings: Any) -> dict[str, str]:
    return key_for(app, settings, "admin")


@pytest.fixture
def submitter_key(app: Any, settings: Any) -> dict[str, str]:
    return key_for(app, settings, "submitter")


def problem_json_for_errors(ctx: Any, response: Any, case: Case) -> bool | None:
    """Every 4xx/5xx is an RFC 9457 problem with the status repeated in the body."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} with content type {content_type!r}"
    )
    body = response.json()
    assert body["status"] == response.status_code, body
    # Relative: resolved against the request, it leads to /problems/{name} on this server.
    assert body["type"].startswith("/problems/") and body["title"], body
    return True


def no_server_error(ctx: Any, response: Any, case: Case) -> bool | None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    return True


CHECKS = [
    no_server_error,
    problem_json_for_errors,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@admin_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_as_admin(case: Case, admin_key: dict[str, str], app: Any):
    response = case.call(app=app, headers=admin_key)
    case.validate_response(response, checks=CHECKS, headers=admin_key)


@submitter_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_as_submitter(case: Case, submitter_key: dict[str, str], app: Any):
    response = case.call(app=app, headers=submitter_key)
    case.validate_response(response, checks=CHECKS, headers=submitter_key)
