"""The lineage answer PostgreSQL builds as JSON is the model's JSON: same values, same key
order (whitespace aside)."""

import json
from typing import Any

from sqlmodel import Session

from app.auth.models import Actor, Role
from app.projects import service
from tests.builders import create_project, create_unit

PROJECTS = "/api/v1/projects"


def test_the_lineage_body_is_the_models_json_for_every_caller(app, admin, make_client):
    north = create_unit(admin, "NORTH")
    south = create_unit(admin, "SOUTH")
    top = create_project(admin, north["id"], title="Top", novelty="first")
    middle = create_project(
        admin, south["id"], title='Mid "quoted"', novelty="adapted", adopted_from=top["id"]
    )
    low = create_project(
        admin, north["id"], title="Low", novelty="copied", adopted_from=middle["id"]
    )
    side = create_project(
        admin, north["id"], title="Side", novelty="copied", adopted_from=top["id"]
    )
    admin.post(f"{PROJECTS}/{side['id']}/archive")
    submitter = make_client("submitter", unit_id=north["id"])

    def model_json(actor: Actor, project_id: int) -> str:
        with Session(app.state.engine) as session:
            lineage = service.lineage(session=session, actor=actor, project_id=project_id)
        return same_text(lineage.model_dump_json().encode())

    def same_text(body: bytes) -> str:
        # json.loads keeps key order; dumping again drops only the whitespace.
        return json.dumps(json.loads(body))

    everyone = Actor(key_id=1, name="a", role=Role.admin)
    confined = Actor(key_id=2, name="s", role=Role.submitter, unit_id=north["id"])
    for project in (top, middle, low):
        body: Any = same_text(admin.get(f"{PROJECTS}/{project['id']}/lineage").content)
        assert body == model_json(everyone, project["id"])
    for project in (top, low):
        body = same_text(submitter.get(f"{PROJECTS}/{project['id']}/lineage").content)
        assert body == model_json(confined, project["id"])
    # The submitter reads past the south project, which is left out.
    assert submitter.get(f"{PROJECTS}/{low['id']}/lineage").json() == {
        "ancestors": [
            {
                "project_id": top["id"],
                "title": "Top",
                "unit_id": north["id"],
                "novelty": "first",
                "stage": top["stage"],
                "archived": False,
                "depth": 2,
            }
        ],
        "descendants": [],
    }
    assert submitter.get(f"{PROJECTS}/{middle['id']}/lineage").status_code == 404
    assert admin.get(f"{PROJECTS}/999999/lineage").status_code == 404
