from __future__ import annotations

from kserver.koncorde.conditions import Equals, Exists
from kserver.koncorde.tree import EVERYTHING, And, Leaf, Not, Or, count_conditions, evaluate

A, B = Leaf(Equals("a", 1)), Leaf(Exists("b"))


def test_evaluate_operators() -> None:
    doc = {"a": 1}
    assert evaluate(And((A, Not(B))), doc)
    assert not evaluate(And((A, B)), doc)
    assert evaluate(Or((B, A)), doc)
    assert not evaluate(Or((B,)), doc)
    assert evaluate(EVERYTHING, {})


def test_count_conditions_counts_leaves() -> None:
    assert count_conditions(And((A, Not(Or((A, B)))))) == 3
    assert count_conditions(EVERYTHING) == 0
