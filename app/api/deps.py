"""Request dependencies shared by the routers: the session, settings, path ids, If-Match."""

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from pydantic import AfterValidator

from app.core.config import Settings
from app.core.db import MAX_ID, as_utc
from app.core.errors import InvalidField, PreconditionRequired

# An id in a URL path: bounded, so a huge number is a 422 naming it, not a driver overflow.
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id.")]


def id_query(description: str) -> Any:
    """An id filter in the query, bounded as `PathId` is:
    `unit_id: Annotated[int | None, id_query("In this unit or its subtree.")] = None`."""
    return Query(ge=1, le=MAX_ID, description=description)

# Lists leave archived rows out unless asked.
IncludeArchived = Annotated[
    bool, Query(description="Also list archived rows (they are left out by default).")
]

UpdatedSince = Annotated[
    datetime | None,
    AfterValidator(as_utc),
    Query(description="Changed at or after this time (ISO 8601; UTC if no offset)."),
]


# Dependencies that do no I/O are `async def`: a plain `def` would cost each request a hop
# to the threadpool and back (bench/RESULTS.md, list vs peer).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


_ETAG = re.compile(r'^\s*(W/)?"(\d{1,18})"\s*$')
# If-Match compares strongly (RFC 9110, 13.1.1): a weak tag never matches, so it reads as
# a version no object has and the write gets 412 with the current version, as for a stale
# tag. (Our ETags are strong: `"3"`.)
NO_VERSION = 0


async def if_match(
    settings: SettingsDep,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=64,
            description='ETag from a previous GET (e.g. `"3"`); a stale one gets 412, and so '
            'does a weak one (`W/"3"`): If-Match needs a strong match. `*`: any version.',
            examples=['"3"'],
        ),
    ] = None,
) -> int | None:
    """The version the client expects, or None when it does not care (absent, or `*`)."""
    if if_match is None or if_match.strip() == "*":
        if if_match is None and settings.require_if_match:
            raise PreconditionRequired("send If-Match with the ETag of your last read")
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise InvalidField("If-Match", 'expected an ETag such as "3"', location="header")
    if match.group(1):
        return NO_VERSION
    return int(match.group(2))


IfMatch = Annotated[int | None, Depends(if_match)]


def _path_to_nul(document: Any) -> tuple[str, ...] | None:
    """The path of the first string holding a NUL character, or None.

    Iterative: a JSON document may be nested deeper than Python's recursion limit.
    """
    pending: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
            continue
        if isinstance(value, dict):
            items: Iterable[tuple[Any, Any]] = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        pending.extend(((*path, str(key)), item) for key, item in reversed(list(items)))
    return None


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL cannot store a NUL character in text, so no backend accepts one.

    Runs for every API route, after the body has been read and before it is validated.
    """
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise InvalidField(name, _NUL_MESSAGE, location="query")
    headers = request.headers
    if "content-length" not in headers and "transfer-encoding" not in headers:
        return  # No body (RFC 9112, 6.3): nothing to read.
    body = await request.body()
    # A JSON text can only carry NUL as the escape \u0000; anything else needs no parsing.
    if b"\\u0000" not in body:
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        return  # Left to FastAPI, which reports malformed JSON itself.
    path = _path_to_nul(parsed)
    if path is not None:
        raise InvalidField(".".join(path) or "body", _NUL_MESSAGE)


_NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
