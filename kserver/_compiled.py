"""The modules compiled with mypyc (``setup.py``): those every request runs through.

Kept here, apart from the build, so that the package can tell at import whether a compiled module
is older than its source (an edit not yet rebuilt would otherwise run the old code unseen).
Only plain data and the standard library: ``setup.py`` reads this file before kserver exists.
"""

from __future__ import annotations

import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

COMPILED = (
    # the request's way in and out: frame → Request → router → gate → handler → envelope → socket
    "kserver.wire.request",
    "kserver.wire.envelope",
    "kserver.wire.context",
    "kserver.wire.catalog",
    "kserver.router",
    "kserver.transport.websocket",
    "kserver.transport.eager",
    "kserver.transport.outbox",
    "kserver.transport.limits",
    "kserver.controllers.server",
    # who the caller is and what they may do (cached paths)
    "kserver.services.auth.gate",
    "kserver.services.auth.tokens",
    "kserver.services.auth.user_cache",
    "kserver.services.auth.bundle",
    "kserver.services.epoch",
    "kserver.services.security.rights",
    "kserver.services.security.profiles",
    "kserver.services.security.cache",
    # users: reads, upserts and their events
    "kserver.controllers.security",
    "kserver.controllers.security_upsert",
    "kserver.services.security.users",
    "kserver.services.upserts",
    "kserver.services.user_events",
    "kserver.services.collections",
    "kserver.services.names",
    "kserver.services.metrics",
    "kserver.services.realtime.hotel",
    # the embedded engine: reads on the loop, the writer thread's transactions
    "kserver.storage.port",
    "kserver.storage.sqlite",
    "kserver.storage.sqlite_inline",
    "kserver.storage.sqlite_docs",
    "kserver.storage.sqlite_values",
    "kserver.storage.sqlite_writer",
    "kserver.storage.handoff",
)

_ROOT = Path(__file__).resolve().parent.parent


def compiled_files(root: Path = _ROOT) -> dict[str, Path]:
    """Each listed module's compiled file (under ``root``, where the ``kserver`` folder is)."""
    found: dict[str, Path] = {}
    for module in COMPILED:
        base = root.joinpath(*module.split("."))
        for suffix in EXTENSION_SUFFIXES:
            candidate = base.with_name(base.name + suffix)
            if candidate.exists():
                found[module] = candidate
                break
    return found


def stale(root: Path = _ROOT) -> list[str]:
    """The compiled modules whose source changed after they were built, in a source checkout (an
    editable install); an installed wheel's files all date from its unpacking."""
    if not (root / "setup.py").exists():
        return []
    late: list[str] = []
    for module, binary in compiled_files(root).items():
        source = binary.with_name(binary.name.split(".", 1)[0] + ".py")
        if source.exists() and os.stat(source).st_mtime > os.stat(binary).st_mtime:
            late.append(module)
    return late
