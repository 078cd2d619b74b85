"""Dotted-path writes on document sources (kserver.storage.sqlite_values)."""

from __future__ import annotations

from typing import Any

from kserver.storage import sqlite_values
from kserver.storage.sqlite_values import node_at, set_paths, unique_values, unset_paths


def test_set_paths_copies_what_it_changes_once_and_shares_the_rest() -> None:
    inner = {"a": 1}
    untouched = {"k": [1]}
    doc = {"c": inner, "o": untouched, "s": 5}
    set_paths(doc, {"c.b": 2, "c.d.e": 3, "s.t": 4})
    assert doc == {"c": {"a": 1, "b": 2, "d": {"e": 3}}, "o": {"k": [1]}, "s": {"t": 4}}
    assert inner == {"a": 1}  # the caller's object was copied, not changed
    assert doc["o"] is untouched


def test_set_paths_under_one_object_in_a_row_and_interleaved() -> None:
    shared = {"old": 0}
    doc: dict[str, Any] = {"content": shared}
    paths: dict[str, Any] = {
        "content.a": 1,  # these two share the walk to content
        "content.b": 2,
        "content.info": {"x": 1},  # then a whole object, then paths into it
        "content.info.y": 2,
        "content": {"fresh": True},  # the parent replaced: the next path walks again
        "content.c": 3,
        "top": 4,
    }
    set_paths(doc, paths)
    assert doc == {"content": {"fresh": True, "c": 3}, "top": 4}
    assert shared == {"old": 0}
    doc = {"content": {"info": {"x": 1}}}
    set_paths(doc, {"content.a": 1, "content.info.y": 2, "content.b": 3})
    assert doc == {"content": {"info": {"x": 1, "y": 2}, "a": 1, "b": 3}}


def test_unset_paths_copies_too() -> None:
    inner = {"a": 1, "b": 2}
    doc = {"c": inner}
    unset_paths(doc, ["c.a", "c.zz", "no.such"])
    assert doc == {"c": {"b": 2}}
    assert inner == {"a": 1, "b": 2}


def test_unique_values_of_a_node() -> None:
    doc = {"c": {"emails": ["a@x", None, "b@x"], "n": 1.0}, "arr": [{"x": 1}]}
    assert unique_values(node_at(doc, "c.emails")) == {'"a@x"', '"b@x"'}
    assert unique_values(node_at(doc, "c.n")) == {"1"}
    assert node_at(doc, "arr.x") is None  # arrays on the way are not traversed
    assert unique_values(node_at(doc, "c.missing")) == set()


def test_the_memo_of_split_paths_stays_bounded_and_right() -> None:
    doc: dict[str, object] = {}
    many = sqlite_values._SPLIT_MAX + 10
    set_paths(doc, {f"p.k{i}.leaf": i for i in range(many)})
    assert len(sqlite_values._SPLIT) <= sqlite_values._SPLIT_MAX
    assert [node_at(doc, f"p.k{i}.leaf") for i in (0, many - 1)] == [0, many - 1]
    assert node_at(doc, "p.k0.leaf.deeper") is None
    assert node_at(doc, "p") is doc["p"]
