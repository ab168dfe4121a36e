"""`Idempotency-Key` on the routes that create: a dependency claims the key, a middleware
stores the response (or releases the claim) before the response leaves the process.

A route opts in with one parameter, ``idempotency: Idempotent``, declared after its
role dependency (so a 401/403 is never stored), and the route arguments ``**creating(...)``.
"""

import json
import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from app.api.idempotency import service
from app.api.idempotency.service import HEADER, REPLAYED_HEADER, Claim, StoredResponse
from app.api.openapi import etag_responses
from app.auth.dependencies import current_actor
from app.auth.models import Actor
from app.core.asgi import HTTPOnlyMiddleware
from app.core.db import SessionDep
from app.core.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, WRITE, problem_responses
from app.core.revision import service as revision

logger = logging.getLogger("portfolio.idempotency")

# The middleware puts a holder dict in the scope; the dependency fills it with the claim.
_SCOPE_KEY = "portfolio.idempotency"

HEADER_DESCRIPTION = (
    "Any unique string (1-255 characters, e.g. a UUID) naming this submission. Retrying with "
    "the same key, API key and body returns the first response (same status, body and id) "
    f"with `{REPLAYED_HEADER}: true` and writes nothing; the same key with a different body "
    "is a 422; while the first request is still running, 409. Responses below 500 are kept "
    "(at least 24 hours); a 5xx frees the key for a retry if nothing was saved, else keeps "
    "it: a retry gets 409, in flight and, after the lock timeout, naming the lost outcome "
    "(the object exists: find it), never a second save. A "
    "response over the stored size bound (8 MiB by default) is not kept: if nothing was "
    "saved the key is freed, else a retry gets 409 `response-not-stored`."
)

_DESCRIPTIONS = {
    409: "Conflicts with the current state, or a request with the same "
    f"`{HEADER}` is still in flight (retry after `Retry-After` seconds), or was saved but "
    "its response was too large to keep for replays (`response-not-stored`)",
    422: "Validation failed (`errors` names each failing field), or "
    f"`{HEADER}` was already used for a different request",
}


# Answers that are never stored, so never replayed: the role check's, the body limit's,
# and crashes before anything was saved.
_NEVER_REPLAYED = {401, 403, 413, 500, 503}
REPLAYED_HEADER_DOC = {
    "description": f"`true` when this is the stored response to an earlier request with the "
    f"same `{HEADER}` (any stored status, errors included); absent otherwise.",
    "required": False,
    "schema": {"type": "string", "enum": ["true"], "description": "Only ever `true`."},
}


