from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.contract import ResponseModel
from app.core.db import UTCDateTime, enum_column, utcnow
from app.core.pagination import Page


class EntityType(StrEnum):
    """What a history entry is about: `unit`, `project`, `experiment`, `criterion` or
    `measurement`.
    """

    unit = "unit"
    project = "project"
    experiment = "experiment"
    criterion = "criterion"
    measurement = "measurement"


class ChangeAction(StrEnum):
    """What happened: `create`, `update` or `archive`."""

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


class FieldChange(ResponseModel):
    """One changed field of a history entry."""

    old: Any = Field(
        description="The value before, as the API wrote it (a string, number, boolean, object, "
        "array or null); null on create."
    )
    new: Any = Field(description="The value after; null when the field was cleared.")


class HistoryPublic(HistoryBase, ResponseModel):
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
                    "redacted": False,
                    "effective_on": "2026-03-01",
                }
            ]
        }
    }

    id: int
    redacted: bool = Field(
        description="True for an entry a submitter key sees only in outline: written while "
        "the object was outside the key's unit subtree (before, after or across a move). "
        "`api_key_id` and `api_key_name` are then null and every value in `changes` is "
        "null; the field names, the action and the time stay.",
        schema_extra={"examples": [False]},
    )
    changes: dict[str, FieldChange] = Field(  # type: ignore[assignment]
        description="Changed fields by name: `{field: {old, new}}` (`old` is null on create)."
    )
    # Always in the response (null for most entries).
    effective_on: date | None = Field(
        description=EFFECTIVE_ON, schema_extra={"examples": ["2026-03-03"]}
    )


class HistoryPage(Page[HistoryPublic]):
    pass
