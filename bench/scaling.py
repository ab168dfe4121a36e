"""Issue 17, target 1, in one run: each report right after a write, at S and at L at once.

    python -m bench.scaling [--rounds 30] [--reports barometer,flow]

`bench.run --only after_write` times one size per run, and the L/S ratio compares two
runs. On a shared machine whose speed drifts by half within minutes (bench/RESULTS.md,
ninth pass), that ratio measures the drift as much as the reports. Here the servers of
both sizes run side by side, each as `bench.run` starts it (pinned to core 0, this process
on core 1, answers not kept), and every round writes and asks at one size then at the
other (S first in even rounds, L first in odd ones), so both sizes see the same machine.
Per report: the median latency at each size, their ratio, and the median and spread of the
rounds' own L/S ratios (the target: at most 3). The data must be loaded and migrated
(`bench.run --size S|L --db postgres` once). Writes bench/results/scaling-postgresql.json.
"""

import argparse
import json
import statistics
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.db import is_sqlite
from bench import floor, load
from bench.run import (
    AFTER_WRITE_ROUNDS,
    RESULTS_DIR,
    admin_key,
    after_write_ms,
    default_url,
    first_live_project,
    latency_summary,
    vacuum_analyze,
)

SIZES = ("S", "L")
TARGET_AT_MOST = 3.0


def measure(urls: dict[str, str], reports: dict[str, Any], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        projects: dict[str, int] = {}
        for size, url in urls.items():
            if not is_sqlite(url):  # as `bench.run --reuse` does
                vacuum_analyze(url, print)
            server = stack.enter_context(load.portfolio_server(url, load.compose_workers()))
            clients[size] = stack.enter_context(
                httpx.Client(
                    base_url=server.base_url,
                    headers={"Authorization": f"Bearer {admin_key(url)}"},
                    timeout=120,
                )
            )
            projects[size] = first_live_project(url)
        for name, report in reports.items():
            for size in SIZES:  # a first answer apiece, untimed
                after_write_ms(clients[size], projects[size], report.path, 0)
            latencies: dict[str, list[float]] = {size: [] for size in SIZES}
            for round_ in range(rounds):
                for size in SIZES if round_ % 2 == 0 else SIZES[::-1]:
                    latencies[size].append(
                        after_write_ms(clients[size], projects[size], report.path, round_)
                    )
            per_round = [large / small for small, large in zip(*latencies.values(), strict=True)]
            small, large = (latency_summary(latencies[size]) for size in SIZES)
            results[name] = {
                "S": small,
                "L": large,
                "ratio_of_medians": large["median_ms"] / small["median_ms"],
                "round_ratios": load.median_and_spread(per_round),
                "target_at_most": TARGET_AT_MOST,
            }
            print(
                f"{name}: S {small['median_ms']:.1f} ms, L {large['median_ms']:.1f} ms, "
                f"L/S {results[name]['ratio_of_medians']:.2f} "
                f"(rounds: median {statistics.median(per_round):.2f}, "
                f"{min(per_round):.2f}..{max(per_round):.2f})"
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=AFTER_WRITE_ROUNDS)
    parser.add_argument("--reports", help="Comma-separated report names (default: all)")
    for size in SIZES:
        parser.add_argument(
            f"--{size.lower()}-url", help=f"Default: the PostgreSQL bench database of {size}"
        )
    args = parser.parse_args()
    load.pin_self()
    urls = {
        size: getattr(args, f"{size.lower()}_url") or default_url("postgres", size)
        for size in SIZES
    }
    wanted = args.reports.split(",") if args.reports else list(floor.REPORTS)
    reports = {name: floor.REPORTS[name] for name in wanted}
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounds": args.rounds,
        "reports": measure(urls, reports, args.rounds),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / "scaling-postgresql.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
