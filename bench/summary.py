"""Markdown tables for bench/RESULTS.md from bench/results/*.json."""

import json
from pathlib import Path
from typing import Any

from bench.generate import SIZES
from bench.mixed import SETTLED_S

ORDER = {"S": 0, "M": 1, "L": 2}


def _load(directory: Path) -> list[dict[str, Any]]:
    runs = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    return sorted(runs, key=lambda r: (r["backend"], ORDER.get(r["size"], 9)))


def _ratio(entry: dict[str, Any]) -> str:
    return f"{entry['median']:.2f} ({entry['min']:.2f}-{entry['max']:.2f})"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def plans_markdown(run: dict[str, Any]) -> str:
    """The PostgreSQL plan of each statement each report request made, as collapsible
    blocks: `bench/results/plans-<db>-<size>.md` and the end of RESULTS.md."""
    out = [f"### PostgreSQL plans at size {run['size']} (EXPLAIN ANALYZE, BUFFERS)\n"]
    out.append(
        f"Run of {run['date']}. Every statement a request for each report made, in order, "
        "but the key lookup and the revision read (primary and unique key probes).\n"
    )
    for name, plans in run["plans"].items():
        for index, plan in enumerate(plans, 1):
            out.append(f"<details><summary>{name}, statement {index}</summary>\n")
            out.append("```\n" + plan + "\n```\n</details>\n")
    return "\n".join(out)


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _floor_cell(entry: dict[str, Any] | None) -> str:
    """Single POSTs against the write floor (issue 17, target 5: >= 0.3)."""
    if not entry:
        return ""
    return (
        f"; vs write floor {_ratio(entry)} ({entry['ours']:.0f} vs {entry['reference']:.0f} "
        f"req/s) {_verdict(entry['median'] >= 0.3)}"
    )


