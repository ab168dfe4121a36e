"""Dated project timelines arranged through the API, for the trends and flow tests."""

from typing import Any

from tests.builders import create_project


def started(client: Any, unit_id: int, on: str, stage: str, **fields: Any) -> int:
    """A project whose first period starts ``on`` in ``stage`` (side of desk, individual
    sponsor unless told otherwise); its id."""
    return create_project(client, unit_id, stage=stage, effective_on=on, **fields)["id"]


def change(client: Any, project_id: int, on: str, **changes: Any) -> None:
    """A PATCH of tracked values effective ``on``."""
    response = client.patch(f"/api/v1/projects/{project_id}", json={**changes, "effective_on": on})
    assert response.status_code == 200, response.text


def archive(client: Any, path: str) -> None:
    response = client.delete(f"/api/v1/{path}")
    assert response.status_code == 200, response.text


def stages(**counts: int) -> dict[str, int]:
    """Counts of all six stages, zero unless given."""
    order = ("idea", "exploration", "experiment", "scaling", "embedded", "stopped")
    return {stage: counts.get(stage, 0) for stage in order}


def modes(side: int, dedicated: int, core: int) -> dict[str, int]:
    return {"side_of_desk": side, "dedicated": dedicated, "core_business": core}


def sponsors(individual: int, organizational: int, system: int) -> dict[str, int]:
    return {"individual": individual, "organizational": organizational, "system": system}
