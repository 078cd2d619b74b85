"""Medians, ratios, the goal table and the results file of ``bench/run``; no I/O but the final write.

A run is one load-generator pass: one target (``echo``, ``picows``, ``floor``, ``kserver-sqlite``,
``kserver-mongodb``), one scenario, one connection count, one round. Rows are the medians over the
rounds; every other row is compared with ``echo:now`` at the same connection count.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, NotRequired, TypedDict

BASELINE = "echo"
BASELINE_SCENARIO = "now"
EMBEDDED = "kserver-sqlite"
DISTURBED_BELOW = 0.9


class LoadgenResult(TypedDict):
    """One line of ``bench/loadgen/loadgen.js`` output (extra keys are kept but not typed)."""

    frames_per_s: int
    p50_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    errors: int
    error_ids: dict[str, int]
    client_cpu: float
    probe: NotRequired[dict[str, Any]]
    by_frame: NotRequired[dict[str, dict[str, Any]]]


class Run(TypedDict):
    round: int
    target: str
    scenario: str
    connections: int
    inflight: int
    pinned: bool  # server (and its database) pinned to one core; else free on every core
    result: LoadgenResult
    server_cpu: float | None  # kserver (all threads) plus its database server (FerretDB), in cores
    others_cpu: float | None  # the rest of the machine on the server's core (pinned runs only)
    # the server process's CPU by thread, in cores: "loop" (the main thread, which runs the event
    # loop) and "other threads" (SQLite writer, syncer and readers, argon2 hashing...)
    threads_cpu: NotRequired[dict[str, float] | None]


class Summary(TypedDict):
    target: str
    scenario: str
    connections: int
    runs: int
    frames_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    errors: int
    error_ids: dict[str, int]
    server_cpu: float | None
    frames_per_server_cpu_s: float | None
    client_cpu: float
    others_cpu: float | None
    disturbed_rounds: int
    probe_p99_ms: float | None
    loop_us: NotRequired[float | None]  # µs of the event loop's thread per frame (median)
    other_threads_us: NotRequired[float | None]  # µs of the server's other threads per frame


class Ratio(TypedDict):
    target: str
    scenario: str
    connections: int
    ratio_of_medians: float
    per_round: list[float]
    cpu_normalized_ratio: float | None


class Batch(TypedDict):
    """One ``security:mUpsertUsers`` request of ``users`` users, timed by the client."""

    round: int
    target: str
    phase: str  # "fresh" (every user is new) or "replay" (the same batch again: every user exists)
    users: int
    seconds: float
    users_per_s: float
    errors: int
    failure: str | None  # the request itself failed (then errors = users): why


class Scaling(TypedDict):
    """``kserver --workers N`` against ``--workers 1`` (everything unpinned), one scenario."""

    scenario: str
    connections: int
    workers: int
    one_frames_per_s: float
    n_frames_per_s: float
    ratio_of_medians: float | None
    per_round: list[float]
    one_server_cpu: float | None
    n_server_cpu: float | None


def scaling(runs: list[Run], workers: int) -> list[Scaling]:
    """Per scenario: ``kserver-sqlite-w<workers>`` over ``kserver-sqlite-w1``, medians and per round."""
    out: list[Scaling] = []
    one, many = f"{EMBEDDED}-w1", f"{EMBEDDED}-w{workers}"
    rows = summarize(runs)
    for row in rows:
        if row["target"] != one:
            continue
        other = find(rows, many, row["scenario"], row["connections"])
        if other is None:
            continue
        key = (row["scenario"], row["connections"])
        base = {
            r["round"]: r["result"]["frames_per_s"] for r in runs if r["target"] == one and _key(r)[1:] == key
        }
        per_round = [
            round(r["result"]["frames_per_s"] / base[r["round"]], 3)
            for r in runs
            if r["target"] == many and _key(r)[1:] == key and base.get(r["round"])
        ]
        out.append(
            Scaling(
                scenario=row["scenario"],
                connections=row["connections"],
                workers=workers,
                one_frames_per_s=row["frames_per_s"],
                n_frames_per_s=other["frames_per_s"],
                ratio_of_medians=round(other["frames_per_s"] / row["frames_per_s"], 3)
                if row["frames_per_s"]
                else None,
                per_round=per_round,
                one_server_cpu=row["server_cpu"],
                n_server_cpu=other["server_cpu"],
            )
        )
    return out


def scaling_table(rows: list[Scaling]) -> str:
    lines = [
        f"{'scenario':<11} {'conn':>4} {'1 worker':>9} {'cpu':>5} "
        f"{'N workers':>10} {'cpu':>5} {'x 1':>6}  per round",
        "-" * 72,
    ]
    for row in rows:
        lines.append(
            f"{row['scenario']:<11} {row['connections']:>4} {row['one_frames_per_s']:>9.0f} "
            f"{_cell(row['one_server_cpu']):>5} {row['n_frames_per_s']:>10.0f} "
            f"{_cell(row['n_server_cpu']):>5} "
            f"{_cell(row['ratio_of_medians']):>6}  {row['per_round']}"
        )
    return "\n".join(lines)


class Goal(TypedDict):
    goal: str
    measured: str
    ok: bool | None  # None: not measured in this run


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def per_cpu(run: Run) -> float | None:
    """Frames per second of server CPU: robust to CPU stolen by neighbours, unlike frames/s."""
    cpu = run["server_cpu"]
    return round(run["result"]["frames_per_s"] / cpu) if cpu else None


def thread_us(run: Run, thread: str) -> float | None:
    """µs of CPU of one thread bucket of the server process per frame."""
    cpu = (run.get("threads_cpu") or {}).get(thread)
    frames = run["result"]["frames_per_s"]
    return round(cpu / frames * 1e6, 1) if cpu is not None and frames else None


def disturbed(run: Run) -> bool:
    """Pinned, and neither side had a full core: a neighbour took the CPU, frames/s understates."""
    cpu = run["server_cpu"]
    return (
        run["pinned"]
        and cpu is not None
        and cpu < DISTURBED_BELOW
        and run["result"]["client_cpu"] < DISTURBED_BELOW
    )


def _key(run: Run) -> tuple[str, str, int]:
    return run["target"], run["scenario"], run["connections"]


def summarize(runs: list[Run]) -> list[Summary]:
    """One row per (target, scenario, connections): medians over the rounds, errors summed."""
    rows: list[Summary] = []
    for target, scenario, connections in dict.fromkeys(_key(r) for r in runs):
        group = [r for r in runs if _key(r) == (target, scenario, connections)]
        error_ids: dict[str, int] = {}
        for r in group:
            for error_id, n in r["result"]["error_ids"].items():
                error_ids[error_id] = error_ids.get(error_id, 0) + n
        rows.append(
            Summary(
                target=target,
                scenario=scenario,
                connections=connections,
                runs=len(group),
                frames_per_s=median([r["result"]["frames_per_s"] for r in group]) or 0.0,
                p50_ms=median([r["result"]["p50_ms"] for r in group]),
                p99_ms=median([r["result"]["p99_ms"] for r in group]),
                p999_ms=median([r["result"]["p999_ms"] for r in group]),
                errors=sum(r["result"]["errors"] for r in group),
                error_ids=error_ids,
                server_cpu=median([r["server_cpu"] for r in group]),
                frames_per_server_cpu_s=median([per_cpu(r) for r in group]),
                client_cpu=median([r["result"]["client_cpu"] for r in group]) or 0.0,
                others_cpu=median([r["others_cpu"] for r in group]),
                disturbed_rounds=sum(disturbed(r) for r in group),
                probe_p99_ms=median([r["result"].get("probe", {}).get("p99_ms") for r in group]),
                loop_us=median([thread_us(r, "loop") for r in group]),
                other_threads_us=median([thread_us(r, "other threads") for r in group]),
            )
        )
    return rows


def ratios(runs: list[Run], rows: list[Summary]) -> list[Ratio]:
    """Every non-baseline row over ``echo:now`` at the same connection count: of the medians, per
    round, and per server CPU-second."""
    out: list[Ratio] = []
    for row in rows:
        if row["target"] == BASELINE:
            continue
        base = find(rows, BASELINE, BASELINE_SCENARIO, row["connections"])
        if base is None or not base["frames_per_s"]:
            continue
        base_by_round = {
            r["round"]: r["result"]["frames_per_s"]
            for r in runs
            if _key(r) == (BASELINE, BASELINE_SCENARIO, row["connections"])
        }
        per_round = [
            round(r["result"]["frames_per_s"] / base_by_round[r["round"]], 3)
            for r in runs
            if _key(r) == (row["target"], row["scenario"], row["connections"])
            and base_by_round.get(r["round"])
        ]
        row_cpu, base_cpu = row["frames_per_server_cpu_s"], base["frames_per_server_cpu_s"]
        out.append(
            Ratio(
                target=row["target"],
                scenario=row["scenario"],
                connections=row["connections"],
                ratio_of_medians=round(row["frames_per_s"] / base["frames_per_s"], 3),
                per_round=per_round,
                cpu_normalized_ratio=round(row_cpu / base_cpu, 3) if row_cpu and base_cpu else None,
            )
        )
    return out


def find(rows: list[Summary], target: str, scenario: str, connections: int) -> Summary | None:
    return next(
        (
            s
            for s in rows
            if s["target"] == target and s["scenario"] == scenario and s["connections"] == connections
        ),
        None,
    )


def find_ratio(ratio_rows: list[Ratio], target: str, scenario: str, connections: int) -> Ratio | None:
    return next(
        (
            r
            for r in ratio_rows
            if r["target"] == target and r["scenario"] == scenario and r["connections"] == connections
        ),
        None,
    )


def _throughput_goal(
    name: str, ratio_rows: list[Ratio], scenario: str, connections: int, minimum: float
) -> tuple[Goal, Ratio | None]:
    r = find_ratio(ratio_rows, EMBEDDED, scenario, connections)
    if r is None:
        return Goal(goal=name, measured="not measured", ok=None), None
    cpu = _cell(r["cpu_normalized_ratio"], 3)
    measured = f"{r['ratio_of_medians']:.3f} x echo (per server CPU {cpu})"
    return Goal(goal=name, measured=measured, ok=r["ratio_of_medians"] >= minimum), r


def goals(
    rows: list[Summary],
    ratio_rows: list[Ratio],
    connections: int,
    hash_rate: float | None,
    hash_per_cpu: float | None,
    storage: dict[str, Any] | None,
) -> list[Goal]:
    """The issue's goal table, judged at ``connections`` (the highest level: 64 in flight)."""
    c = connections
    out: list[Goal] = []
    out.append(_throughput_goal(f"server:now >= 0.80 x echo ({c} conn)", ratio_rows, "now", c, 0.80)[0])
    out.append(
        _throughput_goal(f"authenticated getUser >= 0.60 x echo ({c} conn)", ratio_rows, "get", c, 0.60)[0]
    )
    for scenario in ("upsert-same", "upsert-new"):
        name = f"{scenario} (no credentials, wait_for, {c} in flight, embedded) >= 0.40 x echo, p99 <= 25 ms"
        goal, ratio = _throughput_goal(name, ratio_rows, scenario, c, 0.40)
        row = find(rows, EMBEDDED, scenario, c)
        if ratio is not None and row is not None:
            p99 = row["p99_ms"]
            goal["measured"] += f", p99 {_cell(p99)} ms"
            goal["ok"] = bool(goal["ok"]) and p99 is not None and p99 <= 25
        out.append(goal)
    cred = find(rows, EMBEDDED, "upsert-cred", c)
    name = (
        f"upsert-cred ({c} conn, embedded) >= 0.85 x raw argon2 hashes/s (all cores), server:now p99 <= 10 ms"
    )
    if cred is None or not hash_rate:
        out.append(Goal(goal=name, measured="not measured", ok=None))
    else:
        share = cred["frames_per_s"] / hash_rate
        probe = cred["probe_p99_ms"]
        cpu_share = (
            cred["frames_per_server_cpu_s"] / hash_per_cpu
            if cred["frames_per_server_cpu_s"] and hash_per_cpu
            else None
        )
        out.append(
            Goal(
                goal=name,
                measured=f"{cred['frames_per_s']:.1f}/s / {hash_rate:.1f} hashes/s = {share:.3f} "
                f"(per CPU-second {_cell(cpu_share, 3)}), server:now p99 {_cell(probe)} ms",
                ok=share >= 0.85 and probe is not None and probe <= 10,
            )
        )
    name = "storage engine (upsert durable, group commit) >= 0.50 x raw SQLite group commit"
    if storage is None:
        out.append(Goal(goal=name, measured="not measured", ok=None))
    else:
        measured = (
            f"{storage['engine_durable_ops_per_s']}/s / {storage['raw_grouped_ops_per_s']}/s "
            f"= {storage['ratio']:.3f}"
        )
        if "pipelined_ratio" in storage:
            callers, piped = storage["engine_pipelined_callers"], storage["pipelined_ratio"]
            measured += f" ({callers} callers, pipelined: {piped:.3f})"
        out.append(Goal(goal=name, measured=measured, ok=storage["ratio"] >= 0.5))
    return out


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "OK" if ok else "BELOW GOAL"


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[Summary], ratio_rows: list[Ratio]) -> str:
    header = (
        f"{'target':<16} {'scenario':<11} {'conn':>4} {'frames/s':>9} {'x echo':>6} {'x/cpu':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'errors':>6} {'srv cpu':>7} {'frames/cpu-s':>12} "
        f"{'cli cpu':>7} {'others':>6} {'disturbed':>9}"
    )
    lines = [header, "-" * len(header)]
    for s in rows:
        r = find_ratio(ratio_rows, s["target"], s["scenario"], s["connections"])
        lines.append(
            f"{s['target']:<16} {s['scenario']:<11} {s['connections']:>4} {s['frames_per_s']:>9.0f} "
            f"{_cell(r['ratio_of_medians'] if r else None):>6} "
            f"{_cell(r['cpu_normalized_ratio'] if r else None):>6} {_cell(s['p50_ms']):>7} "
            f"{_cell(s['p99_ms']):>7} {_cell(s['p999_ms']):>8} {s['errors']:>6} "
            f"{_cell(s['server_cpu']):>7} {_cell(s['frames_per_server_cpu_s'], 0):>12} "
            f"{_cell(s['client_cpu']):>7} {_cell(s['others_cpu']):>6} "
            f"{s['disturbed_rounds']:>5}/{s['runs']:<3}"
        )
        if s["errors"]:
            lines.append(f"{'':<16}   errors: {s['error_ids']}")
    return "\n".join(lines)


