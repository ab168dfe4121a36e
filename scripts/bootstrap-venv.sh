#!/usr/bin/env bash
# Create the project's virtual environment with Python 3.11+ and install the project into it.
# On a fresh Debian machine the venv module may be missing (package python3-venv):
# install it when we are allowed to, otherwise say exactly what to run.
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    pkg="python3-venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq "$pkg"
    elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
      sudo apt-get update -qq && sudo apt-get install -y -qq "$pkg"
    else
      echo "error: '$PYTHON -m venv' failed; install the package $pkg" >&2
      exit 1
    fi
    "$PYTHON" -m venv "$VENV"
  fi
fi

"$VENV/bin/python" -m pip install --quiet --upgrade pip
# psycopg[binary] ships its own libpq: no PostgreSQL client libraries needed from the OS.
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
