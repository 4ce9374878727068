"""The bounds on untrusted spec input, at the library level (``runway_dynamic._limits``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import any_json, examples

from runway_dynamic import _limits, cache
from runway_dynamic._exceptions import SpecError, SpecLimitError, UsageError
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec


@pytest.mark.parametrize(("raw", "size"), [
    ("1000", 1000), ("16M", 16 * 1024 * 1024), ("16MiB", 16 * 1024 * 1024),
    ("512k", 512 * 1024), ("1.5G", int(1.5 * 1024**3)), (" 2mb ", 2 * 1024 * 1024),
])
def test_sizes_parse_in_bytes_or_with_a_unit(raw: str, size: int) -> None:
    assert _limits.parse_size(raw, "X") == size


@pytest.mark.parametrize("raw", ["", "lots", "-5", "0", "1T"])
def test_bad_sizes_are_usage_errors(raw: str) -> None:
    with pytest.raises(UsageError, match="X"):
        _limits.parse_size(raw, "X")


@examples(100)
@given(value=any_json())
def test_measured_weight_is_the_serialised_size_within_a_small_factor(value: Any) -> None:
    """For a plain tree (no sharing) the weight and orjson's output are within a small
    factor of each other (escapes and float digits on one side, short ints on the other),
    so a weight within a limit means the written JSON is within a few times that limit."""
    weight, height = _limits.Measure().of(value)
    written = len(orjson.dumps(value))
    assert written <= 6 * weight and weight <= 8 * written + 16
    assert height >= 0


def test_shared_objects_are_measured_as_written_out_but_walked_once() -> None:
    """A 40-level chain of pairs sharing one child weighs 2**40 copies, measured instantly."""
    node: Any = ["x" * 10]
    for _ in range(40):
        node = [node, node]
    measure = _limits.Measure()
    weight, height = measure.of(node)
    assert weight > 2**40 * 10 and height == 41
    assert measure.shared_uses == 40


def test_a_cycle_is_reported_not_walked_forever() -> None:
    loop: list[Any] = []
    loop.append({"a": loop})
    with pytest.raises(ValueError, match="cycle"):
        _limits.Measure().of({"root": loop})


def test_limit_errors_carry_their_limit() -> None:
    """Scripts read which bound was met from --json (to_dict) or the exception."""
    text = "openapi: 3.1.0\npaths: {}\nx: &a [1]\ny: [" + ", ".join(["*a"] * 1001) + "]\n"
    with pytest.raises(SpecLimitError) as caught:
        Spec.from_bytes(text.encode(), "a.yaml")
    assert caught.value.limit == "yaml-aliases" and caught.value.maximum == 1000
    data = caught.value.to_dict()
    assert data["limit"] == "yaml-aliases" and data["source"] == "a.yaml"
    assert isinstance(caught.value, SpecError)


def _branchy(count: int, base_values: int) -> dict[str, Any]:
    """``count`` model branches under one ``oneOf`` with a large shared sibling schema
    (merged into every branch by the catalog)."""
    branches = [{"type": "object", "required": ["model"],
                 "properties": {"model": {"const": f"m{i}"}}} for i in range(count)]
    shared = {"type": "object", "properties": {"tag": {"enum": [
        f"value-{i:05d}" for i in range(base_values)]}}}
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/v1/gen": {
        "post": {"requestBody": {"content": {"application/json": {"schema": {
            "oneOf": branches, **shared}}}}, "responses": {"200": {"description": "ok"}}}}}}


def test_duplication_by_the_catalog_is_bounded_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A base schema merged into 300 branches writes it out 300 times: past the index limit
    the load stops with index-max-bytes, and no index file is written."""
    path = tmp_path / "branchy.json"
    path.write_text(json.dumps(_branchy(300, 2000)))
    size = path.stat().st_size
    monkeypatch.setenv("RUNWAY_SPEC_MAX_BYTES", str(size * 2))
    with pytest.raises(SpecLimitError) as caught:
        Spec.load(path)
    assert caught.value.limit == "index-max-bytes"
    assert "\n" not in str(caught.value)
    assert not list((Path(cache.index_path("0" * 64)).parent).glob("*.index"))
    monkeypatch.setenv("RUNWAY_SPEC_MAX_BYTES", "64M")
    assert len(Spec.load(path).models("gen")) == 300


