"""Imports point one way: from the command line and the reports down through the domains
to the HTTP plumbing, auth and the shared core. Read from the source with `ast`, so a new
upward import (even one inside a function) fails here."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Lower layers first. A module may import its own layer and anything below it.
LAYERS: list[set[str]] = [
    {"core"},
    {"auth"},
    {"api"},
    {"ops"},
    {"determinants"},
    {"units"},
    {"projects"},
    {"criteria"},
    {"experiments"},
    {"api_keys"},
    {"reports", "register"},
    {"cli", "main", "models"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# Upward imports allowed: none. A lower domain that needs one above it declares a
# `app.core.hooks.Hook` that the higher one installs.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _top(module: str) -> str:
    return module.split(".")[1] if module.startswith("app.") else module.split(".")[0]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
            if node.module == "app":
                found.update(f"app.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app."))
    return found


def upward_imports() -> set[tuple[str, str]]:
    upward = set()
    for path in APP.rglob("*.py"):
        relative = path.relative_to(APP).with_suffix("")
        if relative.name == "__init__" and len(relative.parts) == 1:
            continue
        own = relative.parts[0]
        for imported in _imports(path):
            target = _top(imported)
            if target != own and RANK[target] > RANK[own]:
                upward.add((".".join(relative.parts), target))
    return upward


def test_every_app_folder_has_a_layer():
    folders = {p.name for p in APP.iterdir() if p.is_dir() and p.name != "__pycache__"}
    modules = {p.stem for p in APP.glob("*.py") if p.stem != "__init__"}
    assert folders | modules <= set(RANK), sorted((folders | modules) - set(RANK))


def test_imports_point_down():
    assert upward_imports() <= KNOWN_UPWARD, sorted(upward_imports() - KNOWN_UPWARD)


def test_the_known_upward_imports_are_still_there():
    """Keeps KNOWN_UPWARD honest: an entry that no longer applies must be deleted."""
    assert upward_imports() >= KNOWN_UPWARD, sorted(KNOWN_UPWARD - upward_imports())
