"""Triggers that keep a derived table in step with a base table, one definition for both
databases: the same SQL statements run once per statement over transition tables on
PostgreSQL (`new_rows`, `old_rows`), and once per row over one-row selects of NEW and OLD
on SQLite, which has no statement triggers.

Also what every family of such tables shares: the `Family` interface that whatever acts
on all of them loops over (`app.reports.summary_families`), and the compaction of a
family's logs in a write transaction of its own (`compact_apart`).
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.core.db import READ_ONLY

# Given the trigger and how a statement names the rows after and before the write (a
# table on PostgreSQL, a one-row select on SQLite), the SQL statements it runs.
Statements = Callable[["Trigger", str, str], list[str]]

_TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def _drop(name: str, table: str, dialect: str) -> list[str]:
    """DROP statements of the trigger ``name`` on ``table`` (and, on PostgreSQL, of its
    function, named alike)."""
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    return [f"DROP TRIGGER IF EXISTS {name}"]


def _switch(name: str, table: str, *, enabled: bool) -> str:
    """PostgreSQL: switch off for a bulk load (then rebuild), and on again. Takes the
    table's exclusive lock until the transaction ends."""
    return f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    event: str  # INSERT, UPDATE or DELETE
    # The columns of `table` the statements read: SQLite's NEW and OLD rows carry these,
    # and an UPDATE that changes none of them cannot change a count, so it does not fire.
    read_columns: Sequence[str]

    def create(
        self, dialect: str, statements: Statements, postgres_first: Sequence[str] = ()
    ) -> list[str]:
        """CREATE statements (on PostgreSQL a function and its trigger). `postgres_first`:
        statements run before the others on PostgreSQL only (locks SQLite does not need,
        its writers running one at a time)."""
        if dialect == "postgresql":
            body = "\n".join(
                f"  {s};" for s in (*postgres_first, *statements(self, "new_rows", "old_rows"))
            )
            return [
                f"CREATE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{body}\n  RETURN NULL;\nEND $$",
                f"CREATE TRIGGER {self.name} AFTER {self.event} ON {self.table} "
                f"REFERENCING {_TRANSITIONS[self.event]} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {self.name}()",
            ]
        body = "\n".join(f"  {s};" for s in statements(self, self._row("NEW"), self._row("OLD")))
        when = ""
        if self.event == "UPDATE":
            changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in self.read_columns if c != "id")
            when = f" WHEN {changed}"
        return [
            f"CREATE TRIGGER {self.name} AFTER {self.event} ON {self.table} FOR EACH ROW{when}\n"
            f"BEGIN\n{body}\nEND"
        ]

    def drop(self, dialect: str) -> list[str]:
        return _drop(self.name, self.table, dialect)

    def switch(self, *, enabled: bool) -> str:
        return _switch(self.name, self.table, enabled=enabled)

    def _row(self, alias: str) -> str:
        columns = ", ".join(f"{alias}.{c} AS {c}" for c in self.read_columns)
        return f"(SELECT {columns})"


def create_all(
    triggers: Sequence[Trigger],
    dialect: str,
    statements: Statements,
    postgres_first: Callable[[Trigger], Sequence[str]] = lambda _: (),
) -> list[str]:
    return [s for t in triggers for s in t.create(dialect, statements, postgres_first(t))]


@dataclass(frozen=True)
class RowTrigger:
    """A trigger run once per row on both databases (its statements read NEW and OLD), and
    on PostgreSQL its function, both named `trg_<name>`."""

    name: str
    table: str
    event: str  # INSERT, DELETE, or UPDATE OF <columns>
    statements: list[str]
    when: str | None = None

    def create(self, dialect: str) -> list[str]:
        when = f" WHEN ({self.when})" if self.when else ""
        name = f"trg_{self.name}"
        body = ";\n".join(self.statements)
        if dialect == "postgresql":
            return [
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{body};\nRETURN NULL;\nEND\n$$",
                f"CREATE TRIGGER {name} AFTER {self.event} ON {self.table} "
                f"FOR EACH ROW{when} EXECUTE FUNCTION {name}()",
            ]
        return [
            f"CREATE TRIGGER {name} AFTER {self.event} ON {self.table} "
            f"FOR EACH ROW{when} BEGIN\n{body};\nEND"
        ]

    def drop(self, dialect: str) -> list[str]:
        return _drop(f"trg_{self.name}", self.table, dialect)

    def switch(self, *, enabled: bool) -> str:
        return _switch(f"trg_{self.name}", self.table, enabled=enabled)


def changed(*columns: str) -> str:
    """A row trigger's WHEN: one of ``columns`` differs between OLD and NEW."""
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def sums_sql(counts: Sequence[str], *, of: str = "", function: str = "sum") -> tuple[str, str]:
    """The select list summing each count over a derived table (columns prefixed ``of``),
    and the condition that one of those sums is not zero."""
    sums = [f"{function}({of}{name})" for name in counts]
    return ", ".join(sums), " OR ".join(f"{total} <> 0" for total in sums)


