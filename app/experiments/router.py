import functools
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from app.api import listing, objects
from app.api.deps import IncludeArchived, PathId, UpdatedSince, id_query
from app.api.idempotency.dependency import Idempotent, creating
from app.api.large_bodies import LargeBodyRoute, ValidatedInRoute, validate_list_body
from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.pagination import PageDep
from app.determinants.models import DeterminantQuery, EffectQuery
from app.experiments import batch as batch_service
from app.experiments import service
from app.experiments.batch import ExperimentBatch, ExperimentBatchItem, ExperimentBatchResult
from app.experiments.models import (
    Comparison,
    Experiment,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResult,
    ExperimentStatus,
    ExperimentUpdate,
    Method,
)

router = APIRouter(prefix="/experiments", tags=["experiments"], route_class=LargeBodyRoute)


@router.post("", response_model=ExperimentPublic, summary="Submit an experiment", **objects.CREATE)
def create_experiment(experiment_in: ExperimentCreate, actor: Writer, call: objects.Create):
    """Create an experiment under a project the key may write to; it belongs to the project's
    unit. Returns it with its version as `ETag`.
    """
    return call(service.create, actor, experiment_in=experiment_in)


@router.post(
    "/batch",
    response_model=ExperimentBatchResult,
    summary="Submit up to 1,000 experiments at once",
    description="All or nothing. Each item is an experiment with, optionally, its `criteria`. "
    "If any item is invalid the answer is a 422 whose `errors` name every failing field as "
    "`items.<index>.<field>` (schema errors of all items first; once the schema passes, "
    "references such as `project_id` for all items), and nothing is written. For a "
    "submitter, a project outside its unit reads as unknown (422). The body may be up to "
    "10 MiB; `Idempotency-Key` covers the batch as a whole.",
    **creating(),
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


async def experiment_filters(
    unit_id: Annotated[int | None, id_query("In this unit or its subtree.")] = None,
    project_id: Annotated[int | None, id_query("Of this project.")] = None,
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
    determinant: DeterminantQuery = None,
    effect: EffectQuery = None,
    updated_since: UpdatedSince = None,
    include_archived: IncludeArchived = False,
) -> dict[str, Any]:
    """The list's query parameters by name, as `service.filtered` takes them."""
    return dict(locals())


@router.get(
    "",
    summary="List experiments",
    description="With `Accept: text/csv`: every matching experiment as CSV, streamed.",
    **listing.route(service.LIST),
)
def list_experiments(
    context: listing.ListRequestDep,
    # Before `page`: the document lists the filters first, then `limit` and `cursor`.
    query: Annotated[dict[str, Any], Depends(experiment_filters)],
    page: PageDep,
):
    return listing.respond(context, service.LIST, page, service.filtered, query)


@router.get(
    "/{experiment_id}", response_model=ExperimentPublic, summary="Get an experiment", **objects.GET
)
def get_experiment(experiment_id: PathId, actor: Reader, call: objects.Read):
    """One experiment, with its version as `ETag` for `If-Match` on a later update."""
    return call(service.get, actor, public(call), experiment_id=experiment_id)


@router.patch(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    summary="Update an experiment",
    **objects.UPDATE,
)
def update_experiment(
    experiment_id: PathId, experiment_in: ExperimentUpdate, actor: Writer, call: objects.Write
):
    """Change some fields; `determinants` replaces the stored tags whole. `result` only when
    `status` is `completed`. Send `If-Match` with the ETag you read.
    """
    return call(
        service.update,
        actor,
        public(call),
        experiment_id=experiment_id,
        experiment_in=experiment_in,
    )


@router.delete(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    summary="Archive an experiment",
    **objects.UPDATE,
)
def archive_experiment(experiment_id: PathId, actor: Writer, call: objects.Write):
    """Sets `archived`; the row, its criteria and its history are kept."""
    return call(service.archive, actor, public(call), experiment_id=experiment_id)


@router.get("/{experiment_id}/history", summary="An experiment's change history", **objects.HISTORY)
def experiment_history(experiment_id: PathId, session: SessionDep, actor: Reader, page: PageDep):
    """Changes to the experiment and its criteria, newest first."""
    visible = service.history_visibility(session=session, actor=actor, experiment_id=experiment_id)
    return objects.history(session=session, page=page, visible=visible, experiment_id=experiment_id)


def public(call: objects.ObjectCall) -> Callable[[Experiment], ExperimentPublic]:
    """The answer's body: an experiment's public form reads its criteria in the same session."""
    return functools.partial(service.to_public, session=call.session)
