"""Draw a ``bench/run`` results file as a PNG next to it (``<date>.json`` -> ``<date>.png``).

Top row: throughput over ``echo:now`` at the same connection count, per scenario, one bar per
target (picows, kserver on each engine), one panel per connection count, goal marks in red;
``upsert-cred`` is drawn over the raw argon2id rate instead (its goal: 0.85).
Bottom row: p99 latency (log scale), same layout, echo included.

    python bench/chart.py bench/results/<date>.json [--output chart.png]

Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

GOALS = {"now": 0.80, "get": 0.60, "upsert-same": 0.40, "upsert-new": 0.40, "upsert-cred": 0.85}
HASHED = "upsert-cred"  # compared with the raw argon2id rate, not with echo
P99_GOALS = {"upsert-same": 25.0, "upsert-new": 25.0}
Lookup = Callable[[str, str], float | None]  # (target, scenario) -> value
COLORS = {
    "echo": "#9e9e9e",
    "picows": "#6a3d9a",
    "floor": "#fdbf6f",
    "kserver-sqlite": "#1f78b4",
    "kserver-mongodb": "#33a02c",
}


def _title(document: dict[str, Any]) -> str:
    settings = document["settings"]
    commit = (document.get("commit") or "?")[:10]
    machine = document["machine"]
    return (
        f"kserver bench {document['started_at'][:10]} ({settings['profile']}, {settings['rounds']} rounds, "
        f"{settings['inflight']} in flight/conn), commit {commit}; {machine['cpu_count']} x "
        f"{machine['cpu_model']}; MongoDB engine: {document.get('mongodb_server') or '-'}"
    )


def draw(document: dict[str, Any], output: Path) -> None:
    summary: list[dict[str, Any]] = document["summary"]
    levels: list[int] = document["settings"]["connections"]
    scenarios = list(dict.fromkeys(s["scenario"] for s in summary))
    targets = list(dict.fromkeys(s["target"] for s in summary))
    ratio_targets = [t for t in targets if t != "echo"]
    fig, axes = plt.subplots(2, len(levels), figsize=(6 * len(levels), 9), squeeze=False)
    for column, connections in enumerate(levels):
        top, bottom = axes[0][column], axes[1][column]
        for axis, shown, value_of in (
            (top, ratio_targets, _ratio_lookup(document, connections)),
            (bottom, targets, _p99_lookup(summary, connections)),
        ):
            width = 0.8 / max(1, len(shown))
            for i, target in enumerate(shown):
                xs, ys = [], []
                for x, scenario in enumerate(scenarios):
                    value = value_of(target, scenario)
                    if value is not None:
                        xs.append(x + (i - (len(shown) - 1) / 2) * width)
                        ys.append(value)
                axis.bar(xs, ys, width, label=target, color=COLORS.get(target))
            labels = [f"{s}\n(x argon2)" if s == HASHED and axis is top else s for s in scenarios]
            axis.set_xticks(range(len(scenarios)), labels, rotation=30, ha="right")
            axis.grid(axis="y", alpha=0.3)
        for x, scenario in enumerate(scenarios):
            if scenario in GOALS:
                top.hlines(GOALS[scenario], x - 0.45, x + 0.45, colors="red", linewidth=2)
            if scenario in P99_GOALS:
                bottom.hlines(P99_GOALS[scenario], x - 0.45, x + 0.45, colors="red", linewidth=2)
        top.set_title(f"throughput / echo:now, {connections} connection(s)")
        top.axhline(1.0, color="black", linewidth=0.5)
        bottom.set_title(f"p99 latency (ms), {connections} connection(s)")
        bottom.set_yscale("log")
    axes[0][0].legend(loc="upper right", fontsize="small")
    axes[1][0].legend(loc="upper left", fontsize="small")
    fig.suptitle(_title(document), fontsize="small")
    fig.tight_layout()
    fig.savefig(output, dpi=90)
    plt.close(fig)


def _ratio_lookup(document: dict[str, Any], connections: int) -> Lookup:
    table = {
        (r["target"], r["scenario"]): r["ratio_of_medians"]
        for r in document["ratios"]
        if r["connections"] == connections
    }
    hash_rate = (document.get("argon2_raw") or {}).get("hashes_per_s")
    if hash_rate:
        for s in document["summary"]:
            if s["scenario"] == HASHED and s["connections"] == connections:
                table[s["target"], HASHED] = s["frames_per_s"] / hash_rate
    return lambda target, scenario: table.get((target, scenario))


def _p99_lookup(summary: list[dict[str, Any]], connections: int) -> Lookup:
    table = {(s["target"], s["scenario"]): s["p99_ms"] for s in summary if s["connections"] == connections}
    return lambda target, scenario: table.get((target, scenario))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--output", type=Path, help="default: the results file with .png")
    args = parser.parse_args()
    output = args.output or args.results.with_suffix(".png")
    draw(json.loads(args.results.read_text()), output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
