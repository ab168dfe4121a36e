"""The open register of results: /public/v1/experiments and its Atom feed, without a key.

Only published experiments whose experiment, project and unit are live appear, with the
public fields and nothing else; switched off, every /public/ path is a 404."""

from typing import Any
from xml.etree import ElementTree

import pytest

from app.core.config import Settings
from tests.builders import (
    client_with,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    settings_for,
)

REGISTER = "/public/v1/experiments"
FEED = "/public/v1/experiments.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLIC_KEYS = [
    "id",
    "title",
    "hypothesis",
    "method",
    "comparison",
    "rigour",
    "status",
    "result",
    "lessons",
    "started_on",
    "ended_on",
    "published_on",
    "publication_url",
    "unit_code",
    "unit_name",
]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, public_register=True)


@pytest.fixture
def public(app: Any) -> Any:
    return client_with(app, None)


def published(admin: Any, project_id: int, **fields: Any) -> dict[str, Any]:
    return create_experiment(
        admin,
        project_id,
        **{"status": "completed", "result": "supported", "published_on": "2026-03-01", **fields},
    )


def world(admin: Any) -> dict[str, Any]:
    root = create_unit(admin, "ROOT", kind="corporate", name="Revenue agency")
    tax = create_unit(admin, "TAX", parent_id=root["id"], name="Tax <operations> & co")
    lab = create_unit(admin, "LAB", kind="innovation_lab")
    project = create_project(admin, tax["id"], budget=500000, sponsor="Secret sponsor")
    lab_project = create_project(admin, lab["id"])
    shown = published(
        admin,
        project["id"],
        title="Pre-filled returns",
        comparison="randomized",
        lessons="Nobody read the letter.",
        cost=1234,
        sample_size=500,
        started_on="2026-01-01",
        ended_on="2026-02-01",
        publication_url="https://open.example.org/1",
        determinants=[{"determinant": "parity", "effect": "barrier", "note": "secret note"}],
    )
    create_criterion(admin, "experiments", shown["id"], kind="outcome")  # rigour 3
    negative = published(
        admin, lab_project["id"], result="not_supported", published_on="2026-03-02", title="Chatbot"
    )
    stopped = published(
        admin, project["id"], status="stopped", result=None, published_on="2026-03-03"
    )
    # Never shown: unpublished, archived experiment, archived project, archived unit.
    create_experiment(admin, project["id"], status="completed", title="Unpublished")
    archived = published(admin, project["id"], title="Archived experiment")
    admin.delete(f"/api/v1/experiments/{archived['id']}")
    gone_project = create_project(admin, tax["id"])
    published(admin, gone_project["id"], title="Archived project")
    admin.delete(f"/api/v1/projects/{gone_project['id']}")
    gone_unit = create_unit(admin, "GONE")
    gone_unit_project = create_project(admin, gone_unit["id"])
    published(admin, gone_unit_project["id"], title="Archived unit")
    # A unit can only be archived once it owns no live project.
    admin.delete(f"/api/v1/projects/{gone_unit_project['id']}")
    admin.delete(f"/api/v1/units/{gone_unit['id']}")
    return {"shown": shown, "negative": negative, "stopped": stopped, "tax": tax, "root": root}


def test_only_published_live_experiments_with_only_public_fields(admin, public):
    w = world(admin)
    response = public.get(REGISTER)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    items = page["items"]
    assert [i["id"] for i in items] == [w["shown"]["id"], w["negative"]["id"], w["stopped"]["id"]]
    for item in items:
        assert list(item) == PUBLIC_KEYS
    assert items[0] == {
        "id": w["shown"]["id"],
        "title": "Pre-filled returns",
        "hypothesis": "It helps",
        "method": "pilot",
        "comparison": "randomized",
        "rigour": 3,  # baseline, comparison, randomized
        "status": "completed",
        "result": "supported",
        "lessons": "Nobody read the letter.",
        "started_on": "2026-01-01",
        "ended_on": "2026-02-01",
        "published_on": "2026-03-01",
        "publication_url": "https://open.example.org/1",
        "unit_code": "TAX",
        "unit_name": "Tax <operations> & co",
    }
    text = response.text
    for secret in ("Secret sponsor", "secret note", "500000", "1234", "project_id", "unit_id"):
        assert secret not in text


