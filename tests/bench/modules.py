"""Load ``bench/run`` (a script without the .py suffix) as a module."""

from __future__ import annotations

import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(filename: str) -> ModuleType:
    """The module of ``bench/<filename>``, executed once per call under a private name."""
    name = "bench_" + filename.removesuffix(".py")
    loader = SourceFileLoader(name, str(BENCH / filename))
    spec = spec_from_loader(name, loader)
    assert spec is not None
    module = module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    loader.exec_module(module)
    return module
