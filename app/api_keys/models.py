from datetime import datetime

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


class ApiKeyPublic(ApiKeyBase, ResponseModel):
    id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(
        description="The secret. Shown once; only its hash is stored.",
        schema_extra={"examples": ["pf_3xAmpLeSeCrEt4f9c2b7d1e0a6"]},
    )


class ApiKeysPage(Page[ApiKeyPublic]):
    pass
