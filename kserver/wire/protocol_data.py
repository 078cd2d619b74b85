"""Where the language-neutral protocol data (the top-level ``protocol/`` folder) is found.

In a wheel it is packaged as ``kserver/_protocol``; in a source checkout (editable
install, tests) it is the repository's ``protocol/`` folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def protocol_dir() -> Path:
    for candidate in (_PACKAGE / "_protocol", _PACKAGE.parent / "protocol"):
        if (candidate / "errors.json").is_file():
            return candidate
    raise FileNotFoundError("protocol data not found (expected kserver/_protocol or ../protocol)")


def load_json(name: str) -> Any:
    """Parse one file of the protocol folder (e.g. ``errors.json``)."""
    return orjson.loads((protocol_dir() / name).read_bytes())
