"""The OpenAPI document as generated clients read it.

- Operation ids are the route function's name (`create_unit`, `spread_report`): generated
  clients name their methods after them, so they are unique across the API (checked by
  `tests/contract/test_spec_rules.py`) and carry no tag prefix.
- Every tag is declared with a description (`TAGS`); `info` has a contact and `servers`.
- Response headers: `install` declares the ones every response can carry (`X-Request-ID`
  always; `Retry-After` on 409, 429 and 503); routes declare their own `ETag`
  (`etag_responses`) and `Idempotent-Replayed` (`idempotency.creating_responses`).
  Headers are defined once under `components/headers` and referenced.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

TAGS: list[dict[str, Any]] = [
    {
        "name": "units",
        "description": "The organization's tree of business lines, corporate functions and "
        "innovation labs. Admins write them; every role reads them.",
    },
    {
        "name": "projects",
        "description": "Innovation projects: sponsor, work mode, stage, facet, risk profile, "
        "determinant tags, budget and FTEs, with their change history.",
    },
    {
        "name": "experiments",
        "description": "Experiments testing a project's hypotheses, one at a time or in "
        "all-or-nothing batches, with their change history.",
    },
    {
        "name": "criteria",
        "description": "Success criteria of projects and experiments (outcome, output or "
        "activity) and their measurements.",
    },
    {
        "name": "api-keys",
        "description": "API keys and their roles (admin only). The secret is shown once.",
    },
    {
        "name": "reports",
        "description": "Read-only reports computed in the database: spread (also as of a "
        "date), portfolio, outcomes, determinants, trends, flow, experimentation and barometer. "
        "Every report has an `ETag`; `If-None-Match` answers 304. The tag changes when data "
        "the report reads changes (a measurement changes only the outcomes report's), when "
        "its parameters or representation differ, and every day.",
    },
    {
        "name": "health",
        "description": "Liveness, readiness and metrics for load balancers and monitoring "
        "(no API key).",
    },
    {
        "name": "register",
        "description": "The open register of experiment results (`/public/v1`): published "
        "results for anyone, without a key; off unless `PORTFOLIO_PUBLIC_REGISTER` is set.",
    },
    {
        "name": "problems",
        "description": "What each problem `type` of an error response means "
        "(`/problems/{name}`).",
    },
]

# Who answers for this API. A name only: there is no real address to publish yet, and an
# example.org one would send readers nowhere (add `url`/`email` when there is one).
CONTACT = {"name": "Innovation portfolio office, the team that runs this service"}

SERVERS = [
    {"url": "/", "description": "The server that serves this document"},
    {"url": "http://127.0.0.1:8000", "description": "A local `portfolio serve` (`make run`)"},
]

ETAG = "ETag"
RETRY_AFTER = "Retry-After"
HEADER_REF = "#/components/headers/"


def operation_id(route: APIRoute) -> str:
    return route.name


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": HEADER_REF + name}


def etag_responses(
    responses: dict[int | str, dict[str, Any]], *status_codes: int
) -> dict[int | str, dict[str, Any]]:
    """`responses` with the `ETag` header declared on each of `status_codes` (200 if none)."""
    responses = dict(responses)
    for code in status_codes or (200,):
        entry = dict(responses.get(code, {}))
        entry["headers"] = {**entry.get("headers", {}), ETAG: header_ref(ETAG)}
        responses[code] = entry
    return responses


def text_response(media_type: str, description: str) -> dict[str, Any]:
    """A response whose body is text of `media_type` (a web page, a feed), not JSON."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _components_headers(request_id_header: str) -> dict[str, Any]:
    return {
        request_id_header: {
            "description": "The request's id: the one sent in `X-Request-ID` if it was 1-128 "
            "characters of `A-Z a-z 0-9 . _ : -` (starting with a letter or digit), else a "
            "generated one. Also in problem bodies (`request_id`) and the logs.",
            "required": True,
            "schema": {"type": "string", "maxLength": 128, "examples": ["5f2c1a9e7b3d4e60"]},
        },
        RETRY_AFTER: {
            "description": "Seconds to wait before retrying: on 503 when the database is "
            "unreachable, on 409 when a request with the same `Idempotency-Key` is still "
            "running.",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "examples": [2]},
        },
        ETAG: {
            "description": 'The version of the object (`"<version>"`) or of the report, for '
            "`If-Match` on updates and `If-None-Match` on reads.",
            "required": True,
            "schema": {"type": "string", "examples": ['"3"']},
        },
    }


def _declare_common_headers(spec: dict[str, Any], request_id_header: str) -> None:
    spec.setdefault("components", {}).setdefault("headers", {}).update(
        _components_headers(request_id_header)
    )
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers[request_id_header] = header_ref(request_id_header)
                if code in ("409", "429", "503"):
                    headers[RETRY_AFTER] = header_ref(RETRY_AFTER)


def install(app: FastAPI, *, request_id_header: str) -> None:
    """Wrap `app.openapi` so the document it builds (once) declares the common headers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _declare_common_headers(build(), request_id_header)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
