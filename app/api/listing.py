"""One specification per list, from which its page SQL, its JSON and its CSV columns come,
and the one helper every list route answers through.

A list (`ListSpec`) is a table, its page model and a tuple of fields in CSV order. Each
field knows, for the public keys it gives:
- `sql`: its JSON value as PostgreSQL text over the page's rows (`json_pages.ITEM`), for
  the pages the database builds (`json_pages.JsonPage`);
- `value`: the same value in Python, from a plain row and what was loaded for the page
  (SQLite's pages, and the CSV export, both validated by the page's item model);
- `cells`: its CSV cells, from the item in JSON form, under `csv_columns`.
The JSON keys come in the item model's order (checked when the spec is built); the CSV
columns in the spec's order. `tests/api/test_list_representation.py` compares both paths.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args

from fastapi import Depends, Request, Response
from sqlalchemy import Float, Numeric, Select, Table, select
from sqlmodel import Session

from app.api import csv_export, json_pages
from app.auth.dependencies import PresentedKey, actor_of
from app.core.config import Settings
from app.core.db import SessionDep, UTCDateTime
from app.core.errors import READ, problem_responses
from app.core.flags import FlagSet
from app.core.pagination import Page, PageParams, json_response, page_bytes, paginate, split_page

Row = Any
PageData = Mapping[str, Any]


class _OneCell:
    """A field that is one public key and one CSV column of the same name."""

    name: str

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True)
class Column(_OneCell):
    """A column shown as it is; timestamps and money are rendered as Pydantic writes them."""

    name: str

    def kind(self, table: Table) -> str:
        column_type = table.c[self.name].type
        if isinstance(column_type, UTCDateTime):
            return "timestamp"
        if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
            return "money"
        return "plain"

    def sql(self, table: Table) -> dict[str, str]:
        return {self.name: json_pages.value_sql(table, self.name)}

    def value(self, row: Row, page: PageData) -> dict[str, Any]:
        return {self.name: getattr(row, self.name)}

    def cells(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {self.name: item[self.name]}


@dataclass(frozen=True)
class FlagsColumn(_OneCell):
    """A set of enum values stored as a bitmask, shown as an array in the enum's order."""

    name: str
    flags: FlagSet[Any]
    mask: str

    def sql(self, table: Table) -> dict[str, str]:
        return {self.name: self.flags.json_sql(f"{json_pages.ITEM}.{self.mask}")}

    def value(self, row: Row, page: PageData) -> dict[str, Any]:
        return {self.name: self.flags.decode(getattr(row, self.mask))}

    def cells(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {self.name: item[self.name]}  # one cell, joined by ";" (`csv_export.cell`)


@dataclass(frozen=True)
class Nested:
    """An object of several columns, null while `members`' first column is null. In CSV one
    column per member, named by its column."""

    name: str
    members: Mapping[str, str]  # public key -> column

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return tuple(self.members.values())

    @property
    def _present(self) -> str:
        return next(iter(self.members.values()))

    def sql(self, table: Table) -> dict[str, str]:
        item = json_pages.ITEM
        members = json_pages.object_sql({k: f"{item}.{c}" for k, c in self.members.items()})
        return {self.name: f"CASE WHEN {item}.{self._present} IS NULL THEN NULL ELSE {members} END"}

    def value(self, row: Row, page: PageData) -> dict[str, Any]:
        return {self.name: self.of(row)}

    def of(self, row: Row) -> dict[str, Any] | None:
        """The object from a plain row or an ORM entity."""
        if getattr(row, self._present) is None:
            return None
        return {key: getattr(row, column) for key, column in self.members.items()}

    def cells(self, item: Mapping[str, Any]) -> dict[str, Any]:
        nested = item[self.name] or {}
        return {column: nested.get(key) for key, column in self.members.items()}


@dataclass(frozen=True)
class Tags:
    """The row's determinant tags: an array in id order, read for the whole page at once.
    In CSV an effect column and a note column per determinant."""

    sql_text: str
    load_page: Callable[[Session, list[int]], dict[int, list[dict[str, Any]]]]
    csv_columns: tuple[str, ...]
    name: str = "determinants"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def sql(self, table: Table) -> dict[str, str]:
        return {self.name: self.sql_text}

    def load(self, session: Session, ids: list[int]) -> Any:
        return self.load_page(session, ids)

    def value(self, row: Row, page: PageData) -> dict[str, Any]:
        return {self.name: page[self.name].get(row.id, [])}

    def cells(self, item: Mapping[str, Any]) -> dict[str, Any]:
        cells: dict[str, Any] = {}
        for tag in item[self.name]:
            cells[f"determinant_{tag['determinant']}"] = tag["effect"]
            cells[f"determinant_{tag['determinant']}_note"] = tag["note"]
        return cells


@dataclass(frozen=True)
class Computed:
    """Fields the database computes when the row is read: `sql_text` for the JSON it builds,
    `selects` (labelled columns added to the plain row) and `from_row` for Python."""

    sql_text: Mapping[str, str]
    selects: Callable[[Table], list[Any]]
    from_row: Callable[[Row], dict[str, Any]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.sql_text)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return self.names

    def sql(self, table: Table) -> dict[str, str]:
        return dict(self.sql_text)

    def value(self, row: Row, page: PageData) -> dict[str, Any]:
        return self.from_row(row)

    def cells(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.names}


Field = Column | FlagsColumn | Nested | Tags | Computed


def columns(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name) for name in names)


