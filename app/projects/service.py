"""Projects: innovation initiatives, their risk profile and determinant tags."""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    text,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased, selectinload
from sqlmodel import Session, col, select

from app.api import json_pages, listing
from app.auth import service as auth_service
from app.auth.models import Actor
from app.core import filters
from app.core.db import as_dicts, check_dates, today
from app.core.editing import Editable, check_merged
from app.core.errors import InvalidField, NotFound
from app.core.history import service as history
from app.core.history.models import EntityType
from app.core.hooks import Hook
from app.determinants import service as determinant_service
from app.determinants.models import DeterminantTag
from app.projects.models import (
    ADOPTING,
    COLLABORATORS,
    INNOVATION_TYPES,
    SETS,
    TRACKED,
    VALUE_TYPES,
    Collaborator,
    Evaluation,
    Facet,
    Initiator,
    InnovationType,
    Lineage,
    LineageItem,
    Novelty,
    PeriodPublic,
    Project,
    ProjectCreate,
    ProjectPeriod,
    ProjectPublic,
    ProjectsPage,
    ProjectTimeline,
    ProjectUpdate,
    RiskIn,
    SponsorLevel,
    Stage,
    ValueType,
    WorkMode,
    risk_band,
)
from app.units import service as unit_service

WITH_TAGS = selectinload(Project.determinant_tags)  # type: ignore[arg-type]
PROJECTS = Editable(
    Project,
    EntityType.project,
    read_only="; it and its experiments, criteria and measurements are read-only",
    options=(WITH_TAGS,),
    history_owner=lambda project: {"project_id": project.id},
)
REQUIRED = ("title", "unit_id", "sponsor_level", "work_mode", "stage")
# The list's one field specification, in CSV order (JSON keys come in `ProjectPublic`'s):
# its page SQL, its items on both backends and its CSV columns all come from here.
RISK = listing.Nested(
    "risk",
    {
        "likelihood": "risk_likelihood",
        "impact": "risk_impact",
        "risk_of_not_innovating": "risk_of_not_innovating",
        "mitigation": "risk_mitigation",
        "score": "risk_score",
        "band": "risk_band",
    },
)
SET_FIELDS = tuple(listing.FlagsColumn(name, flags, mask) for name, (flags, mask) in SETS.items())
LIST = listing.ListSpec(
    Project.__table__,  # type: ignore[attr-defined]
    ProjectsPage,
    (
        *listing.columns(
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
            "stage_since",
            "novelty",
            "adopted_from",
            "initiated_by",
            "evaluation",
            "embedded_on",
        ),
        *SET_FIELDS,
        RISK,
        determinant_service.list_field(DeterminantTag.project_id),
        *listing.AUDITED,
    ),
    "projects.csv",
)
FILTERS = filters.OwnedRows(
    Project,
    in_subtree=unit_service.in_subtree,
    tagged=determinant_service.filter_on(DeterminantTag.project_id, Project.id),
)


def sets_dict(project: Any) -> dict[str, list[Any]]:
    """The public set fields of a project (an entity or a plain row)."""
    return {f.name: f.flags.decode(getattr(project, f.mask)) for f in SET_FIELDS}


def _store_sets(project: Project, values: Mapping[str, Any]) -> None:
    for field, (flags, column) in SETS.items():
        if field in values:
            setattr(project, column, flags.encode(values[field]))


def to_public(project: Project) -> ProjectPublic:
    data = project.model_dump()
    data.update(sets_dict(project))
    data["risk"] = RISK.of(project)
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
    data.update(sets_dict(project))
    data["risk"] = RISK.of(project)
    data["determinants"] = determinant_service.as_dicts(project.determinant_tags)
    return data


