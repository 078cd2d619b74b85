"""The hot-path modules run compiled (setup.py, mypyc), and an edited source is never shadowed
by its older compiled module."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from kserver._compiled import COMPILED, compiled_files, stale

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("KSERVER_PURE") == "1", reason="a pure-Python build was asked for")
def test_every_hot_module_runs_compiled() -> None:
    """tests/run builds with mypyc: the suite tests what `pip install .` ships (a build that fell
    back to pure Python, say for a missing compiler, fails here rather than pass unnoticed)."""
    for name in COMPILED:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert module.__file__.endswith(tuple(EXTENSION_SUFFIXES)), f"{name} is not compiled"


def test_version_says_how_many_modules_are_compiled() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kserver", "--version"], capture_output=True, text=True, check=True
    ).stdout
    built = len(compiled_files())
    assert out.strip() == f"kserver 0.1.0 (compiled: {built} of {len(COMPILED)} hot-path modules)"


def test_a_source_newer_than_its_compiled_module_is_reported(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    source = tmp_path / "kserver" / "router.py"
    source.parent.mkdir()
    source.write_text("")
    binary = source.with_name("router" + EXTENSION_SUFFIXES[0])
    binary.write_bytes(b"")
    os.utime(source, (1_000, 1_000))
    os.utime(binary, (2_000, 2_000))
    assert stale(tmp_path) == []
    os.utime(source, (3_000, 3_000))  # edited after the build
    assert stale(tmp_path) == ["kserver.router"]
    (tmp_path / "setup.py").unlink()  # an installed package: no source checkout, no check
    assert stale(tmp_path) == []


def test_importing_a_stale_checkout_fails_with_the_way_out(tmp_path: Path) -> None:
    """The package refuses to import rather than run old code for an edited module."""
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "kserver", copy / "kserver", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "setup.py").write_text("")
    router = copy / "kserver" / "router.py"
    binary = router.with_name("router" + EXTENSION_SUFFIXES[0])
    if not binary.exists():
        binary.write_bytes(b"")  # a pure build: stand in for the compiled file
    os.utime(binary, (2_000, 2_000))
    os.utime(router, (3_000, 3_000))
    env = {**os.environ, "PYTHONPATH": str(copy)}
    run = subprocess.run(
        [sys.executable, "-c", "import kserver"], capture_output=True, text=True, cwd=copy, env=env
    )
    assert run.returncode != 0
    assert "kserver.router changed since compiled" in run.stderr
    assert "pip install -e ." in run.stderr
