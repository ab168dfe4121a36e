"""Outcome-based success criteria and their measurements."""

from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

from app.api import listing
from app.auth.models import Actor
from app.core import bulk, filters
from app.core.db import today, utcnow
from app.core.errors import Archived, InvalidField, NotFound
from app.core.pagination import PageParams
from app.core.versioning import check_version, touch
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
from app.experiments import service as experiment_service
from app.experiments.models import Experiment
from app.history import service as history
from app.history.models import ChangeAction, EntityType
from app.projects import service as project_service
from app.projects.models import Project

REQUIRED = ("metric", "kind", "baseline", "target", "direction")


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
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "archived": False,
        }
        for criterion_in, experiment_id in criteria_in
    ]
    ids = bulk.insert_with_ids(session, Criterion.__table__, values)  # type: ignore[attr-defined]
    history.record_many(
        session=session,
        actor=actor,
        entries=[
            {
                "entity_type": EntityType.criterion,
                "entity_id": id_,
                "experiment_id": experiment_id,
                "action": ChangeAction.create,
                "changes": history.created(criterion_in.model_dump()),
            }
            for id_, (criterion_in, experiment_id) in zip(ids, criteria_in, strict=True)
        ],
    )
    return [
        {**row, "id": id_, "status": _status(SimpleNamespace(**row))}
        for row, id_ in zip(values, ids, strict=True)
    ]


def page_of(rows: list[Criterion], cursor: str | None) -> CriteriaPage:
    return CriteriaPage(items=[to_public(c) for c in rows], next_cursor=cursor)


def _owner_ids(criterion: Criterion) -> dict[str, Any]:
    return {"project_id": criterion.project_id, "experiment_id": criterion.experiment_id}


def _owner(session: Session, actor: Actor, criterion: Criterion) -> Project | Experiment:
    """A criterion is visible exactly where its project or experiment is."""
    try:
        if criterion.project_id is not None:
            return project_service.get(
                session=session, actor=actor, project_id=criterion.project_id
            )
        assert criterion.experiment_id is not None
        return experiment_service.get(
            session=session, actor=actor, experiment_id=criterion.experiment_id
        )
    except NotFound:
        raise NotFound(f"criterion {criterion.id} does not exist") from None


def check_owner_writable(*, session: Session, owner: Project | Experiment) -> None:
    """Nothing is added to, changed or archived under an archived project or experiment,
    nor under an experiment of an archived project (409)."""
    if isinstance(owner, Project):
        project_service.check_writable(owner)
    else:
        experiment_service.check_writable(session=session, experiment=owner)


def _get_with_owner(
    *, session: Session, actor: Actor, criterion_id: int, for_update: bool
) -> tuple[Criterion, Project | Experiment]:
    statement = select(Criterion).where(Criterion.id == criterion_id)
    if for_update:
        statement = statement.with_for_update()
    criterion = session.exec(statement).first()
    if criterion is None:
        raise NotFound(f"criterion {criterion_id} does not exist")
    return criterion, _owner(session, actor, criterion)


def get(
    *, session: Session, actor: Actor, criterion_id: int, for_update: bool = False
) -> Criterion:
    criterion, _ = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=for_update
    )
    return criterion


def get_writable(*, session: Session, actor: Actor, criterion_id: int) -> Criterion:
    """The criterion, locked, if it may be written: not archived, nor under an archived
    project or experiment (409)."""
    criterion, owner = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=True
    )
    if criterion.archived:
        raise Archived(
            f"criterion {criterion_id} is archived; it and its measurements are read-only"
        )
    check_owner_writable(session=session, owner=owner)
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
    owner: Project | Experiment
    if project_id is not None:
        owner = project_service.get(
            session=session, actor=actor, project_id=project_id, for_share=True
        )
    else:
        assert experiment_id is not None
        owner = experiment_service.get(
            session=session, actor=actor, experiment_id=experiment_id, for_update=True
        )
    criterion = build(session=session, actor=actor, criterion_in=criterion_in, owner=owner)
    session.commit()
    return criterion


