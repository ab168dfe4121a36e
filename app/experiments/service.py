"""Experiments: what departments submit, each under a project and in its unit."""

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Integer, any_, bindparam, false
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from app.api import json_pages, listing
from app.auth.models import Actor
from app.core import bulk, filters
from app.core.db import check_dates, utcnow
from app.core.editing import Editable, check_merged, check_required
from app.core.errors import Archived, InvalidField
from app.core.history import service as history
from app.core.history.models import EntityType, HistoryEntry
from app.core.revision import service as revision
from app.criteria import service as criteria_service
from app.determinants import service as determinant_service
from app.determinants.models import DeterminantTag
from app.experiments import rigour
from app.experiments.models import (
    Comparison,
    Experiment,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResult,
    ExperimentsPage,
    ExperimentStatus,
    ExperimentUpdate,
    Method,
    check_publication,
    check_result,
)
from app.projects import service as project_service
from app.projects.models import Project
from app.units import service as unit_service

WITH_TAGS = selectinload(Experiment.determinant_tags)  # type: ignore[arg-type]
EXPERIMENTS = Editable(
    Experiment,
    EntityType.experiment,
    read_only="; it and its criteria are read-only",
    options=(WITH_TAGS,),
    history_owner=lambda experiment: {"experiment_id": experiment.id},
)
REQUIRED = (
    "project_id",
    "title",
    "hypothesis",
    "method",
    "status",
    "comparison",
    "independent_evaluation",
)
TABLE = Experiment.__table__  # type: ignore[attr-defined]
# The list's one field specification, in CSV order (JSON keys come in `ExperimentPublic`'s):
# its page SQL, its items on both backends and its CSV columns all come from here.
LIST = listing.ListSpec(
    TABLE,
    ExperimentsPage,
    (
        *listing.columns(
            "id",
            "project_id",
            "unit_id",
            "title",
            "hypothesis",
            "method",
            "status",
            "result",
            "lessons",
            "started_on",
            "ended_on",
            "comparison",
            "sample_size",
            "preregistered_on",
            "independent_evaluation",
            "cost",
            "published_on",
            "publication_url",
        ),
        listing.Computed(
            sql_text=rigour.json_sql(json_pages.ITEM),
            selects=rigour.flag_columns,
            from_row=lambda row: rigour.from_flags(row._mapping),
        ),
        determinant_service.list_field(DeterminantTag.experiment_id),
        *listing.AUDITED,
    ),
    "experiments.csv",
)
FILTERS = filters.OwnedRows(
    Experiment,
    in_subtree=unit_service.in_subtree,
    tagged=determinant_service.filter_on(DeterminantTag.experiment_id, Experiment.id),
)


# Built once with their ids as one parameter: building the flag expressions cost more
# than running the query (a single write's answer asks for one experiment's rigour).
# PostgreSQL takes one array parameter: an IN list of a batch's 1,000 ids cost more to
# compile and send than the query took to run.
_RIGOUR = sa_select(TABLE.c.id, *rigour.flag_columns(TABLE))
_RIGOUR_ANY = _RIGOUR.where(TABLE.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer))))
_RIGOUR_IN = _RIGOUR.where(TABLE.c.id.in_(bindparam("ids", expanding=True)))


