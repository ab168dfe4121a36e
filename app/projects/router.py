from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AfterValidator

from app.api import csv_export
from app.api.deps import IfMatch, IncludeArchived, PathId, SettingsDep
from app.api.etags import NOT_MODIFIED, IfNoneMatch, set_etag
from app.api.idempotency.dependency import Idempotent, creating_responses
from app.api.large_bodies import LargeBodyRoute
from app.api.openapi import etag_responses
from app.auth.dependencies import Reader, Writer
from app.core.db import MAX_ID, SessionDep, as_utc
from app.core.errors import READ, READ_ONE, WRITE, problem_responses
from app.core.pagination import PageParams, json_response, page_params
from app.determinants.models import Determinant, Effect
from app.history import service as history_service
from app.history.models import HistoryPage
from app.projects import service
from app.projects.models import (
    Collaborator,
    Evaluation,
    Facet,
    Initiator,
    InnovationType,
    Lineage,
    Novelty,
    ProjectCreate,
    ProjectPublic,
    ProjectsPage,
    ProjectTimeline,
    ProjectUpdate,
    SponsorLevel,
    Stage,
    ValueType,
    WorkMode,
)

router = APIRouter(prefix="/projects", tags=["projects"], route_class=LargeBodyRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectPublic,
    responses=creating_responses(*WRITE, etag=True),
    summary="Create a project",
)
def create_project(
    project_in: ProjectCreate,
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
    response: Response,
):
    """Create a project in a unit the key may write to; `risk` and `determinants` are optional.
    Returns the project with its version as `ETag`.
    """
    project = service.create(session=session, actor=actor, project_in=project_in)
    set_etag(response, project.version)
    return service.to_public(project)


@router.get(
    "",
    response_model=ProjectsPage,
    responses={
        **problem_responses(*READ),
        **csv_export.csv_response_doc(service.CSV_COLUMNS),
    },
    summary="List projects",
    description="Newest-created last; filters combine with AND, "
    "repeated values of one filter with OR. With `Accept: text/csv`: every matching "
    "project as CSV, streamed.",
)
def list_projects(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    unit_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Owned by this unit or its subtree.")
    ] = None,
    stage: Annotated[list[Stage] | None, Query(description="Any of these stages.")] = None,
    work_mode: Annotated[
        list[WorkMode] | None, Query(description="Any of these work modes.")
    ] = None,
    sponsor_level: Annotated[
        list[SponsorLevel] | None, Query(description="Any of these sponsor levels.")
    ] = None,
    facet: Annotated[list[Facet] | None, Query(description="Any of these facets.")] = None,
    determinant: Annotated[
        list[Determinant] | None, Query(description="Tagged with any of these determinants.")
    ] = None,
    effect: Annotated[
        Effect | None, Query(description="With `determinant`: only tags with this effect.")
    ] = None,
    updated_since: Annotated[
        datetime | None,
        AfterValidator(as_utc),
        Query(description="Changed at or after this time (ISO 8601; UTC if no offset)."),
    ] = None,
    stage_since_before: Annotated[
        date | None,
        Query(
            description="Only projects whose `stage_since` is before this date (in their "
            "current stage since before it).",
            examples=["2026-01-01"],
        ),
    ] = None,
    include_archived: IncludeArchived = False,
    novelty: Annotated[list[Novelty] | None, Query(description="Any of these novelties.")] = None,
    initiated_by: Annotated[
        list[Initiator] | None, Query(description="Initiated by any of these.")
    ] = None,
    evaluation: Annotated[
        list[Evaluation] | None, Query(description="Any of these evaluations.")
    ] = None,
    innovation_type: Annotated[
        list[InnovationType] | None,
        Query(description="Its `innovation_types` include any of these."),
    ] = None,
    collaborator: Annotated[
        list[Collaborator] | None,
        Query(description="Its `collaborators` include any of these."),
    ] = None,
    value_type: Annotated[
        list[ValueType] | None, Query(description="Its `value_types` include any of these.")
    ] = None,
    adopted_from: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Adapted or copied directly from this project."),
    ] = None,
):
    filters: dict[str, Any] = dict(
        unit_id=unit_id,
        stage=stage,
        work_mode=work_mode,
        sponsor_level=sponsor_level,
        facet=facet,
        determinant=determinant,
        effect=effect,
        updated_since=updated_since,
        stage_since_before=stage_since_before,
        include_archived=include_archived,
        novelty=novelty,
        initiated_by=initiated_by,
        evaluation=evaluation,
        innovation_type=innovation_type,
        collaborator=collaborator,
        value_type=value_type,
        adopted_from=adopted_from,
    )
    if csv_export.wants_csv(request):
        return csv_export.stream(
            engine=request.app.state.read_only_engine,
            fetch_page=lambda batch_session, params: service.list_projects(
                session=batch_session, actor=actor, params=params, **filters
            ),
            to_public=service.to_public,
            columns=service.CSV_COLUMNS,
            batch_size=settings.csv_batch_size,
            filename="projects.csv",
        )
    return json_response(service.list_json(session=session, actor=actor, params=page, **filters))


