"""Koncorde, Kuzzle's realtime filter language, in pure Python.

``Koncorde`` registers filters per (index, collection) and tells which rooms
a document matches; ``to_storage_filter`` turns a filter into a storage search.
"""

from kserver.koncorde.engine import DEFAULT_SEED, Koncorde, MatchStats, NormalizedFilter
from kserver.koncorde.errors import ErrorKind, KoncordeError
from kserver.koncorde.storage import to_storage_filter

__all__ = [
    "DEFAULT_SEED",
    "ErrorKind",
    "Koncorde",
    "KoncordeError",
    "MatchStats",
    "NormalizedFilter",
    "to_storage_filter",
]
