"""Everything under tests/system starts servers or runs load, fault or deploy scenarios:
marked `slow`, so `pytest -m "not slow"` gives a quick local run."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.slow)
