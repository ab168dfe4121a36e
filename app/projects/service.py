"""Projects: innovation initiatives, their risk profile and determinant tags."""

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from app.api import json_pages
from app.api.csv_export import AUDIT_COLUMNS, risk_column
from app.auth.models import Actor
from app.core.db import check_dates
from app.core.errors import InvalidField, NotFound
from app.core.pagination import PageParams, paginate, split_page
from app.core.versioning import check_version, touch
from app.determinants import service as determinant_service
from app.determinants.models import DETERMINANT_COLUMNS, Determinant, DeterminantTag, Effect
from app.experiments.models import Experiment
from app.history import service as history
from app.history.models import ChangeAction, EntityType
from app.projects.models import (
    Facet,
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectsPage,
    ProjectUpdate,
    RiskIn,
    SponsorLevel,
    Stage,
    WorkMode,
    risk_band,
)
from app.units import service as unit_service

WITH_TAGS = selectinload(Project.determinant_tags)  # type: ignore[arg-type]
REQUIRED = ("title", "unit_id", "sponsor_level", "work_mode", "stage")
RISK_FIELDS = ("likelihood", "impact", "risk_of_not_innovating", "mitigation", "score", "band")
# The CSV export's columns, in this order whatever the data.
CSV_COLUMNS = [
    "id",
    "title",
    "summary",
    "unit_id",
    "sponsor_level",
    "sponsor",
    "work_mode",
    "stage",
    "facet",
    "budget",
    "fte",
    "started_on",
    "ended_on",
    *(risk_column(field) for field in RISK_FIELDS),
    *DETERMINANT_COLUMNS,
    *AUDIT_COLUMNS,
]


def risk_dict(project: Any) -> dict[str, Any] | None:
    """The public `risk` of a project or of a plain row of the projects table."""
    if project.risk_likelihood is None:
        return None
    return {
        "likelihood": project.risk_likelihood,
        "impact": project.risk_impact,
        "risk_of_not_innovating": project.risk_of_not_innovating,
        "mitigation": project.risk_mitigation,
        "score": project.risk_score,
        "band": project.risk_band,
    }


def to_public(project: Project) -> ProjectPublic:
    data = project.model_dump()
    data["risk"] = risk_dict(project)
    data["determinants"] = determinant_service.as_dicts(project.determinant_tags)
    return ProjectPublic.model_validate(data)


def _set_risk(project: Project, risk: RiskIn | None) -> None:
    project.risk_likelihood = risk.likelihood if risk else None
    project.risk_impact = risk.impact if risk else None
    project.risk_of_not_innovating = risk.risk_of_not_innovating if risk else None
    project.risk_mitigation = risk.mitigation if risk else None
    project.risk_score = risk.likelihood * risk.impact if risk else None
    project.risk_band = risk_band(risk.likelihood * risk.impact) if risk else None


def _history_view(project: Project) -> dict[str, Any]:
    data = project.model_dump(include=set(ProjectCreate.model_fields))
    data["risk"] = {k: v for k, v in (risk_dict(project) or {}).items()} or None
    data["determinants"] = determinant_service.as_dicts(project.determinant_tags)
    return data


def get(*, session: Session, actor: Actor, project_id: int, for_update: bool = False) -> Project:
    statement = select(Project).where(Project.id == project_id).options(WITH_TAGS)
    if actor.scope_unit_id is not None:
        statement = statement.where(
            unit_service.in_subtree(Project.unit_id, actor.scope_unit_id, "scope")
        )
    if for_update:
        statement = statement.with_for_update(of=Project)  # type: ignore[arg-type]
    project = session.exec(statement).first()
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


def list_projects(
    *, session: Session, actor: Actor, params: PageParams, **filters: Any
) -> tuple[list[Project], str | None]:
    statement = _filtered(select(Project).options(WITH_TAGS), actor=actor, **filters)
    rows = list(session.exec(paginate(statement, Project.id, params)).all())
    return split_page(rows, params)


