"""Storage engines behind one port; ``engine_for_url`` picks one from the storage URL."""

from __future__ import annotations

from kserver.storage.port import Engine


def engine_for_url(url: str) -> Engine:
    """``sqlite:///relative/or//absolute/path.db`` or ``mongodb://...``; nothing connects until ``open()``."""
    if url.startswith("sqlite://"):
        from kserver.storage.sqlite import SqliteEngine

        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///data/k.db is relative, sqlite:////abs/k.db absolute
        return SqliteEngine(path or "./data/kserver.db")
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from kserver.storage.mongodb import MongoEngine

        return MongoEngine(url)
    raise ValueError(f"unsupported storage URL {url!r}: use sqlite:///path.db or mongodb://host/db")