def render(directory: Path) -> str:
    runs = _load(directory)
    out: list[str] = []
    out.append("### Runs\n")
    out.append("| run | date | machine | workers | load avg start / end |")
    out.append("|---|---|---|---|---|")
    for run in runs:
        start = run.get("load_average_at_start")
        end = run.get("load_average_at_end")
        load = f"{start[0]:.1f} / {end[0]:.1f}" if start and end else "not recorded"
        out.append(
            f"| {run['backend']} {run['size']} | {run['date']} | {run['machine']} | "
            f"{run['workers']} | {load} |"
        )

    partial = [(run, part) for run in runs for part in run.get("partial_runs", [])]
    if partial:
        out.append("\nRemeasured later with `--only` (these figures replace the run's own):\n")
        out.append("| run | date | measurements | load avg start / end |")
        out.append("|---|---|---|---|")
        for run, part in partial:
            start, end = part["load_average_at_start"], part["load_average_at_end"]
            out.append(
                f"| {run['backend']} {run['size']} | {part['date']} | "
                f"{', '.join(part['parts'])} | {start[0]:.1f} / {end[0]:.1f} |"
            )
    out.append("\n### 1. Reports over HTTP (1 connection) vs hand-written SQL\n")
    out.append("Ratio = mean HTTP latency / mean SQL latency; median (min-max) over the runs.\n")
    out.append("| run | report | HTTP ms | SQL ms | ratio | target (at L) |")
    out.append("|---|---|---|---|---|---|")
    for run in runs:
        for name, entry in run["reports_vs_sql"].items():
            target = entry["target"]
            verdict = _verdict(entry["median"] <= target) if run["size"] == "L" else "(L only)"
            out.append(
                f"| {run['backend']} {run['size']} | {name} | {entry['ours']:.1f} | "
                f"{entry['reference']:.1f} | {_ratio(entry)} | <= {target} {verdict} |"
            )

    out.append("\n### 2, 4, 5, 6, 7. Polls, list vs peer, deep pages, writes, memory\n")
    out.append(
        "| run | 304 polls / healthz (>= 0.5) | list / PostgREST-style peer (>= 0.6) | "
        "page at 90% / first (<= 1.2) | batch 1,000 / raw insert (<= 3) | "
        "single POST rps, p99 ms, failures | RSS rest -> peak MB (< +100) |"
    )
    out.append("|---|---|---|---|---|---|---|")
    for run in runs:
        poll = run["polls_vs_healthz"]
        peer = run.get("list_vs_peer")
        deep = run["deep_page_vs_first"]
        batch = run["batch_vs_raw_insert"]
        post = run["single_post"]
        memory = run["memory_mb"]
        cells = [
            f"{_ratio(poll)} {_verdict(poll['median'] >= 0.5)}",
            f"{_ratio(peer)} {_verdict(peer['median'] >= 0.6)}" if peer else "n/a (SQLite)",
            f"{_ratio(deep)} {_verdict(deep['median'] <= 1.2)}",
            f"{_ratio(batch)} ({batch['ours']:.0f} vs {batch['reference']:.0f} ms) "
            f"{_verdict(batch['median'] <= 3)}"
            if "median" in batch
            else batch.get("skipped", "n/a"),
            f"{post['requests_per_second']:.0f}, {post['p99_ms']:.0f}, {post['bad_responses']}"
            + _floor_cell(run.get("single_vs_floor")),
            f"{memory['at_rest']:.0f} -> {memory['peak_serving_reports']:.0f} "
            f"(+{memory['growth']:.0f}) {_verdict(memory['growth'] < 100)}",
        ]
        out.append(f"| {run['backend']} {run['size']} | " + " | ".join(cells) + " |")

    out.append("\n### 3. Growth S -> M -> L\n")
    out.append(
        "Latency factor between consecutive sizes against the data factor (projects); "
        "at most linear means latency factor <= data factor. Statements per request at each "
        "size (`_304`: a conditional poll answered 304).\n"
    )
    out.append("| backend | report | sizes | latency ms | latency factor | data factor | linear? |")
    out.append("|---|---|---|---|---|---|---|")
    for backend in sorted({r["backend"] for r in runs}):
        series = [r for r in runs if r["backend"] == backend]
        for name in series[0]["reports_vs_sql"]:
            latencies = [r["reports_vs_sql"][name]["ours"] for r in series]
            sizes = [r["size"] for r in series]
            factors, data, linear = [], [], []
            for (a, b), (la, lb) in zip(
                zip(sizes, sizes[1:], strict=False),
                zip(latencies, latencies[1:], strict=False),
                strict=False,
            ):
                data_factor = SIZES[b].projects / SIZES[a].projects
                factors.append(f"{lb / la:.1f}")
                data.append(f"{data_factor:.0f}")
                linear.append(lb / la <= data_factor)
            out.append(
                f"| {backend} | {name} | {' -> '.join(sizes)} | "
                f"{' -> '.join(f'{x:.1f}' for x in latencies)} | {', '.join(factors)} | "
                f"{', '.join(data)} | {_verdict(all(linear))} |"
            )
    out.append("\n| run | statements per request |")
    out.append("|---|---|")
    for run in runs:
        counts = ", ".join(f"{k} {v}" for k, v in run["statements_per_request"].items())
        out.append(f"| {run['backend']} {run['size']} | {counts} |")

    mixed_runs = [run for run in runs if "mixed" in run]
    if mixed_runs:
        out.append("\n### 6 (issue 17). Mixed workload: writes and dashboards at once\n")
        out.append(
            "Open loop: a write due every 50 ms (submitters of different units: new experiment "
            "with Idempotency-Key, project PATCH, measurement), 10 dashboards polling every "
            "report each second with If-None-Match. Latency from when the request was due; "
            "late: sent more than 20 ms after it was due; not sent: due while 200 were open.\n"
        )
        out.append(
            "| run | requests | count | p50 ms | p99 ms | "
            f"p50 / p99 ms after {SETTLED_S:.0f} s | errors | "
            "304 share | late / not sent |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|")
        for run in mixed_runs:
            figures = run["mixed"]
            rows = [
                ("writes", figures["writes"]),
                *((f"writes: {k}", v) for k, v in figures["writes_by_kind"].items()),
                ("polls", figures["polls"]),
                *((f"polls: {k}", v) for k, v in figures["polls_by_report"].items()),
            ]
            for label, entry in rows:
                out.append(
                    f"| {run['backend']} {run['size']} ({figures['seconds']:.0f} s) | {label} | "
                    f"{entry['count']} | {_ms(entry['p50_ms'])} | {_ms(entry['p99_ms'])} | "
                    f"{_ms(entry.get('settled_p50_ms'))} / {_ms(entry.get('settled_p99_ms'))} | "
                    f"{entry['errors']} | {_share(entry.get('not_modified_share'))} | "
                    f"{entry['late']} / {entry['not_sent']} |"
                )

    largest = [r for r in runs if r["backend"] == "postgresql" and r.get("plans")]
    if largest:
        out.append("\n" + plans_markdown(largest[-1]))
    return "\n".join(out)