def thread_table(rows: list[Summary], connections: int) -> str:
    """Server CPU per frame by thread at ``connections``, for the rows that measured it."""
    lines = [f"{'target':<16} {'scenario':<11} {'loop µs':>8} {'threads µs':>10} {'total µs':>8}"]
    for s in rows:
        loop, other = s.get("loop_us"), s.get("other_threads_us")
        if s["connections"] != connections or loop is None or other is None:
            continue
        lines.append(
            f"{s['target']:<16} {s['scenario']:<11} {loop:>8.1f} {other:>10.1f} {loop + other:>8.1f}"
        )
    return "\n".join(lines) if len(lines) > 1 else ""


def batch_table(batches: list[Batch]) -> str:
    """Medians over the requests that succeeded; ``failed`` counts the ones that did not."""
    lines = [
        f"{'target':<16} {'phase':<7} {'users':>6} {'seconds':>8} {'users/s':>8} {'errors':>6} {'failed':>6}"
    ]
    keys = dict.fromkeys((b["target"], b["phase"]) for b in batches)
    for target, phase in keys:
        group = [b for b in batches if b["target"] == target and b["phase"] == phase]
        done = [b for b in group if not b["failure"]]
        lines.append(
            f"{target:<16} {phase:<7} {group[0]['users']:>6} "
            f"{_cell(median([b['seconds'] for b in done])):>8} "
            f"{_cell(median([b['users_per_s'] for b in done]), 0):>8} "
            f"{sum(b['errors'] for b in done):>6} {len(group) - len(done):>3}/{len(group):<2}"
        )
    for b in batches:
        if b["failure"]:
            lines.append(
                f"  round {b['round']} {b['target']} {b['phase']} failed after {b['seconds']:.1f} s: "
                f"{b['failure']}"
            )
    return "\n".join(lines)


