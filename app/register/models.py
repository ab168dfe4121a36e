"""The open register's items: the public face of a published experiment, nothing else."""

from datetime import date
from typing import Any

from pydantic import Field

from app.core.contract import ResponseModel
from app.core.pagination import Page
from app.experiments.models import (
    DESCRIPTIONS,
    Comparison,
    ExperimentResult,
    ExperimentStatus,
    Method,
)

_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "title": "Pre-filled return, 500 sole traders",
    "hypothesis": "Pre-filling cuts filing time by a third",
    "method": "rct",
    "comparison": "randomized",
    "rigour": 4,
    "status": "completed",
    "result": "not_supported",
    "lessons": "Filing time did not change: most of it went into checking bank data.",
    "started_on": "2026-03-01",
    "ended_on": "2026-05-31",
    "published_on": "2026-07-15",
    "publication_url": "https://open.example.org/experiments/pre-filled-return",
    "unit_code": "TAX-OPS",
    "unit_name": "Tax operations",
}


class RegisterExperiment(ResponseModel):
    """A published experiment as the public sees it."""

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}

    id: int
    title: str
    hypothesis: str
    method: Method = Field(
        description="`rct`, `ab_test`, `pilot`, `prototype`, `simulation` or `other`."
    )
    comparison: Comparison = Field(description=DESCRIPTIONS["comparison"])
    rigour: int = Field(ge=0, le=5, description=DESCRIPTIONS["rigour"])
    status: ExperimentStatus = Field(description="`completed` or `stopped`.")
    result: ExperimentResult | None = Field(
        description="`supported`, `not_supported` or `inconclusive`; null when stopped without one."
    )
    lessons: str | None
    started_on: date | None
    ended_on: date | None
    published_on: date = Field(description="When the result was published.")
    publication_url: str | None = Field(description=DESCRIPTIONS["publication_url"])
    unit_code: str = Field(description="Code of the unit that owns the experiment.")
    unit_name: str = Field(description="Name of the unit that owns the experiment.")


PUBLIC_FIELDS = tuple(RegisterExperiment.model_fields)


class RegisterPage(Page[RegisterExperiment]):
    pass
