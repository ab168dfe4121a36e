"""Who is calling: roles, the API key table and the Actor every service sees."""

from datetime import datetime
from enum import StrEnum

from pydantic import StrictInt
from sqlmodel import Field, SQLModel

from app.core.db import MAX_ID, UTCDateTime, enum_column, utcnow


class Role(StrEnum):
    """What a key may do: `admin` (everything), `manager` (read and write all projects and
    experiments), `submitter` (read and write within its unit's subtree), `viewer` (read
    only).
    """

    admin = "admin"
    manager = "manager"
    submitter = "submitter"
    viewer = "viewer"


class ApiKeyBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="Who or what uses the key.")
    role: Role = Field(
        sa_type=enum_column(Role),
        description=(
            "`admin`: everything; `manager`: read and write all projects, experiments and "
            "criteria; `submitter`: read and write only within one unit's subtree; "
            "`viewer`: read-only."
        ),
    )
    unit_id: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        foreign_key="units.id",
        description="Required for `submitter`, not allowed otherwise.",
    )


class ApiKey(ApiKeyBase, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, description="First characters of the key, for display.")
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Actor(SQLModel):
    """Who is calling: the authenticated API key, as every service sees it."""

    key_id: int
    name: str
    role: Role
    unit_id: int | None = None

    @property
    def scope_unit_id(self) -> int | None:
        """Root of the unit subtree this caller is confined to; None means everywhere."""
        return self.unit_id if self.role == Role.submitter else None


def command_line_actor(name: str) -> Actor:
    """Who `portfolio` commands act as: admin rights; history records key id 0 and the name."""
    return Actor(key_id=0, name=name, role=Role.admin)
