"""The data revisions: a counter per kind of report data, bumped by every write that
changes that kind, read by the report ETags.

A kind is a tracked table's name, or a narrower one: some of a table's rows
(`ROW_KINDS`: the dated experiments) or columns (`COLUMN_KINDS`: an experiment's owner
columns; a criterion's latest measurement is the measurements' data; a project's
`summary` is no kind at all, no report reads it). A report's ETag is made of the
revisions of the kinds it reads (`app.reports.catalog.READS`), so a new measurement does
not invalidate the spread report, and a project's edited summary invalidates nothing.

The bump is wired once, as SQLAlchemy session events, so no service has to remember it:
any flush that inserts, updates or deletes a row of a tracked table, and any ORM bulk
INSERT/UPDATE/DELETE statement on one, notes its kinds; one upsert bumps them all inside
the same transaction, just before it commits.
Readers therefore see the new revisions exactly when they can see the new data.
"""

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

from app.core.db import insert_for
from app.core.revision.models import DataRevision

# Tables whose rows feed the reports, each its own kind of data. Keys, idempotency records
# and history do not.
_TABLES = (
    "units",
    "projects",
    "project_periods",
    "experiments",
    "criteria",
    "measurements",
    "determinant_tags",
    "unit_commitments",
)
TRACKED_TABLES = frozenset(_TABLES)


@dataclass(frozen=True)
class RowKind:
    kind: str
    columns: tuple[str, ...]  # what `holds` reads
    holds: Callable[[Mapping[str, Any]], bool]


def _dated(row: Mapping[str, Any]) -> bool:
    return any(
        row[column] is not None for column in ("started_on", "ended_on", "published_on")
    ) or row["status"] in ("completed", "stopped")


# Kinds of some rows of a table, noted besides the table's own when a write touches such a
# row, as it was or as it is. The experimentation report counts experiments by the month
# they started or finished and the register lists published ones: a proposed experiment
# without dates is neither's data until it gets one.
ROW_KINDS: dict[str, RowKind] = {
    "experiments": RowKind(
        "dated_experiments", ("started_on", "ended_on", "published_on", "status"), _dated
    ),
}
# An experiment as the owner of tags: the determinants report counts the tags of live
# experiments under their project's unit, so only an update of these columns (or a
# deletion) changes it; a new experiment has no tags yet (its tags are their own kind).
_OWNER = ("experiments", "experiment_owners")
# Columns whose change is another kind's (or None: no report reads them; the register
# neither). `tests/reports/test_etag_kinds.py` writes each of them and checks every report
# and register answer: a body that changed under an unchanged ETag fails it.
_UNREAD = None
_ANY_TABLE = {"updated_at": _UNREAD, "version": _UNREAD}
COLUMN_KINDS: dict[str, dict[str, str | tuple[str, ...] | None]] = {
    "projects": {
        **_ANY_TABLE,
        "summary": _UNREAD,
        "sponsor": _UNREAD,
        "risk_mitigation": _UNREAD,
        "budget": _UNREAD,
        "fte": _UNREAD,
    },
    "experiments": {**_ANY_TABLE, "archived": _OWNER, "project_id": _OWNER, "unit_id": _OWNER},
    # Kept on the criterion by every new measurement (app.criteria.service).
    "criteria": {
        **_ANY_TABLE,
        "latest_value": "measurements",
        "latest_measured_on": "measurements",
    },
}
_REVISIONS = DataRevision.__table__  # type: ignore[attr-defined]


def _bump(connection: Connection, kinds: Iterable[str]) -> None:
    """+1 on each kind's revision (a kind without its row yet gets one, at 1)."""
    connection.execute(_bumping(connection.dialect, tuple(sorted(kinds))))


def _bumping(dialect: Dialect, kinds: tuple[str, ...]) -> Any:
    """One upsert whose rows come in one order (kind), so two writes bumping the same kinds
    take their row locks in the same order and cannot deadlock on them; SQLite has one
    writer.

    Built and compiled once per dialect and set of kinds (a write's kinds come from a few
    fixed sets), the kinds written into its text: SQLAlchemy keeps no compiled form of an
    `ON CONFLICT DO UPDATE` (its cache key is None), so it compiled the upsert again on
    every write, a tenth of a single POST's time (bench/RESULTS.md, tenth pass)."""
    key = (dialect.name, kinds)
    upsert = _UPSERTS.get(key)
    if upsert is None:
        insert: Any = insert_for(dialect.name, _REVISIONS).values(
            [{"kind": kind, "revision": 1} for kind in kinds]
        )
        statement = insert.on_conflict_do_update(
            index_elements=[_REVISIONS.c.kind], set_={"revision": _REVISIONS.c.revision + 1}
        )
        compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        upsert = _UPSERTS[key] = text(str(compiled))
    return upsert


_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


_READ = text("SELECT kind, revision FROM data_revisions")
_BUMPED = "portfolio_revision_bumped"


def _table_name(obj: Any) -> str | None:
    return getattr(obj, "__tablename__", None)