def get(
    *,
    session: Session,
    actor: Actor,
    project_id: int,
    for_update: bool = False,
    for_share: bool = False,
    related: bool = True,
) -> Project:
    """``for_update`` locks the row for a change of the project itself (a move waits for
    the writes that share-lock it: `experiments.service.lock_projects`); ``for_share``
    for a write under it. ``related=False``: without its tags."""
    return PROJECTS.get(
        session,
        project_id,
        where=unit_service.scope_clause(Project.unit_id, actor),
        lock="update" if for_update else "share" if for_share else None,
        related=related,
    )


def check_writable(project: Project) -> None:
    """An archived project, and everything under it, is read-only (409)."""
    PROJECTS.check_writable(project)


def history_visibility(
    *, session: Session, actor: Actor, project_id: int
) -> history.Visibility | None:
    """What a submitter sees in full of a project's history (its own entries, its
    criteria's and measurements'): what was written while the project's unit was in the
    submitter's subtree, before and after the entry (a move in or out is redacted too).
    Everyone else sees everything. 404 unless the caller may read the project."""
    project = get(session=session, actor=actor, project_id=project_id)
    return unit_service.scope_visibility(
        session=session,
        actor=actor,
        entity_type=EntityType.project,
        entity_id=project_id,
        field="unit_id",
        current=project.unit_id,
    )


@unit_service.live_projects_under.install
def _live_projects_under(session: Session, unit_id: int) -> int:
    statement = (
        select(func.count())
        .select_from(Project)
        .where(unit_service.in_subtree(Project.unit_id, unit_id), col(Project.archived).is_(False))
    )
    return session.exec(statement).one()


def filtered(
    statement: Any,
    *,
    actor: Actor,
    stage: list[Stage] | None = None,
    work_mode: list[WorkMode] | None = None,
    sponsor_level: list[SponsorLevel] | None = None,
    facet: list[Facet] | None = None,
    stage_since_before: date | None = None,
    novelty: list[Novelty] | None = None,
    initiated_by: list[Initiator] | None = None,
    evaluation: list[Evaluation] | None = None,
    innovation_type: list[InnovationType] | None = None,
    collaborator: list[Collaborator] | None = None,
    value_type: list[ValueType] | None = None,
    adopted_from: int | None = None,
    **shared: Any,
) -> Any:
    """The list's rows narrowed by its filters and the caller's scope; `shared` are the
    filters every list of unit-owned rows has (`filters.OwnedRows.clauses`)."""
    return FILTERS.narrowed(
        statement,
        [
            filters.any_of(col(Project.stage), stage),
            filters.any_of(col(Project.work_mode), work_mode),
            filters.any_of(col(Project.sponsor_level), sponsor_level),
            filters.any_of(col(Project.facet), facet),
            filters.any_of(col(Project.novelty), novelty),
            filters.any_of(col(Project.initiated_by), initiated_by),
            filters.any_of(col(Project.evaluation), evaluation),
            filters.has_any(INNOVATION_TYPES, col(Project.innovation_types_mask), innovation_type),
            filters.has_any(COLLABORATORS, col(Project.collaborators_mask), collaborator),
            filters.has_any(VALUE_TYPES, col(Project.value_types_mask), value_type),
            filters.equal(col(Project.adopted_from), adopted_from),
            filters.before(col(Project.stage_since), stage_since_before),
        ],
        scope_unit_id=actor.scope_unit_id,
        **shared,
    )


