"""bench/layers.py runs kserver's getUser layers for real and reports every stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_stage_is_timed_and_the_parts_fit_in_the_whole(tmp_path: Path) -> None:
    out = tmp_path / "layers.json"
    argv = [sys.executable, str(BENCH / "layers.py"), "--frames", "500", "--rounds", "5", "--json", str(out)]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    figures = json.loads(out.read_text())
    stages = ("decode", "request_model", "admit", "admitted", "dispatch", "engine_get", "sql_read")
    assert all(figures[name] > 0 for name in (*stages, "envelope_encode", "floor_work"))
    assert figures["dispatch"] > figures["admitted"]
    assert figures["admit"] > figures["admitted"]  # the connection's memo spares the caches' path
    assert figures["engine_get"] > figures["sql_read"]
    assert figures["kserver_total"] > figures["dispatch"]
