"""bench/report.py: medians per (target, scenario, connections), ratios per level, the goal table."""

from __future__ import annotations

from typing import Any

from bench import report


def run(
    target: str,
    scenario: str,
    connections: int,
    frames: int,
    *,
    round_no: int = 1,
    p99: float = 1.0,
    server_cpu: float | None = 1.0,
    client_cpu: float = 0.5,
    probe_p99: float | None = None,
) -> report.Run:
    result: report.LoadgenResult = {
        "frames_per_s": frames,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "p999_ms": p99 * 2,
        "errors": 0,
        "error_ids": {},
        "client_cpu": client_cpu,
    }
    if probe_p99 is not None:
        result["probe"] = {"p99_ms": probe_p99}
    return report.Run(
        round=round_no,
        target=target,
        scenario=scenario,
        connections=connections,
        inflight=1,
        pinned=True,
        result=result,
        server_cpu=server_cpu,
        others_cpu=0.0,
    )


def test_rows_are_medians_per_target_scenario_and_connections() -> None:
    runs = [
        run("echo", "now", 64, frames, round_no=i, p99=p99)
        for i, (frames, p99) in enumerate([(100, 1.0), (300, 5.0), (200, 3.0)])
    ]
    runs.append(run("echo", "now", 1, 50))
    rows = report.summarize(runs)
    assert [(r["connections"], r["runs"], r["frames_per_s"], r["p99_ms"]) for r in rows] == [
        (64, 3, 200, 3.0),
        (1, 1, 50, 1.0),
    ]


def test_ratios_compare_with_echo_at_the_same_connection_count() -> None:
    runs = [
        run("echo", "now", 1, 100),
        run("echo", "now", 64, 1000),
        run("kserver-sqlite", "now", 1, 90, server_cpu=0.5),
        run("kserver-sqlite", "now", 64, 400),
    ]
    rows = report.summarize(runs)
    ratios = {(r["scenario"], r["connections"]): r for r in report.ratios(runs, rows)}
    assert ratios["now", 1]["ratio_of_medians"] == 0.9
    assert ratios["now", 1]["cpu_normalized_ratio"] == 1.8  # 180 vs 100 frames per CPU-second
    assert ratios["now", 64]["ratio_of_medians"] == 0.4
    assert ratios["now", 64]["per_round"] == [0.4]


def test_a_round_where_neither_side_had_a_core_is_disturbed() -> None:
    assert report.disturbed(run("echo", "now", 64, 1, server_cpu=0.5, client_cpu=0.5))
    assert not report.disturbed(run("echo", "now", 64, 1, server_cpu=0.97, client_cpu=0.5))


def _goals(runs: list[report.Run], hash_rate: float, storage: dict[str, Any] | None) -> list[report.Goal]:
    rows = report.summarize(runs)
    return report.goals(rows, report.ratios(runs, rows), 64, hash_rate, hash_rate, storage)


def test_goal_verdicts() -> None:
    runs = [
        run("echo", "now", 64, 1000),
        run("kserver-sqlite", "now", 64, 800),  # 0.80: met
        run("kserver-sqlite", "get", 64, 590),  # 0.59: below 0.60
        run("kserver-sqlite", "upsert-same", 64, 500, p99=20.0),  # met
        run("kserver-sqlite", "upsert-new", 64, 500, p99=30.0),  # ratio met, p99 too high
        run("kserver-sqlite", "upsert-cred", 64, 90, probe_p99=8.0),  # 0.9 x 100 hashes/s
    ]
    storage = {"engine_durable_ops_per_s": 6000, "raw_grouped_ops_per_s": 10000, "ratio": 0.6}
    verdicts = [g["ok"] for g in _goals(runs, 100.0, storage)]
    assert verdicts == [True, False, True, False, True, True]


def test_credential_goal_needs_the_probe_under_10_ms_and_unmeasured_goals_say_so() -> None:
    runs = [run("echo", "now", 64, 1000), run("kserver-sqlite", "upsert-cred", 64, 95, probe_p99=12.0)]
    goals = {g["goal"].split(" ")[0]: g for g in _goals(runs, 100.0, None)}
    assert goals["upsert-cred"]["ok"] is False
    assert "server:now p99 12.00 ms" in goals["upsert-cred"]["measured"]
    assert goals["server:now"]["ok"] is None
    assert goals["storage"]["ok"] is None
    assert "not measured" in report.goal_table(list(goals.values()))


def test_batch_figures_are_medians_of_the_requests_that_succeeded() -> None:
    def batch(round_no: int, seconds: float, failure: str | None) -> report.Batch:
        users = 0 if failure is None else 100
        return report.Batch(
            round=round_no,
            target="kserver-mongodb",
            phase="fresh",
            users=100,
            seconds=seconds,
            users_per_s=100 / seconds,
            errors=users,
            failure=failure,
        )

    text = report.batch_table([batch(1, 2.0, None), batch(2, 30.0, "not connected"), batch(3, 4.0, None)])
    row = text.splitlines()[1].split()
    assert row[3:] == ["3.00", "38", "0", "1/3"]  # medians of 2 s, 4 s and 50, 25 users/s; 1 of 3 failed
    assert "round 2 kserver-mongodb fresh failed after 30.0 s: not connected" in text


def test_cpu_per_frame_by_thread_is_a_median_over_the_rounds() -> None:
    runs = []
    for round_no, loop in ((1, 0.5), (2, 0.7), (3, 0.6)):
        r = run("kserver-sqlite", "get", 64, 20_000, round_no=round_no)
        r["threads_cpu"] = {"loop": loop, "other threads": 0.2}
        runs.append(r)
    runs.append(run("echo", "now", 64, 50_000))  # measured without the split: not in the table
    rows = report.summarize(runs)
    get = report.find(rows, "kserver-sqlite", "get", 64)
    assert get is not None
    assert (get.get("loop_us"), get.get("other_threads_us")) == (30.0, 10.0)
    table = report.thread_table(rows, 64).splitlines()
    assert len(table) == 2
    assert table[1].split() == ["kserver-sqlite", "get", "30.0", "10.0", "40.0"]
    assert report.thread_table(rows, 16) == ""
