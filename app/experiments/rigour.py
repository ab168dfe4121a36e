"""An experiment's rigour, computed in SQL when it is read, never stored.

The `baseline` feature depends on the experiment's criteria (a non-archived outcome
criterion with a baseline), so a stored copy would go stale whenever a criterion is added,
changed or archived. Every reader (single items, list pages in both backends, the CSV, the
filter `rigour_min`, the experimentation report and the public register) takes the rule from
the expressions below, so there is one definition of each feature.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, exists, false, literal_column, select, true
from sqlalchemy.dialects import postgresql

from app.criteria.models import Criterion, CriterionKind
from app.experiments.models import Comparison, Experiment, RigourFeature

CRITERIA: Table = Criterion.__table__  # type: ignore[attr-defined]
COMPARED = (Comparison.comparison_group, Comparison.randomized)


def baseline_conditions(criteria: Any) -> list[ColumnElement[bool]]:
    """The conditions on a criterion (a row of `criteria`, a table or alias) that give its
    experiment the `baseline` feature."""
    return [
        criteria.c.kind == CriterionKind.outcome,
        criteria.c.archived == false(),
        criteria.c.baseline.is_not(None),
        criteria.c.experiment_id.is_not(None),
    ]


def baseline_criteria() -> Any:
    """SELECT of the experiment ids that have a live outcome criterion with a baseline."""
    return select(CRITERIA.c.experiment_id).where(*baseline_conditions(CRITERIA))


def has_baseline(experiments: Any) -> ColumnElement[bool]:
    """The `baseline` feature of each row of `experiments`, as a correlated EXISTS: an
    index lookup per row (ix_criteria_kind_experiment), cheap for a page or a filter."""
    return exists(
        baseline_criteria().where(CRITERIA.c.experiment_id == experiments.c.id)
    ).correlate(experiments)


def conditions(experiments: Any, baseline: ColumnElement[bool]) -> dict[str, ColumnElement[bool]]:
    """Each feature as a condition on `experiments` (a table or alias), in order; `baseline`
    is `has_baseline(experiments)` or an equivalent the caller joined in."""
    return {
        RigourFeature.baseline.value: baseline,
        RigourFeature.comparison.value: experiments.c.comparison.in_(COMPARED),
        RigourFeature.randomized.value: experiments.c.comparison == Comparison.randomized,
        RigourFeature.preregistered.value: and_(
            experiments.c.preregistered_on.is_not(None),
            experiments.c.started_on.is_not(None),
            experiments.c.preregistered_on <= experiments.c.started_on,
        ),
        RigourFeature.independent.value: experiments.c.independent_evaluation == true(),
    }


def score(experiments: Any, baseline: ColumnElement[bool] | None = None) -> ColumnElement[int]:
    """The rigour (0-5) as an SQL expression."""
    held = conditions(experiments, has_baseline(experiments) if baseline is None else baseline)
    total: Any = None
    for condition in held.values():
        term = case((condition, 1), else_=0)
        total = term if total is None else total + term
    return total  # type: ignore[no-any-return]


FLAG_PREFIX = "rigour_"


def flag_columns(experiments: Any, baseline: ColumnElement[bool] | None = None) -> list[Any]:
    """One 0/1 column per feature, labelled `rigour_<feature>`, for rows read in Python;
    `baseline` as in `score`."""
    held = conditions(experiments, has_baseline(experiments) if baseline is None else baseline)
    return [
        case((condition, 1), else_=0).label(FLAG_PREFIX + name) for name, condition in held.items()
    ]


def from_flags(row: Mapping[Any, Any]) -> dict[str, Any]:
    """`rigour` and `rigour_features` from a row carrying `flag_columns`."""
    held = [feature for feature in RigourFeature if row[FLAG_PREFIX + feature.value]]
    return {"rigour": len(held), "rigour_features": [feature.value for feature in held]}


def _postgresql(expression: Any) -> str:
    compiled = expression.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def json_sql(alias: str) -> dict[str, str]:
    """PostgreSQL text of `rigour` and `rigour_features` over the rows aliased `alias`, for
    list pages whose JSON the database builds (app.api.json_pages)."""
    experiments = Experiment.__table__.alias(alias)  # type: ignore[attr-defined]
    # Correlated by name: compiled on its own, an EXISTS would list the alias in its FROM.
    baseline = exists(
        baseline_criteria().where(CRITERIA.c.experiment_id == literal_column(f"{alias}.id"))
    )
    held = conditions(experiments, baseline)
    names = ", ".join(
        f"CASE WHEN {_postgresql(condition)} THEN '{name}' END" for name, condition in held.items()
    )
    return {
        "rigour": f"({_postgresql(score(experiments, baseline))})",
        "rigour_features": f"array_remove(ARRAY[{names}]::text[], NULL)",
    }