def goal_table(goal_rows: list[Goal]) -> str:
    width = max(len(g["goal"]) for g in goal_rows)
    return "\n".join(f"{g['goal']:<{width}}  {g['measured']}  [{_verdict(g['ok'])}]" for g in goal_rows)


def _command(argv: list[str], cwd: Path | None = None) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "python": platform.python_version(),
        "node": _command(["node", "--version"]),
        "uvicorn": version("uvicorn"),
        "websockets": version("websockets"),
    }


def commit_info(repo: Path) -> dict[str, Any]:
    """The commit, whether the tree differs from it, and the build of kserver that ran
    (``kserver --version``: how many hot-path modules were compiled by mypyc)."""
    status = _command(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return {
        "commit": _command(["git", "rev-parse", "HEAD"], cwd=repo),
        "dirty": bool(status),
        "build": _command([sys.executable, "-m", "kserver", "--version"], cwd=repo),
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    """Write atomically (``*.tmp`` then rename) so a killed run leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def main(argv: list[str]) -> None:
    """``python -m bench.report bench/results/<date>.json``: print a results file's tables again."""
    document = json.loads(Path(argv[0]).read_text())
    settings = document["settings"]
    print(
        f"{settings['profile']} profile: {settings['rounds']} rounds, {settings['warmup_s']} s warm-up + "
        f"{settings['duration_s']} s measured per run, {settings['inflight']} in flight per connection; "
        f"commit {document['commit']}; MongoDB engine: {document['mongodb_server']}"
    )
    print(table(document["summary"], document["ratios"]))
    if document["batches"]:
        print("\nsecurity:mUpsertUsers, one request (fresh store, then the same request replayed)")
        print(batch_table(document["batches"]))
    argon2 = document["argon2_raw"]
    if argon2["hashes_per_s"]:
        print(
            f"\nraw argon2id (all cores): {argon2['hashes_per_s']:.1f} hashes/s, "
            f"{argon2['hashes_per_cpu_s']:.1f} per CPU-second"
        )
    print("\nGoals (kserver on the embedded engine):")
    print(goal_table(document["goals"]))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
