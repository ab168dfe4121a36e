"""Batch submission: up to 1,000 experiments with their criteria, all or nothing."""

from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel

from app.api_keys.models import Actor
from app.criteria import service as criteria_service
from app.criteria.models import CriterionCreate, CriterionPublic
from app.errors import FieldError, Forbidden, InvalidField, InvalidFields
from app.experiments import service as experiment_service
from app.experiments.models import ExperimentCreate, ExperimentPublic

MAX_ITEMS = 1000
MAX_CRITERIA_PER_ITEM = 100


class ExperimentBatchItem(ExperimentCreate):
    criteria: list[CriterionCreate] = Field(
        default=[],
        max_length=MAX_CRITERIA_PER_ITEM,
        description="Success criteria to create under this experiment.",
    )


class ExperimentBatch(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "project_id": 7,
                            "title": "Pre-filled return, 500 sole traders",
                            "hypothesis": "Pre-filling cuts filing time by a third",
                            "method": "rct",
                            "criteria": [
                                {
                                    "metric": "Minutes to file",
                                    "kind": "outcome",
                                    "baseline": 45,
                                    "target": 30,
                                    "direction": "decrease",
                                }
                            ],
                        }
                    ]
                }
            ]
        },
    }

    items: list[ExperimentBatchItem] = Field(min_length=1, max_length=MAX_ITEMS)


class ExperimentWithCriteria(ExperimentPublic):
    criteria: list[CriterionPublic]


class ExperimentBatchResult(BaseModel):
    items: list[ExperimentWithCriteria] = Field(description="In the order of the request.")
    experiments_created: int
    criteria_created: int


def submit(*, session: Session, actor: Actor, batch: ExperimentBatch) -> ExperimentBatchResult:
    """Create every item in one transaction, or none.

    Every item is tried, so the 422 lists every failing one (`items.<index>.<field>`); an
    item outside a submitter's unit rejects the whole batch with 403.
    """
    errors: list[FieldError] = []
    created: list[ExperimentWithCriteria] = []
    criteria_count = 0
    try:
        for index, item in enumerate(batch.items):
            experiment_in = ExperimentCreate.model_validate(item.model_dump(exclude={"criteria"}))
            try:
                experiment = experiment_service.build(
                    session=session, actor=actor, experiment_in=experiment_in
                )
            except InvalidField as exc:
                errors.extend(
                    error.model_copy(update={"field": f"items.{index}.{error.field}"})
                    for error in exc.errors
                )
                continue
            except Forbidden as exc:
                raise Forbidden(f"items.{index}.{exc.detail}") from None
            if errors:
                continue  # nothing will be written; only look for more failing items
            criteria = [
                criteria_service.build(
                    session=session, actor=actor, criterion_in=criterion_in, owner=experiment
                )
                for criterion_in in item.criteria
            ]
            criteria_count += len(criteria)
            created.append(
                ExperimentWithCriteria.model_validate(
                    {
                        **experiment_service.to_public(experiment).model_dump(),
                        "criteria": [criteria_service.to_public(c) for c in criteria],
                    }
                )
            )
        if errors:
            raise InvalidFields(errors)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ExperimentBatchResult(
        items=created, experiments_created=len(created), criteria_created=criteria_count
    )
