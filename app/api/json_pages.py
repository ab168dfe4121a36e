"""List pages whose JSON PostgreSQL builds itself (`json_agg`), passed through as bytes.

A page of 100 projects validated and serialized by Pydantic cost most of a list request's
CPU (bench/RESULTS.md, list vs the SQL-as-API peer). On PostgreSQL the page is instead one
statement that returns the items as JSON text, shaped field for field like the public
model: the same keys in the same order, timestamps written the way Pydantic writes them,
and nested objects given by the caller as SQL (`special`). The item's SQL is written once,
when the module loads: building it as SQLAlchemy expressions on every request cost more
than the JSON it saved. `tests/test_list_representation.py` checks that listed items equal
their single-item GETs, key order and timestamp text included.

SQLite keeps the Python path (`listing.ListSpec.plain_page`): the same JSON, from plain
rows. Both take each field from the list's one specification (`app.api.listing`).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import Float, Numeric, Select, Table, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.core.db import UTCDateTime
from app.core.pagination import Page, PageParams, encode_cursor, paginate

# The alias of the page's rows in an item's SQL.
ITEM = "item"

# A timestamp as Pydantic writes a UTC one: `2026-02-01T08:30:00.123456Z`, without the
# fraction when it is zero. The session's time zone is UTC (`db.create_db_engine`).
TIMESTAMP_SQL = "replace(to_char({0}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"


def builds_json(session: Session) -> bool:
    """Whether this session's database builds list pages itself."""
    return session.get_bind().dialect.name == "postgresql"


def value_sql(table: Table, name: str) -> str:
    """The column `name` of the item as its public JSON value."""
    column_type = table.c[name].type
    reference = f"{ITEM}.{name}"
    if isinstance(column_type, UTCDateTime):
        return TIMESTAMP_SQL.format(reference)
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        # Money is a decimal string in the API (`app.core.contract.money_text`): the text
        # form of a numeric(p, 2) has exactly 2 decimals, the same as `f"{value:.2f}"`.
        if column_type.scale != 2:
            raise ValueError(f"{name}: money columns are numeric(p, 2)")
        return f"{reference}::text"
    return reference


def object_sql(fields: Mapping[str, str]) -> str:
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in fields.items()) + ")"


def tags_sql(owner_column: str) -> str:
    """The item's determinant tags as a JSON array in id order, like `as_dicts`."""
    tag = object_sql({name: f"tag.{name}" for name in ("determinant", "effect", "note")})
    return (
        f"(SELECT coalesce(json_agg({tag} ORDER BY tag.id), '[]') "
        f"FROM determinant_tags AS tag WHERE tag.{owner_column} = {ITEM}.id)"
    )


def json_object(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A JSON object from its members: each a name and its value as ready-made JSON."""
    return b"{" + b",".join(to_json(name) + b":" + value for name, value in members) + b"}"


def model_json(model: BaseModel, ready: Mapping[str, bytes]) -> bytes:
    """`model.model_dump_json()`, but with the fields named in `ready` given as JSON the
    database already built (those fields of `model` are left unset or empty)."""
    dumped = model.model_dump(mode="json", exclude=set(ready))
    return json_object(
        (name, ready[name] if name in ready else to_json(dumped[name]))
        for name in type(model).model_fields
    )


class JsonPage:
    """Pages of one table's rows as the JSON of `page_model` (a `Page[item model]`), each
    item's fields given as SQL over the rows aliased `ITEM`, in the item model's order."""

    def __init__(self, page_model: type[Page[Any]], fields_sql: Mapping[str, str]) -> None:
        self.page_model = page_model
        fields = ", ".join(f"{sql} AS {name}" for name, sql in fields_sql.items())
        # One row per item whose columns are the public fields in order: `json_agg` of a
        # row is several times cheaper for PostgreSQL than `json_build_object` of as many
        # fields (whose argument types it works out again on every call).
        self.item: ColumnElement[Any] = literal_column(f"(SELECT x FROM (SELECT {fields}) AS x)")
        self.id: ColumnElement[Any] = literal_column(f"{ITEM}.id")
        self.row: ColumnElement[Any] = literal_column(f"{ITEM}.page_row")

    def page(self, *, session: Session, rows: Select[Any], params: PageParams) -> bytes:
        """`rows` selects the table's columns, filtered; this adds the order, the cursor
        and the limit (`paginate`: one row beyond the page), then builds the page."""
        id_column = rows.selected_columns.id
        numbered = rows.add_columns(func.row_number().over(order_by=id_column).label("page_row"))
        page = paginate(numbered, id_column, params).subquery(ITEM)
        in_page = self.row <= params.limit
        items = func.json_agg(aggregate_order_by(self.item, self.id)).filter(in_page)
        statement = select(
            cast(func.coalesce(items, literal_column("'[]'::json")), Text),
            func.count(),
            func.max(self.id).filter(in_page),
        ).select_from(page)
        # On the connection: the ORM's execute path adds nothing for a Core statement.
        body, count, last_id = session.connection().execute(statement).one()
        next_cursor = encode_cursor(last_id) if count > params.limit else None
        return json_object((("items", body.encode()), ("next_cursor", to_json(next_cursor))))
