"""Idempotency keys: claim a key before the work, store the response after it.

The claim is an INSERT that relies on the unique constraint (api key, Idempotency-Key),
committed in its own short transaction before the route does any work. So across any
number of processes exactly one request owns a key; the others see its row and get the
stored response (done), 409 (still in flight) or 422 (same key, different request).

The claim row is also marked in the request's own transaction when that commits
(``work_committed_at``): from then on the work is saved and the key is never freed.

A request that fails with a 5xx or an exception before saving anything deletes its claim,
so a retry runs again; one that saved its work keeps the key and its answer, whatever the
status. Every answer below 500 is stored and replayed: the key names one attempt and its
outcome. A claim left behind by a process that died before saving is taken over once it is
older than ``idempotency_lock_timeout_seconds``; one that died after saving answers 409.
"""

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.api.idempotency.models import IdempotencyRecord
from app.core.db import insert_for, utcnow
from app.core.errors import Conflict, InvalidField

logger = logging.getLogger("portfolio.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers worth replaying; the rest (date, length, request id) belong to each answer.
STORED_HEADERS = ("content-type", "etag", "location")
PURGE_INTERVAL_SECONDS = 60.0

_last_purge = 0.0


@dataclass(frozen=True)
class Claim:
    """The right to run the work for one key: the id of the row this request inserted."""

    record_id: int


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    headers: dict[str, str]


class IdempotencyInFlight(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"a request with this {HEADER} is still being processed; retry after it finishes",
            headers={"Retry-After": "1"},
        )


class IdempotencyOutcomeLost(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"the first request with this {HEADER} was saved, but its response was not "
            "stored (its process stopped, or failed after saving); find the object (e.g. by "
            "`updated_since`) instead of retrying"
        )


class IdempotencyKeyReused(InvalidField):
    def __init__(self) -> None:
        super().__init__(
            HEADER,
            "already used for a different request (method, path or body); "
            "use a new key for a new request",
            location="header",
            type="idempotency_key_reused",
        )


def fingerprint(*, method: str, path: str, body: bytes) -> str:
    """Equal JSON bodies match whatever their key order or whitespace."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


# Statements built once and run on the session's connection with their parameters: a
# claim, its mark and its outcome are on every idempotent write, and building them and
# going through the ORM cost more than running them.
_RECORDS = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_SAME_KEY = (_RECORDS.c.api_key_id == bindparam("api_key_id")) & (
    _RECORDS.c.key == bindparam("key")
)
_CLAIM_COLUMNS = ("api_key_id", "key", "method", "path", "request_hash", "created_at")
# An expired record, or a claim whose process died before saving, no longer holds the key.
_TAKE_OVER = delete(_RECORDS).where(
    _SAME_KEY,
    (_RECORDS.c.created_at < bindparam("expired_before"))
    | (
        _RECORDS.c.completed_at.is_(None)
        & _RECORDS.c.work_committed_at.is_(None)
        & (_RECORDS.c.created_at < bindparam("abandoned_before"))
    ),
)
_HOLDER = select(IdempotencyRecord).where(_SAME_KEY)
_THIS_CLAIM = _RECORDS.c.id == bindparam("record_id")
_MARK = update(_RECORDS).where(_THIS_CLAIM).values(work_committed_at=bindparam("now"))
_COMPLETE = (
    update(_RECORDS)
    .where(_THIS_CLAIM)
    .values(
        status_code=bindparam("status_code"),
        response_body=bindparam("response_body"),
        response_headers=bindparam("response_headers"),
        completed_at=bindparam("now"),
    )
)
_RELEASE = delete(_RECORDS).where(
    _THIS_CLAIM, _RECORDS.c.completed_at.is_(None), _RECORDS.c.work_committed_at.is_(None)
)


@functools.cache
def _claiming(dialect_name: str) -> Any:
    """INSERT of a claim that answers its id, or nothing when a record holds the key."""
    insert = insert_for(dialect_name, _RECORDS)
    values: dict[str, Any] = {name: bindparam(name) for name in _CLAIM_COLUMNS}
    return insert.values(values).on_conflict_do_nothing().returning(_RECORDS.c.id)


def claim(
    *,
    session: Session,
    api_key_id: int,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    retention: timedelta,
    lock_timeout: timedelta,
) -> Claim | StoredResponse:
    """Own the key (Claim), or learn the first request's outcome (StoredResponse).

    Raises IdempotencyKeyReused for a different request, IdempotencyInFlight while the
    first one runs.
    """
    purge_expired(session=session, retention=retention)
    same_key = {"api_key_id": api_key_id, "key": key}
    for _ in range(3):
        now = utcnow()
        connection = session.connection()
        inserting = _claiming(connection.dialect.name)
        claimed = {**same_key, "method": method, "path": path[:500]}
        claimed |= {"request_hash": request_hash, "created_at": now}
        # The first INSERT claims a free key in one statement; only a held key is looked
        # at further (a concurrent claim's INSERT waits here until that one commits).
        record_id = connection.execute(inserting, claimed).scalar()
        if record_id is None:
            cutoffs = {"expired_before": now - retention, "abandoned_before": now - lock_timeout}
            if connection.execute(_TAKE_OVER, same_key | cutoffs).rowcount:
                record_id = connection.execute(inserting, claimed).scalar()
        if record_id is not None:
            session.commit()
            return Claim(record_id=record_id)
        existing = session.exec(_HOLDER.params(same_key)).first()
        session.commit()
        if existing is None:
            continue  # the owner released it between our INSERT and SELECT: try again
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if existing.completed_at is None or existing.status_code is None:
            if existing.work_committed_at is not None and existing.created_at < now - lock_timeout:
                raise IdempotencyOutcomeLost()
            raise IdempotencyInFlight()
        return StoredResponse(
            status_code=existing.status_code,
            body=(existing.response_body or "").encode(),
            headers=json.loads(existing.response_headers or "{}"),
        )
    raise IdempotencyInFlight()


def complete(
    *, session: Session, claim: Claim, status_code: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the response, so every later request with the key gets it back."""
    kept = {name: value for name, value in headers.items() if name in STORED_HEADERS}
    outcome = {
        "record_id": claim.record_id,
        "status_code": status_code,
        "response_body": body.decode("utf-8", errors="replace"),
        "response_headers": json.dumps(kept),
        "now": utcnow(),
    }
    session.connection().execute(_COMPLETE, outcome)
    session.commit()


def release(*, session: Session, claim: Claim) -> None:
    """Forget a claim whose request failed before saving anything, so a retry runs again."""
    session.connection().execute(_RELEASE, {"record_id": claim.record_id})
    session.commit()


def mark_work_committed(*, session: Session, claim: Claim) -> None:
    """Called inside the request's own transaction, just before it commits."""
    session.connection().execute(_MARK, {"record_id": claim.record_id, "now": utcnow()})


def purge_expired(*, session: Session, retention: timedelta) -> None:
    """Delete records past retention, at most once a minute per process.

    Opportunistic: a failure (e.g. a lock conflict with another process purging the
    same rows) is logged and ignored; the next purge catches up.
    """
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_INTERVAL_SECONDS:
        return
    _last_purge = time.monotonic()
    try:
        session.exec(
            delete(IdempotencyRecord).where(  # type: ignore[call-overload]
                col(IdempotencyRecord.created_at) < utcnow() - retention
            )
        )
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        logger.warning("purging expired idempotency keys failed: %s", type(exc).__name__)
