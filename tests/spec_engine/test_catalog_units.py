"""Unit tests and small properties for the catalog helpers and naming.

closest_ratios is defined as: accepted ratios ordered by the distance between
log(width/height) of each and of the wanted ratio; equal aspects (the same shape at other
sizes) ordered by the distance of log(width*height), i.e. the nearest pixel area; names
without an aspect ("auto") are never suggested.
"""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import examples

from runway_dynamic.catalog import (
    closest_ratios,
    flatten_object,
    media_facts,
    ratio_aspect,
)
from runway_dynamic.naming import camel, endpoint_name, kebab
from runway_dynamic.spec import Spec

# ---------------------------------------------------------------------------- closest_ratios


def test_closest_ratios_examples() -> None:
    """Worked examples of the definition."""
    accepted = ["1280:720", "720:1280", "960:960", "1584:672", "auto"]
    assert closest_ratios("1920:1080", accepted) == ["1280:720", "1584:672", "960:960"]
    assert closest_ratios("999:1", accepted, n=1) == ["1584:672"]
    assert closest_ratios("1:999", accepted, n=1) == ["720:1280"]
    # Same aspect at two sizes: the nearer pixel area wins.
    assert closest_ratios("16:9", ["1920:1080", "1280:720"], n=2) == ["1280:720", "1920:1080"]
    assert closest_ratios("3840:2160", ["1920:1080", "1280:720"], n=2) == [
        "1920:1080", "1280:720"]
    # Names without an aspect neither ask nor answer.
    assert closest_ratios("wide", accepted) == []
    assert closest_ratios("16:9", ["auto", "adaptive"]) == []
    assert closest_ratios("0:9", accepted) == []
    assert closest_ratios("16:9", accepted, n=0) == []


_sides = st.integers(1, 4096)
_ratio = st.builds(lambda w, h: f"{w}:{h}", _sides, _sides)


def _gap(a: Fraction, b: Fraction) -> Fraction:
    """exp(|log a - log b|), exactly: a monotone stand-in for the log distance."""
    return max(a / b, b / a)


def _exact(r: str) -> tuple[Fraction, Fraction]:
    w, h = (int(x) for x in r.split(":"))
    return Fraction(w, h), Fraction(w * h)


@examples(300)
@given(wanted=_ratio, accepted=st.lists(_ratio | st.sampled_from(["auto", "adaptive"]),
                                        max_size=12, unique=True), n=st.integers(0, 5))
def test_closest_ratios_orders_by_log_aspect_then_area(
    wanted: str, accepted: list[str], n: int
) -> None:
    """Checked against exact rational arithmetic: the answer is the n best accepted ratios
    by aspect distance, ties (up to float rounding) broken by area distance."""
    got = closest_ratios(wanted, accepted, n)
    numeric = [r for r in accepted if ratio_aspect(r) is not None]
    assert len(got) == min(n, len(numeric))
    assert len(set(got)) == len(got) and set(got) <= set(numeric)
    aspect, area = _exact(wanted)
    key = {r: (_gap(_exact(r)[0], aspect), _gap(_exact(r)[1], area)) for r in numeric}

    def log_key(r: str) -> tuple[float, float]:
        a, b = key[r]
        return math.log(a), math.log(b)

    tolerance = 1e-8
    for first, second in itertools.pairwise(got):
        (a1, b1), (a2, b2) = log_key(first), log_key(second)
        assert a1 <= a2 + tolerance
        if key[first][0] == key[second][0]:  # an exact aspect tie: area decides
            assert b1 <= b2 + tolerance
    for left_out in set(numeric) - set(got):
        for kept in got:
            assert log_key(left_out)[0] >= log_key(kept)[0] - tolerance


@examples(200)
@given(text=st.text(max_size=12), accepted=st.lists(st.text(max_size=8), max_size=5))
def test_closest_ratios_never_raises_on_any_text(text: str, accepted: list[str]) -> None:
    """User input reaches this function verbatim: it must answer, not crash."""
    assert set(closest_ratios(text, accepted)) <= set(accepted)


# ---------------------------------------------------------------------------- ratio matrix


