"""Domain exceptions and their RFC 9457 problem-details responses.

Services raise the exceptions below, never HTTPException; the handlers installed by
``install_error_handlers`` turn every error, including validation errors and crashes,
into ``application/problem+json`` without a stack trace or SQL.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("portfolio.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are relative URIs, resolved against the request's URL (RFC 9457 section
# 3.1.1), so they lead to this server's own `/problems/{name}` explanation wherever it runs.
PROBLEM_BASE = "/problems/"


class ProblemType(BaseModel):
    """What a problem `type` means: served at `/problems/{name}`."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "type": "/problems/not-found",
                    "name": "not-found",
                    "status": 404,
                    "title": "Not found",
                    "explanation": "No such object or route. A submitter key also gets 404 for "
                    "objects outside its unit's subtree, so that their existence is not revealed.",
                }
            ]
        }
    }

    type: str = Field(description="The `type` URI problems of this kind carry.")
    name: str = Field(examples=["validation-error"])
    status: int = Field(description="The HTTP status it comes with.", examples=[422])
    title: str = Field(examples=["Request validation failed"])
    explanation: str = Field(description="What went wrong and what to do about it.")


def _problem_type(name: str, status: int, title: str, explanation: str) -> ProblemType:
    return ProblemType(
        type=PROBLEM_BASE + name, name=name, status=status, title=title, explanation=explanation
    )


