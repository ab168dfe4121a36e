"""Units: the organization's tree of departments, branches and labs."""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.api import listing
from app.auth.models import Actor
from app.core import filters, fiscal
from app.core.contract import money_text
from app.core.editing import Editable, check_required
from app.core.errors import Conflict, Forbidden, InvalidField, NotFound
from app.core.history import service as history
from app.core.history.models import ChangeAction, EntityType
from app.core.hooks import Hook
from app.core.pagination import PageParams
from app.units.models import (
    CommitmentIn,
    CommitmentList,
    CommitmentPublic,
    Unit,
    UnitCommitment,
    UnitCreate,
    UnitKind,
    UnitUpdate,
)

# A unit tree has at most this many levels (a root is level 1); creating or moving a unit
# deeper is a 422. Organizations have a handful of levels (the demo has 3), so 64 is room to
# spare. Subtree queries follow no more levels than this: a cycle in `parent_id` (refused
# by `update`, under `TREE_LOCK`; it could only come from hand-written SQL) then costs a
# query 64 passes round it instead of running until the statement timeout.
MAX_UNIT_LEVELS = 64
# Key of the PostgreSQL advisory lock that serializes changes to the shape of the tree
# (a unit created under a parent or moved): two concurrent moves could each pass the cycle
# check against the other's uncommitted state and together close a loop.
TREE_LOCK = 0x756E6974  # "unit"

UNITS = Editable(Unit, EntityType.unit, read_only=" and read-only")


def _subtree(root_id: int, name: str) -> Any:
    """Recursive CTE of (id, depth) for ``root_id`` (depth 0) and its descendants."""
    tree = (
        sa_select(col(Unit.id), literal(0).label("depth"))
        .where(col(Unit.id) == root_id)
        .cte(name, recursive=True)
    )
    return tree.union_all(
        sa_select(col(Unit.id), tree.c.depth + 1).where(
            col(Unit.parent_id) == tree.c.id, tree.c.depth < MAX_UNIT_LEVELS - 1
        )
    )


def subtree_ids(root_id: int, name: str = "subtree") -> Any:
    """SELECT of the ids of ``root_id`` and all its descendants (recursive CTE, at most
    `MAX_UNIT_LEVELS` levels)."""
    return sa_select(_subtree(root_id, name).c.id)


def in_subtree(column: Any, root_id: int, name: str = "subtree") -> ColumnElement[bool]:
    return column.in_(subtree_ids(root_id, name))


def subtree_id_set(*, session: Session, root_id: int) -> set[int]:
    return set(session.execute(subtree_ids(root_id)).scalars())


def scope_clause(column: Any, actor: Actor) -> ColumnElement[bool] | None:
    """Rows whose unit (`column`) a submitter may see: its own subtree. None for everyone
    else."""
    if actor.scope_unit_id is None:
        return None
    return in_subtree(column, actor.scope_unit_id, "scope")


def history_visibility(
    *, session: Session, actor: Actor, unit_id: int
) -> history.Visibility | None:
    """What a submitter sees in full of a unit's history: the entries written while the
    unit was in its subtree (by where its parents are in the tree now). Its own unit's
    entries are all its own. Everyone else sees everything. 404 unless the caller may read
    the unit."""
    unit = get(session=session, actor=actor, unit_id=unit_id)
    if unit.id == actor.scope_unit_id:
        return None
    assert unit.id is not None
    return scope_visibility(
        session=session,
        actor=actor,
        entity_type=EntityType.unit,
        entity_id=unit.id,
        field="parent_id",
        current=unit.parent_id,
    )


def scope_visibility(
    *,
    session: Session,
    actor: Actor,
    entity_type: EntityType,
    entity_id: int,
    field: str,
    current: int | None,
) -> history.Visibility | None:
    """For a submitter, the entries of an entity written while its `field` (a unit id)
    was in the submitter's subtree (`history.visible_while`); None (all) for everyone else."""
    root = actor.scope_unit_id
    if root is None:
        return None
    return history.visible_while(
        session=session,
        entity_type=entity_type,
        entity_id=entity_id,
        field=field,
        current=current,
        allowed=subtree_id_set(session=session, root_id=root),
    )


def is_in_subtree(*, session: Session, unit_id: int, root_id: int) -> bool:
    statement = select(Unit.id).where(col(Unit.id) == unit_id, in_subtree(Unit.id, root_id))
    return session.exec(statement).first() is not None


def _level(session: Session, unit_id: int) -> int:
    """The level of a unit in its tree: 1 for a root (at most `MAX_UNIT_LEVELS` + 1)."""
    up = (
        sa_select(col(Unit.parent_id), literal(1).label("level"))
        .where(col(Unit.id) == unit_id)
        .cte("ancestors", recursive=True)
    )
    up = up.union_all(
        sa_select(col(Unit.parent_id), up.c.level + 1).where(
            col(Unit.id) == up.c.parent_id, up.c.level <= MAX_UNIT_LEVELS
        )
    )
    return int(session.execute(sa_select(func.max(up.c.level))).scalar_one() or 1)


