"""Differential test: our pre-flight verdict agrees with openapi-core's request validation.

openapi-core is the independent oracle: it validates the whole request (path, headers,
security, and the body against the full ``oneOf``), knowing nothing of our catalog. On the
same generated bodies — valid, or broken by one mutation — both must accept or both reject.

Known, documented disagreement (asserted precisely, not skipped):
- An unknown model id: we only warn (the spec may be older than the API, issue 3 rule 5);
  openapi-core rejects it, since no ``oneOf`` branch's ``const`` matches.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import (
    SchemaStrategies,
    accepted_types,
    any_json,
    bodies,
    examples,
    ratio_strings,
    wrong_values,
)

from runway_dynamic.catalog import Operation, Variant
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.validation import Validator, errors

_CATALOG = Spec.from_bytes(bundled_spec_path().read_bytes()).catalog
VARIANTS = [
    pytest.param(op.method, op.endpoint, v.key, id=f"{op.method} {op.endpoint} {v.key or '-'}")
    for op in _CATALOG.operations
    for v in op.variants
]


@pytest.fixture(scope="session")
def oracle_spec(request: pytest.FixtureRequest, bundled_spec: Spec) -> Spec:
    """The official spec when it is beside the repo, else our bundled snapshot."""
    try:
        spec: Spec = request.getfixturevalue("official_spec")
    except pytest.skip.Exception:
        return bundled_spec
    return spec


@pytest.fixture(scope="session")
def openapi(oracle_spec: Spec) -> Any:
    """One openapi-core object per session (building it costs far more than a validation)."""
    from openapi_core import Config, OpenAPI

    # The official spec's Example Objects carry a non-standard "title" (FACTS.md), which the
    # spec validator refuses; request validation itself is unaffected.
    return OpenAPI.from_dict(oracle_spec.document.document,
                             config=Config(spec_validator_cls=None))


def _their_verdict(openapi: Any, spec: Spec, op: Operation, params: dict[str, Any],
                   body: Any) -> Exception | None:
    """openapi-core's verdict on the full request: ``None`` if valid, else its error."""
    from openapi_core.testing import MockRequest

    path = op.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(value))
    headers = {**op.constant_headers, "Authorization": "Bearer key_0123456789"}
    host = spec.catalog.servers[0] if spec.catalog.servers else "https://api.example.test"
    request = MockRequest(host, op.method.lower(), path, headers=headers,
                          data=json.dumps(body).encode(), content_type="application/json")
    try:
        openapi.validate_request(request)
    except Exception as exc:  # the oracle's verdict, whatever its class (checked below)
        return exc
    return None


