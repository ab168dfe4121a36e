from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.api import objects
from app.api.deps import IncludeArchived, PathId
from app.api.idempotency.dependency import Idempotent, creating
from app.api.large_bodies import LargeBodyRoute
from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.errors import READ_ONE, problem_responses
from app.core.pagination import PageDep
from app.criteria import service
from app.criteria.models import (
    CriteriaPage,
    CriterionCreate,
    CriterionKind,
    CriterionPublic,
    CriterionUpdate,
    MeasurementCreate,
    MeasurementPublic,
    MeasurementsPage,
)

router = APIRouter(tags=["criteria"], route_class=LargeBodyRoute)

_CREATE: dict[str, Any] = {"response_model": CriterionPublic, **creating(404, etag=True)}
_LIST: dict[str, Any] = {"response_model": CriteriaPage, "responses": problem_responses(*READ_ONE)}


async def owner_query(
    params: PageDep,
    kind: Annotated[list[CriterionKind] | None, Query(description="Any of these kinds.")] = None,
    include_archived: IncludeArchived = False,
) -> dict[str, Any]:
    """The query parameters of an owner's criteria, as `service.list_for_owner` takes them."""
    return dict(locals())


OwnerQuery = Annotated[dict[str, Any], Depends(owner_query)]


@router.post("/projects/{project_id}/criteria", summary="Add a criterion to a project", **_CREATE)
def create_project_criterion(
    project_id: PathId, criterion_in: CriterionCreate, actor: Writer, call: objects.Create
):
    """Add a success criterion to a project: a metric with baseline, target and direction."""
    return call(
        service.create, actor, service.to_public, criterion_in=criterion_in, project_id=project_id
    )


@router.get("/projects/{project_id}/criteria", summary="A project's criteria", **_LIST)
def list_project_criteria(
    project_id: PathId, session: SessionDep, actor: Reader, query: OwnerQuery
):
    """The project's criteria by id, paged, each with its latest value and status."""
    return service.list_for_owner(session=session, actor=actor, project_id=project_id, **query)


@router.post(
    "/experiments/{experiment_id}/criteria", summary="Add a criterion to an experiment", **_CREATE
)
def create_experiment_criterion(
    experiment_id: PathId, criterion_in: CriterionCreate, actor: Writer, call: objects.Create
):
    """Add a success criterion to an experiment: a metric with baseline, target and direction."""
    return call(
        service.create,
        actor,
        service.to_public,
        criterion_in=criterion_in,
        experiment_id=experiment_id,
    )


@router.get("/experiments/{experiment_id}/criteria", summary="An experiment's criteria", **_LIST)
def list_experiment_criteria(
    experiment_id: PathId, session: SessionDep, actor: Reader, query: OwnerQuery
):
    """The experiment's criteria by id, paged, each with its latest value and status."""
    return service.list_for_owner(
        session=session, actor=actor, experiment_id=experiment_id, **query
    )


@router.get(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    summary="Get a criterion",
    **objects.GET,
)
def get_criterion(criterion_id: PathId, actor: Reader, call: objects.Read):
    """One criterion with its latest value and status, and its version as `ETag`."""
    return call(service.get, actor, service.to_public, criterion_id=criterion_id)


@router.patch(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    summary="Update a criterion",
    **objects.UPDATE,
)
def update_criterion(
    criterion_id: PathId, criterion_in: CriterionUpdate, actor: Writer, call: objects.Write
):
    """Change some fields; the target must stay on the right side of the baseline for the
    direction. Send `If-Match` with the ETag you read.
    """
    return call(
        service.update,
        actor,
        service.to_public,
        criterion_id=criterion_id,
        criterion_in=criterion_in,
    )


@router.delete(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    summary="Archive a criterion",
    **objects.UPDATE,
)
def archive_criterion(criterion_id: PathId, actor: Writer, call: objects.Write):
    """Sets `archived`; the criterion and its measurements are kept, and it stops counting in
    reports.
    """
    return call(service.archive, actor, service.to_public, criterion_id=criterion_id)


@router.post(
    "/criteria/{criterion_id}/measurements",
    response_model=MeasurementPublic,
    summary="Record a measurement",
    **creating(404),
)
def create_measurement(
    criterion_id: PathId,
    measurement_in: MeasurementCreate,
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
):
    """Record a value of the criterion's metric on a date; the one with the latest
    `measured_on` becomes the criterion's `latest_value`.
    """
    return service.add_measurement(
        session=session, actor=actor, criterion_id=criterion_id, measurement_in=measurement_in
    )


@router.get(
    "/criteria/{criterion_id}/measurements",
    response_model=MeasurementsPage,
    responses=problem_responses(*READ_ONE),
    summary="A criterion's measurements",
)
def list_measurements(
    criterion_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: PageDep,
):
    """The criterion's measurements by id, paged."""
    rows, cursor = service.list_measurements(
        session=session, actor=actor, criterion_id=criterion_id, params=page
    )
    return MeasurementsPage(items=rows, next_cursor=cursor)  # type: ignore[arg-type]
