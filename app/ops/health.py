"""Liveness and readiness probes for load balancers and orchestrators (no auth)."""

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.contract import ResponseModel
from app.core.errors import problem_response
from app.core.migrations import is_at_head

router = APIRouter(tags=["health"])


class Health(ResponseModel):
    model_config = {"json_schema_extra": {"examples": [{"status": "ok"}]}}

    status: Literal["ok"] = Field(default="ok", description="Always `ok` (a failure is a problem).")


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    """200 while the process can answer; no database access, no API key."""
    return Health()


@router.get(
    "/readyz",
    response_model=Health,
    summary="The database is reachable and migrated",
    responses={
        503: {
            "description": "Not ready",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    },
)
def readyz(request: Request) -> Health | JSONResponse:
    """200 when the database answers and its schema is at the latest migration, else 503; no
    API key.
    """
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        migrated = is_at_head(engine)
    except SQLAlchemyError:
        return problem_response(
            request,
            status=503,
            slug="not-ready",
            title="Not ready",
            detail="The database cannot be reached.",
        )
    if not migrated:
        return problem_response(
            request,
            status=503,
            slug="not-ready",
            title="Not ready",
            detail="The database schema is not at the latest migration; run `portfolio migrate`.",
        )
    return Health()
