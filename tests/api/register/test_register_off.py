"""Switched off (the default), every /public/ path is a 404 and nothing is read."""

from tests.builders import client_with, create_experiment, create_project, create_unit


def test_every_public_path_is_404_when_off(admin, app):
    project = create_project(admin, create_unit(admin, "LAB")["id"])
    create_experiment(admin, project["id"], status="completed", published_on="2026-03-01")
    public = client_with(app, None)
    for path in (
        "/public/v1/experiments",
        "/public/v1/experiments.atom",
        "/public/v1/experiments?limit=9999",
        "/public/v1/anything",
        "/public/",
    ):
        response = public.get(path, headers={"Accept": "text/csv"})
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "ETag" not in response.headers
    assert admin.get("/public/v1/experiments").status_code == 404
