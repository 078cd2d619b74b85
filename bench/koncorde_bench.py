"""``Koncorde.test`` throughput with 10 and with 10,000 registered equality filters.

The ratio (10,000-filter throughput / 10-filter throughput) shows whether
matching scales with the number of distinct equality fields rather than with
the number of filters (goal: >= 0.5). Usage:
``PYTHONPATH=. python bench/koncorde_bench.py [--seconds S] [--json PATH]`` from the
repository root (or with kserver installed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson

from kserver.koncorde import Koncorde


def throughput(filters: int, seconds: float) -> float:
    """Tests per second on documents each matching one of ``filters`` ``{equals: {user}}`` filters."""
    engine = Koncorde()
    for n in range(filters):
        engine.register("bench", "messages", {"equals": {"user": f"u{n}"}})
    engine.register("bench", "messages", {"and": [{"range": {"age": {"gte": 18}}}, {"exists": "city"}]})
    documents = [
        {"user": f"u{n % filters}", "age": n % 90, "city": "Montpellier", "text": "hi"} for n in range(256)
    ]
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for document in documents:
            engine.test("bench", "messages", document)
        done += len(documents)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per case")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    small = throughput(10, args.seconds)
    large = throughput(10_000, args.seconds)
    ratio = large / small
    print(f"10 filters:     {small:12,.0f} tests/s")
    print(f"10,000 filters: {large:12,.0f} tests/s")
    print(f"ratio:          {ratio:12.2f} (goal >= 0.5)")
    if args.json:
        result = {"filters_10": small, "filters_10000": large, "ratio": ratio}
        args.json.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