@router.get(
    "/{project_id}",
    response_model=ProjectPublic,
    responses=etag_responses({**problem_responses(*READ_ONE), **NOT_MODIFIED}, 200, 304),
    summary="Get a project",
)
def get_project(
    project_id: PathId,
    session: SessionDep,
    actor: Reader,
    response: Response,
    if_none_match: IfNoneMatch = None,
):
    """One project, with its version as `ETag` for `If-Match` on a later update."""
    project = service.get(session=session, actor=actor, project_id=project_id)
    set_etag(response, project.version, if_none_match=if_none_match)
    return service.to_public(project)


@router.get(
    "/{project_id}/timeline",
    response_model=ProjectTimeline,
    responses=problem_responses(*READ_ONE),
    summary="A project's timeline",
    description="The project's periods, oldest first: from when to when (`to` exclusive, "
    "null for the last, open period) it had which `stage`, `work_mode`, `sponsor_level` "
    "and `unit_id`. Same scope rules as `GET /projects/{project_id}`.",
)
def project_timeline(project_id: PathId, session: SessionDep, actor: Reader):
    return service.timeline(session=session, actor=actor, project_id=project_id)


@router.patch(
    "/{project_id}",
    response_model=ProjectPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Update a project",
)
def update_project(
    project_id: PathId,
    project_in: ProjectUpdate,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    """Change some fields; `risk` and `determinants` replace the stored value whole, `"risk":
    null` clears it. Send `If-Match` with the ETag you read to avoid overwriting someone
    else's change.
    """
    project = service.update(
        session=session,
        actor=actor,
        project_id=project_id,
        project_in=project_in,
        expected_version=expected_version,
    )
    set_etag(response, project.version)
    return service.to_public(project)


@router.delete(
    "/{project_id}",
    response_model=ProjectPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 412, 428)),
    summary="Archive a project",
    description="Sets `archived`; the row and its history are kept.",
)
def archive_project(
    project_id: PathId,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    project = service.archive(
        session=session, actor=actor, project_id=project_id, expected_version=expected_version
    )
    set_etag(response, project.version)
    return service.to_public(project)


@router.get(
    "/{project_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(*READ_ONE),
    summary="A project's change history",
    description="Changes to the project, its criteria and measurements, newest first.",
)
def project_history(
    project_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
):
    project = service.get(session=session, actor=actor, project_id=project_id)
    visible = service.history_visibility(session=session, actor=actor, project=project)
    items, cursor = history_service.list_for(
        session=session, project_id=project_id, params=page, visible=visible
    )
    return HistoryPage(items=items, next_cursor=cursor)  # type: ignore[arg-type]


@router.get(
    "/{project_id}/lineage",
    response_model=Lineage,
    responses=problem_responses(*READ_ONE),
    summary="Where a project was adopted from, and who adopted it",
    description="`ancestors`: the chain through `adopted_from`, nearest first; "
    "`descendants`: every project adapted or copied from it, directly or further on, with "
    "its depth. Projects the caller may not read are left out (the chain is followed "
    "through them).",
)
def project_lineage(project_id: PathId, session: SessionDep, actor: Reader):
    # Not validated again against `response_model` (kept for the document).
    body = service.lineage_json(session=session, actor=actor, project_id=project_id)
    return Response(body, media_type="application/json")
