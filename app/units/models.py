from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import StrictInt
from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.contract import Money, ResponseModel
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


# --- commitments ----------------------------------------------------------------------

_COMMITMENT_DESC = {
    "program_funds": "The unit's program funds for the fiscal year, 2 decimals at most.",
    "target_share": "The share of the program funds committed to experimentation, 0 to 1 "
    "(0.05 = 5%).",
}


class CommitmentIn(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"program_funds": 12000000, "target_share": 0.05}]},
    }

    program_funds: Decimal = Field(
        ge=0, max_digits=14, decimal_places=2, description=_COMMITMENT_DESC["program_funds"]
    )
    target_share: float = Field(ge=0, le=1, description=_COMMITMENT_DESC["target_share"])


class UnitCommitment(SQLModel, table=True):
    """A unit's experimentation commitment for one fiscal year."""

    __tablename__ = "unit_commitments"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id")
    year: int
    program_funds: Decimal = Field(sa_type=Numeric(14, 2))
    target_share: float


# Program funds and target amounts: the same rules as a project's budget.
Funds = Annotated[Decimal, Money(max_digits=14)]


class CommitmentPublic(ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": 3,
                    "year": 2026,
                    "starts_on": "2026-04-01",
                    "ends_on": "2027-03-31",
                    "program_funds": "12000000.00",
                    "target_share": 0.05,
                    "target_amount": "600000.00",
                }
            ]
        }
    }

    unit_id: int
    year: int = Field(description="The fiscal year, named by the calendar year it starts in.")
    starts_on: date = Field(
        description="First day of the fiscal year (`PORTFOLIO_FISCAL_YEAR_START_MONTH`)."
    )
    ends_on: date = Field(description="Last day of the fiscal year.")
    program_funds: Funds = Field(description=_COMMITMENT_DESC["program_funds"])
    target_share: float = Field(description=_COMMITMENT_DESC["target_share"])
    target_amount: Funds = Field(
        description="`program_funds` x `target_share`, rounded to the cent."
    )


class CommitmentList(ResponseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"items": CommitmentPublic.model_config["json_schema_extra"]["examples"]}]  # type: ignore[index]
        }
    }

    items: list[CommitmentPublic] = Field(description="Oldest year first.")
