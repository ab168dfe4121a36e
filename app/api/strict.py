"""Strict requests, checked for every API route from the route's own declaration.

- A query parameter the route does not declare is a 422 naming it, as an unknown body
  field already is: `?stag=idea` must not silently return the unfiltered list.
- An `Accept` header that admits none of the media types the route can answer is a 406:
  JSON everywhere, plus CSV where the route documents a `text/csv` 200 response
  (`app.api.csv_export.csv_response_doc`, the spread report), HTML where it documents
  `text/html` (`/problems/{name}`).

Both read `request.scope["route"]`, so a route added later is covered without doing
anything.
"""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api.csv_export import JSON_MEDIA_TYPE, media_ranges
from app.api.deps import reject_nul_characters
from app.api.large_bodies import reject_oversized_objects
from app.core.errors import FieldError, InvalidFields, NotAcceptable


def declared_query_parameters(dependant: Dependant) -> frozenset[str]:
    """The names of every query parameter of a route and of its dependencies."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(field.alias for field in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


def offered_media_types(route: APIRoute) -> tuple[str, ...]:
    """JSON, and whatever else the route documents for its 200 (CSV, HTML)."""
    success = route.responses.get(200) or route.responses.get("200") or {}
    return (JSON_MEDIA_TYPE, *(t for t in success.get("content", {}) if t != JSON_MEDIA_TYPE))


def _route(request: Request) -> APIRoute | None:
    route = request.scope.get("route")
    return route if isinstance(route, APIRoute) else None


# A route's declared names by its dependant, worked out once: a dependant is built once per
# route and cannot be hashed. Each entry keeps its dependant, so an id is never reused
# while it is a key.
_DECLARED: dict[int, tuple[Dependant, frozenset[str]]] = {}


def _declared(dependant: Dependant) -> frozenset[str]:
    known = _DECLARED.get(id(dependant))
    if known is None or known[0] is not dependant:
        known = _DECLARED[id(dependant)] = (dependant, declared_query_parameters(dependant))
    return known[1]


async def reject_unknown_query_parameters(request: Request) -> None:
    route = _route(request)
    if route is None or not request.query_params:
        return
    declared = _declared(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in declared})
    if not unknown:
        return
    takes = ", ".join(sorted(declared)) or "none"
    raise InvalidFields(
        [
            FieldError(
                field=name,
                location="query",
                message=f"unknown query parameter; this operation takes: {takes}",
                type="extra_forbidden",
            )
            for name in unknown
        ]
    )


def acceptable(accept: str, media_type: str) -> bool:
    """Whether the Accept header admits `media_type`: the most specific range that covers
    it decides (`text/csv;q=0` excludes CSV even after `*/*`)."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] | None = None
    for media_range, quality in media_ranges(accept):
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, quality)
    return best is not None and best[1] > 0


async def negotiate_media_type(request: Request) -> None:
    accept = request.headers.get("accept", "").strip()
    route = _route(request)
    if not accept or route is None:
        return
    offered = offered_media_types(route)
    if not any(acceptable(accept, media_type) for media_type in offered):
        raise NotAcceptable(
            f"this operation answers {' or '.join(offered)}; the Accept header "
            f"({accept[:200]}) admits none of them"
        )


async def strict_request(request: Request) -> None:
    """Both checks above as one dependency: FastAPI resolves each dependency with work of
    its own (a nested solve, a cache key), which every request paid per check
    (bench/RESULTS.md, "Issue 17, tenth pass")."""
    await reject_unknown_query_parameters(request)
    await negotiate_media_type(request)


async def api_request(request: Request) -> None:
    """Every check an API request passes before its route, in this order, as one
    dependency of the API router."""
    await strict_request(request)
    await reject_nul_characters(request)
    await reject_oversized_objects(request)