def test_filters_and_paging(admin, public):
    w = world(admin)

    def ids(**params: Any) -> list[int]:
        response = public.get(REGISTER, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    # unit_code: the unit and its subtree, any case; unknown: nothing
    assert ids(unit_code="root") == [w["shown"]["id"], w["stopped"]["id"]]
    assert ids(unit_code="LAB") == [w["negative"]["id"]]
    assert ids(unit_code="NOPE") == []
    assert ids(unit_code="GONE") == []
    assert ids(result="not_supported") == [w["negative"]["id"]]
    assert ids(result=["supported", "not_supported"]) == [w["shown"]["id"], w["negative"]["id"]]
    assert ids(published_since="2026-03-02") == [w["negative"]["id"], w["stopped"]["id"]]
    assert ids(published_since="2026-03-04") == []

    first = public.get(REGISTER, params={"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == [w["shown"]["id"], w["negative"]["id"]]
    second = public.get(REGISTER, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in second["items"]] == [w["stopped"]["id"]]
    assert second["next_cursor"] is None
    bad = public.get(REGISTER, params={"limit": 501})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_csv(admin, public):
    w = world(admin)
    response = public.get(REGISTER, params={"result": "supported"}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == ",".join(PUBLIC_KEYS)
    assert lines[1] == (
        f"{w['shown']['id']},Pre-filled returns,It helps,pilot,randomized,3,completed,supported,"
        "Nobody read the letter.,2026-01-01,2026-02-01,2026-03-01,https://open.example.org/1,"
        "TAX,Tax <operations> & co"
    )
    assert len(lines) == 2


def test_etag_and_304(admin, public):
    w = world(admin)
    first = public.get(REGISTER)
    etag = first.headers["ETag"]
    assert public.get(REGISTER, headers={"If-None-Match": etag}).status_code == 304
    assert (
        public.get(REGISTER, params={"limit": 1}, headers={"If-None-Match": etag}).status_code
        == 200
    )
    feed = public.get(FEED)
    assert feed.headers["ETag"] != etag
    assert public.get(FEED, headers={"If-None-Match": feed.headers["ETag"]}).status_code == 304
    # Unpublishing changes the data: a new tag, and the item is gone.
    admin.patch(f"/api/v1/experiments/{w['shown']['id']}", json={"published_on": None})
    after = public.get(REGISTER, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert w["shown"]["id"] not in [i["id"] for i in after.json()["items"]]


def test_atom_feed(admin, public):
    w = world(admin)
    response = public.get(FEED)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml"
    feed = ElementTree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    assert feed.find(f"{ATOM}updated").text == "2026-03-03T00:00:00Z"
    entries = feed.findall(f"{ATOM}entry")
    # Newest published first.
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert titles == [w["stopped"]["title"], "Chatbot", "Pre-filled returns"]
    for entry in entries:
        for required in ("id", "title", "updated", "published", "content", "author"):
            assert entry.find(f"{ATOM}{required}") is not None, required
    first_published = entries[2]
    assert first_published.find(f"{ATOM}published").text == "2026-03-01T00:00:00Z"
    assert first_published.find(f"{ATOM}link").attrib == {
        "rel": "alternate",
        "href": "https://open.example.org/1",
    }
    assert first_published.find(f"{ATOM}author/{ATOM}name").text == "Tax <operations> & co (TAX)"
    assert "Lessons: Nobody read the letter." in first_published.find(f"{ATOM}content").text
    assert b"Tax &lt;operations&gt; &amp; co" in response.content  # escaped by the serializer
    assert b"secret note" not in response.content
    assert b"Secret sponsor" not in response.content


def test_the_feed_holds_the_50_newest(admin, public):
    unit = create_unit(admin, "LAB")
    project = create_project(admin, unit["id"])
    body = {
        "items": [
            {
                "project_id": project["id"],
                "title": f"E{n}",
                "hypothesis": "H",
                "method": "rct",
                "status": "completed",
                "published_on": f"2026-01-{1 + n % 28:02d}",
            }
            for n in range(55)
        ]
    }
    assert admin.post("/api/v1/experiments/batch", json=body).status_code == 201
    entries = ElementTree.fromstring(public.get(FEED).content).findall(f"{ATOM}entry")
    assert len(entries) == 50
    stamps = [e.find(f"{ATOM}published").text for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    # 55 dates over 28 days: days 1-27 twice, 28 once; the 5 oldest (days 1-3, in part) drop.
    assert stamps[0] == "2026-01-28T00:00:00Z"


def test_every_caller_may_read_it(admin, app, make_client):
    world(admin)
    callers = [
        client_with(app, None),
        client_with(app, "pf_" + "x" * 43),
        make_client("viewer"),
        make_client("submitter", unit_id=create_unit(admin, "OTHER")["id"]),
        admin,
    ]
    for client in callers:
        assert client.get(REGISTER).status_code == 200
        assert client.get(FEED).status_code == 200
    # A submitter sees the whole register, not only its unit: it is public.
    assert len(callers[3].get(REGISTER).json()["items"]) == 3


def test_the_body_limit_still_applies(public, settings):
    response = public.request("GET", REGISTER, content=b"x" * (settings.max_body_bytes + 1))
    assert response.status_code == 413
