"""ETags on responses and `304 Not Modified`: one helper for every object route.

`set_etag` is what a route calls after loading or writing a versioned object (unit,
project, experiment, criterion); on a GET it also answers a matching `If-None-Match` with
304 (no body). The reports derive their tag from the data revision instead
(app.reports.conditional) but answer 304 through the same exception and handler.
"""

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response

from app.core.versioning import etag

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1000,
        description='ETag of a previous response (e.g. `"3"`); `304 Not Modified`, without a '
        "body, while it is still current.",
    ),
]

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}
}


class NotModified(Exception):
    """Raised by a GET whose `If-None-Match` matches; answered 304 with these headers."""

    def __init__(self, tag: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(tag)
        self.headers = {"ETag": tag, **(headers or {})}


def matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 weak comparison: `W/"3"` matches `"3"`; `*` matches anything."""
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or tag in candidates


def set_etag(response: Response, version: int, *, if_none_match: str | None = None) -> None:
    """Put the object's ETag on the response; 304 instead if the client has this version."""
    tag = etag(version)
    if if_none_match is not None and matches(if_none_match, tag):
        raise NotModified(tag)
    response.headers["ETag"] = tag


def install(app: FastAPI) -> None:
    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers=exc.headers)
