from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, enum_column, utcnow
from app.core.pagination import Page


class EntityType(StrEnum):
    unit = "unit"
    project = "project"
    experiment = "experiment"
    criterion = "criterion"
    measurement = "measurement"


class ChangeAction(StrEnum):
    create = "create"
    update = "update"
    archive = "archive"


EFFECTIVE_ON = (
    "For a project created or changed in `stage`, `work_mode`, `sponsor_level` or "
    "`unit_id`: the date the change took effect (its `effective_on`, default the day it was "
    "made); null for every other change."
)


class HistoryBase(SQLModel):
    entity_type: EntityType = Field(sa_type=enum_column(EntityType))
    entity_id: int
    action: ChangeAction = Field(sa_type=enum_column(ChangeAction))
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    api_key_id: int | None = Field(default=None, description="Key that made the change.")
    api_key_name: str | None = Field(default=None, max_length=100)
    changes: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSON,
        description="Changed fields: `{field: {old, new}}` (`old` is null on create).",
    )
    effective_on: date | None = Field(
        default=None, description=EFFECTIVE_ON, schema_extra={"examples": ["2026-03-03"]}
    )


class HistoryEntry(HistoryBase, table=True):
    __tablename__ = "history"
    # "What happened to this unit" (GET /units/{id}/history), newest first.
    __table_args__ = (Index("ix_history_entity", "entity_type", "entity_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    # Set for the project's own changes and those of its criteria and measurements,
    # so one indexed query answers "what happened to this project".
    project_id: int | None = Field(default=None, index=True)
    experiment_id: int | None = Field(default=None, index=True)


class HistoryPublic(HistoryBase):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 41,
                    "entity_type": "project",
                    "entity_id": 7,
                    "action": "update",
                    "changed_at": "2026-03-02T10:15:00Z",
                    "api_key_id": 2,
                    "api_key_name": "Portfolio office",
                    "changes": {"stage": {"old": "exploration", "new": "experiment"}},
                    "effective_on": "2026-03-01",
                }
            ]
        }
    }

    id: int
    # Always in the response (null for most entries).
    effective_on: date | None = Field(
        description=EFFECTIVE_ON, schema_extra={"examples": ["2026-03-03"]}
    )


class HistoryPage(Page[HistoryPublic]):
    pass
