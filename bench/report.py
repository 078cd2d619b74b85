"""Medians, the comparison table and the results file of ``bench/run``; no I/O except the final write."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypedDict

BASELINE = "echo"
GOAL_TARGET = "kserver"
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


class Run(TypedDict):
    round: int
    target: str
    scenario: str
    result: LoadgenResult
    server_cpu: float | None
    others_cpu: float | None  # the rest of the machine on the server's core (pinned runs only)


class Summary(TypedDict):
    target: str
    scenario: str
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


class Ratio(TypedDict):
    scenario: str
    target: str
    ratio_of_medians: float
    per_round: list[float]
    cpu_normalized_ratio: float | None
    goal: float | None
    meets_goal: bool | None
    meets_goal_per_cpu: bool | None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def per_cpu(run: Run) -> float | None:
    """Frames per second of server CPU: robust to CPU stolen by neighbours, unlike frames/s."""
    cpu = run["server_cpu"]
    return round(run["result"]["frames_per_s"] / cpu) if cpu else None


def disturbed(run: Run) -> bool:
    """Neither side had a full core: with hundreds of requests in flight one of them should have,
    so a neighbour took the CPU and this round's frames/s understates the target."""
    cpu = run["server_cpu"]
    return cpu is not None and cpu < DISTURBED_BELOW and run["result"]["client_cpu"] < DISTURBED_BELOW


def summarize(runs: list[Run]) -> list[Summary]:
    """One row per (target, scenario): the median of every figure over the rounds, errors summed."""
    keys = list(dict.fromkeys((r["target"], r["scenario"]) for r in runs))
    rows: list[Summary] = []
    for target, scenario in keys:
        group = [r for r in runs if r["target"] == target and r["scenario"] == scenario]
        error_ids: dict[str, int] = {}
        for r in group:
            for error_id, n in r["result"]["error_ids"].items():
                error_ids[error_id] = error_ids.get(error_id, 0) + n
        rows.append(
            Summary(
                target=target,
                scenario=scenario,
                runs=len(group),
                frames_per_s=_median([r["result"]["frames_per_s"] for r in group]) or 0.0,
                p50_ms=_median([r["result"]["p50_ms"] for r in group]),
                p99_ms=_median([r["result"]["p99_ms"] for r in group]),
                p999_ms=_median([r["result"]["p999_ms"] for r in group]),
                errors=sum(r["result"]["errors"] for r in group),
                error_ids=error_ids,
                server_cpu=_median([r["server_cpu"] for r in group]),
                frames_per_server_cpu_s=_median([per_cpu(r) for r in group]),
                client_cpu=_median([r["result"]["client_cpu"] for r in group]) or 0.0,
                others_cpu=_median([r.get("others_cpu") for r in group]),
                disturbed_rounds=sum(disturbed(r) for r in group),
            )
        )
    return rows


def ratios(
    runs: list[Run], rows: list[Summary], baseline_scenario: str, goals: dict[str, float]
) -> list[Ratio]:
    """Every non-baseline row against the echo baseline: ratio of medians, per round, and per CPU.

    ``goals`` maps a scenario to its minimum ratio, for kserver rows only; other targets (picows)
    and scenarios without a goal are shown for reference.
    """
    base = next((s for s in rows if s["target"] == BASELINE and s["scenario"] == baseline_scenario), None)
    if base is None or not base["frames_per_s"]:
        return []
    base_by_round = {
        r["round"]: r["result"]["frames_per_s"]
        for r in runs
        if r["target"] == BASELINE and r["scenario"] == baseline_scenario
    }
    out: list[Ratio] = []
    for row in rows:
        if row["target"] == BASELINE:
            continue
        per_round = [
            round(r["result"]["frames_per_s"] / base_by_round[r["round"]], 3)
            for r in runs
            if r["target"] == row["target"]
            and r["scenario"] == row["scenario"]
            and base_by_round.get(r["round"])
        ]
        ratio = round(row["frames_per_s"] / base["frames_per_s"], 3)
        row_cpu, base_cpu = row["frames_per_server_cpu_s"], base["frames_per_server_cpu_s"]
        goal = goals.get(row["scenario"]) if row["target"] == GOAL_TARGET else None
        cpu_ratio = round(row_cpu / base_cpu, 3) if row_cpu and base_cpu else None
        out.append(
            Ratio(
                scenario=row["scenario"],
                target=row["target"],
                ratio_of_medians=ratio,
                per_round=per_round,
                cpu_normalized_ratio=cpu_ratio,
                goal=goal,
                meets_goal=None if goal is None else ratio >= goal,
                meets_goal_per_cpu=None if goal is None or cpu_ratio is None else cpu_ratio >= goal,
            )
        )
    return out


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else "OK" if ok else "BELOW GOAL"


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[Summary], ratio_rows: list[Ratio], baseline_scenario: str) -> str:
    header = (
        f"{'target':<9} {'scenario':<10} {'frames/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} "
        f"{'errors':>6} {'srv cpu':>7} {'frames/cpu-s':>12} {'cli cpu':>7} {'others':>6} {'disturbed':>9}"
    )
    lines = [header, "-" * len(header)]
    for s in rows:
        lines.append(
            f"{s['target']:<9} {s['scenario']:<10} {s['frames_per_s']:>9.0f} {_cell(s['p50_ms']):>7} "
            f"{_cell(s['p99_ms']):>7} {_cell(s['p999_ms']):>8} {s['errors']:>6} "
            f"{_cell(s['server_cpu']):>7} {_cell(s['frames_per_server_cpu_s'], 0):>12} "
            f"{_cell(s['client_cpu']):>7} {_cell(s['others_cpu']):>6} "
            f"{s['disturbed_rounds']:>5}/{s['runs']:<3}"
        )
    lines.append("")
    for r in ratio_rows:
        verdict = verdict_cpu = ""
        if r["goal"] is not None:
            verdict = f" [goal >= {r['goal']:.2f}: {_verdict(r['meets_goal'])}]"
            verdict_cpu = f" [{_verdict(r['meets_goal_per_cpu'])}]"
        lines.append(
            f"{r['target']}:{r['scenario']} / {BASELINE}:{baseline_scenario} = {r['ratio_of_medians']:.3f}"
            f"{verdict}; per server CPU {_cell(r['cpu_normalized_ratio'], 3)}{verdict_cpu}; "
            f"per round {r['per_round']}"
        )
    return "\n".join(lines)


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
    status = _command(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return {
        "commit": _command(["git", "rev-parse", "HEAD"], cwd=repo),
        "dirty": bool(status),
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    """Write atomically (``*.tmp`` then rename) so a killed run leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
