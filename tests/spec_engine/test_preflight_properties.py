"""Properties of pre-flight on the bundled spec, over every variant the catalog derives.

Valid bodies come from :mod:`schema_strategies` (built from each variant's own schema);
each mutation breaks exactly one thing and the property says pre-flight reports exactly
that thing, under the right ``kind``/``field``/``path``. Messages name fields by spec name;
a presenter's names (the CLI's flags) go beside them only when it renders them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from schema_strategies import (
    accepted_types,
    any_json,
    bodies,
    examples,
    ratio_strings,
    wrong_values,
)

from runway_dynamic.catalog import Variant, iter_variants, ratio_aspect
from runway_dynamic.naming import kebab
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.validation import ERROR, WARNING, Problem, errors


def flag_for(name: str) -> str:
    """A flag as a command whose flags are the fields' kebab names would call the field."""
    return "--" + kebab(name)


def _as_cli(problem: Problem) -> str:
    """The message as a command whose flags are the fields' kebab names would say it."""
    return problem.render(lambda path: flag_for(str(path[0])))

# Collection-time catalog, only to name the parameters; tests use the `bundled_spec` fixture.
_CATALOG = Spec.from_bytes(bundled_spec_path().read_bytes()).catalog

_PAIRS = [(op, v) for op in _CATALOG.operations for v in op.variants]
ALL_VARIANTS = [
    pytest.param(op.method, op.endpoint, v.key, id=f"{op.method} {op.endpoint} {v.key or '-'}")
    for op, v in _PAIRS
]
REQUIRED_VARIANTS = [
    pytest.param(op.method, op.endpoint, v.key, id=f"{op.method} {op.endpoint} {v.key or '-'}")
    for op, v in _PAIRS
    if [n for n in v.required if n != op.discriminator]
]
MODEL_VARIANTS = [
    pytest.param(v.endpoint, v.key, id=f"{v.endpoint} {v.key}") for v in iter_variants(_CATALOG)
]
RATIO_VARIANTS = [
    pytest.param(v.endpoint, v.key, id=f"{v.endpoint} {v.key}")
    for v in iter_variants(_CATALOG) if v.ratios is not None
]
WRONG_ENDPOINT_VARIANTS = [
    pytest.param(v.endpoint, v.key, id=f"{v.endpoint} {v.key}")
    for v in iter_variants(_CATALOG)
    if set(_CATALOG.endpoints()) - set(_CATALOG.endpoints_for(v.key or ""))
]


def _variant(spec: Spec, method: str, endpoint: str, key: str | None) -> Variant:
    op = spec.catalog.operation(endpoint, method)
    assert op is not None
    found = op.variant(key)
    assert found is not None
    return found


def _errors(spec: Spec, endpoint: str, body: Any, method: str) -> list[Problem]:
    return errors(spec.preflight(endpoint, body, method=method))


@pytest.mark.parametrize(("method", "endpoint", "key"), ALL_VARIANTS)
@examples(20)
@given(data=st.data())
def test_generated_valid_bodies_are_never_rejected(
    bundled_spec: Spec, method: str, endpoint: str, key: str | None, data: st.DataObject
) -> None:
    """A body drawn from a variant's own schema yields no problem at all (not even a warning)."""
    variant = _variant(bundled_spec, method, endpoint, key)
    body = data.draw(bodies(variant.schema), label="body")
    assert bundled_spec.preflight(endpoint, body, method=method) == []


@pytest.mark.parametrize(("method", "endpoint", "key"), REQUIRED_VARIANTS)
@examples(10)
@given(data=st.data())
def test_every_dropped_required_field_is_reported_missing_by_name_and_flag(
    bundled_spec: Spec, method: str, endpoint: str, key: str | None, data: st.DataObject
) -> None:
    """Dropping any non-empty set of required fields reports each one, and nothing else."""
    variant = _variant(bundled_spec, method, endpoint, key)
    op = bundled_spec.catalog.operation(endpoint, method)
    assert op is not None
    droppable = [n for n in variant.required if n != op.discriminator]
    body = data.draw(bodies(variant.schema), label="body")
    dropped = data.draw(st.sets(st.sampled_from(droppable), min_size=1), label="dropped")
    for name in dropped:
        del body[name]
    found = _errors(bundled_spec, endpoint, body, method)
    # A branch may serve several models (``model: enum [a, b]``): the body's model names
    # the variant checked.
    checked = body.get(op.discriminator, key) if op.discriminator else key
    assert sorted((p.kind, p.field, p.path, p.variant) for p in found) == sorted(
        ("missing_field", name, (name,), checked) for name in dropped
    )
    for problem in found:
        # a closed set of values is named in the message and offered as the suggestions
        closed = variant.field_map[str(problem.field)].schema.get("enum") or []
        tail = f"; one of: {', '.join(map(str, closed))}" if closed else ""
        assert problem.message == f"missing required field {problem.field}{tail}"
        assert problem.suggestions == tuple(map(str, closed))
        assert f"{problem.field} ({flag_for(str(problem.field))})" in _as_cli(problem)


