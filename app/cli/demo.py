"""The demonstration portfolio, written through the services like any API client's data.

The portfolio itself is data: `demo_portfolio.json`, where each object is the body of the
API's create request and goes through the same models and services. Four departments with
branches, two labs, projects in every stage, work mode and sponsor level, risks,
determinant tags, experiments with results and lessons, and criteria with measurements
(met, missed and pending), so every report has something to say on a first run.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.auth.models import Actor
from app.core import fiscal
from app.core.db import single_transaction, today
from app.criteria import service as criteria_service
from app.criteria.models import CriterionCreate, MeasurementCreate
from app.experiments import service as experiment_service
from app.experiments.models import ExperimentCreate
from app.projects import service as project_service
from app.projects.models import ProjectCreate, ProjectUpdate
from app.units import service as unit_service
from app.units.models import CommitmentIn, Unit, UnitCreate

DEMO_FILE = Path(__file__).with_name("demo_portfolio.json")

# Dates relative to the day the data is loaded, so "due in 30 days" stays true.
_RELATIVE_DATE = re.compile(r"^today([+-]\d+)$")


@dataclass
class DemoSummary:
    units: int = 0
    projects: int = 0
    experiments: int = 0
    criteria: int = 0
    measurements: int = 0
    commitments: int = 0


def load(path: Path = DEMO_FILE) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def resolve_dates(value: Any, on: date) -> Any:
    """`today-420` / `today+30` anywhere in the document, as ISO dates relative to `on`."""
    if isinstance(value, dict):
        return {key: resolve_dates(item, on) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_dates(item, on) for item in value]
    if isinstance(value, str) and (match := _RELATIVE_DATE.match(value)):
        return (on + timedelta(days=int(match.group(1)))).isoformat()
    return value


def is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Unit)).one() == 0


def _criteria(
    session: Session,
    actor: Actor,
    criteria: list[dict[str, Any]],
    summary: DemoSummary,
    **owner: int,
) -> None:
    for body in criteria:
        measurements = body.pop("measurements", [])
        criterion = criteria_service.create(
            session=session,
            actor=actor,
            criterion_in=CriterionCreate.model_validate(body),
            **owner,
        )
        summary.criteria += 1
        assert criterion.id is not None
        for measurement in measurements:
            criteria_service.add_measurement(
                session=session,
                actor=actor,
                criterion_id=criterion.id,
                measurement_in=MeasurementCreate.model_validate(measurement),
            )
            summary.measurements += 1


def _by_title(body: dict[str, Any], project_ids: dict[str, int]) -> dict[str, Any]:
    """`adopted_from: "@title"` names a project created earlier in the file."""
    source = body.get("adopted_from")
    if isinstance(source, str) and source.startswith("@"):
        return {**body, "adopted_from": project_ids[source[1:]]}
    return body


def fill(
    *, engine: Engine, actor: Actor, path: Path = DEMO_FILE, fiscal_start_month: int = 1
) -> DemoSummary:
    """Write the demonstration portfolio, all of it or (on any error) nothing."""
    summary = DemoSummary()
    document = resolve_dates(load(path), today())
    this_year = fiscal.year_of(today(), fiscal_start_month)
    with single_transaction(engine) as session:
        unit_ids: dict[str, int] = {}
        project_ids: dict[str, int] = {}
        for body in document["units"]:
            parent = body.pop("parent", None)
            commitments = body.pop("commitments", [])
            unit = unit_service.create(
                session=session,
                actor=actor,
                unit_in=UnitCreate.model_validate(
                    {**body, "parent_id": unit_ids[parent] if parent else None}
                ),
            )
            assert unit.id is not None
            unit_ids[unit.code] = unit.id
            summary.units += 1
            for commitment in commitments:
                year = commitment.pop("year")
                unit_service.put_commitment(
                    session=session,
                    actor=actor,
                    unit_id=unit.id,
                    year=this_year if year == "current" else year,
                    commitment_in=CommitmentIn.model_validate(commitment),
                    start_month=fiscal_start_month,
                )
                summary.commitments += 1
        for body in document["projects"]:
            criteria = body.pop("criteria", [])
            experiments = body.pop("experiments", [])
            timeline = body.pop("timeline", [])
            body["unit_id"] = unit_ids[body.pop("unit")]
            project = project_service.create(
                session=session,
                actor=actor,
                project_in=ProjectCreate.model_validate(_by_title(body, project_ids)),
            )
            summary.projects += 1
            assert project.id is not None
            project_ids[project.title] = project.id
            for change in timeline:  # dated changes, oldest first, as PATCHes
                project_service.update(
                    session=session,
                    actor=actor,
                    project_id=project.id,
                    project_in=ProjectUpdate.model_validate(_by_title(change, project_ids)),
                    expected_version=None,
                )
            _criteria(session, actor, criteria, summary, project_id=project.id)
            for experiment_body in experiments:
                experiment_criteria = experiment_body.pop("criteria", [])
                experiment = experiment_service.create(
                    session=session,
                    actor=actor,
                    experiment_in=ExperimentCreate.model_validate(
                        {**experiment_body, "project_id": project.id}
                    ),
                )
                summary.experiments += 1
                assert experiment.id is not None
                _criteria(session, actor, experiment_criteria, summary, experiment_id=experiment.id)
    return summary
