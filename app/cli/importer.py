"""`portfolio import experiments FILE`: a spreadsheet of experiments, all or nothing.

Each row is validated by ExperimentCreate and written by the experiments service, exactly
as `POST /api/v1/experiments` would; a row names its project by `project_id`. Every row is
tried (so one run lists every bad row), inside one transaction that is rolled back if any
row failed.

CSV: a header row with the API's field names; an empty cell means "not given"; the
determinant tags use the columns of the CSV export (`determinant_<name>` holds the effect,
`determinant_<name>_note` the note). JSON lines: one request body per line.
"""

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from app.auth.models import Actor
from app.core.db import single_transaction
from app.core.errors import CrossFieldError, DomainError, InvalidField
from app.determinants.models import DETERMINANT_COLUMNS, Determinant
from app.experiments import service as experiment_service
from app.experiments.models import ExperimentCreate

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = [name for name in ExperimentCreate.model_fields if name != "determinants"]


@dataclass
class RowError:
    row: int = 0
    field: str = "-"
    reason: str = ""


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def detect_format(path: Path) -> str:
    return "csv" if path.suffix.lower() in (".csv", ".tsv", ".txt") else "jsonl"


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # utf-8-sig: spreadsheet programs often start the file with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS + DETERMINANT_COLUMNS]
        if unknown:
            known = ", ".join(CSV_COLUMNS + DETERMINANT_COLUMNS)
            raise ImportFailed(
                [RowError(1, name, f"unknown column; the columns are: {known}") for name in unknown]
            )
        for record in reader:
            # Row numbers as a spreadsheet shows them: the header is row 1.
            row_number = reader.line_num
            cells = {k: v.strip() for k, v in record.items() if k is not None and v and v.strip()}
            if None in record:
                raise ImportFailed([RowError(row_number, "-", "more cells than header columns")])
            body: dict[str, Any] = {k: v for k, v in cells.items() if k in CSV_COLUMNS}
            tags = []
            for determinant in Determinant:
                effect = cells.get(f"determinant_{determinant.value}")
                note = cells.get(f"determinant_{determinant.value}_note")
                if effect or note:
                    tags.append({"determinant": determinant.value, "effect": effect, "note": note})
            if tags:
                body["determinants"] = tags
            yield row_number, body


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_number, RowError(line_number, "-", f"not valid JSON: {exc.msg}")


def read_rows(path: Path, file_format: str) -> list[tuple[int, Any]]:
    rows = _csv_rows(path) if file_format == "csv" else _jsonl_rows(path)
    return list(rows)


def _field(error: Any) -> str:
    # A rule comparing fields names the field to blame, as in the API's 422.
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, CrossFieldError):
        return cause.field
    return ".".join(str(part) for part in error["loc"]) or "-"


def _validation_errors(row_number: int, exc: ValidationError) -> list[RowError]:
    return [
        RowError(row_number, _field(error), str(error["msg"]).removeprefix("Value error, "))
        for error in exc.errors()
    ]


def _domain_errors(row_number: int, exc: DomainError) -> list[RowError]:
    if isinstance(exc, InvalidField):
        return [RowError(row_number, e.field, e.message) for e in exc.errors]
    return [RowError(row_number, "-", exc.detail)]


def import_experiments(
    *,
    engine: Engine,
    actor: Actor,
    rows: list[tuple[int, Any]],
    advance: Callable[[], None] = lambda: None,
) -> int:
    """Create one experiment per row; raise ImportFailed (nothing written) on any bad row."""
    errors: list[RowError] = []
    with single_transaction(engine) as session:
        for row_number, body in rows:
            advance()
            if isinstance(body, RowError):
                errors.append(body)
                continue
            if not isinstance(body, dict):
                errors.append(RowError(row_number, "-", "expected a JSON object"))
                continue
            try:
                experiment_in = ExperimentCreate.model_validate(body)
                experiment_service.create(session=session, actor=actor, experiment_in=experiment_in)
            except ValidationError as exc:
                errors.extend(_validation_errors(row_number, exc))
            except DomainError as exc:
                # Drops this row's savepoint only; the next rows are still checked.
                session.rollback()
                errors.extend(_domain_errors(row_number, exc))
        if errors:
            raise ImportFailed(errors)
    return len(rows)
