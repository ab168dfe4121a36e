"""Determinant tags are owned by a project or an experiment and replaced as a whole."""

from typing import Any

from sqlalchemy import exists
from sqlmodel import Session, col

from app.determinants.models import Determinant, DeterminantTag, DeterminantTagIn
from app.history.service import plain


def as_dicts(tags: list[DeterminantTag]) -> list[dict[str, Any]]:
    return [{"determinant": t.determinant, "effect": t.effect, "note": t.note} for t in tags]


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
