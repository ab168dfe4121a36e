"""Report answers kept by ETag (app.reports.answers): a request whose ETag was answered
before costs what a 304 costs, gets the same bytes, and never outlives a write."""

import threading
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.core.config import Settings
from app.reports.answers import Answer, AnswerCache
from tests.builders import create_project, create_unit, run_summaries_rebuild, settings_for
from tests.reports.test_statements import counting_statements

SPREAD = "/api/v1/reports/spread"


def statements_of(app: Any, client: Any, path: str, **kwargs: Any) -> tuple[Any, int]:
    with counting_statements(app.state.engine) as statements:
        response = client.get(path, **kwargs)
    return response, len(statements)


def test_a_second_request_for_the_same_etag_costs_a_304(app, admin, viewer):
    unit = create_unit(admin, "BL1")
    create_project(admin, unit["id"], stage="exploration", work_mode="side_of_desk")
    for path, headers in (
        (SPREAD, {}),
        (SPREAD, {"Accept": "text/csv"}),
        ("/api/v1/reports/flow", {}),
        ("/api/v1/reports/outcomes", {}),
    ):
        first, computed = statements_of(app, viewer, path, headers=headers)
        again, kept = statements_of(app, viewer, path, headers=headers)
        poll, not_modified = statements_of(
            app, viewer, path, headers={**headers, "If-None-Match": first.headers["ETag"]}
        )
        assert (first.status_code, again.status_code, poll.status_code) == (200, 200, 304)
        assert again.content == first.content
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers.get("content-disposition") == first.headers.get("content-disposition")
        # The key and the revisions, nothing of the report's own queries.
        assert kept == not_modified < computed, (path, kept, not_modified, computed)
    csv = viewer.get(SPREAD, headers={"Accept": "text/csv"})
    assert csv.headers["content-disposition"] == 'attachment; filename="spread.csv"'
    assert csv.text.splitlines()[1].split(",")[5:9] == ["1", "1", "0", "0"]


def test_a_write_is_answered_afresh_and_other_scopes_apart(app, admin, make_client, viewer):
    root = create_unit(admin, "ROOT", kind="corporate")
    child = create_unit(admin, "BL1", parent_id=root["id"])
    create_project(admin, child["id"], stage="exploration")
    assert viewer.get(SPREAD).json()["active_projects"] == 1
    assert viewer.get(SPREAD, params={"unit_id": root["id"]}).json()["active_projects"] == 1
    create_project(admin, root["id"], stage="scaling")
    assert viewer.get(SPREAD).json()["active_projects"] == 2
    # The child's subtree: its own tag, not the organization's answer.
    submitter = make_client("submitter", unit_id=child["id"])
    assert submitter.get(SPREAD).json()["active_projects"] == 1
    assert viewer.get(SPREAD, params={"unit_id": child["id"]}).json()["active_projects"] == 1


def test_a_summaries_rebuild_changes_every_etag(app, admin, viewer, database_url, monkeypatch):
    unit = create_unit(admin, "BL1")
    create_project(admin, unit["id"], stage="exploration")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE unit_project_counts SET active_projects = 7"))
    engine.dispose()
    damaged = viewer.get(SPREAD)
    assert damaged.json()["active_projects"] == 7
    assert run_summaries_rebuild(database_url, monkeypatch).exit_code == 0
    repaired = viewer.get(SPREAD, headers={"If-None-Match": damaged.headers["ETag"]})
    assert repaired.status_code == 200
    assert repaired.json()["active_projects"] == 1


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    cache_bytes = getattr(request, "param", 16 * 1024 * 1024)
    return settings_for(
        database_url,
        report_cache_bytes=cache_bytes,
    )


@pytest.mark.parametrize("settings", [0], indirect=True)
def test_with_the_cache_off_every_request_computes(app, admin, viewer):
    create_unit(admin, "BL1")
    _, computed = statements_of(app, viewer, SPREAD)
    _, again = statements_of(app, viewer, SPREAD)
    assert again == computed


def test_one_build_per_etag_at_a_time_and_a_byte_bound():
    cache = AnswerCache(max_bytes=100)
    builds = []

    def build() -> Answer:
        builds.append(1)
        time.sleep(0.05)
        return Answer(b"x" * 40, "application/json")

    threads = [threading.Thread(target=cache.answer, args=("a", build)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    cache.answer("b", build)
    cache.answer("c", build)  # 120 bytes: "a", the least recently used, goes
    assert len(builds) == 3
    cache.answer("b", build)
    assert len(builds) == 3
    cache.answer("a", build)
    assert len(builds) == 4
    # Larger than the whole budget: answered, not kept.
    big = Answer(b"y" * 101, "text/csv")
    assert cache.answer("d", lambda: big) is big
    assert cache.answer("d", build).body == b"x" * 40
