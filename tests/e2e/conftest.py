"""The official JS SDK as a test peer: ``tests/sdk`` with its npm dependencies installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parents[1] / "sdk"


@pytest.fixture(scope="session")
def sdk_dir() -> Path:
    """``tests/sdk``, after ``npm ci`` if its ``node_modules`` is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("Node.js and npm are needed for the SDK end-to-end tests")
    if not (SDK_DIR / "node_modules" / "kuzzle-sdk").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SDK_DIR, check=True, timeout=300)
    return SDK_DIR