# Every problem `type` the API answers with; a test reads the code for every slug in use.
PROBLEM_TYPES: dict[str, ProblemType] = {
    p.name: p
    for p in (
        _problem_type(
            "bad-request", 400, "Bad request", "The request cannot be processed as sent."
        ),
        _problem_type(
            "unauthorized",
            401,
            "Missing or invalid API key",
            "Send `Authorization: Bearer <key>` with a key that exists and is not revoked. "
            "Ask an administrator for a key (`portfolio create-key`).",
        ),
        _problem_type(
            "forbidden",
            403,
            "Forbidden",
            "The key's role does not allow this operation, or a submitter key tried to place "
            "something in a unit outside its own subtree.",
        ),
        _problem_type(
            "not-found",
            404,
            "Not found",
            "No such object or route. A submitter key also gets 404 for objects outside its "
            "unit's subtree, so that their existence is not revealed.",
        ),
        _problem_type(
            "method-not-allowed",
            405,
            "Method not allowed",
            "The path exists but not with this method; the `Allow` header lists those it takes.",
        ),
        _problem_type(
            "not-acceptable",
            406,
            "No acceptable representation",
            "The `Accept` header admits none of the media types the operation answers: JSON "
            "everywhere, `text/csv` only where the operation documents it (project and "
            "experiment lists, the spread report). Send `Accept: application/json`, or none.",
        ),
        _problem_type(
            "conflict",
            409,
            "Conflict",
            "The request conflicts with the current state: a duplicate unit code, an archived "
            "parent, a unit that still owns projects, or an `Idempotency-Key` whose first "
            "request is still running (retry after `Retry-After` seconds) or was sent with "
            "another body.",
        ),
        _problem_type(
            "archived",
            409,
            "Archived objects are read-only",
            "The object, or the unit, project or experiment it belongs to, is archived. "
            "Archived objects and everything under them can be read but not changed.",
        ),
        _problem_type(
            "response-not-stored",
            409,
            "Saved, but the response was too large to keep",
            "The first request with this `Idempotency-Key` was saved, but its response was "
            "over `PORTFOLIO_IDEMPOTENCY_MAX_RESPONSE_BYTES` and could not be kept for "
            "replays. Look the object up (`created_id` where given) instead of resubmitting.",
        ),
        _problem_type(
            "secret-not-stored",
            409,
            "Already created; its secret was shown only once",
            "A retried API key creation: the key exists (`created_id`) but its secret is never "
            "stored, so it cannot be shown again. Revoke that key and create another.",
        ),
        _problem_type(
            "request-timeout",
            408,
            "The request body did not arrive in time",
            "The body was sent too slowly (`PORTFOLIO_BODY_TIMEOUT_SECONDS`). Send it again "
            "in one go.",
        ),
        _problem_type(
            "precondition-failed",
            412,
            "The object changed since you read it",
            "`If-Match` names an older version (`current_version` says which is current). "
            "Read the object again, reapply your change and send the new ETag.",
        ),
        _problem_type(
            "payload-too-large",
            413,
            "Request body too large",
            "The body is over the server's limit (1 MiB, 10 MiB for a batch by default); "
            "split the request.",
        ),
        _problem_type(
            "too-many-requests",
            429,
            "Rate limit reached",
            "Too many requests for this API key (or, without a valid key, from this client "
            "address). Wait `Retry-After` seconds; the `RateLimit` and `RateLimit-Policy` "
            "headers say how much is left and how fast it refills.",
        ),
        _problem_type(
            "request-header-fields-too-large",
            431,
            "Request header fields too large",
            "Too many header fields, or too many bytes of them. Send fewer or shorter headers.",
        ),
        _problem_type(
            "unsupported-media-type",
            415,
            "Unsupported media type",
            "Send the body as `application/json`.",
        ),
        _problem_type(
            "validation-error",
            422,
            "Request validation failed",
            "A body field, query parameter, path id or header is invalid, missing or unknown. "
            "`errors` lists each one with its `field`, `location`, `message` and `type`.",
        ),
        _problem_type(
            "precondition-required",
            428,
            "If-Match header required",
            "This server requires `If-Match` on every update and archive: send the ETag of "
            "your last read of the object.",
        ),
        _problem_type(
            "http-error",
            400,
            "HTTP error",
            "A protocol-level error; the status and `detail` say which.",
        ),
        _problem_type(
            "internal-error",
            500,
            "Internal server error",
            "An unexpected error; it has been logged with the response's `request_id`. "
            "Quote that id when reporting it.",
        ),
        _problem_type(
            "service-unavailable",
            503,
            "Service temporarily unavailable",
            "The database cannot be reached right now; retry after `Retry-After` seconds.",
        ),
        _problem_type(
            "not-ready",
            503,
            "Not ready",
            "`/readyz`: the database is unreachable or not migrated to the latest revision "
            "(run `portfolio migrate`).",
        ),
    )
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the failing field, e.g. `risk.likelihood`.")
    location: str = Field(description="Where the field is: `body`, `query`, `path` or `header`.")
    message: str = Field(description="What is wrong, for a person.", examples=["Field required"])
    type: str = Field(
        description="Machine-readable reason, e.g. `enum`, `missing`.", examples=["missing"]
    )


# A problem lists at most this many failing fields; `errors_omitted` counts the rest. A body
# with a million bad fields costs one short answer, not a 100 MB one (issue 13).
MAX_ERRORS = 100


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(
        description="A URI naming the kind of problem.",
        examples=[PROBLEM_BASE + "validation-error"],
    )
    title: str = Field(
        description="A short summary of that kind of problem.",
        examples=["Request validation failed"],
    )
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str | None = Field(examples=["risk.likelihood: must be at most 5"])
    instance: str = Field(
        description="The path of the request that failed.", examples=["/api/v1/projects"]
    )
    request_id: str | None = Field(
        default=None,
        description="The request's id, as in the `X-Request-ID` response header and the logs.",
        examples=["5f2c1a9e7b3d4e60"],
    )
    errors: list[FieldError] | None = Field(
        default=None,
        description=f"On 422: each failing field, at most {MAX_ERRORS} (in the order found).",
    )
    errors_omitted: int | None = Field(
        default=None,
        ge=1,
        description=f"On 422 with more than {MAX_ERRORS} failing fields: how many more there "
        "were, not listed in `errors`. Absent when `errors` lists them all.",
        examples=[2417],
    )
    current_version: int | None = Field(
        default=None, description="On 412: the version the object has now.", examples=[4]
    )
    created_id: int | None = Field(
        default=None,
        description="On the 409 `secret-not-stored`: the id of the API key the first request "
        "with this `Idempotency-Key` created (revoke it if its secret was lost).",
        examples=[12],
    )


class CrossFieldError(ValueError):
    """Raised by a model validator that compares fields, naming the field to blame.

    A model-level validator's errors carry no field location; the validation handler
    reads ``field`` from this exception so the problem names e.g. `ended_on`, not `body`.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DomainError(Exception):
    """A domain rule's refusal, answered as the problem of its type (`PROBLEM_TYPES`).

    A subclass names its problem type, which gives its status and title:
    `class NotFound(DomainError, slug="not-found")`; `title` overrides the type's title."""

    status_code = 400
    slug = "bad-request"
    title = "Bad request"

    def __init_subclass__(cls, *, slug: str | None = None, title: str | None = None) -> None:
        super().__init_subclass__()
        if slug is not None:
            problem = PROBLEM_TYPES[slug]
            cls.slug, cls.status_code, cls.title = slug, problem.status, problem.title
        if title is not None:
            cls.title = title

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def extra(self) -> dict[str, Any]:
        return {}


class NotFound(DomainError, slug="not-found"):
    pass


class Forbidden(DomainError, slug="forbidden"):
    pass


class Unauthorized(DomainError, slug="unauthorized"):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Conflict(DomainError, slug="conflict"):
    pass


class Archived(Conflict, slug="archived"):
    """A write to an archived object, or to anything under one: archived objects and
    everything under them are read-only."""


class NotAcceptable(DomainError, slug="not-acceptable"):
    pass


class InvalidField(DomainError, slug="validation-error"):
    """A body or query value that passed the schema but breaks a rule of the domain."""

    def __init__(self, field: str, message: str, *, location: str = "body", type: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.errors = [FieldError(field=field, location=location, message=message, type=type)]

    def extra(self) -> dict[str, Any]:
        return {"errors": [e.model_dump() for e in self.errors]}


class InvalidFields(DomainError, slug="validation-error"):
    """Several failing fields at once, e.g. every bad item of a batch."""

    def __init__(self, errors: list[FieldError], *, omitted: int = 0) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors[:5]))
        self.errors = errors[:MAX_ERRORS]
        self.omitted = omitted + len(errors) - len(self.errors)

    def extra(self) -> dict[str, Any]:
        return {"errors": [e.model_dump() for e in self.errors], **_omitted(self.omitted)}


