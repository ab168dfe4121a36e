from datetime import datetime
from typing import Any

from sqlmodel import Field

from app.auth.models import ApiKeyBase
from app.core.contract import ResponseModel
from app.core.pagination import Page


class ApiKeyCreate(ApiKeyBase):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"name": "Tax ops intake script", "role": "submitter", "unit_id": 3}]
        },
    }


_EXAMPLE: dict[str, Any] = {
    "name": "Tax ops intake script",
    "role": "submitter",
    "unit_id": 3,
    "id": 12,
    "prefix": "pf_3xAmpLe",
    "created_at": "2026-02-01T08:30:00Z",
    "revoked_at": None,
}


class ApiKeyPublic(ApiKeyBase, ResponseModel):
    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}

    id: int
    prefix: str = Field(description="First characters of the key, for display.")
    created_at: datetime
    revoked_at: datetime | None = Field(description="When it was revoked; null while valid.")


class ApiKeyCreated(ApiKeyPublic):
    model_config = {
        "json_schema_extra": {
            "examples": [{**_EXAMPLE, "key": "pf_3xAmpLeSeCrEt4f9c2b7d1e0a6"}]
        }
    }

    key: str = Field(
        description="The secret. Shown once; only its hash is stored.",
        schema_extra={"examples": ["pf_3xAmpLeSeCrEt4f9c2b7d1e0a6"]},
    )


class ApiKeysPage(Page[ApiKeyPublic]):
    pass
