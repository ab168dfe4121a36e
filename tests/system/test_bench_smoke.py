"""The benchmark at size S with tiny durations, so it cannot rot. Real runs: `make bench`."""

import pytest

from bench import compare, floor, instructions, run, scaling


def test_benchmark_runs_end_to_end_at_size_s(database_url):
    result = run.measure(
        database_url,
        "S",
        repeats=1,
        duration=0.2,
        connections=2,
        workers=1,
        mixed_seconds=1,
        log=lambda _: None,
    )
    counts = result["statements_per_request"]
    for name, entry in floor.REPORTS.items():
        # A conditional poll answered 304 costs the key lookup and the revision read only.
        if entry.conditional:
            assert counts[f"{name}_304"] < counts[name]
        report = result["reports_vs_sql"][name]
        assert report["ours"] > 0 and report["reference"] > 0
        # Every timed request was answered by the route (no 429 from the rate limit).
        assert report["bad_responses"] == 0
    assert result["polls_vs_healthz"]["median"] > 0
    assert result["deep_page_vs_first"]["median"] > 0
    assert result["single_post"]["requests"] > 0
    # Concurrent writes never fail (on SQLite: never "database is locked").
    assert result["single_post"]["bad_responses"] == 0
    assert result["memory_mb"]["at_rest"] > 0
    after_write = result["reports_after_write"]
    assert set(after_write) == set(floor.REPORTS)
    for entry in after_write.values():
        assert entry["median_ms"] > 0 and entry["rounds"] == run.AFTER_WRITE_ROUNDS
    if result["backend"] == "postgresql":
        assert result["list_vs_peer"]["median"] > 0
        # The write floor answers the same POST body (issue 17, target 5).
        assert result["single_vs_floor"]["median"] > 0
    # One second of the mixed workload: 20 writes of every kind and a round of each of the
    # 10 dashboards, every one answered (a slow server is late, never wrong).
    mixed = result["mixed"]
    assert mixed["writes"]["count"] + mixed["writes"]["not_sent"] == 20
    assert mixed["writes"]["errors"] == 0
    assert all(kind["count"] > 0 for kind in mixed["writes_by_kind"].values())
    assert set(mixed["polls_by_report"]) == {n for n, r in floor.REPORTS.items() if r.conditional}
    for report in mixed["polls_by_report"].values():
        assert report["count"] + report["not_sent"] == 10
        assert report["errors"] == 0


def test_statements_per_report_do_not_grow_with_the_data(database_url):
    from bench.generate import generate

    per_size = {}
    for size in ("XS", "S"):
        secret = generate(database_url, size, log=lambda _: None)
        per_size[size] = run.count_statements_and_plans(database_url, secret)[
            "statements_per_request"
        ]
    assert per_size["XS"] == per_size["S"]


@pytest.mark.slow
def test_the_one_run_scaling_comparison_asks_both_servers_in_turn(database_url):
    from bench.generate import generate

    generate(database_url, "S", log=lambda _: None)
    reports = {name: floor.REPORTS[name] for name in ("barometer", "lineage")}
    # Both "sizes" the same data here: two servers side by side, as with S and L.
    result = scaling.measure({"S": database_url, "L": database_url}, reports, rounds=3)
    assert set(result) == set(reports)
    for entry in result.values():
        assert entry["S"]["rounds"] == entry["L"]["rounds"] == 3
        assert entry["round_ratios"]["runs"] == 3
        assert entry["ratio_of_medians"] == entry["L"]["median_ms"] / entry["S"]["median_ms"]
        assert entry["target_at_most"] == 3.0


@pytest.mark.slow
def test_instructions_per_request_are_counted_around_the_requests_only(database_url):
    from bench.generate import generate

    generate(database_url, "XS", log=lambda _: None)
    healthz = instructions.count_instructions(database_url, "healthz", 3)
    page = instructions.count_instructions(database_url, "list", 3)
    # Start-up and the warm-up requests are not counted: a request costs millions (a page
    # of 100 built in Python on SQLite some 65 M), importing the app billions.
    assert 500_000 < healthz < page < 500_000_000


@pytest.mark.slow
def test_two_versions_are_served_side_by_side_and_asked_in_turn(database_url):
    from bench.generate import generate

    generate(database_url, "XS", log=lambda _: None)
    # The same version twice (HEAD and the working tree): the comparison's machinery only.
    result = compare.measure(database_url, "HEAD", rounds=2, duration=1)
    assert set(result) == {"list", "single"}
    for entry in result.values():
        for version in compare.VERSIONS:
            assert len(entry["runs"][version]) == 2
            assert entry[version]["requests_per_second"] > 0
            assert entry[version]["server_cpu_ms"] > 0
        assert entry["after_over_before"]["server_cpu_ms"] > 0


def test_every_benchmarked_post_is_a_new_write_not_a_replay(database_url):
    """wrk's POSTs carry keys new to each run: the same keys again would be answered from
    the stored responses (replays), and time those instead of writes."""
    import json

    from sqlalchemy import create_engine, text

    from bench import load
    from bench.generate import generate

    generate(database_url, "XS", log=lambda _: None)
    auth = {"Authorization": f"Bearer {run.admin_key(database_url)}"}
    body = json.dumps(run.experiment_body(run.first_live_project(database_url), 0))
    engine = create_engine(database_url)

    def experiments() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM experiments")).scalar_one())

    before = experiments()
    answered = 0
    with load.portfolio_server(database_url, 1) as server:
        for _ in range(2):  # the same API key both times, as bench.run's repeats
            result = load.http_load(
                server.base_url + f"{run.API}/experiments",
                duration=1,
                connections=2,
                headers=auth,
                post_json=body,
            )
            assert result.bad_responses == 0
            answered += result.requests
    engine_count = experiments()
    engine.dispose()
    assert answered > 0
    # wrk counts what was answered before it stopped; a request in flight then (at most
    # one per connection and run) may still be written.
    assert answered <= engine_count - before <= answered + 2 * 2
