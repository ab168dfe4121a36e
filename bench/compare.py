"""Two versions of the API side by side: a list page and an idempotent POST, asked in turn.

    python -m bench.compare --before <git ref> [--size L] [--rounds 4] [--duration 5]

Two `bench.run` runs minutes apart compare this VM's drift as much as the code (its speed
moves by 2x within minutes, bench/RESULTS.md). Here the code at `--before`, checked out
into a temporary worktree and put first on its server's PYTHONPATH, and the working
tree's code serve the same data side by side, each as `bench.run` serves it (pinned to
core 0, the workers of docker-compose.yml, answers not kept), and wrk asks them in turn
(which goes first alternates by round), with 8 connections (`--connections`; at 1 the
server is never saturated and CPU per request varies least). Per request and version: the
median requests per second, and the median server CPU per request (the server's processes'
CPU seconds over the run, from /proc, divided by the requests answered), the figure that
says what a change saves when the server's core is the bottleneck. Both versions must run
on the data's schema (the same migrations). Writes bench/results/compare-<size>.json.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load
from bench.run import (
    API,
    LIST_PAGE,
    RESULTS_DIR,
    admin_key,
    default_url,
    experiment_body,
    first_live_project,
)

CONNECTIONS = 8  # as `bench.run` loads the list page and the single POST
VERSIONS = ("before", "after")


REPOSITORY = Path(__file__).resolve().parents[1]


@contextmanager
def checkout(ref: str) -> Any:
    """The repository's code at `ref`, in a temporary worktree removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "before")
        git = ["git", "-C", str(REPOSITORY), "worktree"]
        subprocess.run([*git, "add", "--quiet", "--detach", path, ref], check=True)
        try:
            yield path
        finally:
            subprocess.run([*git, "remove", "--force", path], check=True)


def _run(
    server: load.Server,
    url: str,
    *,
    headers: dict[str, str],
    body: str | None,
    duration: float,
    connections: int,
) -> dict[str, float]:
    server.wait_idle()
    cpu_before = server.cpu_seconds()
    result = load.http_load(
        url, duration=duration, connections=connections, headers=headers, post_json=body
    )
    if result.bad_responses:
        raise RuntimeError(f"{url}: {result.bad_responses} bad responses")
    cpu = server.cpu_seconds() - cpu_before
    return {
        "requests_per_second": result.requests_per_second,
        "server_cpu_ms": cpu / max(1, result.requests) * 1000,
    }


def measure(
    database_url: str,
    before: str,
    rounds: int,
    duration: float,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """Each request kind's runs per version, their medians, and after/before."""
    auth = {"Authorization": f"Bearer {admin_key(database_url)}"}
    body = json.dumps(experiment_body(first_live_project(database_url), 0))
    requests = {
        "list": (LIST_PAGE, None),
        "single": (f"{API}/experiments", body),
    }
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        kind: {version: [] for version in VERSIONS} for kind in requests
    }
    with ExitStack() as stack:
        path = stack.enter_context(checkout(before))
        workers = load.compose_workers()
        servers = {
            "before": stack.enter_context(
                load.portfolio_server(database_url, workers, python_path=path)
            ),
            "after": stack.enter_context(load.portfolio_server(database_url, workers)),
        }
        # Untimed first: a new server's first requests build routes and prepare statements.
        for target, post in requests.values():
            for server in servers.values():
                _run(
                    server,
                    server.base_url + target,
                    headers=auth,
                    body=post,
                    duration=1,
                    connections=connections,
                )
        for round_ in range(rounds):
            order = VERSIONS if round_ % 2 == 0 else VERSIONS[::-1]
            for kind, (target, post) in requests.items():
                for version in order:
                    server = servers[version]
                    url = server.base_url + target
                    runs[kind][version].append(
                        _run(
                            server,
                            url,
                            headers=auth,
                            body=post,
                            duration=duration,
                            connections=connections,
                        )
                    )
    results: dict[str, Any] = {}
    for kind, by_version in runs.items():
        medians = {
            version: {
                figure: statistics.median(run[figure] for run in by_version[version])
                for figure in ("requests_per_second", "server_cpu_ms")
            }
            for version in VERSIONS
        }
        results[kind] = {
            **medians,
            "runs": by_version,
            "after_over_before": {
                figure: medians["after"][figure] / medians["before"][figure]
                for figure in ("requests_per_second", "server_cpu_ms")
            },
        }
        print(
            f"{kind}: server CPU per request {medians['before']['server_cpu_ms']:.2f} -> "
            f"{medians['after']['server_cpu_ms']:.2f} ms "
            f"(x{results[kind]['after_over_before']['server_cpu_ms']:.2f}), requests/s "
            f"{medians['before']['requests_per_second']:.0f} -> "
            f"{medians['after']['requests_per_second']:.0f}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="A git ref: the version to compare with")
    parser.add_argument("--size", default="L", choices=("S", "M", "L"))
    parser.add_argument("--database-url", help="Default: the PostgreSQL bench database of --size")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args()
    load.pin_self()
    url = args.database_url or default_url("postgres", args.size)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "before": args.before,
        "after": "working tree",
        "size": args.size,
        "rounds": args.rounds,
        "connections": args.connections,
        "requests": measure(url, args.before, args.rounds, args.duration, args.connections),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"compare-{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
