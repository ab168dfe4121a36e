"""API keys: a random secret with a readable prefix; only its SHA-256 is stored.

The secret carries 256 bits of entropy, so a fast hash is enough (no password stretching):
guessing is hopeless and lookups by hash stay a single indexed query.
"""

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.api_keys.models import Actor, ApiKey, ApiKeyCreate, Role
from app.db import utcnow
from app.errors import InvalidField, NotFound
from app.pagination import PageParams, paginate, split_page
from app.units import service as unit_service

KEY_PREFIX = "pf_"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# The caller's key as plain columns, one statement built once (its cache key with it) and
# run on the session's connection: loading an ApiKey entity through the ORM on every
# request cost more than the lookup itself.
_LOOKUP = sa_select(
    col(ApiKey.id), col(ApiKey.name), col(ApiKey.role), col(ApiKey.unit_id), col(ApiKey.key_hash)
).where(col(ApiKey.key_hash) == bindparam("key_hash"), col(ApiKey.revoked_at).is_(None))


def authenticate(*, session: Session, secret: str) -> Actor | None:
    """The caller of a known, unrevoked key."""
    digest = hash_key(secret)
    row = session.connection().execute(_LOOKUP, {"key_hash": digest}).first()
    # The lookup is by hash, so timing says nothing about the secret; compare anyway.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return Actor(key_id=row.id, name=row.name, role=row.role, unit_id=row.unit_id)


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
