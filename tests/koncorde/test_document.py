from __future__ import annotations

from kserver.koncorde.document import flatten


def test_nested_objects_are_flattened_and_kept() -> None:
    doc = {"a": {"b": {"c": 1}}, "d": [{"e": 2}]}
    assert flatten(doc) == {"a": {"b": {"c": 1}}, "a.b": {"c": 1}, "a.b.c": 1, "d": [{"e": 2}]}


def test_id_is_injected_as_the_id_field() -> None:
    assert flatten({"_id": "old", "x": 1}, "new") == {"_id": "new", "x": 1}
    assert flatten({"x": 1}) == {"x": 1}


def test_dotted_key_collides_with_nested_path_later_wins() -> None:
    assert flatten({"a.b": 1, "a": {"b": 2}})["a.b"] == 2
    assert flatten({"a": {"b": 2}, "a.b": 1})["a.b"] == 1