def create(*, session: Session, actor: Actor, project_in: ProjectCreate) -> Project:
    _lock_timelines(session)  # its first period
    if project_in.adopted_from is not None:
        # No loop can close through a new project, but a concurrent relinking above its
        # source could make the chain longer than the bound: the same lock as `update`.
        _lock_lineage(session)
    unit_service.check_in_scope(
        session=session, actor=actor, unit_id=project_in.unit_id, field="unit_id"
    )
    unit_service.get_active(session=session, unit_id=project_in.unit_id, field="unit_id")
    effective_on = _effective_on(project_in.effective_on)
    project = Project.model_validate(
        {
            **project_in.model_dump(exclude={"risk", "determinants", "effective_on", *SETS}),
            "stage_since": effective_on,
        }
    )
    _store_sets(project, project_in.model_dump(include=set(SETS)))
    # `embedded_on` defaults to the date the stage takes effect (`effective_on`).
    project.embedded_on = embedded_on_after(
        old_stage=None,
        old_embedded_on=None,
        new_stage=project.stage,
        given="embedded_on" in project_in.model_fields_set,
        value=project_in.embedded_on,
        effective_on=effective_on,
    )
    if project.adopted_from is not None:
        _check_source(session=session, actor=actor, project_id=None, source_id=project.adopted_from)
    _check_novelty(project, blame="adopted_from")
    _set_risk(project, project_in.risk)
    project.determinant_tags = []
    session.add(project)
    determinant_service.replace(session=session, owner=project, tags=project_in.determinants)
    session.flush()
    session.add(_period(project, valid_from=effective_on))
    PROJECTS.record_created(
        session=session,
        actor=actor,
        row=project,
        changes=history.diff({}, _history_view(project)),
        effective_on=effective_on,
    )
    session.commit()
    return project


def _effective_on(value: date | None) -> date:
    """The date a change took effect: today (UTC) unless given, never after today."""
    current = today()
    if value is None:
        return current
    if value > current:
        raise InvalidField("effective_on", f"is after today ({current.isoformat()})")
    return value


def _period(
    project: Project, *, valid_from: date, previous: ProjectPeriod | None = None
) -> ProjectPeriod:
    """An open period from `valid_from` with the project's tracked values, following
    `previous` (the project's last period until now, if any)."""
    assert project.id is not None
    return ProjectPeriod(
        project_id=project.id,
        valid_from=valid_from,
        valid_to=None,
        **{field: getattr(project, field) for field in TRACKED},
        **_run(project.stage, valid_from=valid_from, previous=previous),
    )


def _run(stage: Stage, *, valid_from: date, previous: ProjectPeriod | None) -> dict[str, Any]:
    """The run columns of a period of `stage` from `valid_from` after `previous`: the stage
    it follows, and when the unbroken run of its stage began (its own `from` unless
    `previous` has the same stage)."""
    if previous is None:
        return {"prev_stage": None, "stage_since": valid_from, "prev_stage_since": None}
    return {
        "prev_stage": previous.stage,
        "stage_since": previous.stage_since if previous.stage == stage else valid_from,
        "prev_stage_since": previous.stage_since,
    }


def _periods(session: Session, project_id: int) -> list[ProjectPeriod]:
    statement = (
        select(ProjectPeriod)
        .where(ProjectPeriod.project_id == project_id)
        .order_by(col(ProjectPeriod.valid_from))
    )
    return list(session.exec(statement).all())


def _check_effective_on(periods: list[ProjectPeriod], effective_on: date) -> None:
    if periods and effective_on < periods[-1].valid_from:
        earliest = periods[-1].valid_from.isoformat()
        raise InvalidField(
            "effective_on",
            f"is before {earliest}, when the project's current period began; "
            f"the earliest date allowed is {earliest}",
        )


def _record_period(
    session: Session, project: Project, periods: list[ProjectPeriod], effective_on: date
) -> None:
    """Write the project's new tracked values into its timeline, effective on a date at or
    after the last period's `from` (checked by `_check_effective_on`): on that date the last
    period is corrected in place (no zero-length period), after it the last period ends and
    a new one begins."""
    last = periods[-1] if periods else None
    if last is not None and last.valid_from == effective_on:
        for field in TRACKED:
            setattr(last, field, getattr(project, field))
        before = periods[-2] if len(periods) > 1 else None
        last.stage_since = _run(last.stage, valid_from=last.valid_from, previous=before)[
            "stage_since"
        ]
        session.add(last)
    else:
        if last is not None:
            last.valid_to = effective_on
            session.add(last)
        last = _period(project, valid_from=effective_on, previous=last)
        session.add(last)
        periods.append(last)
    project.stage_since = last.stage_since


