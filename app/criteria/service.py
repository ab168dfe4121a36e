"""Outcome-based success criteria and their measurements."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

from app.api import listing
from app.auth.models import Actor
from app.core import bulk, filters
from app.core.db import today, utcnow
from app.core.editing import Editable, check_merged, check_required
from app.core.errors import NotFound
from app.core.history import service as history
from app.core.history.models import ChangeAction, EntityType
from app.core.hooks import Hook
from app.core.pagination import PageParams
from app.criteria.models import (
    CriteriaPage,
    Criterion,
    CriterionCreate,
    CriterionKind,
    CriterionPublic,
    CriterionUpdate,
    Measurement,
    MeasurementCreate,
    check_target,
    criterion_status,
)
from app.projects import service as project_service

REQUIRED = ("metric", "kind", "baseline", "target", "direction")
CRITERIA = Editable(
    Criterion,
    EntityType.criterion,
    read_only="; it and its measurements are read-only",
    history_owner=lambda criterion: _owner_ids(criterion),
)


def to_public(criterion: Criterion) -> CriterionPublic:
    status = criterion_status(
        direction=criterion.direction,
        target=criterion.target,
        latest_value=criterion.latest_value,
        due_on=criterion.due_on,
        today=today(),
    )
    return CriterionPublic.model_validate(public_dict(criterion, status=status))


def public_dict(criterion: Criterion, *, status: Any = None) -> dict[str, Any]:
    """The fields of `CriterionPublic`, unvalidated (for building many at once)."""
    if status is None:
        status = _status(criterion)
    return {**criterion.model_dump(), "status": status}


def _status(criterion: Any) -> Any:
    """Status of a criterion or of a plain row of the criteria table."""
    return criterion_status(
        direction=criterion.direction,
        target=criterion.target,
        latest_value=criterion.latest_value,
        due_on=criterion.due_on,
        today=today(),
    )


def insert_many(
    *, session: Session, actor: Actor, criteria_in: list[tuple[CriterionCreate, int]]
) -> list[dict[str, Any]]:
    """Insert (criterion, experiment id) pairs with their history entries, one batched
    INSERT per table; returns `CriterionPublic` dicts in order (the rows `build` writes)."""
    if not criteria_in:
        return []
    now = utcnow()
    values = [
        {
            **criterion_in.model_dump(),
            "project_id": None,
            "experiment_id": experiment_id,
            "latest_value": None,
            "latest_measured_on": None,
            **bulk.new_row(now),
        }
        for criterion_in, experiment_id in criteria_in
    ]
    ids = bulk.insert_with_ids(session, Criterion.__table__, values)  # type: ignore[attr-defined]
    history.record_creates(
        session=session,
        actor=actor,
        entity_type=EntityType.criterion,
        created=(
            (id_, experiment_id, history.created(criterion_in.model_dump()))
            for id_, (criterion_in, experiment_id) in zip(ids, criteria_in, strict=True)
        ),
    )
    return [
        {**row, "id": id_, "status": _status(SimpleNamespace(**row))}
        for row, id_ in zip(values, ids, strict=True)
    ]


def _owner_ids(criterion: Criterion) -> dict[str, Any]:
    return {"project_id": criterion.project_id, "experiment_id": criterion.experiment_id}


@dataclass(frozen=True)
class Owner:
    """What criteria need of the rows they hang under, a project or an experiment."""

    column: str  # the criterion's column naming its owner
    # The owner as the caller may see it (404 otherwise); `lock` holds it until the commit.
    # Without its related rows (tags): a criterion's reads and writes only check the owner.
    get: Callable[[Session, Actor, int, bool], Any]
    # 409 when nothing may be written under it.
    check_writable: Callable[[Session, Any], None]


# A project is share-locked for a write under it; see `projects.service.get`.
PROJECT_OWNER = Owner(
    "project_id",
    get=lambda session, actor, project_id, lock: project_service.get(
        session=session, actor=actor, project_id=project_id, for_share=lock, related=False
    ),
    check_writable=lambda session, project: project_service.check_writable(project),
)
# Experiments sit above criteria (their rigour reads criteria), so they install theirs.
EXPERIMENT_OWNER: Hook[Owner] = Hook(
    "criteria.service.EXPERIMENT_OWNER", provider="app.experiments.service"
)


def _owner_of(criterion: Criterion) -> tuple[Owner, int]:
    if criterion.project_id is not None:
        return PROJECT_OWNER, criterion.project_id
    assert criterion.experiment_id is not None
    return EXPERIMENT_OWNER.value, criterion.experiment_id


def _owner_by_ids(project_id: int | None, experiment_id: int | None) -> tuple[Owner, int]:
    if project_id is not None:
        return PROJECT_OWNER, project_id
    assert experiment_id is not None
    return EXPERIMENT_OWNER.value, experiment_id


def _get_with_owner(
    *, session: Session, actor: Actor, criterion_id: int, for_update: bool
) -> tuple[Criterion, Callable[[], None]]:
    """The criterion, visible exactly where its project or experiment is, with the check
    that its owner may be written under."""
    criterion = CRITERIA.get(session, criterion_id, lock="update" if for_update else None)
    owner, owner_id = _owner_of(criterion)
    try:
        row = owner.get(session, actor, owner_id, False)
    except NotFound:
        raise NotFound(f"criterion {criterion.id} does not exist") from None
    return criterion, lambda: owner.check_writable(session, row)


def get(
    *, session: Session, actor: Actor, criterion_id: int, for_update: bool = False
) -> Criterion:
    criterion, _ = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=for_update
    )
    return criterion


def _check_writable(criterion: Criterion, owner_writable: Callable[[], None]) -> None:
    """Not archived, nor under an archived project or experiment (409)."""
    CRITERIA.check_writable(criterion)
    owner_writable()


def get_writable(*, session: Session, actor: Actor, criterion_id: int) -> Criterion:
    """The criterion, locked, if it may be written."""
    criterion, owner_writable = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=True
    )
    _check_writable(criterion, owner_writable)
    return criterion


def create(
    *,
    session: Session,
    actor: Actor,
    criterion_in: CriterionCreate,
    project_id: int | None = None,
    experiment_id: int | None = None,
) -> Criterion:
    # The owner row stays locked until the commit, so a concurrent move of the project
    # (or of the experiment with it) cannot slip between the scope check and the insert.
    owner, owner_id = _owner_by_ids(project_id, experiment_id)
    row = owner.get(session, actor, owner_id, True)
    owner.check_writable(session, row)
    criterion = Criterion.model_validate(
        criterion_in,
        update={"project_id": None, "experiment_id": None, owner.column: owner_id},
    )
    session.add(criterion)
    session.flush()
    record_created(session=session, actor=actor, criterion=criterion, criterion_in=criterion_in)
    session.commit()
    return criterion


def record_created(
    *, session: Session, actor: Actor, criterion: Criterion, criterion_in: CriterionCreate
) -> None:
    """The history entry of a flushed new criterion."""
    CRITERIA.record_created(
        session=session,
        actor=actor,
        row=criterion,
        changes=history.diff({}, criterion_in.model_dump()),
    )


def list_for_owner(
    *,
    session: Session,
    actor: Actor,
    params: PageParams,
    project_id: int | None = None,
    experiment_id: int | None = None,
    kind: list[CriterionKind] | None = None,
    include_archived: bool = False,
) -> CriteriaPage:
    owner, owner_id = _owner_by_ids(project_id, experiment_id)
    owner.get(session, actor, owner_id, False)
    statement = select(Criterion).where(getattr(Criterion, owner.column) == owner_id)
    statement = filters.narrowed(
        statement,
        [
            filters.any_of(col(Criterion.kind), kind),
            filters.live(col(Criterion.archived), include_archived),
        ],
    )
    rows, cursor = listing.entity_page(session, statement, Criterion.id, params)
    return CriteriaPage(items=[to_public(c) for c in rows], next_cursor=cursor)


def update(
    *,
    session: Session,
    actor: Actor,
    criterion_id: int,
    criterion_in: CriterionUpdate,
    expected_version: int | None,
) -> Criterion:
    criterion, owner_writable = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=True
    )

    def change() -> dict[str, Any]:
        changes = criterion_in.model_dump(exclude_unset=True)
        check_required(changes, REQUIRED)
        check_merged(criterion, changes, "target", check_target, "direction", "baseline", "target")
        before = criterion.model_dump()
        criterion.sqlmodel_update(changes)
        return history.diff(before, changes)

    return CRITERIA.update(
        session=session,
        actor=actor,
        row=criterion,
        expected_version=expected_version,
        change=change,
        check_writable=lambda: _check_writable(criterion, owner_writable),
    )


def archive(
    *, session: Session, actor: Actor, criterion_id: int, expected_version: int | None
) -> Criterion:
    criterion, owner_writable = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=True
    )
    return CRITERIA.archive(
        session=session,
        actor=actor,
        row=criterion,
        expected_version=expected_version,
        check_writable=owner_writable,
    )


def add_measurement(
    *, session: Session, actor: Actor, criterion_id: int, measurement_in: MeasurementCreate
) -> Measurement:
    criterion = get_writable(session=session, actor=actor, criterion_id=criterion_id)
    measurement = Measurement.model_validate(measurement_in, update={"criterion_id": criterion_id})
    session.add(measurement)
    # Ties on the same date: the later submission is the latest.
    if (
        criterion.latest_measured_on is None
        or measurement.measured_on >= criterion.latest_measured_on
    ):
        criterion.latest_value = measurement.value
        criterion.latest_measured_on = measurement.measured_on
        session.add(criterion)
    session.flush()
    assert measurement.id is not None
    history.record(
        session=session,
        actor=actor,
        entity_type=EntityType.measurement,
        entity_id=measurement.id,
        action=ChangeAction.create,
        changes=history.diff({}, measurement_in.model_dump()),
        **_owner_ids(criterion),
    )
    session.commit()
    return measurement


def list_measurements(
    *, session: Session, actor: Actor, criterion_id: int, params: PageParams
) -> tuple[list[Measurement], str | None]:
    get(session=session, actor=actor, criterion_id=criterion_id)
    statement = select(Measurement).where(Measurement.criterion_id == criterion_id)
    return listing.entity_page(session, statement, Measurement.id, params)
