"""Open enums ("one of these, or any string"): known values are suggestions, never a gate.

Newer Runway schemas write some fields as ``anyOf: [{enum: [...]}, {type: string}]``
(FACTS.md). The catalog keeps the known values (``Field.suggestions``) and marks them open;
pre-flight lets any string through, as the schema does.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import any_json, examples

from runway_dynamic.catalog import schema_choices, schema_suggestions
from runway_dynamic.spec import Spec
from runway_dynamic.validation import errors

_values = st.lists(st.sampled_from(["1280:720", "720:1280", "1024:1024", "auto", "x"]),
                   min_size=1, max_size=4, unique=True)


@st.composite
def open_enum_schemas(draw: st.DrawFn, legacy: bool) -> tuple[dict[str, Any], list[str]]:
    """An open enum as specs write it: the closed part and the free string in either order,
    under anyOf or oneOf-free anyOf, nested one level or not, sometimes with a null branch,
    the free branch bare or with a length limit. Returns (schema, known values)."""
    known = draw(_values)
    closed: dict[str, Any] = (
        {"type": "string", "enum": known} if len(known) > 1 or draw(st.booleans())
        else {"type": "string", "const": known[0]} if not legacy else
        {"type": "string", "enum": known})
    free: dict[str, Any] = {"type": "string"}
    if draw(st.booleans()):
        free["maxLength"] = draw(st.integers(8, 40))
    branches = [closed, free]
    if draw(st.booleans()):
        branches.reverse()
    schema: dict[str, Any] = {"anyOf": branches}
    if draw(st.booleans()):
        schema = {"anyOf": [schema]} if draw(st.booleans()) else {"anyOf": [closed, {
            "anyOf": [free]}]}
    if not legacy and draw(st.booleans()):
        schema = {"anyOf": [*schema["anyOf"], {"type": "null"}]}
    return schema, known


def _document(openapi: str, field_schema: dict[str, Any]) -> bytes:
    branch = {"type": "object", "required": ["model", "ratio"], "properties": {
        "model": {"type": "string", "enum": ["m"]}, "ratio": field_schema,
        "prompt": {"type": "string"}}}
    return json.dumps({
        "openapi": openapi, "info": {"title": "open", "version": "1"},
        "paths": {"/v1/text_to_image": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [branch]}}}},
            "responses": {"200": {"description": "ok"}}}}}}).encode()


@examples(60)
@given(data=st.data(), openapi=st.sampled_from(["3.0.3", "3.1.0", "3.2.0"]))
def test_open_enum_values_are_suggestions_and_preflight_agrees_with_jsonschema(
    data: st.DataObject, openapi: str
) -> None:
    """However an open enum is spelled, the catalog names its known values as open
    suggestions (and as the variant's known ratios), never as a closed set; any string
    within the free branch's limits passes pre-flight; and for any JSON value pre-flight's
    verdict equals jsonschema's on the field's schema."""
    from jsonschema import Draft202012Validator

    schema, known = data.draw(open_enum_schemas(openapi.startswith("3.0")), label="schema")
    spec = Spec.from_bytes(_document(openapi, schema), "open.json")
    variant = spec.catalog.variant("text_to_image", "m")
    assert variant is not None
    ratio = variant.field_map["ratio"]
    assert ratio.choices is None and ratio.open_values
    assert ratio.suggestions is not None and set(ratio.suggestions) == set(known)
    assert variant.ratios is None and variant.ratios_open
    assert set(variant.known_ratios or ()) == set(known)
    assert ratio.to_dict()["open"] is True and "enum" not in ratio.to_dict()

    unlisted = data.draw(st.text(min_size=1, max_size=8).filter(lambda t: t not in known),
                         label="unlisted")
    body = {"model": "m", "ratio": unlisted}
    assert not errors(spec.preflight("text_to_image", body)), spec.preflight(
        "text_to_image", body)
    value = data.draw(any_json(), label="value")
    body = {"model": "m", "ratio": value}
    theirs = Draft202012Validator(schema).is_valid(value)
    ours = not errors(spec.preflight("text_to_image", body))
    assert ours == theirs, (schema, value, spec.preflight("text_to_image", body))


def test_a_closed_anyof_is_a_closed_set_not_an_open_enum() -> None:
    closed = {"anyOf": [{"enum": ["a"]}, {"const": "b"}]}
    assert schema_choices(closed) == ("a", "b") and schema_suggestions(closed) is None


def test_no_branch_names_a_value_means_no_suggestions() -> None:
    assert schema_suggestions({"anyOf": [{"type": "string"}, {"type": "integer"}]}) is None
    assert schema_suggestions({"type": "string"}) is None