# The server-set fields every editable item ends with (app.core.db.AuditedFields).
AUDITED = columns("created_at", "updated_at", "version", "archived")


@dataclass
class ListSpec:
    table: Table
    page_model: type[Page[Any]]
    fields: Sequence[Field]
    csv_filename: str
    item_model: Any = field(init=False)
    json_page: json_pages.JsonPage = field(init=False)
    csv_columns: list[str] = field(init=False)
    _selects: list[Any] = field(init=False)

    def __post_init__(self) -> None:
        (self.item_model,) = get_args(self.page_model.model_fields["items"].annotation)
        sql: dict[str, str] = {}
        for spec_field in self.fields:
            sql.update(spec_field.sql(self.table))
        public = list(self.item_model.model_fields)
        if sorted(sql) != sorted(public):
            raise ValueError(f"the fields of {self.item_model.__name__} are {public}, not {sql}")
        self.json_page = json_pages.JsonPage(self.page_model, {name: sql[name] for name in public})
        self.csv_columns = [c for spec_field in self.fields for c in spec_field.csv_columns]
        self._selects = [
            column
            for f in self.fields
            if isinstance(f, Computed)
            for column in f.selects(self.table)
        ]

    def rows(self) -> Select[Any]:
        """The table's columns, to be filtered and handed to `plain_page` or `json`."""
        return select(*self.table.columns)

    def plain_page(
        self, *, session: Session, rows: Select[Any], params: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page as plain dicts shaped like the item model, without ORM objects: plain
        rows plus one query per page for the tags cost a fraction of hydrating entities
        (bench/RESULTS.md, list vs peer)."""
        statement = paginate(rows.add_columns(*self._selects), self.table.c.id, params)
        page_rows, cursor = split_page(list(session.execute(statement)), params)
        ids = [row.id for row in page_rows]
        page = {f.name: f.load(session, ids) for f in self.fields if isinstance(f, Tags)}
        items = []
        for row in page_rows:
            item: dict[str, Any] = {}
            for spec_field in self.fields:
                item.update(spec_field.value(row, page))
            items.append(item)
        return items, cursor

    def json(self, *, session: Session, rows: Select[Any], params: PageParams) -> bytes:
        """One page as the page model's JSON: built by PostgreSQL, elsewhere validated and
        serialized from plain rows."""
        if json_pages.builds_json(session):
            return self.json_page.page(session=session, rows=rows, params=params)
        return page_bytes(
            self.page_model, *self.plain_page(session=session, rows=rows, params=params)
        )

    def csv_row(self, item: Any) -> dict[str, Any]:
        """An item (of the item model) as CSV cells by column."""
        data = item.model_dump(mode="json")
        cells: dict[str, Any] = {}
        for spec_field in self.fields:
            cells.update(spec_field.cells(data))
        return cells


def entity_page(
    session: Session, statement: Any, id_column: Any, params: PageParams
) -> tuple[list[Any], str | None]:
    """One page of ORM entities (the short lists that stay on the model path)."""
    return split_page(list(session.exec(paginate(statement, id_column, params)).all()), params)


# A list's filter, `filtered(rows, *, actor, **query)`: the rows narrowed by the caller's
# scope and the route's query parameters (`projects.service.filtered`).
Filtered = Callable[..., Select[Any]]


@dataclass(frozen=True)
class ListRequest:
    """What every list route takes besides its filters and page: the request (for Accept),
    the session, the settings (CSV batch size) and the key the caller presents, checked by
    `respond` in the route's thread."""

    request: Request
    session: Session
    settings: Settings
    key: str


async def list_request(request: Request, session: SessionDep, key: PresentedKey) -> ListRequest:
    # No I/O: async, so no hop to the threadpool. The settings are read here rather than
    # through their dependency: every dependency FastAPI resolves costs each request.
    settings: Settings = request.app.state.settings
    return ListRequest(request=request, session=session, settings=settings, key=key)


ListRequestDep = Annotated[ListRequest, Depends(list_request)]


def respond(
    context: ListRequest,
    spec: ListSpec,
    page: PageParams,
    filtered: Filtered,
    query: dict[str, Any],
) -> Response:
    """A list route's answer: a page of JSON, or with `Accept: text/csv` every matching row
    as CSV, streamed in keyset batches (`csv_export.stream`)."""
    # The key is checked here, as `Reader` checks it, but in the route's thread: a `Reader`
    # dependency is a hop to the threadpool of its own (bench/RESULTS.md, tenth pass).
    actor = actor_of(context.request, context.session, context.key)

    def rows() -> Select[Any]:
        return filtered(spec.rows(), actor=actor, **query)

    if csv_export.wants_csv(context.request):
        return csv_export.stream(
            engine=context.request.app.state.read_only_engine,
            fetch_page=lambda batch_session, params: spec.plain_page(
                session=batch_session, rows=rows(), params=params
            ),
            to_public=spec.item_model.model_validate,
            columns=spec.csv_columns,
            flatten=spec.csv_row,
            batch_size=context.settings.csv_batch_size,
            filename=spec.csv_filename,
        )
    return json_response(spec.json(session=context.session, rows=rows(), params=page))


def route(spec: ListSpec) -> dict[str, Any]:
    """Route decorator arguments of a list, `@router.get("", summary=..., **listing.route(LIST))`:
    its page model, its problems and its CSV form."""
    return {
        "response_model": spec.page_model,
        "responses": {**problem_responses(*READ), **csv_export.csv_response_doc(spec.csv_columns)},
    }
