"""Engine, metadata naming convention, column types and the session dependency."""

import select
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import AllowInfNan, Strict
from sqlalchemy import DateTime, Engine, Row, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.errors import CrossFieldError

# Set before any model is imported so every constraint gets a stable name
# (SQLite batch migrations can only drop constraints that have one).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids are INTEGER columns: 32 bits on PostgreSQL, which casts a bound id to that type and
# fails ("integer out of range") past it; SQLite overflows past 64 bits. A larger id names
# no row, so ids from a request beyond this are rejected with a 422 before any query.
MAX_ID = 2**31 - 1
# Request models read numbers strictly (issue 13): JSON `true` is not 1, `"3"` is not 3
# and `3.0` is not an id. Integer fields use pydantic's `StrictInt`; float fields this,
# which takes a JSON integer or float but no boolean, string, NaN or infinity.
StrictFiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]


def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp from a request, in UTC (no offset means UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # e.g. 0001-01-01T00:00+14:00 has no UTC equivalent; without this, a 500 later.
        raise ValueError("is outside the range of representable times") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def as_dicts(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """Result rows as dicts, their column names read once. `Row._asdict()`, and pydantic
    reading a `Row._mapping`, build the result's key view again for every row: a fifth of
    the barometer report's time at L, over its 1,000 unit rows (bench/RESULTS.md, issue 17,
    ninth pass)."""
    if not rows:
        return []
    names = rows[0]._fields
    return [dict(zip(names, row, strict=True)) for row in rows]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(dialect_name: str, table: Table) -> Any:
    """An INSERT into `table` that takes `ON CONFLICT` clauses in the dialect's own words
    (both databases have them; SQLAlchemy's generic INSERT does not)."""
    return _INSERTS[dialect_name](table)


def create_db_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if is_sqlite(url):
        in_memory = make_url(url).database in (None, "", ":memory:")
        pool_args = (
            {}
            if in_memory
            else {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_max_overflow,
                "pool_timeout": settings.db_pool_timeout_seconds,
            }
        )
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            **pool_args,
        )
        _configure_sqlite(engine, settings)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # Not `pool_pre_ping`: its `SELECT 1` is a round trip on every checkout, one per
        # read and four per idempotent POST (bench/RESULTS.md). `_refuse_closed_connections`
        # finds the same dead connections without asking the server.
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            # UTC: list pages write timestamps in SQL (app/json_pages.py).
            "options": "-c timezone=UTC "
            f"-c statement_timeout={settings.db_statement_timeout_ms} "
            f"-c jit={'on' if settings.db_jit else 'off'}",
        },
    )
    event.listen(engine, "checkout", _refuse_closed_connections)
    return engine


def closed_by_server(dbapi_connection: Any) -> bool:
    """Whether PostgreSQL has closed this idle pooled connection (backend terminated,
    server restarted, idle timeout), told without a round trip.

    An idle connection has nothing to read: every answer was read up to its
    ReadyForQuery. A server that ends it sends a FATAL notice and closes the socket, so
    anything readable (or a socket already gone) means it is dead. A live connection that
    did get an unsolicited message (a NOTICE) is only replaced, which is harmless.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    try:
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _refuse_closed_connections(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # The pool discards a connection refused here and checks out (or opens) another:
    # what `pool_pre_ping` does with a failed ping.
    if closed_by_server(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later tries to
        # write fails with "database is locked" instead of waiting its turn. Reads
        # (GET/HEAD) begin deferred: in WAL mode they never wait for the lock, nor
        # make each other wait (bench/RESULTS.md: polls were 20x slower under it).
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# Execution option set on the sessions of safe (read-only) requests.
READ_ONLY = "portfolio_read_only"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_only_engine(engine: Engine) -> Engine:
    """The engine of safe (read-only) requests' sessions.

    On PostgreSQL they run in autocommit: each statement sees the data committed when it
    starts, exactly as in a READ COMMITTED transaction, without the BEGIN and ROLLBACK round
    trips around it. On SQLite they begin a deferred transaction (see `_on_begin`), which
    also gives their statements one snapshot.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. `async`, unlike the routes that use it: opening a session
    does no I/O (it connects on first use, in the route's thread), and a sync generator
    would cost every request two more hops through the threadpool (bench/RESULTS.md).
    Closing may talk to the database (a rollback), so it goes back to a thread unless the
    session never connected or runs in autocommit."""
    state = request.app.state
    bind = state.read_only_engine if request.method in SAFE_METHODS else state.engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction() and not _autocommit(bind):
            await run_in_threadpool(session.close)
        else:
            session.close()


# The request's session, as routes and dependencies declare it.
SessionDep = Annotated[Session, Depends(get_session)]


def _autocommit(bind: Engine) -> bool:
    return bool(bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def enum_column(enum_cls: type, length: int = 32) -> Any:
    """A non-native string enum that stores the member's value (portable, migration-free)."""
    from sqlalchemy import Enum as SAEnum

    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class AuditedFields(SQLModel):
    """Columns that only the server sets, shared by every editable table."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    version: int = Field(default=1, description="Starts at 1, +1 on every change.")
    archived: bool = Field(default=False, index=True)


def check_dates(started_on: date | None, ended_on: date | None) -> None:
    if started_on and ended_on and ended_on < started_on:
        raise CrossFieldError("ended_on", "ended_on is before started_on")


@contextmanager
def single_transaction(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one outer transaction.

    The services commit after each change; run through this session (as the command line
    does for imports and demo data), nothing is final until the block ends without an
    exception, and an exception leaves the database as it was.
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            with Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as session:
                yield session
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
