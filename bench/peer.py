"""The SQL-as-API peer: what PostgREST does for `GET /projects?limit=100`, in a bare
Starlette route. PostgreSQL builds the JSON page itself (json_agg); Python only passes the
text through. It exists only to give the list endpoint a floor to be compared with.

`POST /experiments` is the write floor (issue 17, target 5): the same experiment row as
`POST /api/v1/experiments` makes, inserted by one INSERT in autocommit (one round trip,
one durable commit) through the same driver; no key, no idempotency, no history.

    BENCH_PEER_DATABASE_URL=postgresql://... uvicorn bench.peer:app
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import ConnectionPool
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.core.flags import FlagSet
from app.core.pagination import decode_cursor
from app.projects.models import SETS as PROJECT_SETS


def _decoded(name: str, mask: str, flags: FlagSet[Any]) -> str:
    """A set stored as a bitmask (`app.core.flags`) as an array, in the enum's order."""
    cases = ", ".join(
        f"CASE WHEN p.{mask} & {flags.bit[m]} <> 0 THEN '{m.value}' END" for m in flags.members
    )
    return f"array_remove(ARRAY[{cases}], NULL) AS {name}"


SETS_SQL = ",\n         ".join(
    _decoded(name, mask, flags) for name, (flags, mask) in PROJECT_SETS.items()
)

# The same page as the API's: live projects in id order after the cursor, every public
# field (the sets decoded from their bitmasks, `app.core.flags`), with their determinant
# tags and the risk block, as one JSON array.
PAGE_SQL = """
SELECT coalesce(json_agg(page ORDER BY page.id), '[]')::text FROM (
  SELECT p.id, p.title, p.summary, p.unit_id, p.sponsor_level, p.sponsor, p.work_mode,
         p.stage, p.facet, p.budget, p.fte, p.started_on, p.ended_on, p.stage_since,
         p.novelty, p.adopted_from, p.initiated_by, p.evaluation, p.embedded_on,
         {SETS}
         CASE WHEN p.risk_likelihood IS NULL THEN NULL ELSE json_build_object(
           'likelihood', p.risk_likelihood, 'impact', p.risk_impact,
           'risk_of_not_innovating', p.risk_of_not_innovating,
           'mitigation', p.risk_mitigation, 'score', p.risk_score, 'band', p.risk_band) END
           AS risk,
         (SELECT coalesce(json_agg(json_build_object(
             'determinant', t.determinant, 'effect', t.effect, 'note', t.note) ORDER BY t.id),
             '[]')
            FROM determinant_tags t WHERE t.project_id = p.id) AS determinants,
         p.created_at, p.updated_at, p.version, p.archived
    FROM projects p
   WHERE p.archived = false AND p.id > %(after)s
   ORDER BY p.id
   LIMIT %(limit)s
) AS page
""".replace("{SETS}", SETS_SQL + ",")


def _dsn() -> str:
    url = make_url(os.environ["BENCH_PEER_DATABASE_URL"])
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


pool = ConnectionPool(_dsn(), min_size=1, max_size=8, open=False)
write_pool = ConnectionPool(_dsn(), min_size=1, max_size=8, open=False, kwargs={"autocommit": True})

# The row the API inserts for the same body (its defaults: status `proposed`, version 1),
# the unit taken from the project as the API does, in the same statement.
INSERT_SQL = """
INSERT INTO experiments (project_id, unit_id, title, hypothesis, method, status,
                         created_at, updated_at, version, archived)
SELECT p.id, p.unit_id, %(title)s, %(hypothesis)s, %(method)s, 'proposed', now(), now(), 1,
       false
  FROM projects p WHERE p.id = %(project_id)s
RETURNING id
"""


def projects(request: Request) -> Response:
    limit = min(int(request.query_params.get("limit", "50")), 500)
    cursor = request.query_params.get("cursor")
    after = decode_cursor(cursor) if cursor else 0
    with pool.connection() as connection:
        row = connection.execute(PAGE_SQL, {"after": after, "limit": limit}).fetchone()
    assert row is not None
    return Response(row[0], media_type="application/json")


def _insert(body: dict[str, Any]) -> Any:
    with write_pool.connection() as connection:
        return connection.execute(INSERT_SQL, body).fetchone()


async def create_experiment(request: Request) -> Response:
    body = json.loads(await request.body())
    # In the threadpool, as the API's sync routes and the read peer's route run.
    row = await run_in_threadpool(_insert, body)
    if row is None:
        return Response(status_code=422)
    return Response(json.dumps({"id": row[0]}), status_code=201, media_type="application/json")


def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    pool.open()
    write_pool.open()
    yield
    write_pool.close()
    pool.close()


app = Starlette(
    routes=[
        Route("/projects", projects),
        Route("/experiments", create_experiment, methods=["POST"]),
        Route("/healthz", healthz),
    ],
    lifespan=lifespan,
)
