"""bench/run: profiles, and the frames it hands to the load generator."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from tests.bench.modules import load


@pytest.fixture(scope="module")
def bench_run() -> ModuleType:
    return load("run")


def test_quick_profile_is_one_short_round(bench_run: ModuleType) -> None:
    args = bench_run.parse_args(["--quick"])
    assert (args.rounds, args.warmup, args.duration, args.batch) == (1, 0.5, 1.5, 2000)
    assert args.levels == [1, 16, 64]
    full = bench_run.parse_args(["--rounds", "5", "--levels", "1,64"])
    assert (full.rounds, full.batch, full.levels) == (5, 10_000, [1, 64])


def test_unknown_names_and_a_negative_batch_are_refused(bench_run: ModuleType) -> None:
    for argv in (["--scenarios", "nope"], ["--engines", "postgres"], ["--batch", "-1"]):
        with pytest.raises(SystemExit):
            bench_run.parse_args(argv)


def test_ids_stay_new_across_levels_and_keyspaces_stay_within_the_seeded_users(bench_run: ModuleType) -> None:
    new = bench_run.loadgen_argv(bench_run.SCENARIOS["upsert-new"], 16, 10_000)
    assert json.loads(new[new.index("--frame") + 1])["_id"] == "new-16-{{n}}"
    get = bench_run.loadgen_argv(bench_run.SCENARIOS["get"], 1, 300)
    assert get[get.index("--keyspace") + 1] == "300"
    mixed = bench_run.loadgen_argv(bench_run.SCENARIOS["mixed"], 64, 500)
    mix = json.loads(mixed[mixed.index("--mix") + 1])
    assert [(m["name"], m["weight"], m["keyspace"]) for m in mix] == [("get", 80, 500), ("upsert", 20, 500)]


def test_the_credential_scenario_gets_every_core_and_a_probe(bench_run: ModuleType) -> None:
    cred = bench_run.SCENARIOS["upsert-cred"]
    assert cred.free_cores
    argv = bench_run.loadgen_argv(cred, 64, 10_000)
    frame = json.loads(argv[argv.index("--frame") + 1])
    assert frame["body"]["credentials"]["local"]["username"] == "cred-64-{{n}}"
    assert json.loads(argv[argv.index("--probe") + 1]) == {"controller": "server", "action": "now"}


def test_the_floor_runs_by_default_with_the_frames_it_answers(bench_run: ModuleType) -> None:
    assert bench_run.parse_args([]).targets.split(",") == ["echo", "picows", "floor", "kserver"]
    assert set(bench_run.FLOOR_SCENARIOS) <= set(bench_run.SCENARIOS)
    with pytest.raises(SystemExit):
        bench_run.parse_args(["--targets", "echo,flor"])
