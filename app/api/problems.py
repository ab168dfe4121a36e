"""`/problems/{name}`: what each problem `type` means, served by the API itself."""

import html
from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import HTMLResponse, JSONResponse

from app.api.openapi import text_response
from app.core.errors import PROBLEM_TYPES, NotFound, ProblemType, problem_responses

router = APIRouter(prefix="/problems", tags=["problems"])

HTML_MEDIA_TYPE = "text/html"


def _page(problem: ProblemType) -> str:
    title = html.escape(problem.title)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><p>HTTP status {problem.status}; problem type "
        f"<code>{html.escape(problem.type)}</code>.</p><p>{html.escape(problem.explanation)}"
        '</p><p><a href="/problems">All problem types</a></p></body></html>'
    )


@router.get(
    "",
    response_model=list[ProblemType],
    responses=problem_responses(),
    summary="Every problem type the API answers with",
)
def list_problem_types() -> list[ProblemType]:
    """Every problem `type` this API answers with, and what each means."""
    return list(PROBLEM_TYPES.values())


@router.get(
    "/{name}",
    response_model=ProblemType,
    responses={
        200: text_response(
            HTML_MEDIA_TYPE,
            "The explanation as JSON, or with `Accept: text/html` as a short page (what a "
            "browser following a problem's `type` link gets).",
        ),
        **problem_responses(404),
    },
    summary="What a problem type means",
)
def get_problem_type(
    name: Annotated[
        str,
        Path(max_length=100, description="The problem type's name.", examples=["validation-error"]),
    ],
    accept: Annotated[str | None, Header(max_length=1000, include_in_schema=False)] = None,
) -> ProblemType | HTMLResponse | JSONResponse:
    """What one problem `type` means and what to do about it: JSON, or a short HTML page
    for a browser."""
    problem = PROBLEM_TYPES.get(name)
    if problem is None:
        raise NotFound(f"no problem type {name!r}; GET /problems lists them")
    if _prefers_html(accept or ""):
        return HTMLResponse(_page(problem))
    return problem


def _prefers_html(accept: str) -> bool:
    # A browser following the link asks for text/html first; API clients ask for JSON.
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first == HTML_MEDIA_TYPE
