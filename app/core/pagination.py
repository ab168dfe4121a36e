"""Keyset (cursor) pagination shared by every list: pages stay fast at any depth."""

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar, get_args

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select

from app.core.contract import ResponseModel
from app.core.db import MAX_ID
from app.core.errors import InvalidField

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select[Any])

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def _page_example(schema: dict[str, Any], page_model: type[BaseModel]) -> None:
    """A page's example: its item model's first example and a cursor."""
    (item_model,) = get_args(page_model.model_fields["items"].annotation) or (None,)
    extra = getattr(item_model, "model_config", {}).get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if examples:
        schema["examples"] = [{"items": examples[:1], "next_cursor": "MTI"}]


class Page(ResponseModel, Generic[T]):
    """A page of a list. Its example is built from the item model's first example."""

    model_config = {"json_schema_extra": _page_example}

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.",
        examples=["MTI"],
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    invalid = InvalidField("cursor", "not a cursor returned by this API", location="query")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeError):
        raise invalid from None
    if not 0 <= value <= MAX_ID:
        raise invalid
    return value


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginate(
    statement: SelectT, id_column: Any, params: PageParams, *, descending: bool = False
) -> SelectT:
    """Order by id and fetch one extra row, so we know whether a next page exists."""
    if params.cursor is not None:
        last_id = decode_cursor(params.cursor)
        statement = statement.where(id_column < last_id if descending else id_column > last_id)
    order = id_column.desc() if descending else id_column
    return statement.order_by(order).limit(params.limit + 1)


def split_page(rows: list[Any], params: PageParams) -> tuple[list[Any], str | None]:
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None


def page_bytes(page_model: type[Page[Any]], items: list[Any], next_cursor: str | None) -> bytes:
    """A page validated once and serialized once, straight to JSON bytes."""
    page = page_model.model_validate({"items": items, "next_cursor": next_cursor})
    return page.model_dump_json().encode()


def json_response(body: bytes) -> Response:
    """A page already serialized (`page_bytes`, `json_pages.JsonPage.page`). The route keeps
    `response_model` for the OpenAPI document; FastAPI does not validate it again."""
    return Response(body, media_type="application/json")
