"""Determinant tags are owned by a project or an experiment and replaced as a whole."""

from typing import Any

from sqlalchemy import exists, select
from sqlmodel import Session, col

from app.api import json_pages, listing
from app.core.history.service import plain
from app.determinants.models import (
    DETERMINANT_COLUMNS,
    Determinant,
    DeterminantTag,
    DeterminantTagIn,
)


def as_dicts(tags: list[DeterminantTag]) -> list[dict[str, Any]]:
    return [{"determinant": t.determinant, "effect": t.effect, "note": t.note} for t in tags]


def dicts_by_owner(
    *, session: Session, owner_column: Any, owner_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """The tags of many owners in one query, as `as_dicts` gives them, by owner id."""
    by_owner: dict[int, list[dict[str, Any]]] = {}
    if not owner_ids:
        return by_owner
    statement = (
        select(
            owner_column,
            col(DeterminantTag.determinant),
            col(DeterminantTag.effect),
            col(DeterminantTag.note),
        )
        .where(owner_column.in_(owner_ids))
        .order_by(col(DeterminantTag.id))
    )
    for owner_id, determinant, effect, note in session.execute(statement):
        by_owner.setdefault(owner_id, []).append(
            {"determinant": determinant, "effect": effect, "note": note}
        )
    return by_owner


def replace(*, session: Session, owner: Any, tags: list[DeterminantTagIn]) -> None:
    """Delete, flush, then insert: the unit of work would otherwise insert a tag before
    deleting the one it replaces and trip the one-per-determinant constraint."""
    owner.determinant_tags.clear()
    session.flush()
    owner.determinant_tags.extend(new_tags(tags))


def new_tags(tags: list[DeterminantTagIn]) -> list[DeterminantTag]:
    return [DeterminantTag(**t.model_dump()) for t in tags]


def changed(old: list[DeterminantTag], new: list[DeterminantTagIn]) -> bool:
    return plain(as_dicts(old)) != plain([t.model_dump() for t in new])


def has_determinant_clause(
    tag_owner_column: Any, owner_id_column: Any, determinants: list[Determinant], effect: Any
) -> Any:
    clause = exists().where(
        tag_owner_column == owner_id_column, col(DeterminantTag.determinant).in_(determinants)
    )
    if effect is not None:
        clause = clause.where(DeterminantTag.effect == effect)
    return clause


def list_field(owner_column: Any) -> listing.Tags:
    """The `determinants` of a list's items (`app.api.listing`), tagged through
    `owner_column` (`DeterminantTag.project_id` or `.experiment_id`)."""
    return listing.Tags(
        sql_text=json_pages.tags_sql(owner_column.key),
        load_page=lambda session, ids: dicts_by_owner(
            session=session, owner_column=owner_column, owner_ids=ids
        ),
        csv_columns=tuple(DETERMINANT_COLUMNS),
    )


def filter_on(owner_column: Any, owner_id_column: Any) -> Any:
    """The list filter `determinant` (any of, default any) with `effect`, for
    `app.core.filters.OwnedRows`."""

    def tagged(determinants: list[Determinant] | None, effect: Any) -> Any:
        return has_determinant_clause(
            owner_column, owner_id_column, determinants or list(Determinant), effect
        )

    return tagged