def _omitted(count: int) -> dict[str, Any]:
    return {"errors_omitted": count} if count else {}


class TruncatedValidationError(RequestValidationError):
    """A validation error whose list was cut at `MAX_ERRORS` while it was being collected
    (`app.api.large_bodies`): ``omitted`` more were found and not kept."""

    def __init__(self, errors: list[Any], *, omitted: int) -> None:
        super().__init__(errors)
        self.omitted = omitted


class PreconditionFailed(DomainError, slug="precondition-failed"):
    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"If-Match does not match the current version {current_version}; "
            "read the object again and reapply your change.",
            headers={"ETag": f'"{current_version}"'},
        )
        self.current_version = current_version

    def extra(self) -> dict[str, Any]:
        return {"current_version": self.current_version}


class PreconditionRequired(DomainError, slug="precondition-required"):
    pass


class TooManyRequests(DomainError, slug="too-many-requests", title="Too many requests"):
    """A rate limit's bucket is empty (`app.core.rate_limit`)."""


class ServiceUnavailable(DomainError, slug="service-unavailable"):
    pass


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _field_path(loc: tuple[Any, ...]) -> tuple[str, str]:
    location = str(loc[0]) if loc else "body"
    parts = [str(p) for p in loc[1:]]
    # Pydantic adds the validator's name for tagged/function validators; drop it.
    parts = [p for p in parts if not p.startswith("function-")]
    return location, ".".join(parts) or location


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors()[:MAX_ERRORS]:
        location, field = _field_path(tuple(err.get("loc", ())))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, CrossFieldError):
            field = f"{field}.{cause.field}" if field != location else cause.field
        message = str(err.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            # FastAPI puts the character offset where a field name would be.
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            location, field = "body", "body"
            message = f"the body is not valid JSON: {reason} at character {loc_tail(err)}"
        errors.append(
            {
                "field": field,
                "location": location,
                "message": message,
                "type": str(err.get("type", "invalid")),
            }
        )
    return errors


def _explain_content_type(request: Request, errors: list[dict[str, Any]]) -> None:
    """A JSON body sent as text/plain or a form reaches validation as raw bytes; say why."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return
    for error in errors:
        if error["field"] == "body" and error["type"] == "model_attributes_type":
            error["type"] = "content_type"
            error["message"] = (
                "send a JSON object with Content-Type: application/json "
                f"(got {content_type or 'no Content-Type'})"
            )


def loc_tail(err: Any) -> str:
    loc = tuple(err.get("loc", ()))
    return str(loc[-1]) if len(loc) > 1 else "0"


def unreadable_body(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not even decode a JSON body (it reports these as a bare 400)."""
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(cause, RecursionError):
        return "the body is nested too deeply"
    if isinstance(cause, ValueError):
        return "the body is not valid JSON"
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status_code,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            headers=exc.headers,
            **exc.extra(),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        _explain_content_type(request, errors)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        omitted = len(exc.errors()) - len(errors) + getattr(exc, "omitted", 0)
        return problem_response(
            request,
            status=422,
            slug="validation-error",
            title="Request validation failed",
            detail=detail,
            errors=errors,
            **_omitted(omitted),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = unreadable_body(exc)
        if reason is not None:
            # Same answer as for malformed JSON: 422 naming the body, not an undocumented 400.
            return problem_response(
                request,
                status=422,
                slug="validation-error",
                title="Request validation failed",
                detail=f"body: {reason}",
                errors=[
                    {"field": "body", "location": "body", "message": reason, "type": "json_invalid"}
                ],
            )
        slug = {
            404: "not-found",
            405: "method-not-allowed",
            408: "request-timeout",
            413: "payload-too-large",
            415: "unsupported-media-type",
        }.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            request,
            status=exc.status_code,
            slug=slug,
            title=detail or "HTTP error",
            detail=detail,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(
            request,
            status=503,
            slug="service-unavailable",
            title="Database unavailable",
            detail="The database cannot be reached right now; retry shortly.",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _database_down(request, exc)
        logger.exception("database error", exc_info=exc)
        return _internal(request)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return _internal(request)


def _internal(request: Request) -> JSONResponse:
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="An unexpected error occurred; it has been logged.",
    )


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, unknown or revoked API key",
    403: "The key's role or unit does not allow this",
    404: "Not found, or outside the unit this key is bound to",
    406: "The Accept header admits none of the media types this operation answers",
    408: "The request body did not arrive in time (`PORTFOLIO_BODY_TIMEOUT_SECONDS`)",
    409: "Conflicts with the current state; `type` .../archived: the object, or one it "
    "belongs to, is archived (archived objects and everything under them are read-only)",
    412: "If-Match is stale: the object changed since it was read",
    413: "Request body too large",
    422: "Validation failed; `errors` names each failing field",
    428: "If-Match is required by this server's configuration",
    431: "Too many header fields, or too many bytes of them",
    429: "Rate limit reached (per API key, or per client address without a valid key); "
    "retry after `Retry-After` seconds",
    503: "Database unavailable; retry after `Retry-After` seconds",
}


def _header(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string", "example": example}}


# Every counted response carries RateLimit and RateLimit-Policy; a 429 also Retry-After.
RATE_LIMIT_HEADERS = {
    "Retry-After": _header("Seconds until the next request is allowed.", "1"),
    "RateLimit": _header(
        "draft-ietf-httpapi-ratelimit-headers: requests left now (`r`) and seconds until "
        "the bucket is full again (`t`), for the policy named first.",
        '"key";r=0;t=10',
    ),
    "RateLimit-Policy": _header(
        "draft-ietf-httpapi-ratelimit-headers: the bucket's size (`q`) and the seconds an "
        "empty one takes to fill (`w`); `key` per API key, `address` per client address "
        "for requests without a valid key.",
        '"key";q=200;w=10',
    ),
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give. Every API route can
    answer 401, 406 (Accept), 422, 429 (rate limit), 431 (headers too large) and 503."""
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": RATE_LIMIT_HEADERS} if code == 429 else {}),
        }
        for code in sorted({401, 406, 422, 429, 431, 503, *codes})
    }


# 406 and 422 come from the checks every API route makes (app.api.strict).
READ = (401, 406, 422, 503)
READ_ONE = (*READ, 404)
# Any request whose body is over the size limit gets 413, or 408 when it arrives too slowly,
# whatever the route.
WRITE = (401, 403, 408, 413, 422, 503)
