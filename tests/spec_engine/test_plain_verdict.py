"""The pure-Python verdict and explanation (runway_dynamic._verdict) are never wrong: when
they answer, it is python-jsonschema's answer (the explaining path), errors and their order
included, on every variant of the spec, for bodies drawn valid from the variant and then
damaged."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schema_strategies import any_json, bodies, examples

from runway_dynamic._verdict import INVALID, UNSURE, VALID, explain, verdict
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.validation import checkable_schema

_CATALOG = Spec.from_bytes(bundled_spec_path().read_bytes(), "bundled").catalog
VARIANTS = [
    pytest.param(op.method, op.endpoint, v.key, id=f"{op.method} {op.endpoint} {v.key or '-'}")
    for op in _CATALOG.operations
    for v in op.variants
]


def _oracle(schema: Any, body: Any) -> bool:
    return Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(body)


def _damaged(data: st.DataObject, body: dict[str, Any]) -> dict[str, Any]:
    """The body as drawn, or with one field dropped, replaced by any JSON, or added."""
    how = data.draw(st.sampled_from(["none", "drop", "junk", "extra", "deep"]), label="how")
    body = dict(body)
    if how == "drop" and body:
        del body[data.draw(st.sampled_from(sorted(body)), label="dropped")]
    elif how == "junk" and body:
        body[data.draw(st.sampled_from(sorted(body)), label="junked")] = data.draw(
            any_json(), label="junk")
    elif how == "extra":
        body[data.draw(st.sampled_from(["zzz", "prompt", "type"]), label="extra")] = data.draw(
            any_json(), label="value")
    elif how == "deep":
        nested = [k for k, v in body.items() if isinstance(v, dict) and v]
        if nested:
            key = data.draw(st.sampled_from(sorted(nested)), label="nested")
            inner = dict(body[key])
            inner[data.draw(st.sampled_from(sorted(inner)), label="inner")] = data.draw(
                any_json(), label="inner value")
            body[key] = inner
    return body


def _schema_and_body(method: str, endpoint: str, key: str | None,
                     data: st.DataObject) -> tuple[Any, Any] | None:
    """A variant's checkable schema and a drawn body, maybe damaged; ``None`` for a variant
    the plain verdict never judges (some part is left unchecked)."""
    op = _CATALOG.operation(endpoint, method)
    assert op is not None
    variant = op.variant(key)
    assert variant is not None
    schema, unchecked = checkable_schema(variant.schema)
    if unchecked:
        return None
    return schema, _damaged(data, data.draw(bodies(variant.schema), label="body"))


@pytest.mark.parametrize(("method", "endpoint", "key"), VARIANTS)
@examples(15)
@given(data=st.data())
def test_plain_verdict_when_given_is_python_jsonschemas(
        method: str, endpoint: str, key: str | None, data: st.DataObject) -> None:
    """VALID only where python-jsonschema accepts, INVALID only where it refuses."""
    case = _schema_and_body(method, endpoint, key, data)
    if case is None:
        return  # no fast path for such a variant (validation._fast_path)
    schema, body = case
    found = verdict(schema, body)
    if found is not UNSURE:
        assert found == _oracle(schema, body), json.dumps(body)


def _their_errors(schema: Any, body: Any) -> list[tuple[Any, ...]]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [(e.validator, e.validator_value, e.instance, tuple(e.absolute_path),
             e.message if e.validator == "required" else "", id(e.schema))
            for e in validator.iter_errors(body)]


@pytest.mark.parametrize(("method", "endpoint", "key"), VARIANTS)
@examples(15)
@given(data=st.data())
def test_plain_explanation_when_given_is_python_jsonschemas_errors_in_order(
        method: str, endpoint: str, key: str | None, data: st.DataObject) -> None:
    """Same keyword, value, instance, path, schema object and (for a missing property)
    message, error by error, in python-jsonschema's order."""
    case = _schema_and_body(method, endpoint, key, data)
    if case is None:
        return
    schema, body = case
    ours = explain(schema, body)
    if ours is not None:
        assert [(e.validator, e.validator_value, e.instance, tuple(e.absolute_path),
                 e.message, id(e.schema)) for e in ours] == _their_errors(schema, body), (
            json.dumps(body))


def test_plain_verdict_accepts_a_plain_generation_body() -> None:
    """The common case is decided here, with no compiled validator: a gen4.5 text body."""
    op = _CATALOG.operation("text_to_video", "POST")
    assert op is not None
    variant = op.variant("gen4.5")
    assert variant is not None
    schema, _ = checkable_schema(variant.schema)
    body = {"model": "gen4.5", "promptText": "a cat", "ratio": "1280:720", "duration": 5}
    assert verdict(schema, body) is VALID
    assert verdict(schema, {**body, "duration": 50}) is INVALID
    assert explain(schema, body) == []
    refused = explain(schema, {**body, "duration": 50, "seed": -1})
    assert refused is not None
    assert [(e.validator, e.absolute_path) for e in refused] == [
        ("maximum", ("duration",)), ("minimum", ("seed",))]


@pytest.mark.parametrize(("schema", "value"), [
    ({"type": "object", "properties": {"a": {"type": "integer"}},
      "additionalProperties": {"type": "string"}}, {"x": 1, "y": 2}),  # set order: theirs
    ({"anyOf": [{"type": "string"}]}, 1),
    ({"type": "string", "format": "uuid"}, "x"),
    ({"type": "array", "items": False}, [1]),
    (False, 1),
])
def test_plain_explanation_leaves_the_rest_to_python_jsonschema(schema: Any, value: Any) -> None:
    assert explain(schema, value) is None


@pytest.mark.parametrize(("schema", "value", "expected"), [
    ({"type": "integer"}, 5.0, VALID),  # a float with no fraction is an integer
    ({"type": "integer"}, True, INVALID),  # a bool is not
    ({"enum": [1, 2]}, True, INVALID),
    ({"enum": [1, 2]}, 1.0, VALID),
    ({"const": False}, 0, INVALID),
    ({"minimum": 0}, math.nan, VALID),  # as python-jsonschema compares
    ({"maximum": "5"}, 3, UNSURE),  # a broken bound: left to the explaining path
    ({"type": "string", "format": "uuid"}, "x", UNSURE),
    ({"$ref": "#/x"}, 1, UNSURE),
    ({"multipleOf": 0.1}, 0.3, UNSURE),
    ({"type": "object", "patternProperties": {"^a": {}}, "additionalProperties": False},
     {"b": 1}, UNSURE),
    ({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}, "ab", INVALID),
    ({"oneOf": [{"const": "a"}, {"const": "b"}]}, "b", VALID),
    ({"anyOf": [{"format": "uri"}, {"type": "string"}]}, "x", VALID),
    ({"not": {"type": "string"}}, 1, VALID),
    ({"type": "string", "x-vendor": 1, "description": "d"}, "x", VALID),
    ({"type": "array", "items": {"type": "integer"}, "maxItems": 2}, [1, 2, 3], INVALID),
    ({"type": "string"}, ("not", "json"), UNSURE),
])
def test_plain_verdict_cases(schema: Any, value: Any, expected: bool | None) -> None:
    assert verdict(schema, value) is expected
    if expected is not UNSURE:
        assert _oracle(schema, value) is expected