def update(
    *,
    session: Session,
    actor: Actor,
    project_id: int,
    project_in: ProjectUpdate,
    expected_version: int | None,
) -> Project:
    fields_set = project_in.model_fields_set
    if fields_set & set(TRACKED):
        _lock_timelines(session)  # it may write the timeline
    relinking = "adopted_from" in fields_set and project_in.adopted_from is not None
    if relinking:
        # Before the row lock: the foreign key check of the new link takes a share lock on
        # the source row, which a concurrent relinking of that source holds FOR UPDATE.
        _lock_lineage(session)
    project = get(session=session, actor=actor, project_id=project_id, for_update=True)
    effective_on: date | None = None
    retimed = False

    def change() -> dict[str, Any]:
        nonlocal effective_on, retimed
        changes = project_in.model_dump(
            exclude_unset=True, exclude={"risk", "determinants", "effective_on", *SETS}
        )
        sent = project_in.model_dump(exclude_unset=True, include={*REQUIRED, *SETS})
        for field, value in sent.items():
            if value is None:
                hint = " (send [] for none)" if field in SETS else ""
                raise InvalidField(field, f"may not be null{hint}")
        effective_on = _effective_on(project_in.effective_on)
        retimed = any(
            field in changes and changes[field] != getattr(project, field) for field in TRACKED
        )
        periods = _periods(session, project_id) if retimed else []
        _check_effective_on(periods, effective_on)
        check_merged(project, changes, "ended_on", check_dates, "started_on", "ended_on")
        new_unit = changes.get("unit_id")
        if new_unit is not None and new_unit != project.unit_id:
            unit_service.check_in_scope(
                session=session, actor=actor, unit_id=new_unit, field="unit_id"
            )
            unit_service.get_active(session=session, unit_id=new_unit, field="unit_id")
        if relinking and changes["adopted_from"] != project.adopted_from:
            _check_source(
                session=session,
                actor=actor,
                project_id=project_id,
                source_id=changes["adopted_from"],
            )
        # `embedded_on` defaults to the date the change takes effect (`effective_on`).
        changes["embedded_on"] = embedded_on_after(
            old_stage=project.stage,
            old_embedded_on=project.embedded_on,
            new_stage=changes.get("stage", project.stage),
            given="embedded_on" in fields_set,
            value=project_in.embedded_on,
            effective_on=effective_on,
        )
        before = _history_view(project)
        project.sqlmodel_update(changes)
        _check_novelty(project, blame="adopted_from" if "adopted_from" in fields_set else "novelty")
        _store_sets(
            project,
            {field: getattr(project_in, field) or [] for field in SETS if field in fields_set},
        )
        if "risk" in fields_set:
            _set_risk(project, project_in.risk)
        if "determinants" in fields_set:
            new_tags = project_in.determinants or []
            if determinant_service.changed(project.determinant_tags, new_tags):
                determinant_service.replace(session=session, owner=project, tags=new_tags)
        if retimed:
            _record_period(session, project, periods, effective_on)
        return history.diff(before, _history_view(project))

    def on_change(delta: dict[str, Any]) -> None:
        if "unit_id" in delta:
            move_under_project.value(session, project)

    return PROJECTS.update(
        session=session,
        actor=actor,
        row=project,
        expected_version=expected_version,
        change=change,
        on_change=on_change,
        effective_on=lambda: effective_on if retimed else None,
    )


# What a move of a project to another unit carries along: its experiments copy their
# project's unit (one indexed column for scope checks and reports), and sit above projects,
# so they install it (`experiments.service`). Run in the move's transaction.
move_under_project: Hook[Callable[[Session, Project], None]] = Hook(
    "projects.service.move_under_project", provider="app.experiments.service"
)