def upsert_sums(
    table: str,
    keys: Sequence[str],
    counts: Sequence[str],
    changes: Sequence[str],
    *,
    source: str = "AS delta",
    of: str = "",
    function: str = "sum",
) -> str:
    """One upsert adding to a table of counts per key the sums of the ``changes`` (selects
    of the keys and counts, signed), grouped per key; keys whose sums are zero everywhere
    are skipped. Keys in order, so two statements lock summary rows in the same order.
    ``source``, ``of`` and ``function`` spell the derived table, its columns and the sum,
    so each family's triggers keep the text their migration installed."""
    key_list = ", ".join(keys)
    grouped = ", ".join(f"{of}{key}" for key in keys)
    sums, changed = sums_sql(counts, of=of, function=function)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counts)
    return (
        f"INSERT INTO {table} ({key_list}, {', '.join(counts)}) "
        f"SELECT {grouped}, {sums} FROM ({' UNION ALL '.join(changes)}) {source} WHERE 1 = 1 "
        f"GROUP BY {grouped} HAVING {changed} ORDER BY {grouped} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )


def upsert_delta(
    table: str,
    keys: Sequence[str],
    counts: Sequence[str],
    added: Sequence[str],
    removed: Sequence[str],
) -> str:
    """One upsert into a table of counts per key: adds the counts of the ``added`` row sets
    and subtracts those of the ``removed`` ones (`upsert_sums`)."""
    key_list = ", ".join(keys)
    signed = [f"SELECT {key_list}, {', '.join(counts)} FROM ({rows}) AS a" for rows in added]
    negated = ", ".join(f"-{name} AS {name}" for name in counts)
    signed += [f"SELECT {key_list}, {negated} FROM ({rows}) AS s" for rows in removed]
    return upsert_sums(table, keys, counts, signed)


def refill_sql(table: str, columns: Sequence[str], select: str) -> list[str]:
    """A rebuild's statements for one table: empty it, then insert the rows of ``select``
    (its ``columns``, in order)."""
    return [f"DELETE FROM {table}", f"INSERT INTO {table} ({', '.join(columns)}) {select}"]


# --- families of derived tables --------------------------------------------------------


class _Switchable(Protocol):
    def drop(self, dialect: str) -> list[str]: ...

    def switch(self, *, enabled: bool) -> str: ...


def _no_statements(dialect: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Family:
    """Derived data one module keeps (tables kept by triggers, or columns the application
    writes), as whatever acts on every family sees it: the rebuild command, the bench
    loaders, the metadata. A family whose triggers a loader switches off (PostgreSQL) or
    drops (SQLite) is rebuilt by it; one without triggers (the application writes it, and
    so does the loader) is left alone there."""

    # Its tables, on SQLModel.metadata (the loaders empty them).
    tables: Sequence[Table]
    # Dialect -> statements recomputing it from the base tables, in one transaction.
    rebuild_sql: Callable[[str], list[str]]
    # The base tables the rebuild reads, locked against writers on PostgreSQL first.
    reads: Sequence[str] = ()
    # Dialect -> CREATE statements of the triggers (and, on PostgreSQL, their functions).
    trigger_ddl: Callable[[str], list[str]] = _no_statements
    # The triggers, by name and table (the same on both databases): to drop or switch.
    triggers: Sequence[_Switchable] = ()
    # SQLite: the bench loader leaves the triggers on, filling the tables row by row,
    # instead of dropping them and rebuilding.
    sqlite_load_with_triggers: bool = False

    def has_triggers(self) -> bool:
        return bool(self.triggers)

    def drop_trigger_ddl(self, dialect: str) -> list[str]:
        return [statement for t in self.triggers for statement in t.drop(dialect)]

    def switch_triggers_sql(self, *, enabled: bool) -> list[str]:
        """PostgreSQL: switch the triggers off for a bulk load (then rebuild) and on
        again. Each takes its table's exclusive lock until the transaction ends."""
        return [t.switch(enabled=enabled) for t in self.triggers]

    def rebuild(self, connection: Connection) -> None:
        """Recompute the family from the base tables, in the caller's transaction. On
        PostgreSQL writers of the tables it reads wait until it commits, so none lands
        between the recount and the triggers taking over again."""
        dialect = connection.dialect.name
        if dialect == "postgresql" and self.reads:
            connection.exec_driver_sql(
                f"LOCK TABLE {', '.join(self.reads)} IN SHARE ROW EXCLUSIVE MODE"
            )
        _execute(connection, self.rebuild_sql(dialect))

    def install_triggers(self, connection: Connection) -> None:
        _execute(connection, self.trigger_ddl(connection.dialect.name))

    def drop_triggers(self, connection: Connection) -> None:
        _execute(connection, self.drop_trigger_ddl(connection.dialect.name))


def _execute(connection: Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        connection.exec_driver_sql(statement)


def compact_apart(
    session: Session,
    compact: Callable[[Connection], None],
    *,
    log: logging.Logger,
    name: str,
    tables: Sequence[Table],
) -> None:
    """Run ``compact`` (which tidies a family's logs, ``tables``) after a report read many
    rows. The report's own session is read-only (in autocommit on PostgreSQL, where a DELETE
    and the INSERT of the sums would commit apart and a reader in between would count too
    little), so the compaction takes its own connection and transaction, as a write. It
    only tidies: if it fails (a lock timeout, a read-only database), the report has its
    answer and the next one retries.

    On PostgreSQL the tables are then analyzed: a compaction folds up to every row of a
    log at once, and the planner's statistics of before (at L, 143,000 unmet criteria due
    before today where 3,000 were left) chose a parallel plan that spent 9 ms starting its
    workers for 1 ms of work, until autovacuum's next round (never, where it is off)."""
    engine = session.connection().engine
    try:
        with engine.connect() as connection:
            options: dict[str, Any] = {READ_ONLY: False}  # SQLite: BEGIN IMMEDIATE
            if connection.dialect.name == "postgresql":
                options["isolation_level"] = "READ COMMITTED"  # not the reads' autocommit
            writable = connection.execution_options(**options)
            with writable.begin():
                compact(writable)
            if connection.dialect.name == "postgresql":
                names = ", ".join(table.name for table in tables)
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"ANALYZE {names}"
                )
    except DBAPIError:
        log.warning("%s: compaction failed; the next report retries", name, exc_info=True)
