"""The one error Koncorde raises: an invalid filter.

``kind`` tells the API layer which Kuzzle error to send:
``dsl_error`` => ``api.assert.koncorde_dsl_error``, ``unknown_keyword`` =>
``api.assert.koncorde_unknown_keyword``, ``restricted_keyword`` =>
``api.assert.koncorde_restricted_keyword``.
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["dsl_error", "unknown_keyword", "restricted_keyword"]


class KoncordeError(Exception):
    """A filter Koncorde refuses; ``keyword`` is the faulty keyword when one is known."""

    def __init__(self, message: str, kind: ErrorKind = "dsl_error", keyword: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.keyword = keyword


def dsl_error(message: str, keyword: str | None, path: str | None) -> KoncordeError:
    """Koncorde's message shape: ``"<filter path>": <message>``."""
    text = f'"{path}": {message}' if path else message
    return KoncordeError(text, "dsl_error", keyword)
