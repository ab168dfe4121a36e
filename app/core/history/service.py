"""History: every change written in the same transaction as the change itself."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from sqlmodel import Session, col, select

from app.core import bulk
from app.core.contract import money_text
from app.core.db import utcnow
from app.core.history.models import ChangeAction, EntityType, HistoryEntry, HistoryPublic
from app.core.pagination import PageParams, paginate, split_page

# Which entries a caller sees in full; the others are redacted (`HistoryPublic.redacted`).
Visibility = Callable[[HistoryEntry], bool]
Timeline = list[tuple[int, Any]]


class Actor(Protocol):
    """Who made a change, as an entry records it (`app.auth.models.Actor` is one; the
    history sits below auth, with everything every domain uses)."""

    @property
    def key_id(self) -> int: ...

    @property
    def name(self) -> str: ...


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return money_text(value)  # as the API writes amounts
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        field: {"old": plain(before.get(field)), "new": plain(new)}
        for field, new in after.items()
        if plain(before.get(field)) != plain(new)
    }


def created(after: dict[str, Any]) -> dict[str, Any]:
    """`diff({}, after)` for a new row, without comparing each field twice."""
    changes = {}
    for field, value in after.items():
        new = plain(value)
        if new is not None:
            changes[field] = {"old": None, "new": new}
    return changes


def created_from_json(after: dict[str, Any]) -> dict[str, Any]:
    """`created` of values already in their JSON form (a model dumped in pydantic's JSON
    mode writes enums, dates and amounts as `plain` does), without walking them again."""
    return {
        field: {"old": None, "new": value} for field, value in after.items() if value is not None
    }


def record(
    *,
    session: Session,
    actor: Actor,
    entity_type: EntityType,
    entity_id: int,
    action: ChangeAction,
    changes: dict[str, Any],
    project_id: int | None = None,
    experiment_id: int | None = None,
    effective_on: date | None = None,
) -> None:
    session.add(
        HistoryEntry(
            effective_on=effective_on,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            api_key_id=actor.key_id,
            api_key_name=actor.name,
            changes=changes,
            project_id=project_id,
            experiment_id=experiment_id,
        )
    )


def archived() -> dict[str, Any]:
    """The changes of an archive entry."""
    return {"archived": {"old": False, "new": True}}


def record_many(*, session: Session, actor: Actor, entries: list[dict[str, Any]]) -> None:
    """Many entries (each the keyword arguments of `record` but the actor) in one batched
    INSERT, in list order."""
    if not entries:
        return
    changed_at = utcnow()
    bulk.insert_rows(
        session,
        HistoryEntry.__table__,  # type: ignore[attr-defined]
        [
            {
                "changed_at": changed_at,
                "api_key_id": actor.key_id,
                "api_key_name": actor.name,
                "project_id": None,
                "experiment_id": None,
                **entry,
            }
            for entry in entries
        ],
    )


def record_creates(
    *,
    session: Session,
    actor: Actor,
    entity_type: EntityType,
    created: Iterable[tuple[int, int | None, dict[str, Any]]],
) -> None:
    """The create entries of rows inserted together, each (entity id, experiment id or
    None, changes as `created` gives them), in one batched INSERT."""
    record_many(
        session=session,
        actor=actor,
        entries=[
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "experiment_id": experiment_id,
                "action": ChangeAction.create,
                "changes": changes,
            }
            for entity_id, experiment_id, changes in created
        ],
    )


def timelines(
    *, session: Session, entity_type: EntityType, entity_ids: set[int], field: str
) -> dict[int, Timeline]:
    """For each entity, the values `field` took, as (history id, new value), oldest first,
    read from its own create and update entries (e.g. a project's `unit_id`)."""
    statement = (
        select(HistoryEntry.entity_id, HistoryEntry.id, HistoryEntry.changes)
        .where(HistoryEntry.entity_type == entity_type, col(HistoryEntry.entity_id).in_(entity_ids))
        .order_by(col(HistoryEntry.id))
    )
    found: dict[int, Timeline] = defaultdict(list)
    for entity_id, history_id, changes in session.exec(statement).all():
        if history_id is not None and field in (changes or {}):
            found[entity_id].append((history_id, changes[field]["new"]))
    return found


def around(timeline: Timeline, history_id: int, current: Any) -> tuple[Any, Any]:
    """The value just before and just after entry `history_id`. With no entry recorded
    yet (rows older than the history), the current value."""
    before = after = None
    for recorded_id, value in timeline:
        if recorded_id > history_id:
            break
        if recorded_id < history_id:
            before = value
        after = value
    after = current if after is None else after
    return (after if before is None else before), after


def visible_while(
    *,
    session: Session,
    entity_type: EntityType,
    entity_id: int,
    field: str,
    current: Any,
    allowed: set[Any],
) -> Visibility:
    """The entries of an entity written while its `field` (e.g. a project's `unit_id`) had
    a value in `allowed`, just before and just after the entry: a move in or out shows
    redacted too."""
    timeline = timelines(
        session=session, entity_type=entity_type, entity_ids={entity_id}, field=field
    ).get(entity_id, [])

    def visible(entry: HistoryEntry) -> bool:
        return all(value in allowed for value in around(timeline, entry.id or 0, current))

    return visible


def public(entry: HistoryEntry, *, visible: bool) -> HistoryPublic:
    if visible:
        return HistoryPublic.model_validate(entry, update={"redacted": False})
    return HistoryPublic.model_validate(
        entry,
        update={
            "redacted": True,
            "api_key_id": None,
            "api_key_name": None,
            "changes": {field: {"old": None, "new": None} for field in entry.changes or {}},
        },
    )


def list_for(
    *,
    session: Session,
    project_id: int | None = None,
    experiment_id: int | None = None,
    unit_id: int | None = None,
    params: PageParams,
    visible: Visibility | None = None,
) -> tuple[list[HistoryPublic], str | None]:
    """Newest first: the cursor walks ids downwards. `visible`: None shows every entry in
    full; otherwise the entries it rejects are redacted."""
    statement = select(HistoryEntry)
    if unit_id is not None:
        statement = statement.where(
            HistoryEntry.entity_type == EntityType.unit, HistoryEntry.entity_id == unit_id
        )
    if project_id is not None:
        statement = statement.where(HistoryEntry.project_id == project_id)
    if experiment_id is not None:
        statement = statement.where(HistoryEntry.experiment_id == experiment_id)
    statement = paginate(statement, HistoryEntry.id, params, descending=True)
    entries, cursor = split_page(list(session.exec(statement).all()), params)
    return [public(e, visible=visible is None or visible(e)) for e in entries], cursor
