"""A parsed, validated filter before normalization: leaves joined by and/or/not.

``And(())`` is the empty filter ``{}`` (matches everything).
"""

from __future__ import annotations

from dataclasses import dataclass

from kserver.koncorde.conditions import Condition
from kserver.koncorde.document import FlatDocument


@dataclass(frozen=True, slots=True)
class Leaf:
    cond: Condition


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Leaf | And | Or | Not

EVERYTHING = And(())


def evaluate(node: Node, doc: FlatDocument) -> bool:
    """The filter's truth on a flat document, straight from the tree (the reference semantics)."""
    if isinstance(node, Leaf):
        return node.cond.evaluate(doc)
    if isinstance(node, And):
        return all(evaluate(child, doc) for child in node.children)
    if isinstance(node, Or):
        return any(evaluate(child, doc) for child in node.children)
    return not evaluate(node.child, doc)


def count_conditions(node: Node) -> int:
    """Leaf count: Koncorde's measure for ``maxConditions`` (``in`` and ``ids`` count each value)."""
    if isinstance(node, Leaf):
        return 1
    if isinstance(node, Not):
        return count_conditions(node.child)
    return sum(count_conditions(child) for child in node.children)
