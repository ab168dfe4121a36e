"""Set-based inserts: many rows of a table in one round trip, new ids back in order."""

from typing import Any

from sqlalchemy import Table, insert, text
from sqlmodel import Session


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany (pipelined by psycopg on PostgreSQL); every row has the same keys."""
    if rows:
        session.execute(insert(table), rows)


def insert_with_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in the order of `rows`.

    PostgreSQL: the ids are drawn from the table's sequence in one query, then the rows go
    in with one pipelined executemany. A single INSERT .. RETURNING of 1,000 rows (10,000
    parameters) took PostgreSQL several times as long to parse and plan (bench/RESULTS.md).
    SQLite: INSERT .. RETURNING over many rows, which it runs quickly.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        )
        ids = sorted(int(value) for value in drawn.scalars())
        session.execute(
            insert(table), [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        )
        return ids
    returned = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [int(value) for value in returned.scalars()]
