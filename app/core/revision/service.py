"""The data revisions: a counter per kind of report data, bumped by every write that
changes that kind, read by the report ETags.

A kind is a tracked table's name; a few columns count as another kind (a criterion's
latest measurement is the measurements' data) or as none (a project's `summary`: no report
reads it). A report's ETag is made of the revisions of the kinds it reads
(`app.reports.catalog.READS`), so a new measurement does not invalidate the spread report,
and a project's edited summary invalidates nothing.

The bump is wired once, as SQLAlchemy session events, so no service has to remember it:
any flush that inserts, updates or deletes a row of a tracked table, and any ORM bulk
INSERT/UPDATE/DELETE statement on one, notes its kinds; one UPDATE bumps them all inside
the same transaction, just before it commits.
Readers therefore see the new revisions exactly when they can see the new data.
"""

import hashlib
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, event, inspect, text
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

# Tables whose rows feed the reports, each its own kind of data. Keys, idempotency records
# and history do not.
KINDS = (
    "units",
    "projects",
    "project_periods",
    "experiments",
    "criteria",
    "measurements",
    "determinant_tags",
    "unit_commitments",
)
TRACKED_TABLES = frozenset(KINDS)
# Columns whose change is another kind's (or None: no report reads them; the register
# neither). `tests/reports/test_etags.py` writes each of them and checks every report and
# register answer: a body that changed under an unchanged ETag fails it.
_UNREAD = None
_ANY_TABLE = {"updated_at": _UNREAD, "version": _UNREAD}
COLUMN_KINDS: dict[str, dict[str, str | None]] = {
    "projects": {
        **_ANY_TABLE,
        "summary": _UNREAD,
        "sponsor": _UNREAD,
        "risk_mitigation": _UNREAD,
        "budget": _UNREAD,
        "fte": _UNREAD,
    },
    # Kept on the criterion by every new measurement (app.criteria.service).
    "criteria": {
        **_ANY_TABLE,
        "latest_value": "measurements",
        "latest_measured_on": "measurements",
    },
}
_BUMP = {
    # The rows are locked in one order (kind), so two writes bumping the same kinds cannot
    # deadlock on them; SQLite has one writer at a time.
    "postgresql": text(
        "UPDATE data_revisions SET revision = revision + 1 WHERE kind IN "
        "(SELECT kind FROM data_revisions WHERE kind IN :kinds ORDER BY kind FOR UPDATE)"
    ).bindparams(bindparam("kinds", expanding=True)),
    "sqlite": text(
        "UPDATE data_revisions SET revision = revision + 1 WHERE kind IN :kinds"
    ).bindparams(bindparam("kinds", expanding=True)),
}
_READ = text("SELECT kind, revision FROM data_revisions")
_BUMPED = "portfolio_revision_bumped"


def _table_name(obj: Any) -> str | None:
    return getattr(obj, "__tablename__", None)


def _note(session: Session, kinds: Iterable[str | None]) -> None:
    # Only noted here; the UPDATE runs in _before_commit. Taking the counter's row lock at
    # the first flush made it the first lock of every write, then held while the write
    # went on to lock a project or criterion row: two writes taking those in the opposite
    # order deadlocked (PostgreSQL aborts one: a 503 under load). Taken last, just before
    # COMMIT, it cannot be part of a cycle.
    noted = {kind for kind in kinds if kind is not None}
    if noted:
        session.info.setdefault(_BUMPED, set()).update(noted)


def changed_kinds(table: str, columns: Iterable[str]) -> set[str | None]:
    """The kinds a change of `columns` of a `table` row changes (None: none)."""
    overrides = COLUMN_KINDS.get(table, _ANY_TABLE)
    return {overrides.get(column, table) for column in columns}


def _before_commit(session: Session) -> None:
    session.flush()  # the final flush may still mark the transaction as a write
    kinds = session.info.pop(_BUMPED, None)
    if kinds:
        connection = session.connection()
        connection.execute(_BUMP[connection.dialect.name], {"kinds": sorted(kinds)})


def _changed_columns(obj: Any) -> list[str]:
    state = inspect(obj)
    columns = state.mapper.column_attrs
    return [a.key for a in state.attrs if a.key in columns and a.history.has_changes()]


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.deleted):
        table = _table_name(obj)
        if table in TRACKED_TABLES:
            _note(session, [table])
    for obj in session.dirty:
        table = _table_name(obj)
        if table in TRACKED_TABLES and session.is_modified(obj):
            _note(session, changed_kinds(table, _changed_columns(obj)))


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    note_write(state.session, getattr(table, "name", ""))  # type: ignore[arg-type]


def note_write(session: Session, table_name: str) -> None:
    """For writes the hooks cannot see (textual SQL, e.g. `bulk`'s unnest insert)."""
    if table_name in TRACKED_TABLES:
        _note(session, [table_name])


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


def bump_all(connection: Connection) -> None:
    """Every kind's revision, for a change the hooks cannot see: summaries rebuilt."""
    connection.execute(text("UPDATE data_revisions SET revision = revision + 1"))


def current(*, session: Session) -> dict[str, int]:
    """Every kind's revision (one statement, whatever the kinds a reader needs)."""
    return {kind: int(revision) for kind, revision in session.connection().execute(_READ)}


def report_etag(
    *,
    revisions: Mapping[str, int],
    reads: Collection[str],
    report: str,
    query: str,
    representation: str,
    scope_unit_id: int | None,
    today: date,
) -> str:
    """Changes exactly when the report's inputs can: the kinds of data it `reads`,
    parameters, representation (JSON or CSV), caller's scope, and the date (criteria turn
    `missed` when their due date passes)."""
    revision = ",".join(f"{kind}={revisions.get(kind, 0)}" for kind in sorted(reads))
    key = f"{revision}|{report}|{query}|{representation}|{scope_unit_id}|{today.isoformat()}"
    return '"r' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
