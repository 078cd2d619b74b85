"""Programs the tests run for real (redis-server, chromium, valgrind...), found or reported."""

from __future__ import annotations

import os
import shutil

import pytest


def required_program(name: str, hint: str, *, env: str | None = None) -> str:
    """The path of ``name`` (or of the program the ``env`` variable names). When it is missing the
    test fails under CI=true (CI installs it: a skip there would hide missing work) and is skipped
    elsewhere; ``hint`` says how to install it."""
    found = (os.environ.get(env) if env else None) or shutil.which(name)
    if found:
        return found
    message = f"{name} is needed: {hint}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