def build(
    *, session: Session, actor: Actor, criterion_in: CriterionCreate, owner: Project | Experiment
) -> Criterion:
    """Add a criterion to an owner the caller may write, without committing."""
    check_owner_writable(session=session, owner=owner)
    assert owner.id is not None
    criterion = new(criterion_in, owner)
    session.add(criterion)
    session.flush()
    record_created(session=session, actor=actor, criterion=criterion, criterion_in=criterion_in)
    return criterion


def new(criterion_in: CriterionCreate, owner: Project | Experiment) -> Criterion:
    """A criterion of a flushed owner, not yet added to a session."""
    owner_ids = (
        {"project_id": owner.id, "experiment_id": None}
        if isinstance(owner, Project)
        else {"project_id": None, "experiment_id": owner.id}
    )
    return Criterion.model_validate(criterion_in, update=owner_ids)


def record_created(
    *, session: Session, actor: Actor, criterion: Criterion, criterion_in: CriterionCreate
) -> None:
    """The history entry of a flushed new criterion."""
    assert criterion.id is not None
    history.record(
        session=session,
        actor=actor,
        entity_type=EntityType.criterion,
        entity_id=criterion.id,
        action=ChangeAction.create,
        changes=history.diff({}, criterion_in.model_dump()),
        **_owner_ids(criterion),
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
) -> tuple[list[Criterion], str | None]:
    statement = select(Criterion)
    if project_id is not None:
        project_service.get(session=session, actor=actor, project_id=project_id)
        statement = statement.where(Criterion.project_id == project_id)
    else:
        assert experiment_id is not None
        experiment_service.get(session=session, actor=actor, experiment_id=experiment_id)
        statement = statement.where(Criterion.experiment_id == experiment_id)
    statement = filters.narrowed(
        statement,
        [
            filters.any_of(col(Criterion.kind), kind),
            filters.live(col(Criterion.archived), include_archived),
        ],
    )
    return listing.entity_page(session, statement, Criterion.id, params)


def update(
    *,
    session: Session,
    actor: Actor,
    criterion_id: int,
    criterion_in: CriterionUpdate,
    expected_version: int | None,
) -> Criterion:
    criterion = get_writable(session=session, actor=actor, criterion_id=criterion_id)
    check_version(criterion.version, expected_version)
    changes = criterion_in.model_dump(exclude_unset=True)
    for field in REQUIRED:
        if field in changes and changes[field] is None:
            raise InvalidField(field, "may not be null")
    try:
        check_target(
            changes.get("direction", criterion.direction),
            changes.get("baseline", criterion.baseline),
            changes.get("target", criterion.target),
        )
    except ValueError as exc:
        raise InvalidField("target", str(exc)) from None
    before = criterion.model_dump()
    criterion.sqlmodel_update(changes)
    delta = history.diff(before, changes)
    if delta:
        touch(criterion)
        history.record(
            session=session,
            actor=actor,
            entity_type=EntityType.criterion,
            entity_id=criterion_id,
            action=ChangeAction.update,
            changes=delta,
            **_owner_ids(criterion),
        )
    session.add(criterion)
    session.commit()
    return criterion


def archive(
    *, session: Session, actor: Actor, criterion_id: int, expected_version: int | None
) -> Criterion:
    criterion, owner = _get_with_owner(
        session=session, actor=actor, criterion_id=criterion_id, for_update=True
    )
    if not criterion.archived:
        # Archiving again is a no-op (a retried DELETE); archiving under an archived
        # project or experiment is a write under it.
        check_owner_writable(session=session, owner=owner)
    check_version(criterion.version, expected_version)
    if not criterion.archived:
        history.archive(
            session=session,
            actor=actor,
            obj=criterion,
            entity_type=EntityType.criterion,
            entity_id=criterion_id,
            **_owner_ids(criterion),
        )
    return criterion


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