@pytest.mark.parametrize(("endpoint", "model"), MODEL_VARIANTS)
@examples(5)
@given(data=st.data())
def test_dropping_the_model_is_reported_with_the_endpoint_models(
    bundled_spec: Spec, endpoint: str, model: str, data: st.DataObject
) -> None:
    """Without ``model`` there is no variant to check: one missing_field listing the models."""
    variant = bundled_spec.catalog.variant(endpoint, model)
    assert variant is not None
    body = data.draw(bodies(variant.schema), label="body")
    del body["model"]
    found = _errors(bundled_spec, endpoint, body, "POST")
    assert [(p.kind, p.field, p.path) for p in found] == [("missing_field", "model", ("model",))]
    assert list(found[0].suggestions) == bundled_spec.models(endpoint)


def _accepting(spec: Spec, endpoint: str, ratio: str) -> list[str]:
    """Models on ``endpoint`` whose ratio enum holds ``ratio`` (read off the variants)."""
    return [m for m in spec.models(endpoint) if ratio in (spec.ratios(endpoint, m) or ())]


@pytest.mark.parametrize(("endpoint", "model"), RATIO_VARIANTS)
@examples(10)
@given(data=st.data())
def test_ratio_outside_the_enum_is_rejected_with_closest_accepted_ratios(
    bundled_spec: Spec, endpoint: str, model: str, data: st.DataObject
) -> None:
    """A ratio the model does not accept: one unsupported_ratio on ``ratio`` with the accepted
    set, the closest accepted ratios (drawn from that set), and the other models taking it."""
    variant = bundled_spec.catalog.variant(endpoint, model)
    assert variant is not None and variant.ratios is not None
    accepted = list(variant.ratios)
    elsewhere = sorted(
        {r for m in bundled_spec.models(endpoint) for r in bundled_spec.ratios(endpoint, m) or ()}
        - set(accepted)
    )
    candidates = ratio_strings() | st.sampled_from(elsewhere) if elsewhere else ratio_strings()
    ratio = data.draw(candidates.filter(lambda r: r not in accepted), label="ratio")
    body = data.draw(bodies(variant.schema), label="body")
    body["ratio"] = ratio
    found = _errors(bundled_spec, endpoint, body, "POST")
    assert [(p.kind, p.field, p.variant) for p in found] == [
        ("unsupported_ratio", "ratio", model)
    ]
    problem = found[0]
    assert _as_cli(problem).startswith(f"ratio {ratio!r} (--ratio) is not accepted")
    assert problem.message.startswith(f"ratio {ratio!r} is not accepted")
    closest = list(problem.details["closest"])
    assert list(problem.suggestions) == closest
    assert problem.details["accepted"] == accepted
    assert set(closest) <= set(accepted)
    # Closeness is by aspect, so it exists exactly when both sides have one ("auto" has none).
    comparable = ratio_aspect(ratio) is not None and any(ratio_aspect(r) for r in accepted)
    assert bool(closest) == comparable
    assert len(closest) <= 3
    others = [m for m in _accepting(bundled_spec, endpoint, ratio) if m != model]
    assert problem.details["otherModels"] == others
    for name in others:
        assert name in problem.message


@pytest.mark.parametrize(("method", "endpoint", "key"), ALL_VARIANTS)
@examples(10)
@given(data=st.data())
def test_wrong_type_for_a_field_is_rejected_naming_that_field(
    bundled_spec: Spec, method: str, endpoint: str, key: str | None, data: st.DataObject
) -> None:
    """A value of a JSON type the field never accepts: every error names that field, and at
    least one is an invalid_value with its flag."""
    variant = _variant(bundled_spec, method, endpoint, key)
    typed = {
        f.name: kinds for f in variant.fields
        if (kinds := accepted_types(f.schema, variant.schema)) is not None
    }
    assume(typed)
    name = data.draw(st.sampled_from(sorted(typed)), label="field")
    value = data.draw(wrong_values(typed[name]), label="value")
    body = data.draw(bodies(variant.schema), label="body")
    body[name] = value
    found = _errors(bundled_spec, endpoint, body, method)
    assert found, f"{name}={value!r} was accepted"
    assert {p.field for p in found} == {name}
    assert any(p.kind == "invalid_value" and p.path[:1] == (name,) for p in found)