def _height(session: Session, unit_id: int) -> int:
    """Levels below a unit in its subtree (0 for a leaf)."""
    tree = _subtree(unit_id, "below")
    return int(session.execute(sa_select(func.max(tree.c.depth))).scalar_one() or 0)


def _check_tree_shape(session: Session, parent_id: int, unit_id: int | None = None) -> None:
    """Under `TREE_LOCK`: the unit (with its subtree) under ``parent_id`` makes no cycle
    and no tree deeper than `MAX_UNIT_LEVELS`."""
    if unit_id is not None and is_in_subtree(session=session, unit_id=parent_id, root_id=unit_id):
        raise InvalidField("parent_id", "would make the unit its own ancestor (a cycle)")
    height = 0 if unit_id is None else _height(session, unit_id)
    if _level(session, parent_id) + 1 + height > MAX_UNIT_LEVELS:
        raise InvalidField(
            "parent_id", f"would make the unit tree deeper than {MAX_UNIT_LEVELS} levels"
        )


def lock_tree(session: Session) -> None:
    """Serialize changes to the tree's shape until this transaction ends (PostgreSQL);
    taken before any unit row lock, so it never waits while holding one. SQLite's writes
    already run one at a time (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa_select(func.pg_advisory_xact_lock(TREE_LOCK)))


def check_in_scope(*, session: Session, actor: Actor, unit_id: int, field: str) -> None:
    """A submitter may only place things in its own subtree (403 whether or not it exists)."""
    root = actor.scope_unit_id
    if root is not None and not is_in_subtree(session=session, unit_id=unit_id, root_id=root):
        raise Forbidden(f"{field}: unit {unit_id} is outside the unit this key is bound to")


def get_active(*, session: Session, unit_id: int, field: str) -> Unit:
    """Resolve a unit referenced from a request body (422 naming the field if unusable)."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.archived:
        raise InvalidField(field, f"unit {unit_id} does not exist")
    return unit


def get(*, session: Session, actor: Actor, unit_id: int, for_update: bool = False) -> Unit:
    return UNITS.get(
        session,
        unit_id,
        where=scope_clause(Unit.id, actor),
        lock="update" if for_update else None,
    )


def list_units(
    *,
    session: Session,
    actor: Actor,
    params: PageParams,
    kind: list[UnitKind] | None,
    parent_id: int | None,
    unit_id: int | None,
    include_archived: bool,
) -> tuple[list[Unit], str | None]:
    statement = filters.narrowed(
        select(Unit),
        [
            *filters.scoped(in_subtree, Unit.id, actor.scope_unit_id, unit_id),
            filters.any_of(col(Unit.kind), kind),
            filters.equal(col(Unit.parent_id), parent_id),
            filters.live(col(Unit.archived), include_archived),
        ],
    )
    return listing.entity_page(session, statement, Unit.id, params)


def _check_code_free(session: Session, code: str, except_id: int | None = None) -> None:
    statement = select(Unit.id).where(func.lower(Unit.code) == code.lower())
    if except_id is not None:
        statement = statement.where(Unit.id != except_id)
    if session.exec(statement).first() is not None:
        raise Conflict(f"code: a unit with code '{code}' already exists")


def create(*, session: Session, actor: Actor, unit_in: UnitCreate) -> Unit:
    if unit_in.parent_id is not None:
        lock_tree(session)
    _check_code_free(session, unit_in.code)
    if unit_in.parent_id is not None:
        get_active(session=session, unit_id=unit_in.parent_id, field="parent_id")
        _check_tree_shape(session, unit_in.parent_id)
    unit = Unit.model_validate(unit_in)
    session.add(unit)
    session.flush()
    UNITS.record_created(
        session=session, actor=actor, row=unit, changes=history.diff({}, unit_in.model_dump())
    )
    session.commit()
    return unit


def update(
    *,
    session: Session,
    actor: Actor,
    unit_id: int,
    unit_in: UnitUpdate,
    expected_version: int | None,
) -> Unit:
    if unit_in.parent_id is not None:
        lock_tree(session)
    unit = get(session=session, actor=actor, unit_id=unit_id, for_update=True)

    def change() -> dict[str, Any]:
        changes = unit_in.model_dump(exclude_unset=True)
        check_required(changes, ("code", "name", "kind"))
        if changes.get("code"):
            _check_code_free(session, changes["code"], except_id=unit_id)
        if changes.get("parent_id") is not None:
            parent_id = changes["parent_id"]
            get_active(session=session, unit_id=parent_id, field="parent_id")
            _check_tree_shape(session, parent_id, unit_id)
        before = unit.model_dump()
        unit.sqlmodel_update(changes)
        return history.diff(before, changes)

    return UNITS.update(
        session=session, actor=actor, row=unit, expected_version=expected_version, change=change
    )


# Non-archived projects in a unit's subtree, which keep it from being archived: projects sit
# above units, so they install the count (`projects.service`).
live_projects_under: Hook[Callable[[Session, int], int]] = Hook(
    "units.service.live_projects_under", provider="app.projects.service"
)


