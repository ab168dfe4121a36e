"""Conditional GETs for reports: `ETag` on every report, `304` on a matching `If-None-Match`.

A 304 is only ever given where the same request without `If-None-Match` would get a 200:
the route's checks (the key, the `unit_id` parameter and the caller's scope) come first.

Two paths compute the same tag with `request_etag`:
- `report_root`, the dependency every report route takes its scope from: it resolves the
  `unit_id` parameter against the caller's scope first, then sets the ETag and answers
  304 before any report query runs;
- `NotModifiedFastPath`, an ASGI middleware in front of the app for the narrow case it can
  decide alone: a `GET` of one of the report paths, without `unit_id` (so no scope check
  is needed: the caller's own scope is always readable), with a list of entity tags (never
  `*`) and a known key. It reads the key through `app.auth.service` and the revisions on
  one connection and answers 304 without routing, dependencies or a session. Any other
  outcome (no match, unknown or revoked key, a spent rate limit, any error) falls through
  to the normal path, which decides the response; the fast path can only ever say "not
  modified".
"""

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import csv_export
from app.api.etags import NotModified, matches
from app.api.openapi import etag_responses
from app.auth import service as auth_service
from app.auth.dependencies import Reader
from app.core.db import MAX_ID, SessionDep, today
from app.core.rate_limit import RateLimiter
from app.core.revision import service
from app.reports import catalog
from app.reports import service as report_service

logger = logging.getLogger("portfolio.revision")

UnitScope = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ID,
        description="Restrict the report to this unit and its whole subtree. A submitter key "
        "is always restricted to its own subtree; a unit outside it is 404.",
    ),
]

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1000,
        description="ETag of a previous response; `304 Not Modified` if the report would be "
        "the same (`*`: if the report exists).",
        examples=['"r5d41402abc4b2a76e1f0c3d9a8b7c6d5"'],
    ),
]


def _tags(if_none_match: str) -> set[str]:
    # If-None-Match compares weakly (RFC 9110, 13.1.2): W/"x" matches "x".
    return {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


# Every report response, 200 or 304, carries these besides its ETag. Caches may store the
# report but must revalidate it before every reuse.
REPORT_HEADERS = {"Vary": "Accept", "Cache-Control": "no-cache"}


def not_modified(etag: str) -> NotModified:
    """The one 304 both paths send: `report_root` raises it (app.api.etags answers it),
    the fast path sends its headers itself."""
    return NotModified(etag, REPORT_HEADERS)


def request_etag(
    *,
    path: str,
    query: Iterable[tuple[str, str]],
    accept: str,
    scope_unit_id: int | None,
    revisions: Mapping[str, int],
) -> str:
    report = path.rstrip("/").rsplit("/", 1)[-1]
    return service.report_etag(
        revisions=revisions,
        reads=catalog.reads(report),
        report=report,
        query="&".join(f"{k}={v}" for k, v in sorted(query)),
        # The spread report answers `Accept: text/csv` with CSV, everything else with JSON.
        representation="csv" if csv_export.prefers_csv(accept) else "json",
        scope_unit_id=scope_unit_id,
        today=today(),
    )


def report_root(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Reader,
    unit_id: UnitScope = None,
    if_none_match: IfNoneMatch = None,
) -> int | None:
    """The root of the subtree the report covers (404 for a unit outside the caller's
    scope), after the ETag: set on the response, or a 304 when `If-None-Match` matches."""
    root_id = report_service.resolve_scope(session=session, actor=actor, unit_id=unit_id)
    revisions = service.current(session=session)
    session.commit()
    etag = request_etag(
        path=request.url.path,
        query=request.query_params.multi_items(),
        accept=request.headers.get("accept", ""),
        scope_unit_id=actor.scope_unit_id,
        revisions=revisions,
    )
    if if_none_match is not None and matches(if_none_match, etag):
        raise not_modified(etag)
    response.headers["ETag"] = etag
    response.headers.update(REPORT_HEADERS)
    return root_id


ReportRoot = Annotated[int | None, Depends(report_root)]
# Reports answer 200 or 304, each with the ETag.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = etag_responses(
    {304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}},
    200,
    304,
)


class NotModifiedFastPath:
    def __init__(
        self, app: ASGIApp, engine: Engine, paths: Collection[str], rate_limiter: RateLimiter
    ) -> None:
        self.app = app
        self.engine = engine
        self.paths = frozenset(paths)
        self.rate_limiter = rate_limiter

    def _lookup(self, secret: str) -> tuple[Any, dict[str, int]] | None:
        with Session(self.engine) as session:
            actor = auth_service.authenticate(session=session, secret=secret)
            if actor is None:
                return None
            return actor, service.current(session=session)

    def _candidate(self, scope: Scope, headers: Headers, query: QueryParams) -> str | None:
        """The key's secret when the fast path may decide this request, else None."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.paths:
            return None
        if_none_match = headers.get("if-none-match")
        if not if_none_match or "*" in _tags(if_none_match) or "unit_id" in query:
            return None
        scheme, _, secret = headers.get("authorization", "").partition(" ")
        return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        query = QueryParams(scope.get("query_string", b""))
        secret = self._candidate(scope, headers, query)
        if secret is None:
            await self.app(scope, receive, send)
            return
        try:
            found = await anyio.to_thread.run_sync(self._lookup, secret)
        except Exception:  # the normal path reports database errors properly
            logger.debug("fast path lookup failed", exc_info=True)
            found = None
        etag = None
        if found is not None:
            actor, revisions = found
            etag = request_etag(
                path=scope["path"],
                query=query.multi_items(),
                accept=headers.get("accept", ""),
                scope_unit_id=actor.scope_unit_id,
                revisions=revisions,
            )
        if (
            etag is None
            or not matches(headers.get("if-none-match", ""), etag)
            # A 304 is a request like any other; a spent bucket is the normal path's 429.
            or not self.rate_limiter.take_for_key(scope, actor.key_id)
        ):
            await self.app(scope, receive, send)
            return
        await Response(status_code=304, headers=not_modified(etag).headers)(scope, receive, send)


def install(app: FastAPI, *, paths: Collection[str]) -> None:
    """`paths`: the report routes' paths, the only ones the fast path answers."""

    # A NotModified raised by `report_root` is answered by app.api.etags' handler.
    app.add_middleware(
        NotModifiedFastPath,
        engine=app.state.read_only_engine,
        paths=paths,
        rate_limiter=app.state.rate_limiter,
    )