def _raw_ratio_matrix(document: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """An independent reading of the raw spec: oneOf branches with a const model and a
    ratio enum (the official spec's shape, inline schemas only)."""
    out: dict[str, dict[str, list[str]]] = {}
    for path, item in document["paths"].items():
        schema = (((item.get("post") or {}).get("requestBody") or {}).get("content") or {}) \
            .get("application/json", {}).get("schema", {})
        for branch in schema.get("oneOf", ()):
            props = branch.get("properties", {})
            model = props.get("model", {}).get("const")
            ratio = props.get("ratio", {})
            if model and "enum" in ratio:
                out.setdefault(path.removeprefix("/v1/"), {})[model] = list(ratio["enum"])
    return out


def test_ratio_matrix_matches_an_independent_reading_of_the_spec(bundled_spec: Spec) -> None:
    """The catalog's matrix equals what a plain walk of the document finds."""
    assert bundled_spec.catalog.ratio_matrix() == _raw_ratio_matrix(
        bundled_spec.document.document)


def test_ratio_matrix_reads_the_same_both_ways(bundled_spec: Spec) -> None:
    """models_accepting(ratio) is exactly the inverse of ratios(endpoint, model)."""
    matrix = bundled_spec.catalog.ratio_matrix()
    assert matrix
    all_ratios = {r for by_model in matrix.values() for rs in by_model.values() for r in rs}
    assert set(bundled_spec.catalog.all_ratios()) == all_ratios
    for endpoint in bundled_spec.endpoints():
        for ratio in all_ratios:
            expected = [m for m in bundled_spec.models(endpoint)
                        if ratio in (bundled_spec.ratios(endpoint, m) or ())]
            assert bundled_spec.models_accepting(endpoint, ratio) == expected
    for ratio in all_ratios:
        by_endpoint = bundled_spec.catalog.models_accepting(ratio)
        for endpoint, models in by_endpoint.items():
            for model in models:
                assert ratio in matrix[endpoint][model]
    assert bundled_spec.catalog.models_accepting("7:3") == {}


# ---------------------------------------------------------------------------- media_facts


def _uri(pattern: str, max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 13, "maxLength": max_length, "pattern": pattern}


def test_media_facts_reads_schemes_mime_and_data_cap() -> None:
    """The promptImage shape: https, runway and data:image/ URIs, the data cap kept."""
    schema = {"anyOf": [{"anyOf": [
        _uri(r"^https:\/\/.*", 2048), _uri(r"^runway:\/\/.*", 5000),
        _uri(r"^data:image\/.*", 5242880)]}, {"type": "array", "items": {"type": "object"}}]}
    facts = media_facts(schema)
    assert facts is not None
    assert facts.schemes == ("https", "runway", "data")
    assert facts.data_mime_prefix == "image/"
    assert facts.data_max_length == 5242880


def test_media_facts_on_plain_and_non_media_strings() -> None:
    """A plain string, an identifier pattern or a number is not a media field."""
    assert media_facts({"type": "string"}) is None
    assert media_facts({"type": "string", "pattern": "^[a-z][a-z0-9_]+$"}) is None
    assert media_facts({"type": "integer", "minimum": 0}) is None
    facts = media_facts(_uri("^http://.*", 100))
    assert facts is not None and facts.schemes == ("http",) and facts.data_mime_prefix is None
    only_data = media_facts(_uri(r"^data:audio\/.*", 99))
    assert only_data is not None
    assert (only_data.schemes, only_data.data_mime_prefix, only_data.data_max_length) == (
        ("data",), "audio/", 99)


def _uri_patterns(schema: Any) -> list[str]:
    """Patterns of the string alternatives of a field (through nested anyOf/oneOf only)."""
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if not branches:
        pattern = schema.get("pattern")
        return [pattern] if schema.get("type") == "string" and isinstance(pattern, str) else []
    return [p for b in branches for p in _uri_patterns(b)]


def test_every_media_field_in_the_spec_is_recognised(bundled_spec: Spec) -> None:
    """A field taking https:// strings (directly or as one alternative) has media facts,
    and its schemes are exactly the URI patterns it lists."""
    seen = 0
    for op in bundled_spec.catalog.operations:
        for variant in op.variants:
            for field in variant.fields:
                patterns = _uri_patterns(field.schema)
                if not any(p.startswith("^https:") for p in patterns):
                    continue
                seen += 1
                assert field.media is not None, (op.endpoint, variant.key, field.name)
                schemes = {p.lstrip("^").split(":")[0] for p in patterns}
                assert set(field.media.schemes) == schemes & {"https", "http", "runway", "data"}
    assert seen > 10


# ---------------------------------------------------------------------------- flatten_object


def test_flatten_object_merges_through_nested_all_of() -> None:
    """Properties and required names come from every allOf level, deduplicated in order."""
    schema = {
        "allOf": [
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"allOf": [{"properties": {"b": {"type": "integer"}}, "required": ["b", "a"]}]},
        ],
        "properties": {"c": {"type": "boolean"}, "a": {"type": "string", "maxLength": 3}},
        "required": ["c"],
    }
    props, required = flatten_object(schema)
    assert list(props) == ["a", "b", "c"]
    assert props["a"] == {"type": "string", "maxLength": 3}  # the outer level wins
    assert required == ("a", "b", "c")
    assert flatten_object({}) == ({}, ())


# ---------------------------------------------------------------------------- naming

_word = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
# Words after the first have two or more characters: "aBC" has adjacent capitals, which
# kebab() reads as an acronym ("a-bc", like promptURL -> prompt-url), so it cannot return.
_later_word = st.from_regex(r"[a-z][a-z0-9]{1,6}", fullmatch=True)


