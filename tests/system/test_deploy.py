"""The compose stack without a Docker engine: the exact commands its services run, run here
against the test database (PostgreSQL in the second pass), several workers included; and
docker-compose.yml and the Dockerfile checked against those commands and the settings."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PORTFOLIO = Path(sys.executable).parent / "portfolio"
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: Any) -> str:
    """What compose does with `${NAME:-default}` when NAME is not set."""
    return COMPOSE_VARIABLE.sub(lambda m: m.group(2) or "", str(value))


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def exec_form(argument: str) -> list[str]:
    parsed = json.loads(argument)
    assert isinstance(parsed, list), f"use the exec form: {argument}"
    return parsed


def setting_names() -> set[str]:
    names = {f"PORTFOLIO_{name.upper()}" for name in Settings.model_fields}
    return names | {"DATABASE_URL"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command_env(service: str, database_url: str, **overrides: str) -> dict[str, str]:
    """The service's environment from the compose file, pointed at the test database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTFOLIO_") and k != "DATABASE_URL"
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {k: interpolate(v) for k, v in compose()["services"][service]["environment"].items()}
    )
    env.update(PORTFOLIO_DATABASE_URL=database_url, **overrides)
    return env


def local(command: list[str]) -> list[str]:
    assert command[0] == "portfolio"
    return [str(PORTFOLIO), *command[1:]]


