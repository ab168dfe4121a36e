"""Batch submission: up to 1,000 experiments with their criteria, all or nothing."""

from typing import Any

from pydantic import TypeAdapter
from sqlmodel import Field, Session, SQLModel

from app.auth.models import Actor
from app.core.contract import ResponseModel
from app.core.errors import FieldError, InvalidFields
from app.criteria import service as criteria_service
from app.criteria.models import CriterionCreate, CriterionPublic
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


def _first_example(model: Any) -> Any:
    return model.model_config["json_schema_extra"]["examples"][0]


def _result_example() -> dict[str, Any]:
    """One created experiment with one criterion, from the public models' own examples."""
    experiment: dict[str, Any] = _first_example(ExperimentPublic)
    criterion: dict[str, Any] = _first_example(CriterionPublic)
    criterion = {**criterion, "project_id": None, "experiment_id": experiment["id"]}
    return {
        "items": [{**experiment, "criteria": [criterion]}],
        "experiments_created": 1,
        "criteria_created": 1,
    }


class ExperimentBatchResult(ResponseModel):
    model_config = {"json_schema_extra": {"examples": [_result_example()]}}

    items: list[ExperimentWithCriteria] = Field(description="In the order of the request.")
    experiments_created: int = Field(description="Experiments created: the number of items.")
    criteria_created: int = Field(description="Criteria created, over all items.")


def submit(*, session: Session, actor: Actor, batch: ExperimentBatch) -> bytes:
    """Create every item in one transaction, or none; the answer as the JSON of
    `ExperimentBatchResult`.

    Set-based: one query resolves every referenced project (with the caller's scope), then
    experiments, their tags, criteria and history entries are each inserted with one
    batched statement, whatever the number of items, and one query reads the created
    experiments back as their public JSON.
    Every item is checked, so the 422 lists every failing one (`items.<index>.project_id`).
    """
    try:
        # Each item is an ExperimentCreate already (validated with the body).
        experiments_in: list[ExperimentCreate] = list(batch.items)
        units = experiment_service.writable_project_units(
            session=session, actor=actor, project_ids={e.project_id for e in experiments_in}
        )
        errors = [
            FieldError(
                field=f"items.{index}.project_id",
                location="body",
                message=f"project {experiment_in.project_id} does not exist",
                type="invalid",
            )
            for index, experiment_in in enumerate(experiments_in)
            if experiment_in.project_id not in units
        ]
        if errors:
            raise InvalidFields(errors)
        experiments = experiment_service.insert_many(
            session=session,
            actor=actor,
            experiments_in=[(e, units[e.project_id]) for e in experiments_in],
        )
        criteria = criteria_service.insert_many(
            session=session,
            actor=actor,
            criteria_in=[
                (criterion_in, experiment["id"])
                for item, experiment in zip(batch.items, experiments, strict=True)
                for criterion_in in item.criteria
            ],
        )
        # Rigour depends on the criteria just inserted: one query for all of them.
        rigour = experiment_service.rigour_by_id(
            session=session, ids=[experiment["id"] for experiment in experiments]
        )
        body = _result_json(experiments=experiments, rigour=rigour, criteria=criteria)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return body


_CRITERIA = TypeAdapter(list[CriterionPublic])
_ITEM_FIELDS = list(ExperimentWithCriteria.model_fields)
_RESULT = TypeAdapter(dict[str, Any])


def _result_json(
    *,
    experiments: list[dict[str, Any]],
    rigour: dict[int, dict[str, Any]],
    criteria: list[dict[str, Any]],
) -> bytes:
    """The JSON of `ExperimentBatchResult`, in one call into pydantic-core.

    The experiments are `insert_many`'s rows, already in JSON form, put in the model's
    field order. Validating 1,000 `ExperimentWithCriteria` (SQLModel validates each twice)
    and serializing them took 150 of the 1,000 ms a batch took in-process at size S (on a
    busy machine). Criteria are few and go through their public model."""
    owned: dict[int | None, list[Any]] = {}
    for criterion in _CRITERIA.validate_python(criteria):
        owned.setdefault(criterion.experiment_id, []).append(criterion)
    items = []
    for experiment in experiments:
        full = {
            **experiment,
            **rigour[experiment["id"]],
            "criteria": owned.get(experiment["id"], []),
        }
        items.append({name: full[name] for name in _ITEM_FIELDS})
    return _RESULT.dump_json(
        {"items": items, "experiments_created": len(items), "criteria_created": len(criteria)}
    )
