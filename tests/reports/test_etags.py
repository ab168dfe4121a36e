"""Conditional polling of reports: an ETag that changes exactly when report data changes,
304 on a matching If-None-Match, and never a stale report after a write."""

from typing import Any

from tests.builders import create_criterion, create_experiment, create_project, create_unit

SPREAD = "/api/v1/reports/spread"
OUTCOMES = "/api/v1/reports/outcomes"
REPORTS = [
    SPREAD,
    "/api/v1/reports/portfolio",
    OUTCOMES,
    "/api/v1/reports/determinants",
    "/api/v1/reports/trends",
    "/api/v1/reports/flow",
]


def poll(client: Any, path: str, etag: str | None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(path, headers=headers)


def test_unchanged_data_is_a_304_with_the_same_etag(admin, viewer):
    unit = create_unit(admin, "BL1")
    create_project(admin, unit["id"], stage="exploration")
    for path in REPORTS:
        first = viewer.get(path)
        assert first.status_code == 200, first.text
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "no-cache"
        again = poll(viewer, path, etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == etag
        # A list of tags, weak or strong, matches too.
        assert poll(viewer, path, f'"other", W/{etag}').status_code == 304
        assert poll(viewer, path, '"something-else"').status_code == 200
    tags = {viewer.get(path).headers["ETag"] for path in REPORTS}
    assert len(tags) == len(REPORTS)


def test_every_kind_of_write_changes_the_etag_and_the_numbers(admin, viewer):
    unit = create_unit(admin, "BL1")
    first = viewer.get(SPREAD)
    assert first.json()["active_projects"] == 0
    etag = first.headers["ETag"]

    project = create_project(admin, unit["id"], stage="exploration", work_mode="side_of_desk")
    after_create = poll(viewer, SPREAD, etag)
    assert after_create.status_code == 200
    assert after_create.json()["active_projects"] == 1
    assert after_create.json()["by_work_mode"]["side_of_desk"] == 1
    assert after_create.headers["ETag"] != etag
    etag = after_create.headers["ETag"]

    patched = admin.patch(f"/api/v1/projects/{project['id']}", json={"work_mode": "dedicated"})
    assert patched.status_code == 200, patched.text
    after_update = poll(viewer, SPREAD, etag)
    assert after_update.status_code == 200
    assert after_update.json()["by_work_mode"] == {
        "side_of_desk": 0,
        "dedicated": 1,
        "core_business": 0,
    }
    etag = after_update.headers["ETag"]

    # A PATCH that changes nothing writes nothing: the report is still current.
    same = admin.patch(f"/api/v1/projects/{project['id']}", json={"work_mode": "dedicated"})
    assert same.status_code == 200
    assert poll(viewer, SPREAD, etag).status_code == 304

    # Writes to data no report reads (API keys) leave the ETag alone.
    assert admin.post("/api/v1/api-keys", json={"name": "x", "role": "viewer"}).status_code == 201
    assert poll(viewer, SPREAD, etag).status_code == 304

    assert admin.delete(f"/api/v1/projects/{project['id']}").status_code == 200
    after_archive = poll(viewer, SPREAD, etag)
    assert after_archive.status_code == 200
    assert after_archive.json()["active_projects"] == 0


def test_a_measurement_changes_the_outcomes_report(admin, viewer):
    unit = create_unit(admin, "BL1")
    project = create_project(admin, unit["id"], stage="experiment")
    experiment = create_experiment(admin, project["id"])
    criterion = create_criterion(admin, "experiments", experiment["id"], target=20)
    before = viewer.get(OUTCOMES)
    assert before.json()["criteria"]["outcome"] == {"met": 0, "missed": 0, "pending": 1}
    response = admin.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 25, "measured_on": "2026-01-15"},
    )
    assert response.status_code == 201, response.text
    after = poll(viewer, OUTCOMES, before.headers["ETag"])
    assert after.status_code == 200
    assert after.json()["criteria"]["outcome"] == {"met": 1, "missed": 0, "pending": 0}


def test_a_write_followed_by_a_poll_never_returns_stale_numbers(admin, viewer):
    unit = create_unit(admin, "BL1")
    etag = None
    for created in range(1, 21):
        create_project(admin, unit["id"], stage="scaling", work_mode="core_business")
        response = poll(viewer, SPREAD, etag)
        assert response.status_code == 200, f"stale 304 after write {created}"
        assert response.json()["active_projects"] == created
        etag = response.headers["ETag"]


