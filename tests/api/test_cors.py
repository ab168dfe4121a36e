"""Browser clients (dashboards on another origin) may read the headers the API documents."""

from typing import Any

import pytest

from app.core.config import Settings
from app.main import create_app
from tests.builders import bootstrap_key, client_with, create_unit

ORIGIN = "https://dash.example.org"


@pytest.fixture
def cors_app(settings: Settings) -> Any:
    application = create_app(settings.model_copy(update={"cors_origins": [ORIGIN]}))
    yield application
    application.state.engine.dispose()


def test_a_browser_may_read_etag_retry_after_and_content_disposition(cors_app, settings):
    client = client_with(cors_app, bootstrap_key(settings))
    unit = create_unit(client, "TAX")

    response = client.get(f"/api/v1/units/{unit['id']}", headers={"Origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = [h.strip() for h in response.headers["access-control-expose-headers"].split(",")]
    assert sorted(exposed) == [
        "Content-Disposition",
        "ETag",
        "Idempotent-Replayed",
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
        "X-Request-ID",
    ]
    assert response.headers["etag"] == '"1"'
