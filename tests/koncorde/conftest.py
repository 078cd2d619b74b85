"""Helpers shared by the Koncorde tests: a fresh engine, and a match check through both paths."""

from __future__ import annotations

from typing import Any

import pytest

from kserver.koncorde import Koncorde
from kserver.koncorde.document import flatten
from kserver.koncorde.parse import parse
from kserver.koncorde.tree import evaluate


@pytest.fixture
def koncorde() -> Koncorde:
    return Koncorde()


def matches(filters: dict[str, Any], document: dict[str, Any], doc_id: str | None = None) -> bool:
    """Whether ``filters`` matches, asserting the tree evaluation and the index agree."""
    engine = Koncorde()
    room = engine.register("idx", "col", filters)
    indexed = engine.test("idx", "col", document, doc_id) == [room]
    reference = evaluate(parse(filters), flatten(document, doc_id))
    assert indexed == reference, (filters, document)
    return indexed
