"""Triggers that keep a derived table in step with a base table, one definition for both
databases: the same SQL statements run once per statement over transition tables on
PostgreSQL (`new_rows`, `old_rows`), and once per row over one-row selects of NEW and OLD
on SQLite, which has no statement triggers.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Given the trigger and how a statement names the rows after and before the write (a
# table on PostgreSQL, a one-row select on SQLite), the SQL statements it runs.
Statements = Callable[["Trigger", str, str], list[str]]

_TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


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
        if dialect == "postgresql":
            return [
                f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}",
                f"DROP FUNCTION IF EXISTS {self.name}()",
            ]
        return [f"DROP TRIGGER IF EXISTS {self.name}"]

    def switch(self, *, enabled: bool) -> str:
        """PostgreSQL: switch off for a bulk load (then rebuild), and on again. Takes the
        table's exclusive lock until the transaction ends."""
        return f"ALTER TABLE {self.table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {self.name}"

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


def drop_all(triggers: Sequence[Trigger], dialect: str) -> list[str]:
    return [statement for t in triggers for statement in t.drop(dialect)]


def switch_all(triggers: Sequence[Trigger], *, enabled: bool) -> list[str]:
    return [t.switch(enabled=enabled) for t in triggers]


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
        name = f"trg_{self.name}"
        if dialect == "postgresql":
            return [
                f"DROP TRIGGER IF EXISTS {name} ON {self.table}",
                f"DROP FUNCTION IF EXISTS {name}()",
            ]
        return [f"DROP TRIGGER IF EXISTS {name}"]


def upsert_delta(
    table: str,
    keys: Sequence[str],
    counts: Sequence[str],
    added: Sequence[str],
    removed: Sequence[str],
) -> str:
    """One upsert into a table of counts per key: adds the counts of the ``added`` row sets
    and subtracts those of the ``removed`` ones; keys whose difference is zero everywhere
    are skipped. Keys in order, so two statements lock summary rows in the same order."""
    key_list = ", ".join(keys)
    columns = f"{key_list}, {', '.join(counts)}"
    signed = [f"SELECT {columns} FROM ({rows}) AS a" for rows in added]
    negated = ", ".join(f"-{name} AS {name}" for name in counts)
    signed += [f"SELECT {key_list}, {negated} FROM ({rows}) AS s" for rows in removed]
    sums = ", ".join(f"sum({name})" for name in counts)
    changed = " OR ".join(f"sum({name}) <> 0" for name in counts)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counts)
    return (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {key_list}, {sums} FROM ({' UNION ALL '.join(signed)}) AS delta WHERE 1 = 1 "
        f"GROUP BY {key_list} HAVING {changed} ORDER BY {key_list} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )
