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
PROBLEM_BASE = "https://portfolio.example.org/problems/"


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the failing field, e.g. `risk.likelihood`.")
    location: str = Field(description="Where the field is: `body`, `query`, `path` or `header`.")
    message: str = Field(description="What is wrong, for a person.", examples=["Field required"])
    type: str = Field(
        description="Machine-readable reason, e.g. `enum`, `missing`.", examples=["missing"]
    )


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
        default=None, description="On 422: every failing field."
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
    status_code = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def extra(self) -> dict[str, Any]:
        return {}


class NotFound(DomainError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    slug = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status_code = 401
    slug = "unauthorized"
    title = "Missing or invalid API key"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Conflict(DomainError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class InvalidField(DomainError):
    """A body or query value that passed the schema but breaks a rule of the domain."""

    status_code = 422
    slug = "validation-error"
    title = "Request validation failed"

    def __init__(self, field: str, message: str, *, location: str = "body", type: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.errors = [FieldError(field=field, location=location, message=message, type=type)]

    def extra(self) -> dict[str, Any]:
        return {"errors": [e.model_dump() for e in self.errors]}


class InvalidFields(DomainError):
    """Several failing fields at once, e.g. every bad item of a batch."""

    status_code = 422
    slug = "validation-error"
    title = "Request validation failed"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors[:5]))
        self.errors = errors

    def extra(self) -> dict[str, Any]:
        return {"errors": [e.model_dump() for e in self.errors]}


class PreconditionFailed(DomainError):
    status_code = 412
    slug = "precondition-failed"
    title = "The object changed since you read it"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"If-Match does not match the current version {current_version}; "
            "read the object again and reapply your change.",
            headers={"ETag": f'"{current_version}"'},
        )
        self.current_version = current_version

    def extra(self) -> dict[str, Any]:
        return {"current_version": self.current_version}


class PreconditionRequired(DomainError):
    status_code = 428
    slug = "precondition-required"
    title = "If-Match header required"


class ServiceUnavailable(DomainError):
    status_code = 503
    slug = "service-unavailable"
    title = "Service temporarily unavailable"


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
    for err in exc.errors():
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
        return problem_response(
            request,
            status=422,
            slug="validation-error",
            title="Request validation failed",
            detail=detail,
            errors=errors,
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
    409: "Conflicts with the current state",
    412: "If-Match is stale: the object changed since it was read",
    413: "Request body too large",
    422: "Validation failed; `errors` names each failing field",
    428: "If-Match is required by this server's configuration",
    503: "Database unavailable; retry after `Retry-After` seconds",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in sorted({401, 422, 503, *codes})
    }


READ = (401, 422, 503)
READ_ONE = (*READ, 404)
# Any request whose body is over the size limit gets 413, whatever the route.
WRITE = (401, 403, 413, 422, 503)