def test_bundled_spec_is_far_inside_every_limit(tmp_path: Path) -> None:
    """The limits leave real specs room: the bundled one as JSON and as YAML loads, and its
    index is a small fraction of the index limit."""
    data = bundled_spec_path().read_bytes()
    limits = _limits.current()
    assert len(data) * 8 < limits.max_bytes
    as_yaml = tmp_path / "runway.yaml"
    as_yaml.write_text(yaml.safe_dump(orjson.loads(data)))
    spec = Spec.load(as_yaml)
    assert spec.models("text_to_video")
    index = cache.index_path(spec.document.index_key)
    assert index.stat().st_size * 50 < limits.max_index_bytes


def test_external_and_unresolvable_refs_still_name_the_ref() -> None:
    """The limits did not change how plain reference errors read."""
    document = {"openapi": "3.1.0", "paths": {"/a": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}}
    with pytest.raises(SpecError, match="Gone"):
        Spec.from_bytes(orjson.dumps(document), "r.json")


@examples(40)
@given(depth=st.integers(1, 150) | st.sampled_from([62, 63, 64]), through_ref=st.booleans())
def test_schema_depth_is_refused_exactly_past_the_limit(depth: int, through_ref: bool) -> None:
    """Nesting up to the limit loads; one level more is a schema-depth error, whether the
    nesting is written out or reached through a reference."""
    leaf: dict[str, Any] = {"type": "string"}
    node: Any = leaf
    for _ in range(depth):
        node = {"type": "array", "items": node}
    components = {}
    if through_ref:
        components = {"Deep": node}
        node = {"$ref": "#/components/schemas/Deep"}
    document = {"openapi": "3.1.0", "components": {"schemas": components},
                "paths": {"/a": {"post": {"requestBody": {"content": {
                    "application/json": {"schema": node}}}}}}}
    levels = depth + 1  # the arrays' objects and the leaf's: one level each
    if levels <= _limits.MAX_SCHEMA_DEPTH:
        Spec.from_bytes(orjson.dumps(document), "d.json")
    else:
        with pytest.raises(SpecLimitError, match="schema-depth"):
            Spec.from_bytes(orjson.dumps(document), "d.json")


@pytest.mark.parametrize("keyword", ["additionalProperties", "unevaluatedProperties"])
def test_a_schema_that_maps_names_to_itself_loads(keyword: str) -> None:
    """``{"type": "object", "additionalProperties": {"$ref": self}}`` (a tree of named
    nodes) describes a deeper value each turn, like ``items``: it loads, and pre-flight
    checks the nested values, while a cycle through ``allOf`` alone is still refused."""
    def document(schema: dict[str, Any]) -> bytes:
        return orjson.dumps({"openapi": "3.1.0", "components": {"schemas": {"Node": schema}},
                             "paths": {"/v1/a": {"post": {"requestBody": {"content": {
                                 "application/json": {"schema": {"type": "object",
                                     "properties": {"tree": {
                                         "$ref": "#/components/schemas/Node"}}}}}}}}}})

    node = {"type": "object", keyword: {"$ref": "#/components/schemas/Node"}}
    spec = Spec.from_bytes(document(node), "map.json")
    problems = spec.preflight("a", {"tree": {"a": {"b": {"c": 5}}}}, method="POST")
    errors = [p.field for p in problems if p.severity == "error"]
    # additionalProperties names the value; unevaluatedProperties the object it is left in
    assert errors == (["tree.a.b.c"] if keyword == "additionalProperties" else ["tree"])
    assert not spec.preflight("a", {"tree": {"a": {"b": {}}}}, method="POST")
    looping = {"allOf": [{"$ref": "#/components/schemas/Node"}, {"type": "object"}]}
    with pytest.raises(SpecError, match="never reaches a value"):
        Spec.from_bytes(document(looping), "loop.json")
