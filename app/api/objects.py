"""The routes of one versioned object (unit, project, experiment, criterion): create, get,
update and archive, each answered with the object's version as `ETag`, and its history.

A route function keeps what is its own: path, body, role, OpenAPI text and the service it
calls. The rest comes in one dependency (`Create`, `Read`, `Write`) that calls the service
with the session (and, on a write, the `If-Match` version), puts the new version on the
response as `ETag` (a GET answers 304 to a matching `If-None-Match`) and shapes the row. So
every domain answers these requests the same way, and the ETag rule lives here once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Response
from sqlmodel import Session

from app.api.deps import IfMatch
from app.api.etags import NOT_MODIFIED, IfNoneMatch, set_etag
from app.api.idempotency.dependency import Idempotent, creating
from app.api.openapi import etag_responses
from app.auth.models import Actor
from app.core.db import SessionDep
from app.core.errors import READ_ONE, WRITE, problem_responses
from app.core.history import service as history_service
from app.core.history.models import HistoryPage
from app.core.pagination import PageParams

# Route decorator arguments: `@router.get(path, summary=..., **objects.GET)`.
CREATE = creating(etag=True)
GET: dict[str, Any] = {
    "responses": etag_responses({**problem_responses(*READ_ONE), **NOT_MODIFIED}, 200, 304)
}
UPDATE: dict[str, Any] = {
    "responses": etag_responses(problem_responses(*WRITE, 404, 409, 412, 428))
}
HISTORY: dict[str, Any] = {"response_model": HistoryPage, "responses": problem_responses(*READ_ONE)}


def _as_stored(row: Any) -> Any:
    return row


@dataclass(frozen=True)
class ObjectCall:
    """Calls a service function for one object and answers with its version as `ETag`."""

    session: Session
    response: Response
    if_none_match: str | None = None
    # `{"expected_version": n}` on an update or archive: the If-Match the service checks.
    precondition: dict[str, int | None] = field(default_factory=dict)

    def __call__(
        self,
        action: Callable[..., Any],
        actor: Actor,
        public: Callable[[Any], Any] = _as_stored,
        **arguments: Any,
    ) -> Any:
        """`action(session=, actor=, **arguments)` gives the row; `public(row)` the body."""
        row = action(session=self.session, actor=actor, **self.precondition, **arguments)
        set_etag(self.response, row.version, if_none_match=self.if_none_match)
        return public(row)


# No I/O of their own, so `async def` (app.api.deps). The session is the request's: the
# role dependency of the route has opened it already.
async def _creating(session: SessionDep, idempotency: Idempotent, response: Response) -> ObjectCall:
    return ObjectCall(session, response)


async def _reading(
    session: SessionDep, response: Response, if_none_match: IfNoneMatch = None
) -> ObjectCall:
    return ObjectCall(session, response, if_none_match)


async def _writing(
    session: SessionDep, expected_version: IfMatch, response: Response
) -> ObjectCall:
    return ObjectCall(session, response, precondition={"expected_version": expected_version})


Create = Annotated[ObjectCall, Depends(_creating)]
Read = Annotated[ObjectCall, Depends(_reading)]
Write = Annotated[ObjectCall, Depends(_writing)]


def history(
    *,
    session: Session,
    page: PageParams,
    visible: history_service.Visibility | None,
    **owner: int,
) -> HistoryPage:
    """A page of the history of `owner` (`project_id=`, `experiment_id=` or `unit_id=`),
    newest first; the entries `visible` rejects are redacted."""
    items, cursor = history_service.list_for(session=session, params=page, visible=visible, **owner)
    return HistoryPage(items=items, next_cursor=cursor)  # type: ignore[arg-type]
