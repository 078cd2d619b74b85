"""bench/chart.py draws a results document as a PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the chart needs the bench extra (matplotlib)")

from bench import chart


def test_chart_is_a_png(tmp_path: Path) -> None:
    summary = [
        {"target": t, "scenario": s, "connections": c, "p99_ms": 2.0}
        for t, s in [("echo", "now"), ("kserver-sqlite", "now"), ("kserver-mongodb", "get")]
        for c in (1, 64)
    ]
    ratios = [
        {
            "target": r["target"],
            "scenario": r["scenario"],
            "connections": r["connections"],
            "ratio_of_medians": 0.5,
        }
        for r in summary
        if r["target"] != "echo"
    ]
    document = {
        "started_at": "2026-11-24T00:00:00+00:00",
        "commit": "0123456789abcdef",
        "machine": {"cpu_count": 2, "cpu_model": "test"},
        "mongodb_server": "FerretDB 1.24.2 (SQLite backend)",
        "settings": {"profile": "quick", "rounds": 1, "inflight": 1, "connections": [1, 64]},
        "summary": summary,
        "ratios": ratios,
    }
    output = tmp_path / "chart.png"
    chart.draw(document, output)
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