def archive(*, session: Session, actor: Actor, unit_id: int, expected_version: int | None) -> Unit:
    unit = get(session=session, actor=actor, unit_id=unit_id, for_update=True)

    def nothing_live_below() -> None:
        # Nothing live may stay under an archived unit: no non-archived project anywhere
        # in its subtree, and no non-archived unit below it.
        projects = live_projects_under.value(session, unit_id)
        descendants = session.exec(
            select(func.count())
            .select_from(Unit)
            .where(
                in_subtree(Unit.id, unit_id), col(Unit.id) != unit_id, col(Unit.archived).is_(False)
            )
        ).one()
        if projects or descendants:
            raise Conflict(
                f"unit {unit_id} still has {projects} non-archived project(s) in its subtree "
                f"and {descendants} non-archived unit(s) below it; archive or move them first"
            )

    return UNITS.archive(
        session=session,
        actor=actor,
        row=unit,
        expected_version=expected_version,
        before=nothing_live_below,
    )


# --- commitments ----------------------------------------------------------------------

CENT = Decimal("0.01")


def target_amount(program_funds: Decimal, target_share: float) -> Decimal:
    # The share goes through its shortest decimal text, so 0.05 x 100 is exactly 5.00.
    return (program_funds * Decimal(repr(target_share))).quantize(CENT, rounding=ROUND_HALF_UP)


def commitment_public(commitment: UnitCommitment, *, start_month: int) -> CommitmentPublic:
    starts_on, next_start = fiscal.bounds(commitment.year, start_month)
    return CommitmentPublic(
        unit_id=commitment.unit_id,
        year=commitment.year,
        starts_on=starts_on,
        ends_on=next_start.fromordinal(next_start.toordinal() - 1),
        program_funds=commitment.program_funds,
        target_share=commitment.target_share,
        target_amount=target_amount(commitment.program_funds, commitment.target_share),
    )


def _commitment(session: Session, unit_id: int, year: int) -> UnitCommitment | None:
    statement = select(UnitCommitment).where(
        UnitCommitment.unit_id == unit_id, UnitCommitment.year == year
    )
    return session.exec(statement).first()


def _commitment_view(commitment: UnitCommitment | None) -> dict[str, Any] | None:
    if commitment is None:
        return None
    return {
        "program_funds": money_text(commitment.program_funds),
        "target_share": commitment.target_share,
    }


def _record_commitment(
    *,
    session: Session,
    actor: Actor,
    unit_id: int,
    year: int,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    """A change of commitment is a change of its unit: it shows in the unit's history."""
    history.record(
        session=session,
        actor=actor,
        entity_type=EntityType.unit,
        entity_id=unit_id,
        action=ChangeAction.update,
        changes={f"commitments.{year}": {"old": old, "new": new}},
    )


def list_commitments(
    *, session: Session, actor: Actor, unit_id: int, start_month: int
) -> CommitmentList:
    get(session=session, actor=actor, unit_id=unit_id)
    statement = (
        select(UnitCommitment)
        .where(UnitCommitment.unit_id == unit_id)
        .order_by(col(UnitCommitment.year))
    )
    return CommitmentList(
        items=[
            commitment_public(commitment, start_month=start_month)
            for commitment in session.exec(statement)
        ]
    )


def get_commitment(
    *, session: Session, actor: Actor, unit_id: int, year: int, start_month: int
) -> CommitmentPublic:
    get(session=session, actor=actor, unit_id=unit_id)
    commitment = _commitment(session, unit_id, year)
    if commitment is None:
        raise NotFound(f"unit {unit_id} has no commitment for {year}")
    return commitment_public(commitment, start_month=start_month)


def put_commitment(
    *,
    session: Session,
    actor: Actor,
    unit_id: int,
    year: int,
    commitment_in: CommitmentIn,
    start_month: int,
) -> tuple[CommitmentPublic, bool]:
    """Create or replace the unit's commitment for `year`; True when it was created."""
    unit = get(session=session, actor=actor, unit_id=unit_id, for_update=True)
    if unit.archived:
        raise NotFound(f"unit {unit_id} is archived")
    commitment = _commitment(session, unit_id, year)
    created = commitment is None
    old = _commitment_view(commitment)
    if commitment is None:
        commitment = UnitCommitment(unit_id=unit_id, year=year, **commitment_in.model_dump())
    else:
        commitment.program_funds = commitment_in.program_funds
        commitment.target_share = commitment_in.target_share
    new = _commitment_view(commitment)
    if old != new:
        session.add(commitment)
        _record_commitment(
            session=session, actor=actor, unit_id=unit_id, year=year, old=old, new=new
        )
    session.commit()
    return commitment_public(commitment, start_month=start_month), created


def delete_commitment(*, session: Session, actor: Actor, unit_id: int, year: int) -> None:
    get(session=session, actor=actor, unit_id=unit_id, for_update=True)
    commitment = _commitment(session, unit_id, year)
    if commitment is None:
        raise NotFound(f"unit {unit_id} has no commitment for {year}")
    _record_commitment(
        session=session,
        actor=actor,
        unit_id=unit_id,
        year=year,
        old=_commitment_view(commitment),
        new=None,
    )
    session.delete(commitment)
    session.commit()
