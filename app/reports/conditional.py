"""Conditional GETs for reports: `ETag` on every report, `304` on a matching `If-None-Match`.

Two paths compute the same tag with `request_etag`:
- `report_etag`, a router-level dependency of the reports router: sets the ETag on every
  report and answers 304 before any report query runs;
- `NotModifiedFastPath`, an ASGI middleware in front of the app for requests that carry
  `If-None-Match` on a report: one statement reads the caller's key and the revision
  together, and a match is answered 304 without routing, dependencies or a session. Any
  other outcome (no match, unknown or revoked key, any error) falls through to the normal
  path, which decides the response; the fast path can only ever say "not modified".
"""

import logging
from collections.abc import Iterable
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Header, Request, Response
from sqlalchemy import Engine, text
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import csv_export
from app.api.openapi import etag_responses
from app.auth.dependencies import Reader
from app.auth.models import Actor, Role
from app.auth.service import hash_key
from app.core.db import SessionDep, today
from app.core.revision import service

logger = logging.getLogger("portfolio.revision")

REPORTS_PREFIX = "/api/v1/reports/"


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def request_etag(
    *,
    path: str,
    query: Iterable[tuple[str, str]],
    accept: str,
    scope_unit_id: int | None,
    revision: int,
) -> str:
    return service.report_etag(
        revision=revision,
        report=path.rstrip("/").rsplit("/", 1)[-1],
        query="&".join(f"{k}={v}" for k, v in sorted(query)),
        # The spread report answers `Accept: text/csv` with CSV, everything else with JSON.
        representation="csv" if csv_export.prefers_csv(accept) else "json",
        scope_unit_id=scope_unit_id,
        today=today(),
    )


def report_etag(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Reader,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            max_length=1000,
            description="ETag of a previous response; `304 Not Modified` if the report "
            "would be the same.",
            examples=['"r5d41402abc4b2a76e1f0c3d9a8b7c6d5"'],
        ),
    ] = None,
) -> str:
    revision = service.current(session=session)
    session.commit()
    etag = request_etag(
        path=request.url.path,
        query=request.query_params.multi_items(),
        accept=request.headers.get("accept", ""),
        scope_unit_id=actor.scope_unit_id,
        revision=revision,
    )
    if if_none_match is not None and _matches(if_none_match, etag):
        raise NotModified(etag)
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept"
    # Caches may store the report but must revalidate it before every reuse.
    response.headers["Cache-Control"] = "no-cache"
    return etag


ReportETag = Depends(report_etag)
NOT_MODIFIED: dict[int | str, dict[str, Any]] = etag_responses(
    {304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}},
    200,
    304,
)

# The caller's key (same rule as api_keys.service.authenticate: known and not revoked) and
# the data revision, in one round trip.
_KEY_AND_REVISION = text(
    "SELECT k.id, k.name, k.role, k.unit_id, r.revision "
    "FROM api_keys k CROSS JOIN data_revision r "
    "WHERE k.key_hash = :key_hash AND k.revoked_at IS NULL AND r.id = 1"
)


class NotModifiedFastPath:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    def _lookup(self, secret: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(_KEY_AND_REVISION, {"key_hash": hash_key(secret)}).first()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(REPORTS_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if_none_match = headers.get("if-none-match")
        scheme, _, secret = headers.get("authorization", "").partition(" ")
        etag = None
        if if_none_match and scheme.lower() == "bearer" and secret:
            try:
                row = await anyio.to_thread.run_sync(self._lookup, secret.strip())
            except Exception:  # the normal path reports database errors properly
                logger.debug("fast path lookup failed", exc_info=True)
                row = None
            if row is not None:
                actor = Actor(
                    key_id=row.id, name=row.name, role=Role(row.role), unit_id=row.unit_id
                )
                etag = request_etag(
                    path=scope["path"],
                    query=QueryParams(scope.get("query_string", b"")).multi_items(),
                    accept=headers.get("accept", ""),
                    scope_unit_id=actor.scope_unit_id,
                    revision=int(row.revision),
                )
        if etag is None or not _matches(if_none_match or "", etag):
            await self.app(scope, receive, send)
            return
        response = Response(
            status_code=304,
            headers={"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache"},
        )
        await response(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(
            status_code=304,
            headers={"ETag": exc.etag, "Vary": "Accept", "Cache-Control": "no-cache"},
        )

    app.add_middleware(NotModifiedFastPath, engine=app.state.read_only_engine)
