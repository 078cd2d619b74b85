"""Builds kserver, with the modules every request runs through compiled by mypyc.

mypyc (part of mypy) compiles type-annotated Python into C extensions, the way mypy and black
ship: the same source, checked by the same mypy, run as C. Which modules, and why: kserver/_compiled.py.
The build falls back to pure Python when compiling is impossible (no C compiler, no Python
headers: every extension is optional) or asked off (``KSERVER_PURE=1``); ``kserver --version``
says which one runs. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPy(build_py):
    """Packages the repository's protocol/ folder inside the wheel as kserver/_protocol."""

    def run(self) -> None:
        super().run()
        shutil.copytree(ROOT / "protocol", Path(self.build_lib) / "kserver" / "_protocol", dirs_exist_ok=True)


def compiled_extensions() -> list[Any]:
    if os.environ.get("KSERVER_PURE") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:  # build isolation off and no mypy at hand
        print(f"kserver: mypyc unavailable ({exc}): pure Python", file=sys.stderr)
        return []
    modules = runpy.run_path(str(ROOT / "kserver" / "_compiled.py"))["COMPILED"]
    paths = [str(Path(*module.split(".")).with_suffix(".py")) for module in modules]
    # The build environment has mypy, not kserver's dependencies: their types are Any here (the
    # full, strict check is tests/run's `mypy`); no config file, so strict mode's lints don't apply.
    options = ["--config-file=", "--ignore-missing-imports", "--python-version=3.11"]
    extensions = mypycify(options + paths, opt_level="3", multi_file=True)
    for extension in extensions:
        extension.optional = True  # a compiler error installs pure Python instead of failing
    return extensions


setup(ext_modules=compiled_extensions(), cmdclass={"build_py": BuildPy})
