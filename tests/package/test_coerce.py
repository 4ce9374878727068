"""Typed values from text (flags and CSV cells share ``runway_dynamic.coerce``)."""

from __future__ import annotations

from typing import Any

import pytest

from runway_dynamic._exceptions import UsageError
from runway_dynamic.coerce import from_text


@pytest.mark.parametrize(("raw", "kind", "expected"), [
    ("5", "integer", 5),
    ("5", "number", 5),
    ("5.0", "number", 5.0),
    ("2.5", "number", 2.5),
    (" Yes", "boolean", True),
    ("off", "boolean", False),
    ("text", "string", "text"),
    ("[1, 2]", "array", [1, 2]),
    ('{"a": 1}', "object", {"a": 1}),
    ("[1]", "any", [1]),
    ("plain", "any", "plain"),
    (7, "string", 7),  # already typed values pass unchanged
])
def test_from_text_converts_by_kind(raw: Any, kind: str, expected: Any) -> None:
    value = from_text(raw, kind, "--x")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("raw", "kind", "words"), [
    ("five", "integer", "takes an integer"),
    ("1.5.2", "number", "takes a number"),
    ("maybe", "boolean", "true or false"),
    ("{nope", "object", "invalid JSON"),
])
def test_from_text_names_where_and_what(raw: str, kind: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        from_text(raw, kind, "line 3, duration")
    assert "line 3, duration" in str(caught.value) and words in str(caught.value)