def _note(session: Session, kinds: Iterable[str]) -> None:
    # Only noted here; the upsert runs in _before_commit. Taking the counter's row lock at
    # the first flush made it the first lock of every write, then held while the write
    # went on to lock a project or criterion row: two writes taking those in the opposite
    # order deadlocked (PostgreSQL aborts one: a 503 under load). Taken last, just before
    # COMMIT, it cannot be part of a cycle.
    noted = set(kinds)
    if noted:
        session.info.setdefault(_BUMPED, set()).update(noted)


def _flat(kinds: Iterable[str | tuple[str, ...] | None]) -> set[str]:
    return {
        kind
        for entry in kinds
        if entry is not None
        for kind in ((entry,) if isinstance(entry, str) else entry)
    }


def changed_kinds(table: str, columns: Iterable[str]) -> set[str]:
    """The kinds a change of `columns` of a `table` row changes (none: no reader's)."""
    overrides = COLUMN_KINDS.get(table, _ANY_TABLE)
    return _flat(overrides.get(column, table) for column in columns)


def table_kinds(table: str) -> set[str]:
    """Every kind a row of `table` can change: for a write whose columns and rows are not
    known (a deletion, textual SQL, an ORM bulk statement)."""
    row_kind = ROW_KINDS.get(table)
    return _flat(
        [table, *COLUMN_KINDS.get(table, {}).values(), row_kind.kind if row_kind else None]
    )


# Every kind: each table, then the narrower kinds of its rows and columns.
KINDS = tuple(
    dict.fromkeys(kind for table in _TABLES for kind in (table, *sorted(table_kinds(table))))
)


_BEFORE_BUMP = "portfolio_before_revision_bump"


def before_bump(session: Session, callback: Callable[[Session], None] | None) -> None:
    """Run `callback(session)` in each commit of `session` just before its revisions are
    bumped (None: no longer). For a statement that must commit with the work but need not
    hold the revision rows: their locks are the last taken, so that concurrent writers
    wait on them for as little as can be (the bump, then COMMIT)."""
    if callback is None:
        session.info.pop(_BEFORE_BUMP, None)
    else:
        session.info[_BEFORE_BUMP] = callback


def _before_commit(session: Session) -> None:
    session.flush()  # the final flush may still mark the transaction as a write
    callback = session.info.get(_BEFORE_BUMP)
    if callback is not None:
        callback(session)
    kinds = session.info.pop(_BUMPED, None)
    if kinds:
        _bump(session.connection(), kinds)


def _changed_columns(obj: Any) -> list[str]:
    state = inspect(obj)
    columns = state.mapper.column_attrs
    return [a.key for a in state.attrs if a.key in columns and a.history.has_changes()]


def _row_kinds(table: str, obj: Any, *, changed: bool) -> list[str]:
    """`table`'s row kinds `obj` belongs to as it is, or (`changed`) as it was."""
    row_kind = ROW_KINDS.get(table)
    if row_kind is None:
        return []
    attrs = [inspect(obj).attrs[column] for column in row_kind.columns]
    if row_kind.holds({attr.key: attr.value for attr in attrs}):
        return [row_kind.kind]
    if changed:
        before = {
            attr.key: attr.history.deleted[0] if attr.history.deleted else attr.value
            for attr in attrs
        }
        if row_kind.holds(before):
            return [row_kind.kind]
    return []


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in session.new:
        table = _table_name(obj)
        if table in TRACKED_TABLES:
            _note(session, [table, *_row_kinds(table, obj, changed=False)])
    for obj in session.deleted:
        table = _table_name(obj)
        if table in TRACKED_TABLES:
            _note(session, table_kinds(table))
    for obj in session.dirty:
        table = _table_name(obj)
        if table in TRACKED_TABLES and session.is_modified(obj):
            kinds = changed_kinds(table, _changed_columns(obj))
            if kinds:
                kinds.update(_row_kinds(table, obj, changed=True))
            _note(session, kinds)


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table_name = getattr(getattr(state.statement, "table", None), "name", "")
    session: Any = state.session
    if state.is_insert:
        # The rows are the parameters (one dict, or a list of them for executemany); values
        # written into the statement are not seen, and then every row kind is noted.
        parameters: Any = state.parameters
        rows = parameters if isinstance(parameters, list) else [parameters or {}]
        note_inserted(session, table_name, rows)
    else:
        note_write(session, table_name)


def note_write(session: Session, table_name: str) -> None:
    """For writes the hooks cannot see (textual SQL, e.g. `bulk`'s unnest insert): every
    kind of the table, whatever the rows and columns."""
    if table_name in TRACKED_TABLES:
        _note(session, table_kinds(table_name))


def note_inserted(session: Session, table_name: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """For new rows written in Core statements, which the hooks cannot see: the kinds a
    flush of the same rows notes (the table's, and the row kinds they hold). A row
    without the columns its table's row kind reads is taken to hold it."""
    if table_name not in TRACKED_TABLES:
        return
    kinds = {table_name}
    row_kind = ROW_KINDS.get(table_name)
    if row_kind is not None and any(
        not all(column in row for column in row_kind.columns) or row_kind.holds(row)
        for row in rows
    ):
        kinds.add(row_kind.kind)
    _note(session, kinds)


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
    _bump(connection, KINDS)


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
