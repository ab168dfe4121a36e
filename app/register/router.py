"""GET /public/v1/...: the open register of results, read without an API key.

Off unless `PORTFOLIO_PUBLIC_REGISTER=true`: then every route here answers 404, as does
any other `/public/` path. The body and rate limits of the rest of the API apply as they
are (they sit in front of every route)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from app.api import csv_export
from app.api.deps import SettingsDep
from app.api.etags import NotModified, matches
from app.api.openapi import etag_responses, text_response
from app.core.db import SessionDep, today
from app.core.errors import NotFound, problem_responses
from app.core.pagination import PageDep, json_response, page_bytes
from app.core.revision import service as revision
from app.experiments.models import ExperimentResult
from app.register import service
from app.register.models import PUBLIC_FIELDS, RegisterExperiment, RegisterPage

PUBLIC_PREFIX = "/public/v1"
ATOM_MEDIA_TYPE = "application/atom+xml"


def register_enabled(settings: SettingsDep) -> None:
    if not settings.public_register:
        raise NotFound("the open register is not switched on here")


# The kinds of data the register reads (app.core.revision): published experiments (dated
# ones), criteria for the rigour score (a baseline); a measurement, a tag or a proposed
# experiment leaves its ETag alone.
REGISTER_READS = frozenset({"units", "projects", "dated_experiments", "criteria"})


def register_etag(
    request: Request,
    response: Response,
    session: SessionDep,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            max_length=1000,
            description="ETag of a previous response; `304 Not Modified` if the answer "
            "would be the same.",
        ),
    ] = None,
) -> None:
    """The reports' conditional GET, for anyone: the revisions of the data it reads, the
    path, the query and the representation make the tag."""
    current = revision.current(session=session)
    session.commit()
    path = request.url.path
    representation = (
        "atom"
        if path.endswith(".atom")
        else "csv"
        if csv_export.prefers_csv(request.headers.get("accept", ""))
        else "json"
    )
    etag = revision.report_etag(
        revisions=current,
        reads=REGISTER_READS,
        report="register:" + path.rsplit("/", 1)[-1],
        query="&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items())),
        representation=representation,
        scope_unit_id=None,
        today=today(),
    )
    if if_none_match is not None and matches(if_none_match, etag):
        raise NotModified(etag, REGISTER_HEADERS)
    response.headers["ETag"] = etag
    response.headers.update(REGISTER_HEADERS)


# Every register response, 200 or 304, carries these besides its ETag: any cache may keep
# it (it is public) but must revalidate before reuse.
REGISTER_HEADERS = {"Vary": "Accept", "Cache-Control": "public, no-cache"}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = etag_responses(
    {304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}},
    200,
    304,
)


router = APIRouter(
    prefix=PUBLIC_PREFIX + "/experiments",
    tags=["register"],
    dependencies=[Depends(register_enabled), Depends(register_etag)],
    responses={**NOT_MODIFIED, **problem_responses(404, 422, 503)},
)


async def filters(
    unit_code: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            description="Only this unit's (by code, any case) and its sub-units' experiments.",
        ),
    ] = None,
    result: Annotated[
        list[ExperimentResult] | None,
        Query(description="`supported`, `not_supported` or `inconclusive`; repeat for several."),
    ] = None,
    published_since: Annotated[
        date | None, Query(description="Published on or after this date.")
    ] = None,
) -> dict[str, Any]:
    return {"unit_code": unit_code, "result": result, "published_since": published_since}


Filters = Annotated[dict[str, Any], Depends(filters)]


def _with_headers(body: Response, response: Response) -> Response:
    body.headers.update(response.headers)
    return body


@router.get(
    "",
    response_model=RegisterPage,
    responses=csv_export.csv_response_doc(list(PUBLIC_FIELDS)),
    summary="Published experiment results (no key needed)",
    description="Published experiments whose experiment, project and unit are not archived, "
    "by id, paged by cursor: positive, negative and inconclusive results alike. With "
    "`Accept: text/csv`, every matching one as CSV. 404 unless the register is switched on "
    "(`PORTFOLIO_PUBLIC_REGISTER`).",
)
def list_register(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    query: Filters,
):
    if csv_export.wants_csv(request):
        streamed = csv_export.stream(
            engine=request.app.state.engine,
            fetch_page=lambda batch_session, params: service.list_page(
                session=batch_session, params=params, **query
            ),
            to_public=RegisterExperiment.model_validate,
            columns=list(PUBLIC_FIELDS),
            batch_size=settings.csv_batch_size,
            filename="experiments.csv",
        )
        return _with_headers(streamed, response)
    items, cursor = service.list_page(session=session, params=page, **query)
    return _with_headers(json_response(page_bytes(RegisterPage, items, cursor)), response)


@router.get(
    ".atom",
    response_class=Response,
    responses={
        200: text_response(
            ATOM_MEDIA_TYPE,
            "An Atom 1.0 feed of the 50 most recently published experiments, newest first.",
        )
    },
    summary="Atom feed of published experiment results (no key needed)",
)
def register_feed(request: Request, response: Response, session: SessionDep, query: Filters):
    """The 50 most recently published results as an Atom feed, newest first, with the
    list's filters."""
    items = service.newest(session=session, **query)
    body = service.atom_feed(
        items=items,
        feed_url=str(request.url),
        site_url=str(request.url_for("list_register")),
    )
    return Response(body, media_type=ATOM_MEDIA_TYPE, headers=dict(response.headers))
