"""`portfolio import experiments FILE`: a spreadsheet of experiments, all or nothing.

Each row is validated by ExperimentCreate and written by the experiments service, exactly
as `POST /api/v1/experiments` would; a row names its project by `project_id`. Every row is
tried (so one run lists every bad row), inside one transaction that is rolled back if any
row failed.

CSV: a header row with the API's field names; an empty cell means "not given"; the
determinant tags use the columns of the CSV export (`determinant_<name>` holds the effect,
`determinant_<name>_note` the note). A file exported by `GET /experiments` with
`Accept: text/csv` imports as it is: the columns only the server sets are ignored, and a
cell the export defused as a formula (`'=...`) gets its text back. Errors name CSV columns.
JSON lines: one request body per line; errors name the body's fields.
"""

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from app.api.csv_export import is_formula
from app.auth.models import Actor
from app.core.db import single_transaction
from app.core.errors import CrossFieldError, DomainError, InvalidField
from app.determinants.models import DETERMINANT_COLUMNS, Determinant
from app.experiments import service as experiment_service
from app.experiments.models import ExperimentCreate

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = [name for name in ExperimentCreate.model_fields if name != "determinants"]
# The export's columns that only the server sets (id, unit_id, created_at, updated_at,
# version, archived): accepted, so an export imports back, and ignored.
SERVER_SET_COLUMNS = [
    name
    for name in experiment_service.LIST.csv_columns
    if name not in CSV_COLUMNS and name not in DETERMINANT_COLUMNS
]
KNOWN_COLUMNS = CSV_COLUMNS + DETERMINANT_COLUMNS + SERVER_SET_COLUMNS


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
        unknown = [c for c in reader.fieldnames or [] if c not in KNOWN_COLUMNS]
        if unknown:
            known = ", ".join(CSV_COLUMNS + DETERMINANT_COLUMNS)
            raise ImportFailed(
                [RowError(1, name, f"unknown column; the columns are: {known}") for name in unknown]
            )
        for record in reader:
            # Row numbers as a spreadsheet shows them: the header is row 1.
            row_number = reader.line_num
            cells = {
                k: _undefused(v.strip())
                for k, v in record.items()
                if k is not None and v and v.strip()
            }
            if None in record:
                raise ImportFailed([RowError(row_number, "-", "more cells than header columns")])
            body: dict[str, Any] = {k: v for k, v in cells.items() if k in CSV_COLUMNS}
            # A CSV cell is text; the API reads ids strictly (no "3" for 3), so a cell of
            # digits becomes the integer it spells. Anything else is left to the model's
            # error ("Input should be a valid integer").
            if body.get("project_id", "").isdigit():
                body["project_id"] = int(body["project_id"])
            tags = []
            for determinant in Determinant:
                effect = cells.get(f"determinant_{determinant.value}")
                note = cells.get(f"determinant_{determinant.value}_note")
                if effect or note:
                    tags.append({"determinant": determinant.value, "effect": effect, "note": note})
            if tags:
                body["determinants"] = tags
            yield row_number, body


def _undefused(value: str) -> str:
    """The text of a cell the CSV export defused (`'=1+1` was `=1+1`)."""
    if value.startswith("'") and is_formula(value[1:]):
        return value[1:]
    return value


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


def csv_column(loc: tuple[Any, ...], body: dict[str, Any]) -> str:
    """The CSV column behind an API path: `determinants.0.effect` is the column of the
    row's first tag, e.g. `determinant_clarity`; `determinants.0.note` its `_note` column."""
    if len(loc) >= 2 and loc[0] == "determinants" and isinstance(loc[1], int):
        tag = body["determinants"][loc[1]]
        column = f"determinant_{tag['determinant']}"
        return f"{column}_note" if loc[2:3] == ("note",) else column
    return ".".join(str(part) for part in loc) or "-"


def _validation_errors(
    row_number: int, exc: ValidationError, body: dict[str, Any], *, in_csv: bool
) -> list[RowError]:
    errors = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossFieldError):
            loc = (*loc, cause.field)  # a rule between fields blames one of them
        field = csv_column(loc, body) if in_csv else ".".join(str(p) for p in loc) or "-"
        errors.append(RowError(row_number, field, str(error["msg"]).removeprefix("Value error, ")))
    return errors


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
    in_csv: bool = False,
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
                errors.extend(_validation_errors(row_number, exc, body, in_csv=in_csv))
            except DomainError as exc:
                # Drops this row's savepoint only; the next rows are still checked.
                session.rollback()
                errors.extend(_domain_errors(row_number, exc))
        if errors:
            raise ImportFailed(errors)
    return len(rows)
