"""Version numbers and ETags: optimistic concurrency shared by every editable object."""

from app.core.db import AuditedFields, utcnow
from app.core.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def check_version(current: int, expected: int | None) -> None:
    """Compare If-Match with the row read under lock: two writers cannot both pass."""
    if expected is not None and expected != current:
        raise PreconditionFailed(current)


def touch(obj: AuditedFields) -> None:
    obj.version += 1
    obj.updated_at = utcnow()
