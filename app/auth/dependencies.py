"""The caller: its API key checked on every request, and role requirements."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.models import Actor, Role
from app.core.db import READ_ONLY, SessionDep
from app.core.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer pf_...`")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _secret(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """The API key the request carries, not yet checked: 401 when there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        # Rate limits are counted where the key is known: per key once it is valid, per
        # client address while it is not (app.core.rate_limit).
        request.app.state.rate_limiter.check_address(request.scope)
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
    return credentials.credentials


def admit(request: Request, actor: Actor | None) -> Actor:
    """The caller, once its key has been looked up (None: unknown or revoked, 401); counted
    against the key's rate limit (429 once spent)."""
    limiter = request.app.state.rate_limiter
    if actor is None:
        limiter.check_address(request.scope)
        raise Unauthorized("the API key is unknown or revoked")
    limiter.check_key(request.scope, actor.key_id)
    return actor


def current_actor(request: Request, session: SessionDep, credentials: Credentials) -> Actor:
    return actor_of(request, session, _secret(request, credentials))


def actor_of(request: Request, session: Session, secret: str) -> Actor:
    """The caller presenting `secret` (`PresentedKey`), as `Reader` gives it: for a route
    that checks the key in its own thread, one hop to the threadpool fewer."""
    # Checked against the database on every request: a revoked key stops at once,
    # in every worker process.
    actor = admit(request, auth_service.authenticate(session=session, secret=secret))
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" and not bind.get_execution_options().get(READ_ONLY, False):
        # Release the write transaction now: on SQLite it holds the write lock. Elsewhere
        # the lookup locks nothing, and its transaction goes on into the request's first
        # write (a COMMIT, a BEGIN and a checkout fewer per POST).
        session.commit()
    return actor


async def presented_key(request: Request, credentials: Credentials) -> str:
    return _secret(request, credentials)


# The key a request presents, not yet checked, for a route whose one statement checks it
# along with its own query (`auth_service.caller`) and then calls `admit`, as
# `current_actor` would: one round trip and one thread hop fewer.
PresentedKey = Annotated[str, Depends(presented_key)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    async def dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this operation needs one of the roles: {allowed}")
        return actor

    return dependency


Reader = Annotated[Actor, Depends(current_actor)]
Writer = Annotated[Actor, Depends(require_roles(Role.admin, Role.manager, Role.submitter))]
Admin = Annotated[Actor, Depends(require_roles(Role.admin))]
