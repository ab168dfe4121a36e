"""API keys: a random secret with a readable prefix; only its SHA-256 is stored.

The secret carries 256 bits of entropy, so a fast hash is enough (no password stretching):
guessing is hopeless and lookups by hash stay a single indexed query.
"""

import hashlib
import hmac
from typing import Any

from sqlalchemy import String, bindparam, case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.auth.models import Actor, ApiKey, Role

KEY_PREFIX = "pf_"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# A live key: its hash is the presented secret's, and it is not revoked.
_LIVE = (
    col(ApiKey.key_hash) == bindparam("key_hash", type_=String),
    col(ApiKey.revoked_at).is_(None),
)
# The caller's key as plain columns, one statement built once (its cache key with it) and
# run on the session's connection: loading an ApiKey entity through the ORM on every
# request cost more than the lookup itself.
_LOOKUP: Any = sa_select(
    col(ApiKey.id).label("key_id"),
    col(ApiKey.name).label("key_name"),
    col(ApiKey.role).label("key_role"),
    col(ApiKey.unit_id).label("key_unit_id"),
    col(ApiKey.key_hash),
).where(*_LIVE)


def key_parameters(secret: str) -> dict[str, Any]:
    """The bound parameters of `_LOOKUP`, `caller` and `caller_scope_unit_id`."""
    return {"key_hash": hash_key(secret)}


def caller_from(row: Any, parameters: dict[str, Any]) -> Actor | None:
    """The Actor of a row holding `caller`'s columns (None: no such live key)."""
    # The lookup is by hash, so timing says nothing about the secret; compare anyway.
    if row is None or not hmac.compare_digest(row.key_hash, parameters["key_hash"]):
        return None
    return Actor(key_id=row.key_id, name=row.key_name, role=row.key_role, unit_id=row.key_unit_id)


def authenticate(*, session: Session, secret: str) -> Actor | None:
    """The caller of a known, unrevoked key."""
    parameters = key_parameters(secret)
    return caller_from(session.connection().execute(_LOOKUP, parameters).first(), parameters)


# --- the key checked by the statement that answers the request --------------------------
# A read that is one statement can select the caller's key along with its own answer: one
# round trip where the lookup first takes two (bench/RESULTS.md, lineage). Still checked
# against the database on every request, so revoking a key stops it on the next one.


def caller() -> Any:
    """The presented key's row, or no row for an unknown or revoked key: select from it
    (its columns first) and the statement answers nothing to a caller it does not know.
    Run with `key_parameters(secret)`; `caller_from(row, parameters)` reads the caller."""
    return _LOOKUP.subquery("caller")


def caller_scope_unit_id() -> Any:
    """`Actor.scope_unit_id` of the presented key in SQL: its unit for a submitter, else
    NULL (`tests/api/projects/test_lineage_json.py` holds the two to the same answers)."""
    scope = case((col(ApiKey.role) == Role.submitter, col(ApiKey.unit_id)), else_=None)
    return sa_select(scope).where(*_LIVE).scalar_subquery()