def test_query_parameters_scope_and_representation_have_their_own_etags(admin, make_client, viewer):
    root = create_unit(admin, "ROOT", kind="corporate")
    child = create_unit(admin, "BL1", parent_id=root["id"])
    create_project(admin, child["id"], stage="exploration")
    whole = viewer.get(SPREAD)
    scoped = viewer.get(SPREAD, params={"unit_id": child["id"]})
    as_csv = viewer.get(SPREAD, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    submitter = make_client("submitter", unit_id=child["id"])
    own_scope = submitter.get(SPREAD)
    tags = [r.headers["ETag"] for r in (whole, scoped, as_csv, own_scope)]
    assert len(set(tags)) == 4
    # Any other Accept gets the JSON, with the JSON's tag.
    for accept in ("application/json", "*/*"):
        assert viewer.get(SPREAD, headers={"Accept": accept}).headers["ETag"] == tags[0]
    # The CSV's tag does not validate the JSON, nor the reverse.
    assert poll(viewer, SPREAD, as_csv.headers["ETag"]).status_code == 200
    assert viewer.get(SPREAD, headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304


def test_a_batch_submission_changes_the_portfolio_report(admin, viewer):
    unit = create_unit(admin, "BL1")
    project = create_project(admin, unit["id"], stage="experiment")
    path = "/api/v1/reports/portfolio"
    before = viewer.get(path)
    items = [
        {"project_id": project["id"], "title": f"E{i}", "hypothesis": "H", "method": "pilot"}
        for i in range(3)
    ]
    response = admin.post("/api/v1/experiments/batch", json={"items": items})
    assert response.status_code == 201, response.text
    after = poll(viewer, path, before.headers["ETag"])
    assert after.status_code == 200
    assert after.json()["experiments_by_method"]["pilot"] == 3


def test_a_poll_with_a_current_etag_still_needs_a_valid_key(admin, make_client, anon):
    create_unit(admin, "BL1")
    viewer_key = admin.post("/api/v1/api-keys", json={"name": "dash", "role": "viewer"}).json()
    dashboard = make_client("viewer", name="dash 2")
    etag = dashboard.get(SPREAD).headers["ETag"]
    assert poll(dashboard, SPREAD, etag).status_code == 304
    # No key, a wrong key, or a revoked one: 401, never a 304 that would confirm the data.
    assert anon.get(SPREAD, headers={"If-None-Match": etag}).status_code == 401
    wrong = anon.get(SPREAD, headers={"If-None-Match": etag, "Authorization": "Bearer pf_nope"})
    assert wrong.status_code == 401
    revoked_headers = {"Authorization": f"Bearer {viewer_key['key']}"}
    own_etag = anon.get(SPREAD, headers=revoked_headers).headers["ETag"]
    assert admin.delete(f"/api/v1/api-keys/{viewer_key['id']}").status_code == 200
    revoked = anon.get(SPREAD, headers={**revoked_headers, "If-None-Match": own_etag})
    assert revoked.status_code == 401


def test_a_submitter_polls_its_own_scope(admin, make_client):
    root = create_unit(admin, "ROOT", kind="corporate")
    child = create_unit(admin, "BL1", parent_id=root["id"])
    submitter = make_client("submitter", unit_id=child["id"])
    etag = submitter.get(SPREAD).headers["ETag"]
    assert poll(submitter, SPREAD, etag).status_code == 304
    # Data outside the submitter's subtree changes the revision too: a full answer, same
    # numbers (the revision is global; correctness over a few extra recomputations).
    create_unit(admin, "BL2", parent_id=root["id"])
    again = poll(submitter, SPREAD, etag)
    assert again.status_code == 200
    assert again.json()["active_projects"] == 0


def etag_for(app: Any, path: str, query: dict[str, str], scope_unit_id: int | None) -> str:
    """The tag a client could compute itself (the hash's inputs are no secret): what a
    caller that never got a 200 might send."""
    from sqlmodel import Session

    from app.core.revision import service as revision
    from app.reports.conditional import request_etag

    with Session(app.state.engine) as session:
        current = revision.current(session=session)
    return request_etag(
        path=path,
        query=query.items(),
        accept="",
        scope_unit_id=scope_unit_id,
        revisions=current,
    )


def test_if_none_match_never_answers_before_the_route_checks(app, admin, make_client, viewer):
    root = create_unit(admin, "ROOT", kind="corporate")
    mine = create_unit(admin, "MINE", parent_id=root["id"])
    other = create_unit(admin, "OTHER", parent_id=root["id"])
    submitter = make_client("submitter", unit_id=mine["id"])
    star = {"If-None-Match": "*"}
    for path in REPORTS:
        # A unit outside the submitter's subtree, an unknown unit, a bad unit_id: the same
        # answers as without If-None-Match, never a 304.
        assert submitter.get(path, params={"unit_id": other["id"]}, headers=star).status_code == 404
        assert viewer.get(path, params={"unit_id": 999}, headers=star).status_code == 404
        bad = viewer.get(path, params={"unit_id": "abc"}, headers=star)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "unit_id"
        # A tag computed for the foreign unit does not get past the scope check either.
        forged = etag_for(app, path, {"unit_id": str(other["id"])}, scope_unit_id=mine["id"])
        assert (
            submitter.get(
                path, params={"unit_id": other["id"]}, headers={"If-None-Match": forged}
            ).status_code
            == 404
        )
        # Where the report exists, `*` is a 304 (RFC 9110: any current representation).
        assert submitter.get(path, headers=star).status_code == 304
        assert submitter.get(path, params={"unit_id": mine["id"]}, headers=star).status_code == 304
    # A path that is no report is a 404, whatever tag is sent.
    nothing = "/api/v1/reports/nothing"
    forged = etag_for(app, nothing, {}, scope_unit_id=None)
    assert viewer.get(nothing, headers={"If-None-Match": forged}).status_code == 404
    assert viewer.get(nothing, headers=star).status_code == 404