def rigour_by_id(*, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """`rigour` and `rigour_features` of the given experiments, in one query."""
    if not ids:
        return {}
    statement = _RIGOUR_ANY if bulk.takes_json(session) else _RIGOUR_IN
    rows = session.connection().execute(statement, {"ids": ids})
    return {row.id: rigour.from_flags(row._mapping) for row in rows}


def public_dict(experiment: Experiment, *, session: Session) -> dict[str, Any]:
    """The fields of `ExperimentPublic`, unvalidated; rigour is read from the database
    (it depends on the experiment's criteria)."""
    assert experiment.id is not None
    data = experiment.model_dump()
    data["determinants"] = determinant_service.as_dicts(experiment.determinant_tags)
    data.update(rigour_by_id(session=session, ids=[experiment.id])[experiment.id])
    return data


def to_public(experiment: Experiment, *, session: Session) -> ExperimentPublic:
    return ExperimentPublic.model_validate(public_dict(experiment, session=session))


def _history_view(experiment: Experiment) -> dict[str, Any]:
    data = experiment.model_dump(include=set(ExperimentCreate.model_fields))
    data["determinants"] = determinant_service.as_dicts(experiment.determinant_tags)
    return data


def project_unit_for_write(*, session: Session, actor: Actor, project_id: int) -> int:
    """The unit of the project a body names: 422 if it does not exist, is archived, or lies
    outside the caller's unit (the same answer, so a submitter learns nothing about other
    units).

    Share-locked until the caller's transaction ends (`lock_projects`)."""
    found = session.connection().execute(_PROJECT_FOR_WRITE, {"project_id": project_id}).first()
    visible = found is not None and (
        actor.scope_unit_id is None
        or unit_service.is_in_subtree(
            session=session, unit_id=found.unit_id, root_id=actor.scope_unit_id
        )
    )
    if found is None or not visible or found.archived:
        raise InvalidField("project_id", f"project {project_id} does not exist")
    return int(found.unit_id)


def lock_projects(statement: Any) -> Any:
    """A write that copies a project's unit or depends on its scope (a new experiment, a
    criterion, a batch) holds its project rows with FOR SHARE until it commits: a move of
    the project (FOR UPDATE, `projects.service.update`) waits for it and then moves what it
    wrote, or runs first and is seen by it. Writes under one project still run side by side.
    Rows are locked in id order (the batch orders them), so two batches never deadlock.
    A no-op on SQLite, whose writes run one at a time."""
    return statement.with_for_update(read=True, of=Project)


# Built once: on every new experiment, and plain columns are all a write needs of it.
_PROJECTS = Project.__table__  # type: ignore[attr-defined]
_PROJECT_FOR_WRITE = lock_projects(
    sa_select(_PROJECTS.c.unit_id, _PROJECTS.c.archived).where(
        _PROJECTS.c.id == bindparam("project_id")
    )
)


def get(
    *,
    session: Session,
    actor: Actor,
    experiment_id: int,
    for_update: bool = False,
    related: bool = True,
) -> Experiment:
    """``related=False``: without its tags."""
    return EXPERIMENTS.get(
        session,
        experiment_id,
        where=unit_service.scope_clause(Experiment.unit_id, actor),
        lock="update" if for_update else None,
        related=related,
    )


def check_writable(*, session: Session, experiment: Experiment) -> None:
    """An archived experiment, or one of an archived project, is read-only (409)."""
    EXPERIMENTS.check_writable(experiment)
    project = session.get(Project, experiment.project_id)
    if project is not None and project.archived:
        raise Archived(
            f"experiment {experiment.id} belongs to the archived project {project.id}; "
            "everything under an archived object is read-only"
        )


@project_service.move_under_project.install
def _follow_project(session: Session, project: Project) -> None:
    session.execute(
        sa_update(Experiment)
        .where(col(Experiment.project_id) == project.id)
        .values(unit_id=project.unit_id)
    )


def history_visibility(
    *, session: Session, actor: Actor, experiment_id: int
) -> history.Visibility | None:
    """What a submitter sees in full of an experiment's history: what was written while
    the experiment's unit (its project's, at that time) was in the submitter's subtree,
    before and after the entry. Everyone else sees everything. 404 unless the caller may
    read the experiment."""
    experiment = get(session=session, actor=actor, experiment_id=experiment_id)
    root = actor.scope_unit_id
    if root is None:
        return None
    assert experiment.id is not None
    subtree = unit_service.subtree_id_set(session=session, root_id=root)
    projects = history.timelines(
        session=session,
        entity_type=EntityType.experiment,
        entity_ids={experiment.id},
        field="project_id",
    ).get(experiment.id, [])
    project_ids = {p for _, p in projects} | {experiment.project_id}
    units = history.timelines(
        session=session, entity_type=EntityType.project, entity_ids=project_ids, field="unit_id"
    )
    current_units = {
        project_id: unit_id
        for project_id, unit_id in session.execute(
            sa_select(col(Project.id), col(Project.unit_id)).where(col(Project.id).in_(project_ids))
        ).all()
    }

    def unit_around(history_id: int) -> tuple[Any, Any]:
        project_before, project_after = history.around(projects, history_id, experiment.project_id)
        before, _ = history.around(
            units.get(project_before, []), history_id, current_units.get(project_before)
        )
        _, after = history.around(
            units.get(project_after, []), history_id, current_units.get(project_after)
        )
        return before, after

    def visible(entry: HistoryEntry) -> bool:
        return all(u in subtree for u in unit_around(entry.id or 0))

    return visible


def filtered(
    statement: Any,
    *,
    actor: Actor,
    project_id: int | None = None,
    status: list[ExperimentStatus] | None = None,
    method: list[Method] | None = None,
    result: list[ExperimentResult] | None = None,
    comparison: list[Comparison] | None = None,
    rigour_min: int | None = None,
    published: bool | None = None,
    **shared: Any,
) -> Any:
    """The list's rows narrowed by its filters and the caller's scope; `shared` are the
    filters every list of unit-owned rows has (`filters.OwnedRows.clauses`)."""
    is_published = col(Experiment.published_on).is_not(None)
    return FILTERS.narrowed(
        statement,
        [
            filters.equal(col(Experiment.project_id), project_id),
            filters.any_of(col(Experiment.status), status),
            filters.any_of(col(Experiment.method), method),
            filters.any_of(col(Experiment.result), result),
            filters.any_of(col(Experiment.comparison), comparison),
            rigour.score(TABLE) >= rigour_min if rigour_min is not None else None,
            None if published is None else is_published if published else ~is_published,
        ],
        scope_unit_id=actor.scope_unit_id,
        **shared,
    )


def writable_project_units(
    *, session: Session, actor: Actor, project_ids: set[int]
) -> dict[int, int]:
    """Unit of each named project a body may reference, in one query: live and inside the
    caller's unit (a missing id is one that does not exist, is archived or out of scope,
    the same answer as `project_unit_for_write`)."""
    statement = select(col(Project.id), Project.unit_id).where(
        col(Project.id).in_(project_ids),
        Project.archived == False,  # noqa: E712
    )
    if actor.scope_unit_id is not None:
        statement = statement.where(
            unit_service.in_subtree(Project.unit_id, actor.scope_unit_id, "scope")
        )
    rows = session.exec(lock_projects(statement.order_by(col(Project.id)))).all()
    return {project_id: unit_id for project_id, unit_id in rows if project_id is not None}


def insert_many(
    *, session: Session, actor: Actor, experiments_in: list[tuple[ExperimentCreate, int]]
) -> list[dict[str, Any]]:
    """Insert (experiment, unit id) pairs with their tags and history entries, a batched
    INSERT per table whatever their number; returns `ExperimentPublic` dicts in order, but
    for rigour, in JSON form (timestamps as the API writes them).

    The same rows as `build` would write one by one (the database fills in ids). Fields
    outside `ExperimentCreate` (a batch item's criteria) are left out."""
    now = utcnow()
    models = [experiment_in for experiment_in, _ in experiments_in]
    # One pass of pydantic-core over all items: a model_dump per item, then a walk of
    # `history.plain` over each, took 80 and 50 ms for 1,000 items (busy machine).
    # JSON mode writes enums, dates and amounts as `history.plain` does, and PostgreSQL
    # reads that text back into the columns' types; SQLite's executemany wants Python types.
    created = _CREATES.dump_python(models, mode="json")
    as_columns = created if bulk.takes_json(session) else _CREATES.dump_python(models)
    values = [
        {
            **{k: v for k, v in data.items() if k != "determinants"},
            "unit_id": unit_id,
            **bulk.new_row(now),
        }
        for data, (_, unit_id) in zip(as_columns, experiments_in, strict=True)
    ]
    ids = bulk.insert_with_ids(session, Experiment.__table__, values)  # type: ignore[attr-defined]
    bulk.insert_rows(
        session,
        DeterminantTag.__table__,  # type: ignore[attr-defined]
        [
            {"project_id": None, "experiment_id": id_, **tag}
            for id_, data in zip(ids, as_columns, strict=True)
            for tag in data["determinants"]
        ],
    )
    history.record_creates(
        session=session,
        actor=actor,
        entity_type=EntityType.experiment,
        # The changes are what `_history_view` gives for the stored experiment.
        created=(
            (id_, id_, history.created_from_json(data))
            for id_, data in zip(ids, created, strict=True)
        ),
    )
    # The same text as the response model gives `now` (pydantic's own serializer).
    timestamp = _TIMESTAMP.dump_python(now, mode="json")
    return [
        {**data, "id": id_, "unit_id": unit_id, **bulk.new_row(timestamp)}
        for data, id_, (_, unit_id) in zip(created, ids, experiments_in, strict=True)
    ]


# Validates nothing: serializes already validated items (a batch's, a subclass) in one call.
_CREATES = TypeAdapter(list[ExperimentCreate])
_CREATE = TypeAdapter(ExperimentCreate)
_TIMESTAMP = TypeAdapter(datetime)


# A new experiment, its id and rigour flags back from the same statement: built once. It
# has no criteria yet, so no `baseline` (which only a criterion of it gives).
_INSERT_ONE = sa_insert(TABLE).returning(TABLE.c.id, *rigour.flag_columns(TABLE, false()))


def create(
    *, session: Session, actor: Actor, experiment_in: ExperimentCreate
) -> ExperimentPublic:
    """Insert an experiment under its project, with its tags and history entry, and commit.

    Core statements, as `insert_many` writes a batch's, not a flush of an entity: the
    ORM's unit of work, the entity and a second statement for its rigour were most of a
    single write's time (bench/RESULTS.md, "Issue 17, tenth pass"). The same rows as the
    batch writes, and the same answer as `GET /experiments/{id}` gives."""
    unit_id = project_unit_for_write(
        session=session, actor=actor, project_id=experiment_in.project_id
    )
    now = utcnow()
    values = {
        **experiment_in.model_dump(exclude={"determinants"}),
        "unit_id": unit_id,
        **bulk.new_row(now),
    }
    revision.note_inserted(session, TABLE.name, [values])
    inserted = session.connection().execute(_INSERT_ONE, values).one()
    tags = [tag.model_dump() for tag in experiment_in.determinants]
    created = _CREATE.dump_python(experiment_in, mode="json")
    bulk.insert_rows(
        session,
        DeterminantTag.__table__,  # type: ignore[attr-defined]
        [{"project_id": None, "experiment_id": inserted.id, **tag} for tag in tags],
    )
    history.record_creates(
        session=session,
        actor=actor,
        entity_type=EntityType.experiment,
        # The changes are what `_history_view` gives for the stored experiment.
        created=[(inserted.id, inserted.id, history.created_from_json(created))],
    )
    session.commit()
    return ExperimentPublic.model_validate(
        {
            **values,
            "id": inserted.id,
            "determinants": tags,
            **rigour.from_flags(inserted._mapping),
        }
    )


def update(
    *,
    session: Session,
    actor: Actor,
    experiment_id: int,
    experiment_in: ExperimentUpdate,
    expected_version: int | None,
) -> Experiment:
    experiment = get(session=session, actor=actor, experiment_id=experiment_id, for_update=True)

    def change() -> dict[str, Any]:
        changes = experiment_in.model_dump(exclude_unset=True, exclude={"determinants"})
        check_required(changes, REQUIRED)
        check_merged(experiment, changes, "ended_on", check_dates, "started_on", "ended_on")
        check_merged(experiment, changes, "result", check_result, "status", "result")
        check_merged(
            experiment, changes, "published_on", check_publication, "status", "published_on"
        )
        new_project = changes.get("project_id")
        if new_project is not None and new_project != experiment.project_id:
            experiment.unit_id = project_unit_for_write(
                session=session, actor=actor, project_id=new_project
            )
        before = _history_view(experiment)
        experiment.sqlmodel_update(changes)
        if "determinants" in experiment_in.model_fields_set:
            # As on projects: the list replaces the stored one whole; null clears it.
            new_tags = experiment_in.determinants or []
            if determinant_service.changed(experiment.determinant_tags, new_tags):
                determinant_service.replace(session=session, owner=experiment, tags=new_tags)
        return history.diff(before, _history_view(experiment))

    return EXPERIMENTS.update(
        session=session,
        actor=actor,
        row=experiment,
        expected_version=expected_version,
        change=change,
        check_writable=lambda: check_writable(session=session, experiment=experiment),
    )


def archive(
    *, session: Session, actor: Actor, experiment_id: int, expected_version: int | None
) -> Experiment:
    experiment = get(session=session, actor=actor, experiment_id=experiment_id, for_update=True)
    return EXPERIMENTS.archive(
        session=session,
        actor=actor,
        row=experiment,
        expected_version=expected_version,
        check_writable=lambda: check_writable(session=session, experiment=experiment),
    )


criteria_service.EXPERIMENT_OWNER.install(
    criteria_service.Owner(
        "experiment_id",
        get=lambda session, actor, experiment_id, lock: get(
            session=session,
            actor=actor,
            experiment_id=experiment_id,
            for_update=lock,
            related=False,
        ),
        check_writable=lambda session, experiment: check_writable(
            session=session, experiment=experiment
        ),
    )
)
