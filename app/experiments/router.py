from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from pydantic import AfterValidator

from app.api import listing
from app.api.deps import IfMatch, IncludeArchived, PathId
from app.api.etags import NOT_MODIFIED, IfNoneMatch, set_etag
from app.api.idempotency.dependency import Idempotent, creating_responses
from app.api.large_bodies import LargeBodyRoute, ValidatedInRoute, validate_list_body
from app.api.openapi import etag_responses
from app.auth.dependencies import Reader, Writer
from app.core.db import MAX_ID, SessionDep, as_utc
from app.core.errors import READ, READ_ONE, WRITE, problem_responses
from app.core.history import service as history_service
from app.core.history.models import HistoryPage
from app.core.pagination import PageParams, page_params
from app.determinants.models import Determinant, Effect
from app.experiments import batch as batch_service
from app.experiments import service
from app.experiments.batch import ExperimentBatch, ExperimentBatchItem, ExperimentBatchResult
from app.experiments.models import (
    Comparison,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResult,
    ExperimentsPage,
    ExperimentStatus,
    ExperimentUpdate,
    Method,
)

router = APIRouter(prefix="/experiments", tags=["experiments"], route_class=LargeBodyRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentPublic,
    responses=creating_responses(*WRITE, etag=True),
    summary="Submit an experiment",
)
def create_experiment(
    experiment_in: ExperimentCreate,
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
    response: Response,
):
    """Create an experiment under a project the key may write to; it belongs to the project's
    unit. Returns it with its version as `ETag`.
    """
    experiment = service.create(session=session, actor=actor, experiment_in=experiment_in)
    set_etag(response, experiment.version)
    return service.to_public(experiment, session=session)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentBatchResult,
    responses=creating_responses(*WRITE),
    summary="Submit up to 1,000 experiments at once",
    description="All or nothing. Each item is an experiment with, optionally, its `criteria`. "
    "If any item is invalid the answer is a 422 whose `errors` name every failing field as "
    "`items.<index>.<field>` (schema errors of all items first; once the schema passes, "
    "references such as `project_id` for all items), and nothing is written. For a "
    "submitter, a project outside its unit reads as unknown (422). The body may be up to "
    "10 MiB; `Idempotency-Key` covers the batch as a whole.",
)
def submit_batch(
    body: Annotated[Any, Body(), ValidatedInRoute(ExperimentBatch)],
    session: SessionDep,
    actor: Writer,
    idempotency: Idempotent,
):
    # Validated here, in the route's thread, not by FastAPI on the event loop: 1,000 items
    # take seconds, and a failing body keeps only its first errors (`large_bodies`).
    batch = validate_list_body(
        ExperimentBatch, body, list_field="items", item_type=ExperimentBatchItem
    )
    # Already JSON: returning a model would validate 1,000 items a second time.
    body = batch_service.submit(session=session, actor=actor, batch=batch)
    return Response(body, status_code=status.HTTP_201_CREATED, media_type="application/json")


def experiment_filters(
    unit_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="In this unit or its subtree.")
    ] = None,
    project_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Of this project.")
    ] = None,
    status: Annotated[
        list[ExperimentStatus] | None, Query(description="Any of these statuses.")
    ] = None,
    method: Annotated[list[Method] | None, Query(description="Any of these methods.")] = None,
    result: Annotated[
        list[ExperimentResult] | None, Query(description="Any of these results.")
    ] = None,
    comparison: Annotated[
        list[Comparison] | None,
        Query(description="`none`, `before_after`, `comparison_group` or `randomized`."),
    ] = None,
    rigour_min: Annotated[
        int | None,
        Query(ge=0, le=5, description="Only experiments whose `rigour` is at least this."),
    ] = None,
    published: Annotated[
        bool | None,
        Query(
            description="`true`: only published experiments (`published_on` set); `false`: "
            "only unpublished ones."
        ),
    ] = None,
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
    include_archived: IncludeArchived = False,
) -> dict[str, Any]:
    """The list's query parameters by name, as `service.filtered` takes them."""
    return dict(locals())


@router.get(
    "",
    response_model=ExperimentsPage,
    responses={
        **problem_responses(*READ),
        **listing.csv_doc(service.LIST),
    },
    summary="List experiments",
    description="With `Accept: text/csv`: every matching experiment as CSV, streamed.",
)
def list_experiments(
    context: listing.ListRequestDep,
    # Before `page`: the document lists the filters first, then `limit` and `cursor`.
    query: Annotated[dict[str, Any], Depends(experiment_filters)],
    page: Annotated[PageParams, Depends(page_params)],
):
    return listing.respond(context, service.LIST, page, service.filtered_for(context.actor, query))


@router.get(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    responses=etag_responses({**problem_responses(*READ_ONE), **NOT_MODIFIED}, 200, 304),
    summary="Get an experiment",
)
def get_experiment(
    experiment_id: PathId,
    session: SessionDep,
    actor: Reader,
    response: Response,
    if_none_match: IfNoneMatch = None,
):
    """One experiment, with its version as `ETag` for `If-Match` on a later update."""
    experiment = service.get(session=session, actor=actor, experiment_id=experiment_id)
    set_etag(response, experiment.version, if_none_match=if_none_match)
    return service.to_public(experiment, session=session)


@router.patch(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Update an experiment",
)
def update_experiment(
    experiment_id: PathId,
    experiment_in: ExperimentUpdate,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    """Change some fields; `determinants` replaces the stored tags whole. `result` only when
    `status` is `completed`. Send `If-Match` with the ETag you read.
    """
    experiment = service.update(
        session=session,
        actor=actor,
        experiment_id=experiment_id,
        experiment_in=experiment_in,
        expected_version=expected_version,
    )
    set_etag(response, experiment.version)
    return service.to_public(experiment, session=session)


@router.delete(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    responses=etag_responses(problem_responses(*WRITE, 404, 409, 412, 428)),
    summary="Archive an experiment",
)
def archive_experiment(
    experiment_id: PathId,
    session: SessionDep,
    actor: Writer,
    expected_version: IfMatch,
    response: Response,
):
    """Sets `archived`; the row, its criteria and its history are kept."""
    experiment = service.archive(
        session=session, actor=actor, experiment_id=experiment_id, expected_version=expected_version
    )
    set_etag(response, experiment.version)
    return service.to_public(experiment, session=session)


@router.get(
    "/{experiment_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(*READ_ONE),
    summary="An experiment's change history",
)
def experiment_history(
    experiment_id: PathId,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
):
    """Changes to the experiment and its criteria, newest first."""
    experiment = service.get(session=session, actor=actor, experiment_id=experiment_id)
    visible = service.history_visibility(session=session, actor=actor, experiment=experiment)
    items, cursor = history_service.list_for(
        session=session, experiment_id=experiment_id, params=page, visible=visible
    )
    return HistoryPage(items=items, next_cursor=cursor)  # type: ignore[arg-type]
