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

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from app.api.idempotency.models import IdempotencyRecord
from app.core.db import utcnow
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
    same_key = (col(IdempotencyRecord.api_key_id) == api_key_id) & (
        col(IdempotencyRecord.key) == key
    )
    for _ in range(3):
        now = utcnow()
        # An expired record, or a claim whose process died, no longer holds the key.
        session.exec(
            delete(IdempotencyRecord).where(  # type: ignore[call-overload]
                same_key,
                (col(IdempotencyRecord.created_at) < now - retention)
                | (
                    col(IdempotencyRecord.completed_at).is_(None)
                    & col(IdempotencyRecord.work_committed_at).is_(None)
                    & (col(IdempotencyRecord.created_at) < now - lock_timeout)
                ),
            )
        )
        record = IdempotencyRecord(
            api_key_id=api_key_id,
            key=key,
            method=method,
            path=path[:500],
            request_hash=request_hash,
            created_at=now,
        )
        session.add(record)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            assert record.id is not None
            return Claim(record_id=record.id)
        existing = session.exec(select(IdempotencyRecord).where(same_key)).first()
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
    session.exec(
        update(IdempotencyRecord)  # type: ignore[call-overload]
        .where(col(IdempotencyRecord.id) == claim.record_id)
        .values(
            status_code=status_code,
            response_body=body.decode("utf-8", errors="replace"),
            response_headers=json.dumps(kept),
            completed_at=utcnow(),
        )
    )
    session.commit()


def release(*, session: Session, claim: Claim) -> None:
    """Forget a claim whose request failed before saving anything, so a retry runs again."""
    session.exec(
        delete(IdempotencyRecord).where(  # type: ignore[call-overload]
            col(IdempotencyRecord.id) == claim.record_id,
            col(IdempotencyRecord.completed_at).is_(None),
            col(IdempotencyRecord.work_committed_at).is_(None),
        )
    )
    session.commit()


def mark_work_committed(*, session: Session, claim: Claim) -> None:
    """Called inside the request's own transaction, just before it commits."""
    session.exec(
        update(IdempotencyRecord)  # type: ignore[call-overload]
        .where(col(IdempotencyRecord.id) == claim.record_id)
        .values(work_committed_at=utcnow())
    )


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