@examples(200)
@given(first=_word, rest=st.lists(_later_word, max_size=3))
def test_kebab_and_camel_are_inverse_on_camel_case_names(first: str, rest: list[str]) -> None:
    """promptText <-> prompt-text for every camelCase name without adjacent capitals."""
    words = [first, *rest]
    name = words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    assert kebab(name) == "-".join(words)
    assert camel(kebab(name)) == name
    assert kebab(camel("-".join(words))) == "-".join(words)
    assert camel("--" + kebab(name)) == name  # a flag-like key maps back too


def test_every_body_field_of_the_spec_round_trips_through_its_kebab_name(
        bundled_spec: Spec) -> None:
    """Kebab names (what a jobs file and a flag start from) are unique per variant and map
    back to the spec name. Which flag a command gives a field is the CLI builder's."""
    for op in bundled_spec.catalog.operations:
        for variant in op.variants:
            names = [kebab(f.name) for f in variant.fields]
            assert len(set(names)) == len(names), (op.endpoint, variant.key)
            for field in variant.fields:
                assert camel(kebab(field.name)) == field.name


@pytest.mark.parametrize(("path", "name"), [
    ("/v1/text_to_video", "text_to_video"),
    ("/v1/tasks/{id}", "tasks/{id}"),
    ("/v2.1/organization/usage", "organization/usage"),
    ("/v10/x/", "x"),
    ("/text_to_video", "text_to_video"),
    ("/v1", "v1"),  # a bare version is a name, not a prefix
    ("/v1x/thing", "v1x/thing"),
    ("/api/v1/thing", "api/v1/thing"),
])
def test_endpoint_name_strips_only_a_leading_version(path: str, name: str) -> None:
    """Endpoints are paths without their version prefix, and nothing else is removed."""
    assert endpoint_name(path) == name


@examples(100)
@given(version=st.integers(1, 99), rest=st.lists(_word, min_size=1, max_size=3).filter(
    lambda words: re.fullmatch(r"v\d+", words[0]) is None))
def test_endpoint_name_is_idempotent(version: int, rest: list[str]) -> None:
    """Naming a name again changes nothing (so names can be fed back as paths), unless the
    name itself starts with a version-like segment (``/v1/v2/x``), which no spec has."""
    name = endpoint_name(f"/v{version}/" + "/".join(rest))
    assert name == "/".join(rest)
    assert endpoint_name("/" + name) == name


def _two_model_catalog(*models: str) -> Any:
    from runway_dynamic.catalog import build_catalog

    branches = [{"type": "object", "required": ["model", "promptText"],
                 "properties": {"model": {"type": "string", "const": m},
                                "promptText": {"type": "string"}}} for m in models]
    body = {"oneOf": branches, "discriminator": {"propertyName": "model"}}
    return build_catalog({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/v1/text_to_image": {"post": {
            "requestBody": {"content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": "ok"}}}}}})


def test_a_model_id_is_read_as_people_type_it() -> None:
    catalog = _two_model_catalog("veo3.1_fast", "gen4.5")
    assert catalog.models() == ["veo3.1_fast", "gen4.5"]
    assert catalog.resolve_model("veo3.1-fast") == "veo3.1_fast"
    assert catalog.resolve_model("GEN4.5") == "gen4.5"
    assert catalog.resolve_model("gen4.5") == "gen4.5"
    assert catalog.resolve_model("nothing-like-it") == "nothing-like-it"  # passes through


def test_two_ids_that_read_alike_are_never_guessed_between() -> None:
    catalog = _two_model_catalog("a_b", "a-b")
    assert catalog.resolve_model("a_b") == "a_b" and catalog.resolve_model("a-b") == "a-b"
    assert catalog.resolve_model("A-B") == "A-B"  # ambiguous: left as typed


def test_a_warm_index_defers_response_schemas_and_reads_the_same_catalog(tmp_path) -> None:
    """Responses travel as JSON text in the index and are parsed on first read; the catalog
    a warm start gives equals the one built from the spec, responses included."""
    from runway_dynamic import cache
    from runway_dynamic.catalog import DeferredSchemas
    from runway_dynamic.sources import bundled_spec_path
    from runway_dynamic.spec import Spec

    data = bundled_spec_path().read_bytes()
    cold = Spec.from_bytes(data, use_cache=True)
    assert cache.load_index(cold.document.index_key) is not None
    warm = Spec.from_bytes(data, use_cache=True)
    deferred = [op for op in warm.catalog.operations if isinstance(op.responses, DeferredSchemas)]
    assert len(deferred) == len(warm.catalog.operations) > 0
    assert warm.catalog == cold.catalog
    assert all(dict(w.responses) == dict(c.responses)
               for w, c in zip(warm.catalog.operations, cold.catalog.operations, strict=True))
    op = next(o for o in warm.catalog.operations if o.success_schema() is not None)
    assert op.success_schema() == cold.catalog.operation(op.endpoint, op.method).success_schema()
