"""The filter clauses the lists share, each from one query parameter.

Every helper returns a SQL condition, or None when its parameter was not given, and
`narrowed` adds the conditions that are there. A list's service then reads as the list of
its filters. `OwnedRows` holds what the lists of rows owned by a unit have in common
(scope, subtree, `updated_since`, archived, determinant tags); the unit tree's SQL and the
tag table belong to domains, so the caller passes them in.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false

from app.core.flags import FlagSet

Clause = ColumnElement[bool] | None
StatementT = TypeVar("StatementT")
# `units.service.in_subtree`: (column, root unit id, CTE name) -> the column is in the subtree.
InSubtree = Callable[..., ColumnElement[bool]]
# (determinants or None for any, effect or None) -> the row has such a tag.
Tagged = Callable[[list[Any] | None, Any], ColumnElement[bool]]


def narrowed(statement: StatementT, clauses: Iterable[Clause]) -> StatementT:
    """`statement` with every given condition added (AND)."""
    for clause in clauses:
        if clause is not None:
            statement = statement.where(clause)  # type: ignore[attr-defined]
    return statement


def any_of(column: Any, values: list[Any] | None) -> Clause:
    """Repeated values of one enum filter combine with OR."""
    return column.in_(values) if values else None


def equal(column: Any, value: Any) -> Clause:
    return column == value if value is not None else None


def at_or_after(column: Any, moment: datetime | date | None) -> Clause:
    return column >= moment if moment is not None else None


def before(column: Any, moment: datetime | date | None) -> Clause:
    return column < moment if moment is not None else None


def has_any(flags: FlagSet[Any], mask_column: Any, values: list[Any] | None) -> Clause:
    """A set stored as a bitmask (`app.core.flags`) contains at least one of `values`."""
    return flags.has_any(mask_column, values) if values else None


def live(archived_column: Any, include_archived: bool) -> Clause:
    """Archived rows are left out unless asked for."""
    return None if include_archived else archived_column == false()


def scoped(
    in_subtree: InSubtree, unit_column: Any, scope_unit_id: int | None, unit_id: int | None
) -> list[Clause]:
    """The caller's scope (a unit key sees its subtree) and the `unit_id` filter (a unit
    and its subtree). Named CTEs, so both may stand in one statement."""
    return [
        in_subtree(unit_column, scope_unit_id, "scope") if scope_unit_id is not None else None,
        in_subtree(unit_column, unit_id) if unit_id is not None else None,
    ]


@dataclass(frozen=True)
class OwnedRows:
    """The filters every list of unit-owned rows has, over `model`: a table with `unit_id`
    and the audited `updated_at` and `archived`; the domain SQL comes in as functions."""

    model: Any
    in_subtree: InSubtree
    tagged: Tagged

    def clauses(
        self,
        *,
        scope_unit_id: int | None,
        unit_id: int | None = None,
        determinant: list[Any] | None = None,
        effect: Any = None,
        updated_since: datetime | None = None,
        include_archived: bool = False,
    ) -> list[Clause]:
        return [
            *scoped(self.in_subtree, self.model.unit_id, scope_unit_id, unit_id),
            self.tagged(determinant, effect) if determinant or effect else None,
            at_or_after(self.model.updated_at, updated_since),
            live(self.model.archived, include_archived),
        ]

    def narrowed(
        self,
        statement: StatementT,
        own: Iterable[Clause],
        *,
        scope_unit_id: int | None,
        **shared: Any,
    ) -> StatementT:
        """`statement` narrowed by the caller's scope and the `shared` filters (`clauses`),
        then by the list's `own` clauses."""
        return narrowed(statement, [*self.clauses(scope_unit_id=scope_unit_id, **shared), *own])