def creating_responses(
    *codes: int, status_code: int = 201, etag: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route that creates: its problems, those of the key, the
    replay marker on every answer that can be replayed, and `ETag` on success if `etag`."""
    responses = problem_responses(*codes, 409, 422)
    for code, description in _DESCRIPTIONS.items():
        responses[code] = {**responses[code], "description": description}
    responses[status_code] = {}
    if etag:
        responses = etag_responses(responses, status_code)
    for replayable, entry in responses.items():
        if int(replayable) not in _NEVER_REPLAYED:
            responses[replayable] = {
                **entry,
                "headers": {**entry.get("headers", {}), REPLAYED_HEADER: REPLAYED_HEADER_DOC},
            }
    return responses


def creating(*codes: int, etag: bool = False) -> dict[str, Any]:
    """Route decorator arguments of a create, `@router.post(path, **creating(404))`: 201 and
    the `creating_responses` of a write's problems and `codes`."""
    return {"status_code": 201, "responses": creating_responses(*WRITE, *codes, etag=etag)}


class IdempotentReplay(Exception):
    """Raised by the dependency to answer with the stored response instead of running."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


def _claim(
    session: Session, request: Request, actor: Actor, key: str, body: bytes
) -> Claim | StoredResponse:
    settings = request.app.state.settings
    return service.claim(
        session=session,
        api_key_id=actor.key_id,
        key=key,
        method=request.method,
        path=request.url.path,
        request_hash=service.fingerprint(method=request.method, path=request.url.path, body=body),
        retention=timedelta(hours=settings.idempotency_retention_hours),
        lock_timeout=timedelta(seconds=settings.idempotency_lock_timeout_seconds),
    )


async def idempotency_key(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(current_actor)],
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=255,
            description=HEADER_DESCRIPTION,
            examples=["6f1c2d9e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"],
        ),
    ] = None,
) -> str | None:
    if key is None:
        return None
    holder = request.scope.get(_SCOPE_KEY)
    if holder is None:  # the middleware is not installed: refuse rather than pretend
        raise RuntimeError("IdempotencyMiddleware is not installed")
    # FastAPI has read (and cached) the body before solving dependencies.
    body = await request.body()
    outcome = await run_in_threadpool(_claim, session, request, actor, key, body)
    if isinstance(outcome, StoredResponse):
        raise IdempotentReplay(outcome)
    holder["claim"] = outcome
    holder["session"] = session
    holder["path"] = request.url.path
    holder["max_stored_bytes"] = request.app.state.settings.idempotency_max_response_bytes

    # The mark is written inside the request's transaction, so it commits with the work or
    # not at all; the process learns the work is saved only once COMMIT has succeeded (a
    # COMMIT that fails, e.g. on a dropped connection, saved nothing: the key is freed).
    # Written before the data revisions are bumped: concurrent writes wait on their rows
    # until COMMIT, and not also for this statement.
    def before_commit(committing: Session) -> None:
        service.mark_work_committed(session=committing, claim=outcome)

    def after_commit(_committed: Session) -> None:
        holder["work_committed"] = True

    revision.before_bump(session, before_commit)
    holder["listeners"] = (("after_commit", after_commit),)
    for name, listener in holder["listeners"]:
        event.listen(session, name, listener)
    return key


Idempotent = Annotated[str | None, Depends(idempotency_key)]


async def idempotency_key_withholding_secret(request: Request, key: Idempotent) -> str | None:
    """For a response that carries a secret shown once (a new API key): the stored answer
    is a 409 naming the created object, so the secret never rests in the database."""
    holder = request.scope.get(_SCOPE_KEY)
    if key is not None and holder is not None:
        holder["withhold_secret"] = True
    return key


IdempotentWithheldSecret = Annotated[str | None, Depends(idempotency_key_withholding_secret)]


def _secret_withheld(path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    created_id = json.loads(body).get("id")
    problem = {
        "type": PROBLEM_BASE + "secret-not-stored",
        "title": "Already created; its secret was shown only once",
        "status": 409,
        "detail": f"API key {created_id} was created by the first request with this "
        f"{HEADER}. Its secret is not stored; if the first response was lost, revoke "
        f"key {created_id} and create another.",
        "instance": path,
        "created_id": created_id,
    }
    return 409, {"content-type": PROBLEM_MEDIA_TYPE}, json.dumps(problem).encode()


def _not_stored(
    path: str, status_code: int, size: int, limit: int
) -> tuple[int, dict[str, str], bytes]:
    """What a retry gets instead of a saved request's response too large to keep."""
    problem = {
        "type": PROBLEM_BASE + "response-not-stored",
        "title": "Already done; its response was too large to keep",
        "status": 409,
        "detail": f"The first request with this {HEADER} was answered {status_code} and its "
        f"work is saved, but its response ({size} bytes) was larger than the {limit} bytes "
        "kept for replays. Find what it created (e.g. by `updated_since`) instead of "
        "retrying.",
        "instance": path,
    }
    return 409, {"content-type": PROBLEM_MEDIA_TYPE}, json.dumps(problem).encode()


def _finish(holder: dict[str, Any], status_code: int, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    # Taken out first: however this ends, it runs once per claim.
    claim: Claim = holder.pop("claim")
    session: Session = holder["session"]
    revision.before_bump(session, None)
    for name, listener in holder["listeners"]:
        event.remove(session, name, listener)
    try:
        # Anything still open in the request's session is finished: release its locks.
        session.rollback()
        if status_code >= 500:
            if not holder.get("work_committed"):
                service.release(session=session, claim=claim)  # nothing saved: run again
            # Else the work is saved and this error is not its outcome (a crash, or the
            # database gone while the response was built after the commit): the key stays
            # claimed, so a retry is a 409 and never a second save, nor a replayed 5xx
            # telling the client to retry in vain.
            return
        if holder.get("withhold_secret") and status_code < 300:
            status_code, headers, body = _secret_withheld(holder["path"], body)
        if len(body) > holder["max_stored_bytes"]:
            if not holder.get("work_committed"):
                # Nothing was saved: free the key, a retry runs again.
                service.release(session=session, claim=claim)
                return
            status_code, headers, body = _not_stored(
                holder["path"], status_code, len(body), holder["max_stored_bytes"]
            )
        service.complete(
            session=session, claim=claim, status_code=status_code, headers=headers, body=body
        )
    finally:
        session.close()


async def _finish_safely(
    holder: dict[str, Any], status_code: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the outcome; if the database is gone by now, still answer with it.

    The work itself is committed (or was never done), so the response is true: a 500 here
    would hide a saved object from its client. The key then stays claimed, and a retry is
    told to look the object up instead of submitting it again (never stored twice).
    """
    try:
        await run_in_threadpool(_finish, holder, status_code, headers, body)
    except SQLAlchemyError as exc:
        logger.warning("idempotent response not stored: %s", type(exc).__name__)


class IdempotencyMiddleware(HTTPOnlyMiddleware):
    """Holds back a claimed request's response until it is stored (or the claim released),
    so a client that got an answer always gets the same one on retry."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {}
        scope[_SCOPE_KEY] = holder
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_after_storing(message: Message) -> None:
            nonlocal start
            if "claim" not in holder:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in start.get("headers", [])
            }
            await _finish_safely(holder, start["status"], headers, body)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, send_after_storing)
        except BaseException:
            if "claim" in holder:
                await _finish_safely(holder, 500, {}, b"")
            raise


def install(app: FastAPI) -> None:
    app.add_middleware(IdempotencyMiddleware)

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> Response:
        stored = exc.stored
        return Response(
            content=stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, REPLAYED_HEADER: "true"},
        )
