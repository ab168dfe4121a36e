"""Sets of enum values stored as one integer bitmask: the order is the enum's, fixed here.

Why a bitmask and not a JSON array column or a child table: a set is small (five values at
most) and closed, and what the database must do with it is "does it contain any of these"
(list filters) and "how many rows contain each value" (reports). On an integer that is
`mask & bits <> 0` and `count(CASE WHEN mask & bit <> 0 ...)`, the same SQL on SQLite and
PostgreSQL, inside the one scan the report already makes, with no `json_each` /
`jsonb_array_elements` (whose syntax and plans differ per backend) and no join. Bit `i` is
the enum's `i`-th member, so a decoded set is always in the listed order and never holds a
duplicate. Appending a member keeps stored masks valid; reordering or removing one does not
(that would need a migration).
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, case, func, literal

E = TypeVar("E", bound=StrEnum)


class FlagSet(Generic[E]):
    """The bits of one enum: encode, decode, and the SQL that reads them."""

    def __init__(self, enum_cls: type[E]) -> None:
        self.enum_cls = enum_cls
        self.members: tuple[E, ...] = tuple(enum_cls)
        self.bit: dict[E, int] = {member: 1 << index for index, member in enumerate(self.members)}

    def encode(self, values: Iterable[E | str]) -> int:
        mask = 0
        for value in values:
            mask |= self.bit[self.enum_cls(value)]
        return mask

    def decode(self, mask: int | None) -> list[E]:
        """The members set in ``mask``, in the enum's order."""
        return [member for member in self.members if (mask or 0) & self.bit[member]]

    def has_any(self, column: Any, values: Iterable[E | str]) -> ColumnElement[bool]:
        """SQL: the set in ``column`` contains at least one of ``values``."""
        return column.op("&")(literal(self.encode(values))) != 0

    def count_each(self, column: Any, prefix: str) -> list[Any]:
        """SQL: one ``<prefix><value>`` count per member of rows whose set contains it."""
        return [
            func.count(case((column.op("&")(literal(self.bit[m])) != 0, 1))).label(
                f"{prefix}{m.value}"
            )
            for m in self.members
        ]

    def json_sql(self, column: str) -> str:
        """PostgreSQL: the set in the SQL expression ``column`` as a JSON array of values,
        in the enum's order (like `decode`)."""
        values = ", ".join(f"({self.bit[m]}, '{m.value}')" for m in self.members)
        return (
            f"(SELECT coalesce(json_agg(flag.value ORDER BY flag.bit), '[]') "
            f"FROM (VALUES {values}) AS flag(bit, value) WHERE {column} & flag.bit <> 0)"
        )


def unique_sorted(enum_cls: type[E]) -> Any:
    """A Pydantic after-validator for a list of ``enum_cls``: a duplicate is an error, and
    the list comes back in the enum's order."""
    order = {member: index for index, member in enumerate(enum_cls)}

    def check(values: list[E] | None) -> list[E] | None:
        if values is None:
            return None
        seen: set[E] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{value.value!r} is listed twice")
            seen.add(value)
        return sorted(values, key=order.__getitem__)

    return check