def _params(op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    """Values for the path parameters (body-carrying operations take no required query)."""
    return st.fixed_dictionaries({
        p.name: SchemaStrategies(p.schema).strategy(p.schema) for p in op.params("path")
    })


def _mutations(spec: Spec, op: Operation, variant: Variant) -> list[str]:
    kinds = ["none", "extra_field", "random_leaf"]
    if any(_outside_bounds(f.schema) for f in variant.fields):
        kinds.append("out_of_bounds")
    if [n for n in variant.required if n != op.discriminator]:
        kinds.append("drop_required")
    if op.discriminator and op.discriminator in variant.required:
        kinds.append("drop_discriminator")
    if variant.ratios is not None:
        kinds.append("bad_ratio")
    if any(accepted_types(f.schema, variant.schema) is not None for f in variant.fields):
        kinds.append("wrong_type")
    if op.is_model_endpoint and variant.key is not None:
        kinds.append("unknown_model")
        if set(spec.endpoints()) - set(spec.endpoints_for(variant.key)):
            kinds.append("wrong_endpoint")
    return kinds


def _mutate(
    data: st.DataObject, spec: Spec, op: Operation, variant: Variant, kind: str,
    body: dict[str, Any],
) -> tuple[Operation, dict[str, Any]]:
    """Apply one mutation; returns the operation the request goes to and the body."""
    if kind == "drop_required":
        names = [n for n in variant.required if n != op.discriminator]
        for name in data.draw(st.sets(st.sampled_from(names), min_size=1), label="drop"):
            del body[name]
    elif kind == "drop_discriminator":
        assert op.discriminator is not None
        del body[op.discriminator]
    elif kind == "bad_ratio":
        accepted = variant.ratios or ()
        body["ratio"] = data.draw(ratio_strings().filter(lambda r: r not in accepted),
                                  label="ratio")
    elif kind == "wrong_type":
        typed = {f.name: t for f in variant.fields
                 if (t := accepted_types(f.schema, variant.schema)) is not None}
        name = data.draw(st.sampled_from(sorted(typed)), label="field")
        body[name] = data.draw(wrong_values(typed[name]), label="value")
    elif kind == "extra_field":
        name = data.draw(st.text(min_size=1, max_size=12).filter(
            lambda n: n not in variant.field_map), label="extra")
        body[name] = data.draw(st.integers() | st.text(max_size=5), label="extra value")
    elif kind == "random_leaf":
        paths = list(_leaf_paths(body))
        path = data.draw(st.sampled_from(paths), label="path") if paths else ()
        value = data.draw(any_json(), label="value")
        if not path:
            return op, value if isinstance(value, dict) else body
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    elif kind == "out_of_bounds":
        choices = {f.name: c for f in variant.fields if (c := _outside_bounds(f.schema))}
        name = data.draw(st.sampled_from(sorted(choices)), label="field")
        body[name] = data.draw(st.sampled_from(choices[name]), label="value")
    elif kind == "unknown_model":
        known = set(spec.models())
        body["model"] = data.draw(st.text(min_size=1, max_size=16).filter(
            lambda m: m not in known), label="model")
    elif kind == "wrong_endpoint":
        serving = spec.endpoints_for(str(variant.key))
        other = data.draw(st.sampled_from(
            [e for e in spec.endpoints() if e not in serving]), label="endpoint")
        target = spec.catalog.model_operation(other)
        assert target is not None
        return target, body
    return op, body


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    """Every path into a body (objects by key, arrays by index), containers included."""
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, sub in items:
        yield (*prefix, key)
        yield from _leaf_paths(sub, (*prefix, key))


def _outside_bounds(schema: Any) -> list[Any]:
    """Values just past a plain field's limits (numbers and short strings only)."""
    out: list[Any] = []
    kind = schema.get("type")
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else 0.5
        if "minimum" in schema:
            out.append(schema["minimum"] - step)
        if "maximum" in schema:
            out.append(schema["maximum"] + step)
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if key in schema:
                out.append(schema[key])
    elif kind == "string" and "pattern" not in schema and "format" not in schema:
        if schema.get("minLength", 0) > 0:
            out.append("x" * (schema["minLength"] - 1))
        if schema.get("maxLength", 10**9) < 20_000:
            out.append("x" * (schema["maxLength"] + 1))
    return out


@pytest.mark.parametrize(("method", "endpoint", "key"), VARIANTS)
@examples(12)
@given(data=st.data())
def test_preflight_verdict_agrees_with_openapi_core(
    oracle_spec: Spec, openapi: Any, method: str, endpoint: str, key: str | None,
    data: st.DataObject,
) -> None:
    """Valid or singly-mutated bodies: we block exactly when openapi-core rejects the request.

    The one documented exception is an unknown model id (see the module docstring): we must
    then only warn while openapi-core rejects the body.
    """
    from openapi_core.validation.request.exceptions import RequestBodyValidationError

    op = oracle_spec.catalog.operation(endpoint, method)
    assert op is not None
    variant = op.variant(key)
    assert variant is not None
    kind = data.draw(st.sampled_from(_mutations(oracle_spec, op, variant)), label="mutation")
    body = data.draw(bodies(variant.schema), label="body")
    target, body = _mutate(data, oracle_spec, op, variant, kind, body)
    params = data.draw(_params(target), label="params")

    everything = oracle_spec.preflight(target.endpoint, body, method=target.method)
    # The compiled fast path (verdict by jsonschema-rs) says exactly what the explaining
    # path (python-jsonschema alone) says, on every body, valid or broken.
    explained = Validator(oracle_spec.catalog, compiled=False).check(
        target.endpoint, body, method=target.method)
    assert everything == explained, f"{kind}: fast path and explaining path differ"
    # The pure-Python verdict first (the default) or jsonschema-rs alone: the same answer.
    compiled_only = Validator(oracle_spec.catalog, plain=False).check(
        target.endpoint, body, method=target.method)
    assert everything == compiled_only, f"{kind}: pure-Python and compiled verdicts differ"
    ours = errors(everything)
    theirs = _their_verdict(openapi, oracle_spec, target, params, body)
    if theirs is not None:
        # Only the body may be at fault: anything else is a bug in this harness.
        assert isinstance(theirs, RequestBodyValidationError), repr(theirs)

    unknown_model = (
        target.is_model_endpoint and isinstance(body, dict)
        and isinstance(body.get("model"), str) and body["model"] not in oracle_spec.models()
    )
    if unknown_model:  # also reached by random_leaf rewriting the model
        if oracle_spec.catalog.near_misses(body["model"]):  # a typo: refused, named
            assert [p.kind for p in ours] == ["unknown_model"], ours
        else:
            assert ours == [], "an unknown model must pass pre-flight"
        assert theirs is not None, "openapi-core accepted an unknown model"
        return
    assert bool(ours) == (theirs is not None), (
        f"{kind}: ours={[p.message for p in ours]} theirs={theirs!r} "
        f"cause={getattr(theirs, '__cause__', None)!r}"
    )
    if kind in ("drop_required", "drop_discriminator", "bad_ratio", "wrong_type",
                "wrong_endpoint", "out_of_bounds"):
        assert ours, f"{kind} must be rejected"
    if kind == "none":
        assert theirs is None
