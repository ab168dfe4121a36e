"""Rate limits (issue 13): a token bucket per API key, a lower one per client address for
requests without a valid key; 429 with Retry-After and the RateLimit fields of
draft-ietf-httpapi-ratelimit-headers."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.builders import client_with, create_project, create_unit, settings_for

UNITS = "/api/v1/units"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Buckets of 3 (keys) and 2 (addresses) that refill slowly (one token per 100 and
    # 200 s), so the numbers below do not depend on how fast the machine is.
    return settings_for(
        database_url,
        rate_limit_per_second=0.01,
        rate_limit_burst=3,
        anonymous_rate_limit_per_second=0.005,
        anonymous_rate_limit_burst=2,
    )


@pytest.fixture
def two_keys(app: Any, settings: Settings) -> tuple[TestClient, TestClient]:
    from sqlmodel import Session

    from app.api_keys import service as api_key_service
    from app.api_keys.models import ApiKeyCreate

    # Created without the API, so that no request is spent on the buckets.
    secrets = []
    with Session(app.state.engine) as session:
        for name in ("first", "second"):
            _, secret = api_key_service.create(
                session=session, key_in=ApiKeyCreate(name=name, role="admin")
            )
            secrets.append(secret)
    return client_with(app, secrets[0]), client_with(app, secrets[1])


def test_a_key_gets_its_burst_then_429_and_another_key_is_unaffected(two_keys):
    first, second = two_keys
    # Bucket of 3: r counts down 2, 1, 0; t is the time to refill to 3 at 0.01 per second
    # (ceil((3 - r) / 0.01): 100, 200, 300 s); w = 3 / 0.01 = 300 s.
    for remaining, reset in ((2, 100), (1, 200), (0, 300)):
        response = first.get(UNITS)
        assert response.status_code == 200, response.text
        assert response.headers["RateLimit"] == f'"key";r={remaining};t={reset}'
        assert response.headers["RateLimit-Policy"] == '"key";q=3;w=300'

    refused = first.get(UNITS)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    # The next token comes in 1 / 0.01 = 100 s.
    assert refused.headers["Retry-After"] == "100"
    assert refused.headers["RateLimit"] == '"key";r=0;t=300'
    assert refused.headers["RateLimit-Policy"] == '"key";q=3;w=300'
    assert refused.json()["type"].endswith("/too-many-requests")
    # Writes are refused too, and nothing is written.
    assert (
        first.post(UNITS, json={"code": "X", "name": "X", "kind": "corporate"}).status_code == 429
    )

    # The other key has its own bucket.
    other = second.get(UNITS)
    assert other.status_code == 200
    assert other.headers["RateLimit"] == '"key";r=2;t=100'
    assert second.get(UNITS).json()["items"] == []


def test_a_report_poll_answered_304_is_counted(two_keys):
    first, _ = two_keys
    etag = first.get("/api/v1/reports/spread").headers["ETag"]
    polled = first.get("/api/v1/reports/spread", headers={"If-None-Match": etag})
    assert polled.status_code == 304
    assert polled.headers["RateLimit"] == '"key";r=1;t=200'
    assert first.get("/api/v1/reports/spread", headers={"If-None-Match": etag}).status_code == 304
    # The bucket is empty: the fast path leaves it to the route, which says 429.
    assert first.get("/api/v1/reports/spread", headers={"If-None-Match": etag}).status_code == 429


def test_the_lineage_route_which_checks_the_key_in_its_own_statement_is_limited_alike(
    app, two_keys
):
    first, second = two_keys
    unit = create_unit(second, "LIN")
    project = create_project(second, unit["id"])
    lineage = f"/api/v1/projects/{project['id']}/lineage"
    for remaining, reset in ((2, 100), (1, 200), (0, 300)):
        response = first.get(lineage)
        assert response.status_code == 200, response.text
        assert response.json() == {"ancestors": [], "descendants": []}
        assert response.headers["RateLimit"] == f'"key";r={remaining};t={reset}'
    refused = first.get(lineage)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "100"
    # A project that does not exist: still 429 first, as on every route (the key's
    # bucket is checked before the answer).
    assert first.get("/api/v1/projects/999999/lineage").status_code == 429
    # An unknown key is counted on the address bucket (2), then refused there.
    wrong_key = client_with(app, "pf_not-a-key")
    unknown = wrong_key.get(lineage)
    assert unknown.status_code == 401
    assert unknown.headers["RateLimit"] == '"address";r=1;t=200'
    assert wrong_key.get(lineage).status_code == 401
    assert wrong_key.get(lineage).status_code == 429


def test_requests_without_a_valid_key_are_limited_per_address(app, two_keys):
    first, _ = two_keys
    anonymous = client_with(app, None)
    wrong_key = client_with(app, "pf_not-a-key")
    # The address bucket holds 2: no key, then a wrong key, both 401 ...
    assert anonymous.get(UNITS).status_code == 401
    unknown = wrong_key.get(UNITS)
    assert unknown.status_code == 401
    assert unknown.headers["RateLimit"] == '"address";r=0;t=400'
    assert unknown.headers["RateLimit-Policy"] == '"address";q=2;w=400'
    # ... then 429 from the same address, whichever way the key is missing.
    for client in (anonymous, wrong_key):
        refused = client.get(UNITS)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "200"  # 1 / 0.005
    # A valid key from the same address is counted on its own bucket.
    assert first.get(UNITS).status_code == 200
    # Health checks and the contract are not API requests: never limited.
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200


def test_429_is_documented_with_its_headers(anon):
    spec = anon.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            documented = operation["responses"].get("429")
            assert documented is not None, (method, path)
            # Besides X-Request-ID (every response) and Idempotent-Replayed (creates).
            assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(documented["headers"])


def test_limits_are_off_with_a_rate_of_zero(app, admin, settings):
    # The rest of the suite runs so (tests/conftest.py); shown here with a unit created.
    from app.core.rate_limit import RateLimiter

    app.state.rate_limiter = RateLimiter(
        key_rate=0, key_burst=1, address_rate=0, address_burst=1, max_buckets=10
    )
    for _ in range(10):
        response = admin.get(UNITS)
        assert response.status_code == 200
        assert "RateLimit" not in response.headers
    create_unit(admin, "OK")


def test_the_bucket_table_is_bounded():
    from app.core.rate_limit import RateLimiter

    limiter = RateLimiter(
        key_rate=0.001, key_burst=2, address_rate=0.001, address_burst=2, max_buckets=10
    )
    for number in range(1000):
        limiter.check_address(
            {"type": "http", "client": (f"10.0.{number // 256}.{number % 256}", 1)}
        )
    assert limiter.addresses is not None
    assert len(limiter.addresses.storage._buckets) <= 10
    # The newest addresses are kept: the last one has spent its first token.
    assert limiter.addresses.take("address:10.0.3.231").remaining == 0
