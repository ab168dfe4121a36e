"""A revoked key stops working at once in every worker process (no per-process cache)."""

import httpx
import pytest

from app.core.config import Settings
from tests.builders import bootstrap_key
from tests.system.live_server import live_servers

pytestmark = pytest.mark.slow


def test_a_key_revoked_through_one_process_is_refused_by_the_other_at_once(database_url):
    admin_secret = bootstrap_key(Settings(database_url=database_url))
    admin = {"Authorization": f"Bearer {admin_secret}"}
    with live_servers(database_url) as (first, second):
        for round_number in range(3):
            created = httpx.post(
                f"{first}/api/v1/api-keys",
                json={"name": f"dashboard {round_number}", "role": "viewer"},
                headers=admin,
                timeout=10,
            )
            assert created.status_code == 201, created.text
            viewer = {"Authorization": f"Bearer {created.json()['key']}"}
            # Warm: the second process has just accepted this key.
            assert (
                httpx.get(f"{second}/api/v1/units", headers=viewer, timeout=10).status_code == 200
            )
            revoked = httpx.delete(
                f"{first}/api/v1/api-keys/{created.json()['id']}", headers=admin, timeout=10
            )
            assert revoked.status_code == 200
            assert revoked.json()["revoked_at"] is not None
            # The very next request, through the other process, with no pause in between.
            refused = httpx.get(f"{second}/api/v1/units", headers=viewer, timeout=10)
            assert refused.status_code == 401
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["detail"] == "the API key is unknown or revoked"
            assert httpx.get(f"{first}/api/v1/units", headers=viewer, timeout=10).status_code == 401
