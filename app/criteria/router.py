from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.deps import IfMatch, IncludeArchived, PathId
from app.api.etags import NOT_MODIFIED, IfNoneMatch, set_etag
from app.api.idempotency.dependency import Idempotent, creating_responses
from app.api.large_bodies import LargeBodyRoute
from app.api.openapi import etag_responses
from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.errors import READ_ONE, WRITE, problem_responses
from app.core.pagination import PageParams, page_params
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

_CREATE: dict[str, Any] = {
    "status_code": status.HTTP_201_CREATED,
    "response_model": CriterionPublic,
    "responses": creating_responses(*WRITE, 404, etag=True),
}
_LIST: dict[str, Any] = {"response_model": CriteriaPage, "responses": problem_responses(*READ_ONE)}
KindFilter = Annotated[list[CriterionKind] | None, Query(description="Any of these kinds.")]


@router.post("/projects/{project_id}/criteria", summary="Add a criterion to a project", **_CREATE)
def create_project_criterion(
    project_id: PathId,
    criterion_in: CriterionCreate,
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
    response: Response,
):
    """Add a success criterion to a project: a metric with baseline, target and direction."""
    criterion = service.create(
        session=session, actor=actor, criterion_in=criterion_in, project_id=project_id
    )
    set_etag(response, criterion.version)
    return service.to_public(criterion)


@router.get("/projects/{project_id}/criteria", summary="A project's criteria", **_LIST)
def list_project_criteria(
    project_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: KindFilter = None,
    include_archived: IncludeArchived = False,
):
    """The project's criteria by id, paged, each with its latest value and status."""
    rows, cursor = service.list_for_owner(
        session=session,
        actor=actor,
        params=page,
        project_id=project_id,
        kind=kind,
        include_archived=include_archived,
    )
    return service.page_of(rows, cursor)


@router.post(
    "/experiments/{experiment_id}/criteria", summary="Add a criterion to an experiment", **_CREATE
)
def create_experiment_criterion(
    experiment_id: PathId,
    criterion_in: CriterionCreate,
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
    response: Response,
):
    """Add a success criterion to an experiment: a metric with baseline, target and direction."""
    criterion = service.create(
        session=session, actor=actor, criterion_in=criterion_in, experiment_id=experiment_id
    )
    set_etag(response, criterion.version)
    return service.to_public(criterion)


@router.get("/experiments/{experiment_id}/criteria", summary="An experiment's criteria", **_LIST)
def list_experiment_criteria(
    experiment_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: KindFilter = None,
    include_archived: IncludeArchived = False,
):
    """The experiment's criteria by id, paged, each with its latest value and status."""
    rows, cursor = service.list_for_owner(
        session=session,
        actor=actor,
        params=page,
        experiment_id=experiment_id,
        kind=kind,
        include_archived=include_archived,
    )
    return service.page_of(rows, cursor)


@router.get(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    responses=etag_responses({**problem_responses(*READ_ONE), **NOT_MODIFIED}, 200, 304),
    summary="Get a criterion",
)
def get_criterion(
    criterion_id: PathId,
    session: SessionDep,
    actor: Reader,
    response: Response,
    if_none_match: IfNoneMatch = None,
):
    """One criterion with its latest value and status, and its version as `ETag`."""
    criterion = service.get(session=session, actor=actor, criterion_id=criterion_id)
    set_etag(response, criterion.version, if_none_match=if_none_match)
    return service.to_public(criterion)


@router.patch(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Update a criterion",
)
def update_criterion(
    criterion_id: PathId,
    criterion_in: CriterionUpdate,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    """Change some fields; the target must stay on the right side of the baseline for the
    direction. Send `If-Match` with the ETag you read.
    """
    criterion = service.update(
        session=session,
        actor=actor,
        criterion_id=criterion_id,
        criterion_in=criterion_in,
        expected_version=expected_version,
    )
    set_etag(response, criterion.version)
    return service.to_public(criterion)


@router.delete(
    "/criteria/{criterion_id}",
    response_model=CriterionPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Archive a criterion",
)
def archive_criterion(
    criterion_id: PathId,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    """Sets `archived`; the criterion and its measurements are kept, and it stops counting in
    reports.
    """
    criterion = service.archive(
        session=session, actor=actor, criterion_id=criterion_id, expected_version=expected_version
    )
    set_etag(response, criterion.version)
    return service.to_public(criterion)


@router.post(
    "/criteria/{criterion_id}/measurements",
    status_code=status.HTTP_201_CREATED,
    response_model=MeasurementPublic,
    responses=creating_responses(*WRITE, 404),
    summary="Record a measurement",
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
    page: Annotated[PageParams, Depends(page_params)],
):
    """The criterion's measurements by id, paged."""
    rows, cursor = service.list_measurements(
        session=session, actor=actor, criterion_id=criterion_id, params=page
    )
    return MeasurementsPage(items=rows, next_cursor=cursor)  # type: ignore[arg-type]