def list_public(
    *, session: Session, actor: Actor, params: PageParams, **filters: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """One page as plain dicts shaped like `ProjectPublic`, without ORM objects.

    Same filters, order and page as `list_projects`; plain rows plus one query for the
    page's tags cost a fraction of hydrating entities (bench/RESULTS.md, list vs peer).
    """
    statement = _filtered(sa_select(*Project.__table__.columns), actor=actor, **filters)  # type: ignore[attr-defined]
    rows, cursor = split_page(
        list(session.execute(paginate(statement, Project.id, params))), params
    )
    tags = determinant_service.dicts_by_owner(
        session=session, owner_column=DeterminantTag.project_id, owner_ids=[r.id for r in rows]
    )
    items = []
    for row in rows:
        data = row._asdict()
        data["risk"] = risk_dict(row)
        data["determinants"] = tags.get(row.id, [])
        items.append(data)
    return items, cursor


def list_json(*, session: Session, actor: Actor, params: PageParams, **filters: Any) -> bytes:
    """One page as the JSON of `ProjectsPage` (`json_pages.JsonPage.list_json`)."""
    return JSON_PAGE.list_json(
        session=session,
        params=params,
        filtered=lambda rows: _filtered(rows, actor=actor, **filters),
        plain=lambda: list_public(session=session, actor=actor, params=params, **filters),
    )


def _risk_sql() -> str:
    """A project's `risk` as `risk_dict` gives it: null without a likelihood."""
    columns = {f: f if f == "risk_of_not_innovating" else f"risk_{f}" for f in RISK_FIELDS}
    risk = json_pages.object_sql({f: f"{json_pages.ITEM}.{c}" for f, c in columns.items()})
    return f"CASE WHEN {json_pages.ITEM}.risk_likelihood IS NULL THEN NULL ELSE {risk} END"


JSON_PAGE = json_pages.JsonPage(
    Project.__table__,  # type: ignore[attr-defined]
    ProjectsPage,
    {"risk": _risk_sql(), "determinants": json_pages.tags_sql("project_id")},
)


def _filtered(
    statement: Any,
    *,
    actor: Actor,
    unit_id: int | None = None,
    stage: list[Stage] | None = None,
    work_mode: list[WorkMode] | None = None,
    sponsor_level: list[SponsorLevel] | None = None,
    facet: list[Facet] | None = None,
    determinant: list[Determinant] | None = None,
    effect: Effect | None = None,
    updated_since: datetime | None = None,
    include_archived: bool = False,
) -> Any:
    if actor.scope_unit_id is not None:
        statement = statement.where(
            unit_service.in_subtree(Project.unit_id, actor.scope_unit_id, "scope")
        )
    if unit_id is not None:
        statement = statement.where(unit_service.in_subtree(Project.unit_id, unit_id))
    for column, values in (
        (Project.stage, stage),
        (Project.work_mode, work_mode),
        (Project.sponsor_level, sponsor_level),
        (Project.facet, facet),
    ):
        if values:
            statement = statement.where(col(column).in_(values))
    if determinant or effect:
        statement = statement.where(
            determinant_service.has_determinant_clause(
                DeterminantTag.project_id, Project.id, determinant or list(Determinant), effect
            )
        )
    if updated_since is not None:
        statement = statement.where(Project.updated_at >= updated_since)
    if not include_archived:
        statement = statement.where(Project.archived == False)  # noqa: E712
    return statement


def create(*, session: Session, actor: Actor, project_in: ProjectCreate) -> Project:
    unit_service.check_in_scope(
        session=session, actor=actor, unit_id=project_in.unit_id, field="unit_id"
    )
    unit_service.get_active(session=session, unit_id=project_in.unit_id, field="unit_id")
    project = Project.model_validate(project_in.model_dump(exclude={"risk", "determinants"}))
    _set_risk(project, project_in.risk)
    project.determinant_tags = []
    session.add(project)
    determinant_service.replace(session=session, owner=project, tags=project_in.determinants)
    session.flush()
    assert project.id is not None
    history.record(
        session=session,
        actor=actor,
        entity_type=EntityType.project,
        entity_id=project.id,
        project_id=project.id,
        action=ChangeAction.create,
        changes=history.diff({}, _history_view(project)),
    )
    session.commit()
    return project


def update(
    *,
    session: Session,
    actor: Actor,
    project_id: int,
    project_in: ProjectUpdate,
    expected_version: int | None,
) -> Project:
    project = get(session=session, actor=actor, project_id=project_id, for_update=True)
    check_version(project.version, expected_version)
    changes = project_in.model_dump(exclude_unset=True, exclude={"risk", "determinants"})
    for field in REQUIRED:
        if field in changes and changes[field] is None:
            raise InvalidField(field, "may not be null")
    try:
        check_dates(
            changes.get("started_on", project.started_on), changes.get("ended_on", project.ended_on)
        )
    except ValueError as exc:
        raise InvalidField("ended_on", str(exc)) from None
    new_unit = changes.get("unit_id")
    if new_unit is not None and new_unit != project.unit_id:
        unit_service.check_in_scope(session=session, actor=actor, unit_id=new_unit, field="unit_id")
        unit_service.get_active(session=session, unit_id=new_unit, field="unit_id")
    before = _history_view(project)
    project.sqlmodel_update(changes)
    fields_set = project_in.model_fields_set
    if "risk" in fields_set:
        _set_risk(project, project_in.risk)
    if "determinants" in fields_set:
        new_tags = project_in.determinants or []
        if determinant_service.changed(project.determinant_tags, new_tags):
            determinant_service.replace(session=session, owner=project, tags=new_tags)
    delta = history.diff(before, _history_view(project))
    if delta:
        touch(project)
        if "unit_id" in delta:
            _move_experiments(session, project)
        history.record(
            session=session,
            actor=actor,
            entity_type=EntityType.project,
            entity_id=project_id,
            project_id=project_id,
            action=ChangeAction.update,
            changes=delta,
        )
    session.add(project)
    session.commit()
    return project


def _move_experiments(session: Session, project: Project) -> None:
    # Experiments belong to their project's unit; the copy on each row keeps scope
    # checks and reports to one indexed column.
    session.execute(
        sa_update(Experiment)
        .where(col(Experiment.project_id) == project.id)
        .values(unit_id=project.unit_id)
    )


def archive(
    *, session: Session, actor: Actor, project_id: int, expected_version: int | None
) -> Project:
    project = get(session=session, actor=actor, project_id=project_id, for_update=True)
    check_version(project.version, expected_version)
    if not project.archived:
        history.archive(
            session=session,
            actor=actor,
            obj=project,
            entity_type=EntityType.project,
            entity_id=project_id,
            project_id=project_id,
        )
    return project


def count_by_stage(*, session: Session) -> dict[Stage, int]:
    """Non-archived projects per stage, every stage present (for `/metrics`)."""
    statement = (
        select(Project.stage, func.count())
        .where(Project.archived == False)  # noqa: E712
        .group_by(Project.stage)
    )
    counts = dict.fromkeys(Stage, 0)
    counts.update({Stage(stage): count for stage, count in session.exec(statement).all()})
    return counts
