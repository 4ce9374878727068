"""Dotted flags round-trip: values typed for one shape's flags become a value its schema
accepts (python-jsonschema is the oracle), for every object field of every operation."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runway_dynamic.catalog import media_facts, schema_choices, schema_kind
from runway_dynamic.cli._options import CommandOptions
from runway_dynamic.shapes import object_shapes
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

_SPEC = Spec.from_bytes(bundled_spec_path().read_bytes())
_EXTENSION = {"image/": ".png", "video/": ".mp4", "audio/": ".wav"}


def _text(schema: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    """Text a person would type for a leaf (``None``: no simple strategy; skipped)."""
    choices = schema_choices(schema)
    if choices is not None:
        return st.sampled_from([str(c) for c in choices])
    facts = media_facts(schema)
    if facts is not None:
        ext = _EXTENSION.get(facts.data_mime_prefix or "", ".bin")
        return st.from_regex(r"[a-z]{3,12}", fullmatch=True).map(
            lambda name: f"https://example.com/{name}{ext}")
    kind = schema_kind(schema)
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low = int(schema.get("minimum", 0))
        high = int(min(schema.get("maximum", low + 100), low + 100))
        return st.integers(low, high).map(str)
    if kind == "string":
        if schema.get("format") == "uuid":
            return st.uuids(version=4).map(str)
        if "pattern" in schema:
            return None
        low = int(schema.get("minLength", 1))
        return st.text(string.ascii_letters + " ", min_size=low,
                       max_size=max(low, min(int(schema.get("maxLength", 40)), 40)))
    return None


def _object_schema(field_schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The field's own schema when it is an object, its items' when it is a list of them."""
    if schema_kind(field_schema) == "array" and isinstance(field_schema.get("items"), Mapping):
        return field_schema["items"]
    return field_schema


def _shape_cases(schema_of: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> list[Any]:
    """One case per shape of every body field of every operation (the shapes of the schema
    ``schema_of`` picks from the field's)."""
    cases = []
    for op in _SPEC.catalog.operations:
        for variant in op.variants:
            for field in variant.fields:
                for index, shape in enumerate(object_shapes(schema_of(field.schema))):
                    cases.append(pytest.param(
                        op.method, op.endpoint, variant.key, field.name, index,
                        id=f"{op.method} {op.endpoint} {variant.key or '-'} {field.name} "
                           f"{shape.label}"))
    return cases


_CASES = _shape_cases(lambda schema: schema)


@pytest.mark.parametrize(("method", "endpoint", "key", "name", "index"), _CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flags_for_one_shape_build_a_value_its_schema_accepts(
    method: str, endpoint: str, key: str | None, name: str, index: int, data: st.DataObject,
) -> None:
    """Giving a shape's required fields by their dotted flags (the constant left out)
    builds a value the field's schema accepts: the constant is filled in, values typed."""
    from jsonschema import Draft202012Validator

    operation = _SPEC.catalog.operation(endpoint, method)
    assert operation is not None
    variant = operation.variant(key)
    assert variant is not None
    field = variant.field_map[name]
    shape = object_shapes(field.schema)[index]
    options = CommandOptions()
    options.claim(operation, locations=("body",))
    flags = {item.leaf[0]: item for item in options.nested
             if item.name == name and len(item.leaf) == 1 and key in item.fields}
    values: dict[str, Any] = {}
    for leaf in shape.required:
        if leaf in shape.constants:
            continue
        if leaf not in flags:
            pytest.skip(f"{name}.{leaf} has no dotted flag (deeper or not a leaf)")
        strategy = _text(shape.properties[leaf])
        if strategy is None:
            pytest.skip(f"no simple text for {name}.{leaf}")
        values[flags[leaf].param] = data.draw(strategy, label=leaf)
    if not values:
        pytest.skip("nothing to give but the constant")
    body = options.merge_nested({}, values, key)
    errors = list(Draft202012Validator(field.schema).iter_errors(body[name]))
    assert not errors, [e.message for e in errors]
    assert {k: body[name][k] for k in shape.constants} == dict(shape.constants)


_PAIR_CASES = _shape_cases(_object_schema)


@pytest.mark.parametrize(("method", "endpoint", "key", "name", "index"), _PAIR_CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), bare_first=st.booleans())
def test_name_value_pairs_build_a_value_its_schema_accepts(
    method: str, endpoint: str, key: str | None, name: str, index: int, data: st.DataObject,
    bare_first: bool,
) -> None:
    """``uri=…,seconds=…`` (or ``still.png,seconds=…``) for one shape's required fields, as
    one value of an object field or one item of a list of objects, builds a value that
    shape's schema accepts, with what was typed in it (python-jsonschema is the oracle)."""
    from jsonschema import Draft202012Validator

    from runway_dynamic.shapes import value_from_text

    operation = _SPEC.catalog.operation(endpoint, method)
    assert operation is not None
    variant = operation.variant(key)
    assert variant is not None
    field = variant.field_map[name]
    target = _object_schema(field.schema)
    shapes = object_shapes(target)
    shape = shapes[index]
    typed: dict[str, str] = {}
    for leaf in shape.required:
        if leaf in shape.constants:
            continue
        strategy = _text(shape.properties[leaf])
        if strategy is None:
            pytest.skip(f"no simple text for {name}.{leaf}")
        typed[leaf] = str(data.draw(strategy, label=leaf))
    if not typed:
        pytest.skip("nothing to give but the constant")
    named = dict(typed)
    bare = None
    if bare_first and len(typed) > 1:
        # a value without a name fills the one field the named ones leave: only where the
        # named ones pick this shape alone
        first = next(iter(typed))
        rest = set(typed) - {first}
        if [s for s in shapes if rest <= set(s.properties)] == [shape]:
            bare = typed[first]
            del named[first]
    text = ",".join([*([bare] if bare is not None else []),
                     *(f"{leaf}={value}" for leaf, value in named.items())])
    given = [text] if target is not field.schema else text
    built = value_from_text(field.schema, given, f"--{name}", (name,))
    value = built[0] if target is not field.schema else built
    errors = list(Draft202012Validator(target).iter_errors(value))
    assert not errors, (text, [e.message for e in errors])
    for leaf, shown in typed.items():
        assert str(value[leaf]) == shown or value[leaf] == float(shown), (leaf, value)
