"""Dotted-path writes on document sources (kserver.storage.sqlite_values)."""

from __future__ import annotations

from kserver.storage.sqlite_values import node_at, set_paths, unique_values, unset_paths


def test_set_paths_copies_what_it_changes_once_and_shares_the_rest() -> None:
    inner = {"a": 1}
    untouched = {"k": [1]}
    doc = {"c": inner, "o": untouched, "s": 5}
    set_paths(doc, {"c.b": 2, "c.d.e": 3, "s.t": 4})
    assert doc == {"c": {"a": 1, "b": 2, "d": {"e": 3}}, "o": {"k": [1]}, "s": {"t": 4}}
    assert inner == {"a": 1}  # the caller's object was copied, not changed
    assert doc["o"] is untouched


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
