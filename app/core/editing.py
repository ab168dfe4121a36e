"""One editable row, read for a change, updated and archived the same way in every domain.

Each domain declares an `Editable` for its table; its `get`, `update` and `archive` go
through it, so the answers (404, 409 archived, 412/428 version) and what a change leaves
behind (version +1, `updated_at`, one history entry, the commit) cannot drift apart."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Literal, TypeVar

from sqlmodel import Session, select

from app.core.db import AuditedFields
from app.core.errors import Archived, InvalidField, NotFound
from app.core.history import service as history
from app.core.history.models import ChangeAction, EntityType
from app.core.versioning import check_version, touch

Row = TypeVar("Row", bound=AuditedFields)
# FOR UPDATE for a change of the row itself, FOR SHARE for a write under it.
Lock = Literal["update", "share"] | None


def check_required(changes: dict[str, Any], fields: Iterable[str]) -> None:
    """A partial update may leave out a required field, but not send it as null (422)."""
    for name in fields:
        if name in changes and changes[name] is None:
            raise InvalidField(name, "may not be null")


def check_merged(
    row: Any, changes: dict[str, Any], blame: str, rule: Callable[..., None], *fields: str
) -> None:
    """Run a cross-field rule of the models (a ValueError) on the values `fields` will have
    once `changes` apply to `row`; a broken rule is a 422 on `blame`."""
    try:
        rule(*(changes.get(name, getattr(row, name)) for name in fields))
    except ValueError as exc:
        raise InvalidField(blame, str(exc)) from None


def _no_owner(row: Any) -> dict[str, int | None]:
    return {}


@dataclass(frozen=True)
class Editable(Generic[Row]):
    model: type[Row]
    entity_type: EntityType
    # The end of the 409 on a write to an archived row, after "<label> <id> is archived".
    read_only: str
    # Loader options of `get` (e.g. the row's tags, read in the same round trip).
    options: tuple[Any, ...] = ()
    # The `project_id`/`experiment_id` its history entries carry, so they show in the
    # history of what the row belongs to.
    history_owner: Callable[[Any], dict[str, int | None]] = field(default=_no_owner)

    @property
    def label(self) -> str:
        return self.entity_type.value

    def get(
        self,
        session: Session,
        row_id: int,
        *,
        where: Any = None,
        lock: Lock = None,
        related: bool = True,
    ) -> Row:
        """The row, 404 if it does not exist or `where` (the caller's scope) rejects it;
        with its related rows (`options`) unless `related` is False (a caller that only
        checks the row, e.g. a criterion's owner on every measurement)."""
        model: Any = self.model
        statement = select(model).where(model.id == row_id)
        if related:
            statement = statement.options(*self.options)
        if where is not None:
            statement = statement.where(where)
        if lock is not None:
            statement = statement.with_for_update(of=model, read=lock == "share")
        row = session.exec(statement).first()
        if row is None:
            raise NotFound(f"{self.label} {row_id} does not exist")
        return row

    def check_writable(self, row: Row) -> None:
        if row.archived:
            raise Archived(f"{self.label} {self._id(row)} is archived{self.read_only}")

    def record_created(
        self,
        *,
        session: Session,
        actor: history.Actor,
        row: Row,
        changes: dict[str, Any],
        effective_on: date | None = None,
    ) -> None:
        """The history entry of a flushed new row: `changes` as `history.diff` gives them."""
        self._record(session, actor, row, ChangeAction.create, changes, effective_on)

    def _record(
        self,
        session: Session,
        actor: history.Actor,
        row: Row,
        action: ChangeAction,
        changes: dict[str, Any],
        effective_on: date | None = None,
    ) -> None:
        history.record(
            session=session,
            actor=actor,
            entity_type=self.entity_type,
            entity_id=self._id(row),
            action=action,
            changes=changes,
            effective_on=effective_on,
            **self.history_owner(row),
        )

    def update(
        self,
        *,
        session: Session,
        actor: history.Actor,
        row: Row,
        expected_version: int | None,
        change: Callable[[], dict[str, Any]],
        check_writable: Callable[[], None] | None = None,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        effective_on: Callable[[], date | None] | None = None,
    ) -> Row:
        """Change `row` (read FOR UPDATE) and commit: the archived check (default
        `check_writable`), then the version check, then `change`, which validates, applies
        and returns the history delta. Only a real change bumps the version, runs
        `on_change` with the delta and writes an entry, dated `effective_on()` when the
        change says when it took effect."""
        if check_writable is None:
            self.check_writable(row)
        else:
            check_writable()
        check_version(row.version, expected_version)
        delta = change()
        if delta:
            touch(row)
            if on_change is not None:
                on_change(delta)
            day = effective_on() if effective_on is not None else None
            self._record(session, actor, row, ChangeAction.update, delta, day)
        session.add(row)
        session.commit()
        return row

    def archive(
        self,
        *,
        session: Session,
        actor: history.Actor,
        row: Row,
        expected_version: int | None,
        check_writable: Callable[[], None] | None = None,
        before: Callable[[], None] | None = None,
    ) -> Row:
        """Archive `row` (read FOR UPDATE) and commit. Archiving again is a no-op (a
        retried DELETE) after the version check; archiving under an archived owner is a
        write under it (`check_writable`); `before` may still refuse (409)."""
        if not row.archived and check_writable is not None:
            check_writable()
        check_version(row.version, expected_version)
        if row.archived:
            return row
        if before is not None:
            before()
        # Kept, its version bumped, the change recorded.
        row.archived = True
        touch(row)
        self._record(session, actor, row, ChangeAction.archive, history.archived())
        session.add(row)
        session.commit()
        return row

    @staticmethod
    def _id(row: Any) -> int:
        assert row.id is not None
        return int(row.id)
