"""What every response model shares, so generated clients get exact types.

Contract rules for response models (README, "Contract rules for response models"):

- Every model the API returns inherits `ResponseModel` (mixed in after the domain base for
  SQLModel ones: `class ProjectPublic(ProjectBase, ResponseModel)`). Its config makes every
  field `required` in the response (serialization) schema, defaults included: the server
  always writes every field, with `null` where the type allows it. FastAPI documents request
  and response models separately, so a field with a default stays optional in the request.
  `tests/contract/test_spec_rules.py` fails on a response schema with an optional property.
- Money is `Annotated[Decimal, Money(max_digits=N)]`: accepted as a JSON number or a
  decimal string with at most 2 decimals, returned as a decimal string with exactly 2
  decimals (`"250000.00"`), the same text on every path (JSON, PostgreSQL-built list
  pages, CSV, history).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from sqlmodel._compat import SQLModelConfig


class ResponseModel(BaseModel):
    """Base of every response model: all fields required in the response schema."""

    # Typed as SQLModel's config (a ConfigDict with table options) so that SQLModel response
    # models can mix this class in: `class ProjectPublic(ProjectBase, ResponseModel)`.
    model_config = SQLModelConfig(json_schema_serialization_defaults_required=True)


def money_text(value: Decimal) -> str:
    """The one text form of an amount: plain digits, a point and exactly 2 decimals.

    PostgreSQL's text form of a `numeric(p, 2)` is the same (`app.api.json_pages`)."""
    return f"{value:.2f}"


@dataclass(frozen=True)
class Money:
    """Annotation of a non-negative amount with 2 decimals and `max_digits` digits in all:
    `budget: Annotated[Decimal, Money(max_digits=14)] | None`.

    Requests may send a number or a decimal string (at most 2 decimals, no NaN or
    infinity); responses carry the decimal string (`money_text`). In the response schema it
    is a string with a pattern and its bounds; the request schema is Pydantic's for a
    Decimal (a number or a decimal string)."""

    max_digits: int
    example: str = "250000.00"

    @property
    def maximum(self) -> str:
        return "9" * (self.max_digits - 2) + ".99"

    @property
    def pattern(self) -> str:
        return rf"^(0|[1-9][0-9]{{0,{self.max_digits - 3}}})\.[0-9]{{2}}$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.decimal_schema(
            ge=Decimal(0),
            max_digits=self.max_digits,
            decimal_places=2,
            allow_inf_nan=False,
            serialization=core_schema.plain_serializer_function_ser_schema(
                money_text, return_schema=core_schema.str_schema(), when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if handler.mode == "serialization":
            return {
                "type": "string",
                "pattern": self.pattern,
                "description": "A decimal amount as text with exactly 2 decimals, from 0.00 "
                f"to {self.maximum}.",
                "examples": [self.example],
            }
        json_schema = handler(schema)
        json_schema["description"] = (
            f"A number or a decimal string with at most 2 decimals, from 0 to {self.maximum}."
        )
        return json_schema
