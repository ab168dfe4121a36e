"""The data revision: a counter bumped by every write to report data, read by report ETags.

The bump is wired once, as SQLAlchemy session events, so no service has to remember it:
any flush that inserts, updates or deletes a row of a tracked table, and any ORM bulk
INSERT/UPDATE/DELETE statement on one, bumps the counter inside the same transaction,
just before it commits.
Readers therefore see the new revision exactly when they can see the new data.
"""

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

# Tables whose rows feed the reports. Keys, idempotency records and history do not.
TRACKED_TABLES = frozenset(
    {
        "units",
        "projects",
        "project_periods",
        "experiments",
        "criteria",
        "measurements",
        "determinant_tags",
        "unit_commitments",
    }
)
_BUMP = text("UPDATE data_revision SET revision = revision + 1 WHERE id = 1")
_READ = text("SELECT revision FROM data_revision WHERE id = 1")
_BUMPED = "portfolio_revision_bumped"


def _table_name(obj: Any) -> str | None:
    return getattr(obj, "__tablename__", None)


def _bump_once(session: Session) -> None:
    # Only noted here; the UPDATE runs in _before_commit. Taking the counter's row lock at
    # the first flush made it the first lock of every write, then held while the write
    # went on to lock a project or criterion row: two writes taking those in the opposite
    # order deadlocked (PostgreSQL aborts one: a 503 under load). Taken last, just before
    # COMMIT, it cannot be part of a cycle.
    session.info[_BUMPED] = True


def _before_commit(session: Session) -> None:
    session.flush()  # the final flush may still mark the transaction as a write
    if session.info.pop(_BUMPED, None):
        session.connection().execute(_BUMP)


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _table_name(obj) in TRACKED_TABLES and (
            obj in session.new or obj in session.deleted or session.is_modified(obj)
        ):
            _bump_once(session)
            return


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in TRACKED_TABLES:
        _bump_once(state.session)  # type: ignore[arg-type]


def note_write(session: Session, table_name: str) -> None:
    """For writes the hooks cannot see (textual SQL, e.g. `bulk`'s unnest insert)."""
    if table_name in TRACKED_TABLES:
        _bump_once(session)


def _end_transaction(session: Session, *_args: Any) -> None:
    session.info.pop(_BUMPED, None)


def install() -> None:
    """Register the hooks on every Session (idempotent)."""
    for name, handler in (
        ("before_flush", _before_flush),
        ("do_orm_execute", _do_orm_execute),
        ("before_commit", _before_commit),
        ("after_commit", _end_transaction),
        ("after_rollback", _end_transaction),
    ):
        if not event.contains(Session, name, handler):
            event.listen(Session, name, handler)


def current(*, session: Session) -> int:
    return int(session.connection().execute(_READ).scalar_one())


def report_etag(
    *,
    revision: int,
    report: str,
    query: str,
    representation: str,
    scope_unit_id: int | None,
    today: date,
) -> str:
    """Changes exactly when the report's inputs can: data, parameters, representation
    (JSON or CSV), caller's scope, and the date (criteria turn `missed` when their due date
    passes)."""
    key = f"{revision}|{report}|{query}|{representation}|{scope_unit_id}|{today.isoformat()}"
    return '"r' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