def archive(
    *, session: Session, actor: Actor, project_id: int, expected_version: int | None
) -> Project:
    _lock_timelines(session)  # its periods leave the summaries
    project = get(session=session, actor=actor, project_id=project_id, for_update=True)
    return PROJECTS.archive(
        session=session, actor=actor, row=project, expected_version=expected_version
    )


def timeline(*, session: Session, actor: Actor, project_id: int) -> ProjectTimeline:
    """The project's periods, oldest first, under the scope rules of `get`."""
    get(session=session, actor=actor, project_id=project_id)
    periods = [
        PeriodPublic.model_validate(
            {
                "from": period.valid_from,
                "to": period.valid_to,
                **{field: getattr(period, field) for field in TRACKED},
            }
        )
        for period in _periods(session, project_id)
    ]
    return ProjectTimeline(project_id=project_id, periods=periods)


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


# --- barometer rules: embedding date, novelty, reuse lineage ----------------------------

# Longest chain of `adopted_from` links a lineage may have. Every recursive lineage query
# stops there, and a link that would make a longer chain is refused, so the bound never
# cuts a real chain short (and a query can never loop, whatever the data).
MAX_LINEAGE_DEPTH = 200
# PostgreSQL advisory lock serializing lineage changes, so two concurrent links cannot
# close a loop that neither cycle check saw (an arbitrary fixed key: b"lineage" as int).
LINEAGE_LOCK_KEY = int.from_bytes(b"lineage", "big")
# The same for the writes of project timelines (`_lock_timelines`).
TIMELINES_LOCK_KEY = int.from_bytes(b"timeline", "big")


def embedded_on_after(
    *,
    old_stage: Stage | None,
    old_embedded_on: date | None,
    new_stage: Stage,
    given: bool,
    value: date | None,
    effective_on: date,
) -> date | None:
    """A project's `embedded_on` after a create (`old_stage` None) or an update: set when
    the stage becomes `embedded` (the change's effective date unless `value` is `given`),
    kept while it stays there, cleared when it leaves."""
    if new_stage != Stage.embedded:
        if given and value is not None:
            raise InvalidField("embedded_on", "only a project in stage `embedded` has this date")
        return None
    if given:
        if value is None:
            raise InvalidField("embedded_on", "may not be null while the stage is `embedded`")
        if value > today():
            raise InvalidField("embedded_on", f"is after today ({today().isoformat()}, UTC)")
        return value
    if old_stage == Stage.embedded and old_embedded_on is not None:
        return old_embedded_on
    return effective_on


def _check_novelty(project: Project, *, blame: str) -> None:
    if project.adopted_from is not None and project.novelty not in ADOPTING:
        raise InvalidField(
            blame, "a project with `adopted_from` must have novelty `adapted` or `copied`"
        )


