"""Set-based inserts: many rows of a table in one statement, new ids back in order."""

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Table, insert, text
from sqlmodel import Session

from app.core.revision import service as revision


def takes_json(session: Session) -> bool:
    """Whether rows for this session's database may carry their values in JSON form (ISO
    dates, decimal strings, enum values), as `_insert_json` sends them anyway; SQLite's
    executemany needs Python dates and decimals."""
    return session.get_bind().dialect.name == "postgresql"


def new_row(now: datetime | str) -> dict[str, Any]:
    """The columns a versioned table fills the same way for every new row: created and
    updated `now` (a timestamp, or its JSON text in a response), version 1, not archived."""
    return {"created_at": now, "updated_at": now, "version": 1, "archived": False}


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys.

    PostgreSQL: one `INSERT .. SELECT` from the rows as JSON (`_insert_json`). A pipelined
    executemany of 1,000 rows cost psycopg and PostgreSQL a bind and an execute per row
    (bench/RESULTS.md, batch). SQLite: one executemany, which it runs quickly.
    """
    if not rows:
        return
    if takes_json(session):
        _insert_json(session, table, rows)
    else:
        session.execute(insert(table), rows)


def insert_with_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in the order of `rows`.

    PostgreSQL: the ids are drawn from the table's sequence in one query, then the rows go
    in with `insert_rows`. A single INSERT .. VALUES .. RETURNING of 1,000 rows (10,000
    parameters) took PostgreSQL several times as long to parse and plan (bench/RESULTS.md).
    SQLite: INSERT .. RETURNING over many rows, which it runs quickly.
    """
    if not rows:
        return []
    if takes_json(session):
        drawn = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        )
        ids = sorted(int(value) for value in drawn.scalars())
        _insert_json(
            session, table, [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        )
        return ids
    returned = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [int(value) for value in returned.scalars()]


def _insert_json(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One INSERT of every row: the rows go as one JSON document, which PostgreSQL turns
    back into rows of the table's type (`json_populate_recordset`).

    Dumping 1,000 rows is one call into pydantic-core (Rust; 5x faster than `json.dumps`
    with a fallback for dates and decimals); arrays per column (unnest) or an executemany
    cost psycopg several times that per value (bench/RESULTS.md, batch). Datetimes go as
    ISO 8601, decimals as strings and enums as their values, which PostgreSQL reads back
    into the columns' types.
    """
    columns = ", ".join(f'"{name}"' for name in rows[0])
    # Textual SQL, which the session hooks that bump the data revision do not see.
    revision.note_inserted(session, table.name, rows)
    session.execute(
        text(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json))"
        ),
        {"rows": _ROWS.dump_json(rows).decode()},
    )


_ROWS = TypeAdapter(list[dict[str, Any]])
