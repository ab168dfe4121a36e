"""Large request bodies without stalling the server or answering with gigabytes.

FastAPI parses and validates a body on the event loop, before the route runs in its
thread, and pydantic reports every failing field: a 10 MiB batch with a million unknown
keys in one item took 34 s of the loop, 2 GB and a 116 MB answer (issue 13). So:

- `LargeBodyRoute`, the route class of every router that takes a body, parses a JSON body
  over `OFF_LOOP_BYTES` in the threadpool;
- `reject_oversized_objects` (before validation, every API route) refuses, in one
  cheap pass, any JSON object with more than `MAX_OBJECT_MEMBERS` members: no request
  object has more than 20 fields, so a flood of unknown keys is one error per object
  instead of one per key;
- `validate_list_body` validates a large list body (the batch) in the route's thread, item
  by item, keeping at most `MAX_ERRORS` errors and counting the rest without building them.
"""

import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from annotated_types import MaxLen, MinLen
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from starlette.concurrency import run_in_threadpool

from app.core.errors import MAX_ERRORS, FieldError, InvalidFields, TruncatedValidationError

M = TypeVar("M", bound=BaseModel)

# Parsing 64 KiB of JSON takes well under a millisecond; past that it is worth the hop
# to a thread (a 10 MiB batch: 0.3 s, a million keys: 1 s on the development machine).
OFF_LOOP_BYTES = 64 * 1024
# No request model has more than 20 fields; 100 leaves room for any new one.
MAX_OBJECT_MEMBERS = 100


class LargeBodyRequest(Request):
    """A request whose large JSON body is parsed in the threadpool, not on the event loop."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > OFF_LOOP_BYTES:
                self._json = await run_in_threadpool(json.loads, body)
            else:
                self._json = json.loads(body)
        return self._json


class LargeBodyRoute(APIRoute):
    """Route class of routers that take large bodies (FastAPI's custom request class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def large_body_handler(request: Request) -> Response:
            return await handler(LargeBodyRequest(request.scope, request.receive))

        return large_body_handler


def _oversized_objects(document: Any) -> tuple[list[FieldError], int]:
    """Each object with too many members (at most MAX_ERRORS) and how many in all.

    Iterative: a JSON document may be nested deeper than Python's recursion limit."""
    found: list[FieldError] = []
    total = 0
    pending: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        items: Iterable[tuple[Any, Any]]
        if isinstance(value, dict):
            if len(value) > MAX_OBJECT_MEMBERS:
                total += 1
                if len(found) < MAX_ERRORS:
                    found.append(
                        FieldError(
                            field=".".join(path) or "body",
                            location="body",
                            message=f"has {len(value)} fields; an object in a request has "
                            f"at most {MAX_OBJECT_MEMBERS}",
                            type="too_many_fields",
                        )
                    )
                continue  # its members are not looked at: the object is refused whole
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        pending.extend(((*path, str(key)), item) for key, item in reversed(list(items)))
    return found, total


async def reject_oversized_objects(request: Request) -> None:
    """422 for a JSON body with an object of more than MAX_OBJECT_MEMBERS members.

    Runs for every API route, after FastAPI parsed the body and before it validates it;
    a body FastAPI did not parse as JSON (no body parameter, another media type) is left
    alone."""
    if not hasattr(request, "_json"):
        return
    document = await request.json()
    if len(await request.body()) > OFF_LOOP_BYTES:
        found, total = await run_in_threadpool(_oversized_objects, document)
    else:
        found, total = _oversized_objects(document)
    if found:
        raise InvalidFields(found, omitted=total - len(found))


class ValidatedInRoute:
    """A body parameter that FastAPI passes through as parsed JSON, documented as
    ``model``: the route validates it in its own thread (`validate_list_body`)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.any_schema()

    def __get_pydantic_json_schema__(
        self, _schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Through a definition reference, so the document names the model's schema
        # (`$ref` to its component) instead of inlining it as an anonymous "Body".
        model = self.model.__pydantic_core_schema__
        return handler(
            core_schema.definitions_schema(
                core_schema.definition_reference_schema(model["ref"]),  # type: ignore[typeddict-item]
                [model],
            )
        )


def validate_list_body(model: type[M], document: Any, *, list_field: str, item_type: Any) -> M:
    """``document`` as ``model``, whose ``list_field`` is a list of ``item_type``.

    Item by item, so that a failing body costs its own validation but only MAX_ERRORS
    error objects: past that, failing items are only counted (pydantic counts without
    building them). Raises TruncatedValidationError like FastAPI's own, in the same order
    (the envelope's unknown fields, then each item's errors).
    """
    items = document.get(list_field) if isinstance(document, dict) else None
    if not isinstance(items, list) or not _length_ok(model.model_fields[list_field], items):
        # The envelope is wrong: pydantic stops there without validating the items.
        return _validate(model, document)
    errors: list[Any] = []
    omitted = 0
    extra = [key for key in document if key not in model.model_fields]
    if model.model_config.get("extra") == "forbid":
        for key in extra:
            errors.append(
                {
                    "type": "extra_forbidden",
                    "loc": ("body", key),
                    "msg": "Extra inputs are not permitted",
                    "input": None,
                }
            )
    adapter = _adapter(item_type)
    validated = []
    for index, item in enumerate(items):
        try:
            validated.append(adapter.validate_python(item))
        except PydanticValidationError as exc:
            room = MAX_ERRORS - len(errors)
            if room <= 0:
                omitted += exc.error_count()
                continue
            found = exc.errors(include_url=False, include_input=False)
            errors.extend(
                {**error, "loc": ("body", list_field, index, *error["loc"])}
                for error in found[:room]
            )
            omitted += max(0, len(found) - room)
    if errors:
        raise TruncatedValidationError(errors, omitted=omitted)
    return _validate(model, {**document, list_field: validated})


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(item_type: Any) -> TypeAdapter[Any]:
    if item_type not in _ADAPTERS:
        _ADAPTERS[item_type] = TypeAdapter(item_type)
    return _ADAPTERS[item_type]


def _length_ok(field: FieldInfo, items: list[Any]) -> bool:
    for bound in field.metadata:
        if isinstance(bound, MinLen) and len(items) < bound.min_length:
            return False
        if isinstance(bound, MaxLen) and len(items) > bound.max_length:
            return False
    return True


def _validate(model: type[M], document: Any) -> M:
    try:
        return model.model_validate(document)
    except PydanticValidationError as exc:
        found = exc.errors(include_url=False, include_input=False)
        raise TruncatedValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in found[:MAX_ERRORS]],
            omitted=max(0, len(found) - MAX_ERRORS),
        ) from None
