"""Problem `type` links resolve on the API itself, and `/docs` and `/redoc` need nothing
from outside this server."""

import re
from pathlib import Path
from urllib.parse import urljoin

from fastapi.testclient import TestClient

from app.core.errors import PROBLEM_TYPES

APP = Path(__file__).resolve().parents[2] / "app"


def slugs_in_the_code() -> set[str]:
    """Every problem name the application can answer with, read from its source."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        text = path.read_text()
        found.update(re.findall(r'slug\s*=\s*"([a-z-]+)"', text))
        found.update(re.findall(r'PROBLEM_BASE \+ "([a-z-]+)"', text))
        for mapping in re.findall(r"slug = \{(.*?)\}", text, flags=re.S):
            found.update(re.findall(r'"([a-z-]+)"', mapping))
    return found


def test_every_problem_type_in_the_code_is_explained(anon: TestClient):
    used = slugs_in_the_code()
    assert {"validation-error", "not-acceptable", "secret-not-stored", "not-ready"} <= used

    assert sorted(used - set(PROBLEM_TYPES)) == []
    for name in used:
        page = anon.get(f"/problems/{name}")
        assert page.status_code == 200, name
        assert page.json()["type"] == f"/problems/{name}"
        assert page.json()["explanation"], name


def test_a_problem_links_to_its_own_explanation(admin: TestClient):
    problem = admin.get("/api/v1/units/999")
    assert problem.status_code == 404
    assert problem.json()["type"] == "/problems/not-found"

    # Resolved against the request URL, as RFC 9457 says a relative reference is.
    explained = admin.get(urljoin(str(problem.url), problem.json()["type"]))

    assert explained.status_code == 200
    assert explained.json() == {
        "type": "/problems/not-found",
        "name": "not-found",
        "status": 404,
        "title": "Not found",
        "explanation": "No such object or route. A submitter key also gets 404 for objects "
        "outside its unit's subtree, so that their existence is not revealed.",
    }


def test_a_browser_gets_a_short_page(anon: TestClient):
    page = anon.get(
        "/problems/precondition-failed",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>The object changed since you read it</h1>" in page.text
    assert "HTTP status 412" in page.text


def test_the_list_and_an_unknown_name(anon: TestClient):
    listed = anon.get("/problems")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == list(PROBLEM_TYPES)

    unknown = anon.get("/problems/teapot")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no problem type 'teapot'; GET /problems lists them"


def test_docs_and_redoc_load_every_asset_from_this_server(anon: TestClient):
    for page in ("/docs", "/redoc"):
        html = anon.get(page)
        assert html.status_code == 200
        assert "://" not in html.text, page  # no CDN, no web fonts, no validator badge
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert len(assets) >= 2, page
        for asset in assets:
            assert asset.startswith("/docs-assets/"), asset
            served = anon.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset
    assert "url: '/openapi.json'" in anon.get("/docs").text
    assert anon.get("/openapi.json").status_code == 200
