from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import StrictInt
from sqlmodel import Field, SQLModel

from app.core.contract import ResponseModel
from app.core.db import MAX_ID, AuditedFields, enum_column
from app.core.pagination import Page


class UnitKind(StrEnum):
    """`business_line` (a line of regular operations), `corporate` (a corporate function),
    `innovation_lab` (a lab or other dedicated innovation unit).
    """

    business_line = "business_line"
    corporate = "corporate"
    innovation_lab = "innovation_lab"


class UnitBase(SQLModel):
    code: str = Field(
        min_length=1, max_length=32, unique=True, description="Short unique code, e.g. `TAX-OPS`."
    )
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind = Field(
        sa_type=enum_column(UnitKind),
        description=(
            "`business_line`: a line of regular operations; `corporate`: a corporate function; "
            "`innovation_lab`: a lab or other dedicated innovation unit."
        ),
    )
    parent_id: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        foreign_key="units.id",
        index=True,
        description="Parent unit; units form a tree.",
    )


_EXAMPLE: dict[str, Any] = {
    "code": "TAX-OPS",
    "name": "Tax operations",
    "kind": "business_line",
    "parent_id": None,
}


class UnitCreate(UnitBase):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [_EXAMPLE]}}


class UnitUpdate(SQLModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"name": "Tax ops"}]}}

    code: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: UnitKind | None = None
    parent_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)


class Unit(UnitBase, AuditedFields, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)


class UnitPublic(UnitBase, ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **_EXAMPLE,
                    "id": 3,
                    "created_at": "2026-01-05T09:00:00Z",
                    "updated_at": "2026-01-05T09:00:00Z",
                    "version": 1,
                    "archived": False,
                }
            ]
        }
    }

    id: int
    created_at: datetime
    updated_at: datetime
    version: int
    archived: bool


class UnitsPage(Page[UnitPublic]):
    pass
