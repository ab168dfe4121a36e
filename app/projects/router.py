from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api import listing, objects
from app.api.deps import IncludeArchived, PathId, UpdatedSince, id_query
from app.api.large_bodies import LargeBodyRoute
from app.api.openapi import etag_responses
from app.auth.dependencies import PresentedKey, Reader, Writer, admit
from app.core.db import SessionDep
from app.core.errors import READ_ONE, WRITE, problem_responses
from app.core.pagination import PageDep
from app.determinants.models import DeterminantQuery, EffectQuery
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
    ProjectTimeline,
    ProjectUpdate,
    SponsorLevel,
    Stage,
    ValueType,
    WorkMode,
)

router = APIRouter(prefix="/projects", tags=["projects"], route_class=LargeBodyRoute)


@router.post("", response_model=ProjectPublic, summary="Create a project", **objects.CREATE)
def create_project(project_in: ProjectCreate, actor: Writer, call: objects.Create):
    """Create a project in a unit the key may write to; `risk` and `determinants` are optional.
    Returns the project with its version as `ETag`.
    """
    return call(service.create, actor, service.to_public, project_in=project_in)


async def project_filters(
    unit_id: Annotated[int | None, id_query("Owned by this unit or its subtree.")] = None,
    stage: Annotated[list[Stage] | None, Query(description="Any of these stages.")] = None,
    work_mode: Annotated[
        list[WorkMode] | None, Query(description="Any of these work modes.")
    ] = None,
    sponsor_level: Annotated[
        list[SponsorLevel] | None, Query(description="Any of these sponsor levels.")
    ] = None,
    facet: Annotated[list[Facet] | None, Query(description="Any of these facets.")] = None,
    determinant: DeterminantQuery = None,
    effect: EffectQuery = None,
    updated_since: UpdatedSince = None,
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
        int | None, id_query("Adapted or copied directly from this project.")
    ] = None,
) -> dict[str, Any]:
    """The list's query parameters by name, as `service.filtered` takes them."""
    return dict(locals())


@router.get(
    "",
    summary="List projects",
    description="Newest-created last; filters combine with AND, "
    "repeated values of one filter with OR. With `Accept: text/csv`: every matching "
    "project as CSV, streamed.",
    **listing.route(service.LIST),
)
def list_projects(
    context: listing.ListRequestDep,
    # Before `page`: the document lists the filters first, then `limit` and `cursor`.
    query: Annotated[dict[str, Any], Depends(project_filters)],
    page: PageDep,
):
    return listing.respond(context, service.LIST, page, service.filtered, query)


@router.get("/{project_id}", response_model=ProjectPublic, summary="Get a project", **objects.GET)
def get_project(project_id: PathId, actor: Reader, call: objects.Read):
    """One project, with its version as `ETag` for `If-Match` on a later update."""
    return call(service.get, actor, service.to_public, project_id=project_id)


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
    "/{project_id}", response_model=ProjectPublic, summary="Update a project", **objects.UPDATE
)
def update_project(
    project_id: PathId, project_in: ProjectUpdate, actor: Writer, call: objects.Write
):
    """Change some fields; `risk` and `determinants` replace the stored value whole, `"risk":
    null` clears it. Send `If-Match` with the ETag you read to avoid overwriting someone
    else's change.
    """
    return call(
        service.update, actor, service.to_public, project_id=project_id, project_in=project_in
    )


@router.delete(
    "/{project_id}",
    response_model=ProjectPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 412, 428)),
    summary="Archive a project",
    description="Sets `archived`; the row and its history are kept.",
)
def archive_project(project_id: PathId, actor: Writer, call: objects.Write):
    return call(service.archive, actor, service.to_public, project_id=project_id)


@router.get(
    "/{project_id}/history",
    summary="A project's change history",
    description="Changes to the project, its criteria and measurements, newest first.",
    **objects.HISTORY,
)
def project_history(project_id: PathId, session: SessionDep, actor: Reader, page: PageDep):
    visible = service.history_visibility(session=session, actor=actor, project_id=project_id)
    return objects.history(session=session, page=page, visible=visible, project_id=project_id)


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
def project_lineage(project_id: PathId, session: SessionDep, key: PresentedKey, request: Request):
    # The key is checked by the lineage's own statement (one round trip, one thread hop:
    # bench/RESULTS.md), then admitted as `Reader` would. The body is not validated again
    # against `response_model` (kept for the document).
    body = service.lineage_json(
        session=session, secret=key, admit=partial(admit, request), project_id=project_id
    )
    return Response(body, media_type="application/json")