class Server:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.base_url = f"http://{env['PORTFOLIO_HOST']}:{env['PORTFOLIO_PORT']}"
        self.log = log
        self.process = subprocess.Popen(
            local(command),
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        pytest.fail(f"server not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(local(command), env=env, capture_output=True, text=True, timeout=120)


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_the_compose_services_commands_run_the_stack_with_several_workers(
    database_url: str, tmp_path: Path, servers: list[Server]
):
    services = compose()["services"]
    migrate_env = command_env("migrate", database_url)

    migrated = run(services["migrate"]["command"], migrate_env)

    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout == "database is at the latest migration\n"

    created = run(["portfolio", "create-key", "--role", "admin", "--name", "ops"], migrate_env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[-1]

    port = free_port()
    metrics_dir = tmp_path / "metrics"
    api_env = command_env(
        "api",
        database_url,
        PORTFOLIO_HOST="127.0.0.1",
        PORTFOLIO_PORT=str(port),
        PORTFOLIO_WORKERS="2",
        PORTFOLIO_METRICS_DIR=str(metrics_dir),
    )
    server = Server(services["api"]["command"], api_env, tmp_path / "api.log")
    servers.append(server)
    server.wait_ready()

    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        created_unit = client.post(
            "/api/v1/units", json={"code": "OPS", "name": "Operations", "kind": "business_line"}
        )
        assert created_unit.status_code == 201, created_unit.text
        for _ in range(12):
            # A new connection each time, so both workers get a share of the requests.
            response = httpx.get(
                server.base_url + "/api/v1/units", headers={**headers, "X-Request-ID": "deploy-1"}
            )
            assert response.status_code == 200
            assert response.headers["X-Request-ID"] == "deploy-1"
            assert [u["code"] for u in response.json()["items"]] == ["OPS"]
        assert (
            client.get("/api/v1/units", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        metrics = client.get("/metrics").text

    # The sum over both workers' files: exactly the requests made, whichever worker took them.
    requests = samples(metrics, "portfolio_http_requests_total")
    assert requests[(("method", "GET"), ("route", "/api/v1/units"), ("status", "200"))] == 12
    assert requests[(("method", "GET"), ("route", "/api/v1/units"), ("status", "401"))] == 1
    assert requests[(("method", "POST"), ("route", "/api/v1/units"), ("status", "201"))] == 1
    assert samples(metrics, "portfolio_projects")[(("stage", "idea"),)] == 0
    assert any(metrics_dir.glob("counter_*.db"))

    healthcheck = next(
        arg for keyword, arg in dockerfile_instructions() if keyword == "HEALTHCHECK"
    )
    health_command = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert run(health_command, api_env).returncode == 0

    server.stop()
    assert server.process.returncode == 0
    unhealthy = run(health_command, api_env)
    assert unhealthy.returncode == 1
    assert unhealthy.stderr.startswith("unhealthy: ")
    access = [
        json.loads(line)
        for line in server.log.read_text().splitlines()
        if line.startswith("{") and '"portfolio.access"' in line
    ]
    units_lines = [a for a in access if a["route"] == "/api/v1/units" and a["status"] == 200]
    assert len(units_lines) == 12
    assert {a["request_id"] for a in units_lines} == {"deploy-1"}
    assert {a["method"] for a in units_lines} == {"GET"}


def test_make_run_serves_a_demo_portfolio_and_prints_a_first_admin_key(
    database_url: str, tmp_path: Path, servers: list[Server]
):
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n\t\$\(BIN\)/(portfolio .+)$", makefile, re.MULTILINE)
    assert recipe is not None
    command = shlex.split(recipe.group(1))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTFOLIO_") and k != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url,
        PORTFOLIO_HOST="127.0.0.1",
        PORTFOLIO_PORT=str(port),
        PORTFOLIO_WORKERS="1",
    )
    server = Server(command, env, tmp_path / "run.log")
    servers.append(server)
    server.wait_ready()

    output = server.log.read_text()
    assert "demo portfolio added: 14 units, 26 projects" in output
    key = re.search(r"Authorization: Bearer (\S+)`", output)
    assert key is not None, output
    response = httpx.get(
        server.base_url + "/api/v1/projects",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {key.group(1)}"},
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 26


def test_compose_runs_portfolio_commands_with_known_settings(monkeypatch: pytest.MonkeyPatch):
    spec = compose()
    services = spec["services"]

    db = services["db"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in spec["volumes"]
    assert services["migrate"]["command"] == ["portfolio", "migrate"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    # The migrations ran once already; replicas of `api` must not race to run them again.
    assert services["api"]["command"] == ["portfolio", "serve", "--no-migrate"]
    assert "PORTFOLIO_WORKERS" in services["api"]["environment"]
    for name in ("migrate", "api"):
        assert services[name]["build"] == "."
        unknown = set(services[name]["environment"]) - setting_names()
        assert unknown == set(), f"{name} sets variables that are not settings: {unknown}"
    api_env = {k: interpolate(v) for k, v in services["api"]["environment"].items()}
    # The values parse as settings (a typo in a number or a list fails here, not in prod).
    for name, value in api_env.items():
        monkeypatch.setenv(name, value)
    parsed = Settings(_env_file=None)  # type: ignore[call-arg]
    assert parsed.workers == 4
    assert parsed.host == "0.0.0.0"
    assert parsed.database_url.startswith("postgresql+psycopg://portfolio:portfolio@db:5432/")


def test_the_dockerfile_is_multi_stage_non_root_with_a_health_check():
    instructions = dockerfile_instructions()
    stages = [arg for keyword, arg in instructions if keyword == "FROM"]
    assert len(stages) == 2
    assert stages[0].endswith(" AS build")
    assert ("COPY", "pyproject.toml README.md ./") in instructions
    assert ("COPY", "--from=build /opt/venv /opt/venv") in instructions
    users = [arg for keyword, arg in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    healthcheck = next(arg for keyword, arg in instructions if keyword == "HEALTHCHECK")
    assert exec_form(healthcheck.split(" CMD ", 1)[1]) == ["portfolio", "healthcheck"]
    command = next(arg for keyword, arg in reversed(instructions) if keyword == "CMD")
    assert exec_form(command) == compose()["services"]["api"]["command"]
    env_names = {
        assignment.split("=", 1)[0]
        for keyword, arg in instructions
        if keyword == "ENV"
        for assignment in arg.split()
        if assignment.startswith("PORTFOLIO_")
    }
    assert env_names == {"PORTFOLIO_HOST", "PORTFOLIO_PORT", "PORTFOLIO_LOG_FORMAT"}
    assert env_names <= setting_names()


def test_the_readme_lists_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(PORTFOLIO_\w+)`", section, re.MULTILINE))

    assert listed == {f"PORTFOLIO_{name.upper()}" for name in Settings.model_fields}


def test_the_api_workers_connection_pools_fit_under_postgresql_max_connections(
    monkeypatch: pytest.MonkeyPatch,
):
    services = compose()["services"]
    command = services["db"]["command"]
    setting = command[command.index("-c") + 1]
    name, value = setting.split("=")
    assert name == "max_connections"
    max_connections = int(value)
    for env_name, env_value in services["api"]["environment"].items():
        monkeypatch.setenv(env_name, interpolate(env_value))
    api = Settings(_env_file=None)  # type: ignore[call-arg]
    worst_case = api.workers * (api.db_pool_size + api.db_max_overflow)
    assert (api.workers, api.db_pool_size, api.db_max_overflow) == (4, 10, 5)
    # The migrate job, psql and monitoring need a few connections of their own.
    assert worst_case == 60
    assert worst_case + 10 <= max_connections == 100
