from __future__ import annotations

from kserver.koncorde.errors import KoncordeError, dsl_error


def test_dsl_error_prefixes_the_filter_path() -> None:
    error = dsl_error("must be an object", "range", "and.range")
    assert str(error) == '"and.range": must be an object'
    assert (error.kind, error.keyword, error.message) == ("dsl_error", "range", str(error))


def test_dsl_error_without_path_is_the_bare_message() -> None:
    assert str(dsl_error("boom", None, None)) == "boom"


def test_kind_and_keyword_are_kept() -> None:
    error = KoncordeError("nope", "restricted_keyword", "bool")
    assert (error.kind, error.keyword, str(error)) == ("restricted_keyword", "bool", "nope")