def _lock_timelines(session: Session) -> None:
    """PostgreSQL: taken first (before the lineage lock and the project's row) by every
    write that writes a period or archives a project, until it commits. The flow
    summaries (`app.reports.flow_summaries`) are the whole organization's rows, shared by
    all such writes and locked both by triggers on projects (before the other families'
    statement triggers lock their unit rows) and by triggers on the periods (after them):
    without one order two such writes could each hold what the other waits for, a
    deadlock PostgreSQL ends with an error (a 503). SQLite has one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TIMELINES_LOCK_KEY})


def _lock_lineage(session: Session) -> None:
    # SQLite needs none: every write transaction begins IMMEDIATE, one at a time.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LINEAGE_LOCK_KEY})


def _check_source(
    *, session: Session, actor: Actor, project_id: int | None, source_id: int
) -> None:
    """`adopted_from` = `source_id` for project `project_id` (None: a new project): the
    source must be readable and live, and the link must close no loop nor make a chain
    longer than `MAX_LINEAGE_DEPTH`. On an update the caller holds the lineage lock."""
    if source_id == project_id:
        raise InvalidField("adopted_from", "a project cannot be adopted from itself")
    try:
        source = get(session=session, actor=actor, project_id=source_id)
    except NotFound:
        source = None
    if source is None or source.archived:
        raise InvalidField("adopted_from", f"project {source_id} does not exist")
    # The whole lineage, whatever the caller may read: an unreadable project closes a loop too.
    above = [row.id for row in session.execute(_ABOVE, _lineage_params(source_id))]
    if project_id is not None and project_id in above:
        raise InvalidField(
            "adopted_from",
            f"project {source_id} is adopted from this project (directly or further on): "
            "the link would make a cycle",
        )
    below = 0
    if project_id is not None:
        below = session.execute(_HEIGHT_BELOW, _lineage_params(project_id)).scalar_one() or 0
    if len(above) + 1 + below > MAX_LINEAGE_DEPTH:
        raise InvalidField(
            "adopted_from",
            f"the lineage would be longer than {MAX_LINEAGE_DEPTH} adoptions",
        )


# The lineage statements are built once, with the project (and the caller's scope) as bound
# parameters: building two recursive CTEs per request cost more than running them.
_PROJECT = bindparam("lineage_project_id", type_=Integer)
_SCOPE = bindparam("lineage_scope_id", type_=Integer)


def _ancestors_cte() -> Any:
    """(id, depth) of every project `_PROJECT` came from: its source at depth 1, the
    source's source at 2, ..., at most `MAX_LINEAGE_DEPTH` deep."""
    parent = aliased(Project)
    up = (
        sa_select(col(Project.adopted_from).label("id"), literal(1).label("depth"))
        .where(col(Project.id) == _PROJECT, col(Project.adopted_from).is_not(None))
        .cte("ancestors", recursive=True)
    )
    return up.union_all(
        sa_select(col(parent.adopted_from), up.c.depth + 1).where(
            col(parent.id) == up.c.id,
            col(parent.adopted_from).is_not(None),
            up.c.depth < bindparam("lineage_max_depth", type_=Integer),
        )
    )


def _descendants_cte() -> Any:
    """(id, depth) of every project adopted from `_PROJECT`, directly (depth 1) or
    further on, at most `MAX_LINEAGE_DEPTH` deep."""
    child = aliased(Project)
    down = (
        sa_select(col(Project.id).label("id"), literal(1).label("depth"))
        .where(col(Project.adopted_from) == _PROJECT)
        .cte("descendants", recursive=True)
    )
    return down.union_all(
        sa_select(col(child.id), down.c.depth + 1).where(
            col(child.adopted_from) == down.c.id,
            down.c.depth < bindparam("lineage_max_depth", type_=Integer),
        )
    )


def _scoped(statement: Any, scoped: bool) -> Any:
    if not scoped:
        return statement
    # The scope's root as a bound parameter, where `in_subtree` usually gets the id itself.
    scope = unit_service.in_subtree(Project.unit_id, _SCOPE, "scope")  # type: ignore[arg-type]
    return statement.where(scope)


def _lineage_rows(tree: Any, scoped: bool) -> Any:
    statement = (
        sa_select(
            col(Project.id).label("project_id"),
            col(Project.title),
            col(Project.unit_id),
            col(Project.novelty),
            col(Project.stage),
            col(Project.archived),
            tree.c.depth,
        )
        .join(tree, tree.c.id == col(Project.id))
        .order_by(tree.c.depth, col(Project.id))
    )
    return _scoped(statement, scoped)


def _with_the_project(tree: Any) -> Any:
    # The project itself at depth 0: its absence (or the caller's scope) makes the 404,
    # without a statement of its own.
    return union_all(
        sa_select(tree.c.id, tree.c.depth),
        sa_select(_PROJECT.label("id"), literal(0).label("depth")),
    ).subquery("lineage")


