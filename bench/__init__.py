"""Benchmarks: each module runs as a script (python bench/<name>.py); bench/run runs them together."""