@pytest.mark.parametrize(("endpoint", "model"), WRONG_ENDPOINT_VARIANTS)
@examples(5)
@given(data=st.data())
def test_known_model_on_an_endpoint_not_serving_it_names_the_serving_endpoints(
    bundled_spec: Spec, endpoint: str, model: str, data: st.DataObject
) -> None:
    """A spec model sent to another endpoint: one wrong_endpoint naming where it is served."""
    serving = bundled_spec.endpoints_for(model)
    assert endpoint in serving
    other = data.draw(
        st.sampled_from([e for e in bundled_spec.endpoints() if e not in serving]),
        label="other endpoint",
    )
    variant = bundled_spec.catalog.variant(endpoint, model)
    assert variant is not None
    body = data.draw(bodies(variant.schema), label="body")
    found = _errors(bundled_spec, other, body, "POST")
    assert [(p.kind, p.field, p.path) for p in found] == [("wrong_endpoint", "model", ("model",))]
    assert list(found[0].suggestions) == serving
    assert found[0].details["endpointModels"] == bundled_spec.models(other)
    for name in serving:
        assert name in found[0].message


@pytest.mark.parametrize("endpoint", _CATALOG.endpoints())
@examples(15)
@given(data=st.data())
def test_any_model_absent_from_the_spec_passes_with_only_a_warning(
    bundled_spec: Spec, endpoint: str, data: st.DataObject
) -> None:
    """An unknown model id is never blocked, whatever else the body holds: one warning
    (a near miss of a listed id is a typo: tests/spec_engine/test_unknown_models.py)."""
    known = set(bundled_spec.models())
    model = data.draw(st.text(max_size=20).filter(
        lambda m: m not in known and not bundled_spec.catalog.near_misses(m)), label="model")
    rest = data.draw(st.dictionaries(st.text(max_size=8), any_json(), max_size=4), label="rest")
    body = {**rest, "model": model}
    problems = bundled_spec.preflight(endpoint, body, method="POST")
    assert [(p.kind, p.severity, p.field) for p in problems] == [
        ("unknown_model", WARNING, "model")
    ]
    assert all(p.severity != ERROR for p in problems)


@pytest.mark.parametrize("endpoint", _CATALOG.endpoints())
def test_null_model_is_an_invalid_value_not_a_missing_field(
    bundled_spec: Spec, endpoint: str
) -> None:
    """``"model": null`` is present but wrong: invalid_value listing the endpoint's models."""
    found = _errors(bundled_spec, endpoint, {"model": None}, "POST")
    assert [(p.kind, p.field, p.path) for p in found] == [("invalid_value", "model", ("model",))]
    assert list(found[0].suggestions) == bundled_spec.models(endpoint)


_DISCRIMINATED = [
    pytest.param(op.method, op.endpoint, v.key, f.name, id=f"{op.endpoint} {v.key} {f.name}")
    for op, v in _PAIRS
    for f in v.fields
    if "oneOf" in f.schema and isinstance(f.schema.get("discriminator"), dict)
]


@pytest.mark.parametrize(("method", "endpoint", "key", "name"), _DISCRIMINATED)
@examples(10)
@given(data=st.data())
def test_error_inside_a_discriminated_object_names_the_inner_field_of_its_own_branch(
    bundled_spec: Spec, method: str, endpoint: str, key: str | None, name: str,
    data: st.DataObject,
) -> None:
    """A wrong type inside a nested object keyed by e.g. ``type``: the problem is about the
    inner field of the branch that ``type`` names (its path, so the CLI can name the dotted
    flag that sets it) — not about another branch's fields."""
    variant = _variant(bundled_spec, method, endpoint, key)
    schema = variant.field_map[name].schema
    prop = schema["discriminator"]["propertyName"]
    body = data.draw(bodies(variant.schema).filter(lambda b: name in b), label="body")
    inner = body[name]
    branch = next(b for b in schema["oneOf"] if b["properties"][prop].get("const") == inner[prop])
    typed = {n: t for n, sub in branch["properties"].items()
             if n != prop and (t := accepted_types(sub, variant.schema)) is not None}
    assume(typed)
    target = data.draw(st.sampled_from(sorted(typed)), label="inner field")
    inner[target] = data.draw(wrong_values(typed[target]), label="value")
    found = _errors(bundled_spec, endpoint, body, method)
    assert [(p.kind, p.path) for p in found] == [("invalid_value", (name, target))]
    assert f"{name}.{target} ({flag_for(name)}): " in _as_cli(found[0])
    assert found[0].message.startswith(f"{name}.{target}: ")
