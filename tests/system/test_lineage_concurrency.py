"""Two PATCHes that would together close a lineage loop, sent at the same moment to two
server processes: exactly one wins, the other is a 422 on `adopted_from` (on PostgreSQL the
advisory lock serializes them; on SQLite the write lock does)."""

from collections.abc import Callable

import httpx

from tests.system.test_concurrency import (  # noqa: F401 - fixtures used by name
    admin_headers,
    database_url,
    in_parallel,
    live_database,
    live_urls,
    servers,
)

ROUNDS = 6


def _project(url: str, headers: dict[str, str], unit_id: int, title: str) -> int:
    response = httpx.post(
        f"{url}/api/v1/projects",
        headers=headers,
        json={
            "title": title,
            "unit_id": unit_id,
            "sponsor_level": "individual",
            "work_mode": "side_of_desk",
            "novelty": "adapted",
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _link(url: str, headers: dict[str, str], project_id: int, source_id: int | None):
    return httpx.patch(
        f"{url}/api/v1/projects/{project_id}",
        headers=headers,
        json={"adopted_from": source_id},
        timeout=30,
    )


def _race(
    urls: list[str], headers: dict[str, str], links: list[tuple[int, int]]
) -> list[httpx.Response]:
    calls: list[Callable[[], httpx.Response]] = [
        (lambda i=i, p=p, s=s: _link(urls[i % 2], headers, p, s)) for i, (p, s) in enumerate(links)
    ]
    return in_parallel(calls)


def test_two_links_that_would_close_a_loop_one_wins(
    servers,  # noqa: F811
    admin_headers,  # noqa: F811
    database_url,  # noqa: F811
):
    url = servers[0]
    unit = httpx.post(
        f"{url}/api/v1/units",
        headers=admin_headers,
        json={"code": "TAX", "name": "Tax", "kind": "business_line"},
    ).json()
    a, b, c = (_project(url, admin_headers, unit["id"], t) for t in ("A", "B", "C"))
    for round_number in range(ROUNDS):
        # Direct: A from B and B from A. Indirect: with B from A already, A from C and C from B
        # (A -> C -> B -> A).
        direct = round_number % 2 == 0
        for project_id in (a, b, c):
            assert _link(url, admin_headers, project_id, None).status_code == 200
        if direct:
            links = [(a, b), (b, a)]
        else:
            assert _link(url, admin_headers, b, a).status_code == 200
            links = [(a, c), (c, b)]
        responses = _race(servers, admin_headers, links)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 422], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 422)
        assert loser.json()["errors"][0]["field"] == "adopted_from"
        # Whoever won, every chain still ends: each lineage answers and holds no project twice.
        for project_id in (a, b, c):
            body = httpx.get(
                f"{url}/api/v1/projects/{project_id}/lineage", headers=admin_headers
            ).json()
            chain = [item["project_id"] for item in body["ancestors"]]
            assert project_id not in chain and len(chain) == len(set(chain)) <= 2
