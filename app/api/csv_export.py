"""Lists as CSV for spreadsheets: every page, streamed in keyset batches.

A list route answers CSV when the client's Accept header prefers `text/csv`. The rows are
the JSON items flattened, by the list's field specification (`app.api.listing`: `risk`
becomes `risk_<field>` columns, determinant tags a `determinant_<name>` column for the
effect and a `determinant_<name>_note` column each), or for a flat item field by field.
"""

import csv
import io
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.pagination import PageParams

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
# A cell whose first visible character is one of these is run as a formula by spreadsheet
# programs (the full-width forms too: some convert them on input). Tab and carriage return
# as the very first character are refused as well (OWASP's CSV injection list).
FORMULA_CHARACTERS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
FORMULA_START = ("\t", "\r")
# Skipped when looking for the first visible character: spaces and line breaks of every
# kind (`str.isspace`: no-break space included), control characters (Cc) and invisible
# format characters (Cf: zero-width space and joiners, the BOM, the soft hyphen, bidi marks).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

FetchPage = Callable[[Session, PageParams], tuple[Sequence[Any], str | None]]
ToPublic = Callable[[Any], Any]
# A public item (a model) as its CSV cells by column.
Flatten = Callable[[Any], dict[str, Any]]


def csv_response_doc(columns: list[str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry for a list that can answer CSV."""
    header = ",".join(columns)
    return {
        200: {
            "description": "A page of JSON, or with `Accept: text/csv` every matching row "
            "(all pages; `limit` and `cursor` are ignored) as CSV with this header row: "
            f"`{header}`.",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": header + "\n"}},
        }
    }


def _quality(media_range: str) -> tuple[str, float]:
    media_type, *params = (part.strip() for part in media_range.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return media_type.lower(), quality


def media_ranges(accept: str) -> Iterator[tuple[str, float]]:
    """Each media range of an Accept header with its quality, in the order given."""
    for media_range in accept.split(","):
        if media_range.strip():
            yield _quality(media_range)


def wants_csv(request: Request) -> bool:
    return prefers_csv(request.headers.get("accept", ""))


def prefers_csv(accept: str) -> bool:
    """True when Accept ranks text/csv above JSON (ties go to the range listed first).

    The one content-negotiation rule: lists, the spread report and its ETag all use it."""
    ranked: dict[str, float] = {}
    for media_type, quality in media_ranges(accept):
        ranked.setdefault(media_type, quality)
    csv_quality = ranked.get(CSV_MEDIA_TYPE, 0.0)
    if csv_quality <= 0:
        return False
    json_quality = ranked.get(JSON_MEDIA_TYPE, 0.0)
    if json_quality > csv_quality:
        return False
    if json_quality == csv_quality:
        return list(ranked).index(CSV_MEDIA_TYPE) < list(ranked).index(JSON_MEDIA_TYPE)
    return True


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: empty for null, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a list of names, e.g. rigour_features
        return cell(";".join(str(item) for item in value)) if value else ""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def is_formula(text: str) -> bool:
    """True when a spreadsheet could read the text as a formula: it starts with a tab or a
    carriage return, or its first visible character starts a formula (`" =1+1"`,
    `"\\u200b=1+1"`, `"\\ufeff@SUM(A1)"`)."""
    if text.startswith(FORMULA_START):
        return True
    for character in text:
        if character.isspace() or unicodedata.category(character) in _INVISIBLE_CATEGORIES:
            continue
        return character in FORMULA_CHARACTERS
    return False


def flat_cells(item: Any) -> dict[str, Any]:
    """A flat public item (a model) as CSV cells by field."""
    return item.model_dump(mode="json")  # type: ignore[no-any-return]


def _chunk(rows: Sequence[Any], to_public: ToPublic, columns: list[str], flat: Flatten) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        flat_row = flat(to_public(row))
        writer.writerow([cell(flat_row.get(column)) for column in columns])
    return buffer.getvalue()


def attachment(filename: str) -> dict[str, str]:
    """Spreadsheet downloads are saved under this name by browsers and `curl -OJ`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _header(columns: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(columns)
    return buffer.getvalue()


def stream(
    *,
    engine: Engine,
    fetch_page: FetchPage,
    to_public: ToPublic,
    columns: list[str],
    batch_size: int,
    filename: str,
    flatten: Flatten = flat_cells,
) -> StreamingResponse:
    """Walk the list by cursor, one short transaction per batch.

    The first batch is read before the response starts, so a bad filter is still a
    problem response. ``engine`` is the read-only one (`app.core.db.read_only_engine`): an
    export never takes SQLite's write lock, and a short transaction per batch keeps no
    snapshot open in between.
    """

    def read(cursor: str | None) -> tuple[str, str | None]:
        with Session(engine, expire_on_commit=False) as session:
            rows, next_cursor = fetch_page(session, PageParams(limit=batch_size, cursor=cursor))
            return _chunk(rows, to_public, columns, flatten), next_cursor

    first_chunk, next_cursor = read(None)

    def body() -> Iterator[str]:
        yield _header(columns) + first_chunk
        cursor = next_cursor
        while cursor is not None:
            chunk, cursor = read(cursor)
            yield chunk

    return StreamingResponse(
        body(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers=attachment(filename),
    )
