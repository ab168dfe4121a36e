"""Conditional GETs for reports: `ETag` on every report, `304` on a matching `If-None-Match`.

Used as a router-level dependency of the reports router, so the check runs before any
report query: a poll whose data has not changed costs the key lookup and one integer read.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response

from app.db import today
from app.deps import Reader, SessionDep
from app.revision import service


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def report_etag(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Reader,
    if_none_match: Annotated[
        str | None,
        Header(
            max_length=1000,
            description="ETag of a previous response; `304 Not Modified` if the report "
            "would be the same.",
        ),
    ] = None,
) -> str:
    revision = service.current(session=session)
    # Release the read transaction: on SQLite every transaction holds the write lock.
    session.commit()
    etag = service.report_etag(
        revision=revision,
        report=request.url.path.rstrip("/").rsplit("/", 1)[-1],
        query="&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items())),
        # The spread report answers `Accept: text/csv` with CSV, everything else with JSON.
        representation="csv" if "text/csv" in request.headers.get("accept", "").lower() else "json",
        scope_unit_id=actor.scope_unit_id,
        today=today(),
    )
    if if_none_match is not None and _matches(if_none_match, etag):
        raise NotModified(etag)
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept"
    # Caches may store the report but must revalidate it before every reuse.
    response.headers["Cache-Control"] = "no-cache"
    return etag


ReportETag = Depends(report_etag)
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}
}


def install(app: FastAPI) -> None:
    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag, "Cache-Control": "no-cache"})
