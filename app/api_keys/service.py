"""API keys, managed by admins: create, list, revoke."""

import secrets

from sqlmodel import Session, select

from app.api_keys.models import ApiKeyCreate
from app.auth.models import ApiKey, Role
from app.auth.service import KEY_PREFIX, hash_key
from app.core.db import utcnow
from app.core.errors import InvalidField, NotFound
from app.core.pagination import PageParams, paginate, split_page
from app.units import service as unit_service


def create(*, session: Session, key_in: ApiKeyCreate) -> tuple[ApiKey, str]:
    if key_in.role == Role.submitter:
        if key_in.unit_id is None:
            raise InvalidField("unit_id", "required for the submitter role", type="missing")
        unit_service.get_active(session=session, unit_id=key_in.unit_id, field="unit_id")
    elif key_in.unit_id is not None:
        raise InvalidField("unit_id", "only a submitter key is bound to a unit")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.model_validate(
        key_in, update={"prefix": secret[:10], "key_hash": hash_key(secret)}
    )
    session.add(key)
    session.commit()
    return key, secret


def list_keys(*, session: Session, params: PageParams) -> tuple[list[ApiKey], str | None]:
    rows = list(session.exec(paginate(select(ApiKey), ApiKey.id, params)).all())
    return split_page(rows, params)


def revoke(*, session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.commit()
    return key


def has_active_admin(*, session: Session) -> bool:
    statement = select(ApiKey.id).where(ApiKey.role == Role.admin, ApiKey.revoked_at == None)  # noqa: E711
    return session.exec(statement).first() is not None
