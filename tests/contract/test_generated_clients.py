"""Clients generated from openapi/openapi.json the way API users generate them, each
type-checked in strict mode against a short program that reads a report and a project
(`clients/check_client.py`, `clients/check_client.ts`), and the spec linted by Spectral.

The npm tools (tests/contract/package.json) come from `make contract-tools` (`npm ci` when
the lockfile changed), which `make test` runs first; the fixture below runs it too, so a
plain `pytest` works on a fresh clone. Marked slow: each test starts Node or mypy.
"""

import fcntl
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.builders import create_project, create_unit

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "tests" / "contract"
CLIENTS = CONTRACT / "clients"
SPEC = ROOT / "openapi" / "openapi.json"
NODE_MODULES = CONTRACT / "node_modules"
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, timeout: int = 300) -> str:
    """Run a tool; on failure, fail the test with everything it printed."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{output}"
    return output


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """tests/contract/node_modules, installed by the Makefile's rule (one process at a time:
    pytest-xdist workers share the folder)."""
    with open(CONTRACT / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run("make", "--no-print-directory", "-s", "contract-tools", cwd=ROOT)
    return NODE_MODULES


def node(node_tools: Path, package_bin: str, *args: str | Path, cwd: Path) -> str:
    return run("node", node_tools / package_bin, *args, cwd=cwd)


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated package `portfolio_client` and the check program, in one folder."""
    folder = tmp_path_factory.mktemp("python-client")
    run(
        VENV_BIN / "openapi-python-client",
        "generate",
        "--path",
        SPEC,
        "--meta",
        "none",
        "--output-path",
        folder / "portfolio_client",
        cwd=folder,
    )
    shutil.copy(CLIENTS / "check_client.py", folder)
    shutil.copy(CLIENTS / "mypy.ini", folder)
    yield folder


def test_the_python_client_type_checks_in_strict_mode(python_client: Path):
    output = run(
        VENV_BIN / "mypy",
        "--config-file",
        "mypy.ini",
        "--cache-dir",
        python_client / ".mypy_cache",
        "check_client.py",
        "portfolio_client",
        cwd=python_client,
    )
    assert "Success: no issues found" in output


@pytest.fixture
def check_client(python_client: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(python_client))
    try:
        yield importlib.import_module("check_client")
    finally:
        sys.path.remove(str(python_client))
        generated = ("check_client", "portfolio_client")
        for name in [n for n in sys.modules if n.split(".")[0] in generated]:
            del sys.modules[name]


def test_the_python_client_reads_reports_and_projects_from_the_api(check_client: Any, admin):
    """The generated models parse real answers: a required field missing from a response
    would be a KeyError here, a money field sent as a number a type mismatch."""
    hq = create_unit(admin, "HQ", kind="corporate")
    tax = create_unit(admin, "TAX", parent_id=hq["id"])
    lab = create_unit(admin, "LAB", kind="innovation_lab", parent_id=hq["id"])
    project = create_project(
        admin,
        tax["id"],
        stage="experiment",
        work_mode="core_business",
        budget=250000,
        fte="2.5",
    )
    create_project(admin, lab["id"], stage="exploration", work_mode="dedicated")
    admin.patch(f"/api/v1/projects/{project['id']}", json={"budget": "300000.5"})

    from portfolio_client import AuthenticatedClient  # generated, on sys.path from the fixture
    from portfolio_client.models import Stage

    client = AuthenticatedClient(base_url=str(admin.base_url), token="unused")
    client.set_httpx_client(admin)  # the test client: the app in-process, with the admin key

    # 2 active projects (experiment, exploration): fewer than 5, insufficient data.
    # Business lines: TAX, which owns an active project: coverage 1/1 = 1.0.
    # Lab share: LAB owns 1 of the 2 active projects = 0.5.
    verdict, coverage, lab_share, codes = check_client.spread_summary(client, hq["id"])
    assert (verdict, coverage, lab_share, sorted(codes)) == (
        "insufficient_data",
        1.0,
        0.5,
        ["HQ", "LAB", "TAX"],
    )
    # Reached: idea 2, exploration 2, experiment 1, scaling 0, embedded 0.
    assert check_client.funnel(client) == [
        (Stage.IDEA, Stage.EXPLORATION, 1.0),  # 2 / 2
        (Stage.EXPLORATION, Stage.EXPERIMENT, 0.5),  # 1 / 2
        (Stage.EXPERIMENT, Stage.SCALING, 0.0),  # 0 / 1
        (Stage.SCALING, Stage.EMBEDDED, None),  # 0 / 0
    ]
    assert check_client.project_money(client, project["id"]) == ("300000.50", "2.50")
    assert check_client.changed_fields(client, project["id"]) == {"budget": "300000.50"}


def test_the_typescript_client_type_checks_in_strict_mode(node_tools: Path, tmp_path: Path):
    node(node_tools, "openapi-typescript/bin/cli.js", SPEC, "--output", "schema.ts", cwd=tmp_path)
    for name in ("check_client.ts", "tsconfig.json"):
        shutil.copy(CLIENTS / name, tmp_path)
    (tmp_path / "node_modules").symlink_to(node_tools, target_is_directory=True)
    node(node_tools, "typescript/bin/tsc", "--project", "tsconfig.json", cwd=tmp_path)


def test_spectral_finds_nothing_at_any_severity(node_tools: Path):
    """Every rule of `spectral:oas` but those .spectral.yaml turns off, with its reasons."""
    output = node(
        node_tools,
        "@stoplight/spectral-cli/dist/index.js",
        "lint",
        SPEC,
        "--ruleset",
        ROOT / ".spectral.yaml",
        "--fail-severity",
        "hint",
        cwd=ROOT,
    )
    assert "No results with a severity of 'hint' or higher found!" in output
