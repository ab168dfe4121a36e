"""API keys: a random secret with a readable prefix; only its SHA-256 is stored.

The secret carries 256 bits of entropy, so a fast hash is enough (no password stretching):
guessing is hopeless and lookups by hash stay a single indexed query.
"""

import hashlib
import hmac

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.auth.models import Actor, ApiKey

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
