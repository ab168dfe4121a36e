from fastapi import APIRouter

from app.api.deps import PathId
from app.api.idempotency.dependency import IdempotentWithheldSecret, creating
from app.api.large_bodies import LargeBodyRoute
from app.api_keys import service
from app.api_keys.models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPage
from app.auth.dependencies import Admin
from app.core.db import SessionDep
from app.core.errors import READ, WRITE, problem_responses
from app.core.pagination import PageDep

router = APIRouter(prefix="/api-keys", tags=["api-keys"], route_class=LargeBodyRoute)


@router.post(
    "",
    response_model=ApiKeyCreated,
    summary="Create an API key (admin)",
    description="The secret is in `key`, returned this once; only its hash is stored. "
    "The secret is not kept for replays either: a retry with the same `Idempotency-Key` "
    "gets 409 naming the created key (`created_id`); revoke it if the secret was lost.",
    **creating(),
)
def create_api_key(
    key_in: ApiKeyCreate, session: SessionDep, actor: Admin, idempotency: IdempotentWithheldSecret
):
    key, secret = service.create(session=session, key_in=key_in)
    return ApiKeyCreated.model_validate({**key.model_dump(), "key": secret})


@router.get(
    "",
    response_model=ApiKeysPage,
    responses=problem_responses(*READ, 403),
    summary="List API keys (admin)",
)
def list_api_keys(session: SessionDep, actor: Admin, page: PageDep):
    """Every key by id, paged, revoked ones included; never the secret."""
    items, cursor = service.list_keys(session=session, params=page)
    return ApiKeysPage(items=items, next_cursor=cursor)  # type: ignore[arg-type]


@router.delete(
    "/{key_id}",
    response_model=ApiKeyPublic,
    responses=problem_responses(*WRITE, 404),
    summary="Revoke an API key (admin)",
    description="Takes effect at once, in every worker process.",
)
def revoke_api_key(key_id: PathId, session: SessionDep, actor: Admin):
    return service.revoke(session=session, key_id=key_id)
