"""Imports every table model, and through the registry of report summary families their
tables, so SQLModel.metadata is complete (Alembic, tests)."""

from app.api.idempotency.models import IdempotencyRecord
from app.auth.models import ApiKey
from app.core.history.models import HistoryEntry
from app.core.revision.models import DataRevision
from app.criteria.models import Criterion, Measurement
from app.determinants.models import DeterminantTag
from app.experiments.models import Experiment
from app.projects.models import Project, ProjectPeriod
from app.reports.summary_families import FAMILIES
from app.units.models import Unit, UnitCommitment

__all__ = [
    "FAMILIES",
    "ApiKey",
    "Criterion",
    "DataRevision",
    "DeterminantTag",
    "Experiment",
    "HistoryEntry",
    "IdempotencyRecord",
    "Measurement",
    "Project",
    "ProjectPeriod",
    "Unit",
    "UnitCommitment",
]