_UP = {
    scoped: _lineage_rows(_with_the_project(_ancestors_cte()), scoped) for scoped in (False, True)
}
_DOWN = {scoped: _lineage_rows(_descendants_cte(), scoped) for scoped in (False, True)}
_ABOVE = sa_select(_ancestors_cte().c.id)
_HEIGHT_BELOW = sa_select(func.max(_descendants_cte().c.depth))


def _lineage_params(project_id: int, actor: Actor | None = None) -> dict[str, Any]:
    return {
        "lineage_project_id": project_id,
        "lineage_scope_id": actor.scope_unit_id if actor else None,
        "lineage_max_depth": MAX_LINEAGE_DEPTH,
    }


def _lineage_json() -> Any:
    """PostgreSQL: the whole answer from one statement, with the caller's key checked in it:
    the key's row (none for an unknown or revoked key, and then nothing else is computed),
    whether the project exists within the caller's scope, and each direction's items as a
    JSON array built by the database, both recursive queries in its WITH. One round trip
    where a key lookup and one query each way took three, and no Python per item (a
    199-link chain: bench/RESULTS.md).
    """
    caller = auth_service.caller()
    scope_root = auth_service.caller_scope_unit_id()
    scope = unit_service.subtree_ids(scope_root, "scope")
    # Everyone reads everything but a submitter, who reads its unit's subtree.
    readable = or_(scope_root.is_(None), col(Project.unit_id).in_(scope))

    def items(tree: Any) -> Any:
        row = _lineage_rows(tree, scoped=False).order_by(None).where(readable).subquery("item")
        # A row's JSON has its columns' names and order: LineageItem's fields.
        agg = func.json_agg(aggregate_order_by(row.table_valued(), row.c.depth, row.c.project_id))
        return sa_select(
            cast(func.coalesce(agg, literal_column("'[]'::json")), Text)
        ).scalar_subquery()

    found = sa_select(col(Project.id)).where(col(Project.id) == _PROJECT, readable).exists()
    return sa_select(
        *caller.c,
        found.label("found"),
        items(_ancestors_cte()).label("ancestors"),
        items(_descendants_cte()).label("descendants"),
    ).select_from(caller)


_LINEAGE_JSON = _lineage_json()


def lineage_json(
    *, session: Session, secret: str, admit: Callable[[Actor | None], Actor], project_id: int
) -> bytes:
    """The lineage answer as JSON (see `lineage`) to the caller of the API key `secret`,
    whom `admit` lets in or refuses (None: an unknown or revoked key) before the answer is
    given. On PostgreSQL one statement checks the key and builds the answer; elsewhere the
    key is looked up first."""
    if not json_pages.builds_json(session):
        actor = admit(auth_service.authenticate(session=session, secret=secret))
        answer = lineage(session=session, actor=actor, project_id=project_id)
        return answer.model_dump_json().encode()
    params = {**_lineage_params(project_id), **auth_service.key_parameters(secret)}
    row: Any = session.connection().execute(_LINEAGE_JSON, params).first()
    admit(auth_service.caller_from(row, params))
    if not row.found:
        raise NotFound(f"project {project_id} does not exist")
    return b'{"ancestors":%s,"descendants":%s}' % (row.ancestors.encode(), row.descendants.encode())


def lineage(*, session: Session, actor: Actor, project_id: int) -> Lineage:
    """Where a project came from (nearest first) and where it went, one recursive query
    each way, leaving out the projects the caller may not read."""
    params = _lineage_params(project_id, actor)
    scoped = actor.scope_unit_id is not None
    connection = session.connection()
    up = connection.execute(_UP[scoped], params).all()
    if not up or up[0].depth != 0:
        raise NotFound(f"project {project_id} does not exist")
    ancestors = up[1:]
    descendants = connection.execute(_DOWN[scoped], params).all()
    return Lineage(
        ancestors=[LineageItem.model_validate(row) for row in as_dicts(ancestors)],
        descendants=[LineageItem.model_validate(row) for row in as_dicts(descendants)],
    )
