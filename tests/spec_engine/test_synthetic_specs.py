"""Synthetic specs: a random plan of endpoints, models, fields and ratios is rendered into an
OpenAPI document in one of many shapes, and must be read back into exactly that plan.

Shapes varied independently: OpenAPI 3.0 (``nullable``, boolean ``exclusiveMinimum``) or
3.1/3.2 (type lists, numeric exclusive bounds); JSON or YAML; schemas inline or behind
``$ref`` chains in ``components`` (a ref to a ref to the schema); a recursive schema; and per
endpoint a discriminator form — ``discriminator.propertyName``, a ``const`` model, a one-value
``enum`` model, ``allOf``-wrapped branches, or a single plain object with a pinned model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import FieldPlan, examples, make_nullable

from runway_dynamic.catalog import Catalog, build_catalog
from runway_dynamic.pack import pack_document
from runway_dynamic.spec import Spec

SCALAR_KINDS = ("string", "integer", "number", "boolean", "enum", "array", "object", "tree")
# "mapping": $ref branches keyed by discriminator.mapping (values as refs or bare names);
# "implicit": $ref branches keyed by their component's name (OpenAPI's implicit mapping).
# Both leave the branch's model property unpinned, as OpenAPI 3.0 (no const) specs do.
FORMS = ("discriminator", "const", "enum", "allof", "mapping", "implicit", "plain")


@dataclass
class ModelPlan:
    model: str
    fields: list[FieldPlan]
    ratios: list[str] | None  # None: no ratio field; [] : a free-text ratio (no closed set)
    ratio_required: bool = False


@dataclass
class EndpointPlan:
    name: str
    models: list[ModelPlan]
    form: str
    branch_key: str  # oneOf or anyOf
    mapping_as_names: bool = False  # mapping values "Name" instead of "#/components/schemas/Name"


@dataclass
class SpecPlan:
    openapi: str
    serialise: str
    refs: bool
    endpoints: list[EndpointPlan]


# ---------------------------------------------------------------------------- plans

_names = st.from_regex(r"[a-z][a-zA-Z0-9]{0,7}", fullmatch=True).filter(
    lambda n: n not in ("model", "ratio"))
_model_ids = st.from_regex(r"[a-z][a-z0-9_.]{0,9}", fullmatch=True)
_endpoint_names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)
_ratios = st.builds(lambda w, h: f"{w}:{h}", st.integers(1, 4096), st.integers(1, 4096)) | \
    st.sampled_from(["auto", "adaptive"])


@st.composite
def field_plans(draw: st.DrawFn, name: str) -> FieldPlan:
    kind = draw(st.sampled_from(SCALAR_KINDS))
    plan = FieldPlan(name, kind, draw(st.booleans()), nullable=draw(st.booleans())
                     if kind in ("string", "integer", "enum") else False)
    if kind in ("integer", "number", "string", "array"):
        low = draw(st.none() | st.integers(0, 50))
        high = draw(st.none() | st.integers(51, 500))
        plan.low, plan.high = low, high
        plan.exclusive = kind in ("integer", "number") and low is not None and draw(st.booleans())
    if kind == "enum":
        plan.choices = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
    return plan


@st.composite
def model_plans(draw: st.DrawFn, model: str) -> ModelPlan:
    names = draw(st.lists(_names, max_size=5, unique=True))
    fields = [draw(field_plans(n)) for n in names]
    ratios = draw(st.none() | st.just([]) | st.lists(_ratios, min_size=1, max_size=5, unique=True))
    return ModelPlan(model, fields, ratios, ratio_required=draw(st.booleans()))


@st.composite
def spec_plans(draw: st.DrawFn) -> SpecPlan:
    pool = draw(st.lists(_model_ids, min_size=1, max_size=6, unique=True))
    names = draw(st.lists(_endpoint_names, min_size=1, max_size=4, unique=True))
    endpoints = []
    for name in names:
        models = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
        form = draw(st.sampled_from(FORMS if len(models) == 1 else FORMS[:-1]))
        mapping_as_names = draw(st.booleans())
        endpoints.append(EndpointPlan(
            name, [draw(model_plans(m)) for m in models], form,
            draw(st.sampled_from(["oneOf", "anyOf"])), mapping_as_names,
        ))
    return SpecPlan(
        openapi=draw(st.sampled_from(["3.0.3", "3.1.0", "3.2.0"])),
        serialise=draw(st.sampled_from(["json", "yaml"])),
        refs=draw(st.booleans()),
        endpoints=endpoints,
    )


# ---------------------------------------------------------------------------- rendering


class Renderer:
    """Renders a plan into an OpenAPI document in the plan's style."""

    def __init__(self, plan: SpecPlan) -> None:
        self.plan = plan
        self.legacy = plan.openapi.startswith("3.0")
        self.schemas: dict[str, Any] = {}

    def component(self, name: str, schema: Any) -> Any:
        """With refs on: a ref to a ref to the schema (nested ``$ref`` chains)."""
        if not self.plan.refs:
            return schema
        self.schemas[name] = schema
        self.schemas[name + "Alias"] = {"$ref": f"#/components/schemas/{name}"}
        return {"$ref": f"#/components/schemas/{name}Alias"}

    def tree(self) -> dict[str, Any]:
        """A recursive schema: always a component (it cannot be inlined)."""
        self.schemas["Node"] = {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            },
            "required": ["label"],
        }
        return {"$ref": "#/components/schemas/Node"}

    def field_schema(self, f: FieldPlan) -> Any:
        if f.kind == "tree":
            return self.tree()
        schema: dict[str, Any]
        if f.kind == "enum":
            schema = {"type": "string", "enum": list(f.choices)}
        elif f.kind == "array":
            schema = {"type": "array", "items": {"type": "string"}}
            self.limits(schema, f, "minItems", "maxItems")
        elif f.kind == "object":
            schema = {"type": "object", "properties": {"inner": {"type": "integer"}},
                      "required": ["inner"]}
        elif f.kind == "string":
            schema = {"type": "string"}
            self.limits(schema, f, "minLength", "maxLength")
        elif f.kind in ("integer", "number"):
            schema = {"type": f.kind}
            if f.low is not None:
                if f.exclusive and self.legacy:
                    schema.update(minimum=f.low, exclusiveMinimum=True)
                elif f.exclusive:
                    schema["exclusiveMinimum"] = f.low
                else:
                    schema["minimum"] = f.low
            if f.high is not None:
                schema["maximum"] = f.high
                if self.legacy:
                    schema["exclusiveMaximum"] = False  # a 3.0 no-op that must vanish
        else:
            schema = {"type": "boolean"}
        if f.nullable:
            make_nullable(schema, self.legacy)
        schema["description"] = "prose that must not matter"
        return schema

    @staticmethod
    def limits(schema: dict[str, Any], f: FieldPlan, low: str, high: str) -> None:
        if f.low is not None:
            schema[low] = f.low
        if f.high is not None:
            schema[high] = f.high

    def branch(self, endpoint: EndpointPlan, m: ModelPlan, index: int) -> Any:
        model_schema: dict[str, Any] = {"type": "string"}
        if endpoint.form == "enum":
            model_schema["enum"] = [m.model]
        elif endpoint.form not in ("mapping", "implicit"):
            model_schema["const"] = m.model
        props = {f.name: self.field_schema(f) for f in m.fields}
        required = [f.name for f in m.fields if f.required]
        if m.ratios is not None:
            props["ratio"] = {"type": "string", **({"enum": m.ratios} if m.ratios else {})}
            if m.ratio_required:
                required.append("ratio")
        # A hyphen keeps these apart from model ids, which name "implicit" components.
        name = f"{endpoint.name}-{index}"
        if endpoint.form == "allof":
            # Fields in a shared-looking first part, the model pin in the second.
            first = {"type": "object", "properties": props, "required": required} if required \
                else {"type": "object", "properties": props}
            second = {"type": "object", "properties": {"model": model_schema},
                      "required": ["model"]}
            return self.component(name, {"allOf": [self.component(name + "Base", first), second]})
        props["model"] = model_schema
        schema = {"type": "object", "properties": props, "required": [*required, "model"],
                  "title": "ignored"}
        if endpoint.form in ("mapping", "implicit"):
            # Keyed by the $ref itself: always a component, referenced directly.
            name = m.model if endpoint.form == "implicit" else name
            self.schemas[name] = schema
            return {"$ref": f"#/components/schemas/{name}"}
        return self.component(name, schema)

    def body(self, endpoint: EndpointPlan) -> Any:
        if endpoint.form == "implicit" and any(m.model in self.schemas for m in endpoint.models):
            endpoint.form = "mapping"  # a model id already names another endpoint's branch
        branches = [self.branch(endpoint, m, i) for i, m in enumerate(endpoint.models)]
        if endpoint.form == "plain":
            return branches[0]
        schema: dict[str, Any] = {endpoint.branch_key: branches}
        if endpoint.form in ("discriminator", "implicit"):
            schema["discriminator"] = {"propertyName": "model"}
        if endpoint.form == "mapping":
            schema["discriminator"] = {"propertyName": "model", "mapping": {
                m.model: b["$ref"].rsplit("/", 1)[-1] if endpoint.mapping_as_names else b["$ref"]
                for m, b in zip(endpoint.models, branches, strict=True)
            }}
        return schema

    def document(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        version_param = {"name": "X-Runway-Version", "in": "header", "required": True,
                         "schema": {"type": "string", "enum": ["2024-11-06"]}}
        for endpoint in self.plan.endpoints:
            paths[f"/v1/{endpoint.name}"] = {"post": {
                "parameters": [{"$ref": "#/components/parameters/Version"}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": self.body(endpoint)}}},
                "responses": {"200": {"description": "ok"}},
            }}
        # A plain body and a bodiless GET: operations, but not model endpoints.
        paths["/v1/plain_thing"] = {"post": {"requestBody": {"content": {"application/json": {
            "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}},
            "responses": {"200": {"description": "ok"}}}}
        paths["/v1/tasks/{id}"] = {"get": {"parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}
        return {
            "openapi": self.plan.openapi,
            "info": {"title": "synthetic", "version": "2024-11-06"},
            "paths": paths,
            "components": {"schemas": self.schemas, "parameters": {"Version": version_param}},
        }


def render(plan: SpecPlan) -> bytes:
    document = Renderer(plan).document()
    if plan.serialise == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
    return orjson.dumps(document)


# ---------------------------------------------------------------------------- expectations


def expected_facts(plan: SpecPlan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in plan.endpoints:
        out[e.name] = {}
        for m in e.models:
            required = {f.name for f in m.fields if f.required} | {"model"}
            optional = {f.name for f in m.fields if not f.required}
            if m.ratios is not None:
                (required if m.ratio_required else optional).add("ratio")
            out[e.name][m.model] = {
                "required": sorted(required),
                "optional": sorted(optional),
                "ratios": sorted(m.ratios) if m.ratios else None,
            }
    return out


def read_facts(catalog: Catalog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in catalog.endpoints():
        out[e] = {}
        for m in catalog.models(e):
            v = catalog.variant(e, m)
            assert v is not None
            out[e][m] = {"required": sorted(v.required), "optional": sorted(v.optional),
                         "ratios": sorted(v.ratios) if v.ratios is not None else None}
    return out


def expected_field(f: FieldPlan) -> dict[str, Any]:
    kind = {"enum": "string", "tree": "object"}.get(f.kind, f.kind)
    out: dict[str, Any] = {"type": kind}
    if f.kind == "enum":
        out["enum"] = f.choices
    if f.kind in ("integer", "number"):
        if f.low is not None:
            out["exclusiveMinimum" if f.exclusive else "minimum"] = f.low
        if f.high is not None:
            out["maximum"] = f.high
    if f.kind in ("string", "array"):
        keys = ("minLength", "maxLength") if f.kind == "string" else ("minItems", "maxItems")
        for key, value in zip(keys, (f.low, f.high), strict=True):
            if value is not None:
                out[key] = value
    return out


# ---------------------------------------------------------------------------- properties


@examples(60)
@given(plan=spec_plans())
def test_synthetic_spec_reads_back_into_the_catalog_it_was_generated_from(plan: SpecPlan) -> None:
    """Endpoints, models per endpoint, required/optional fields and ratios survive every
    rendering: version style, JSON/YAML, inline/$ref, discriminator form."""
    spec = Spec.from_bytes(render(plan), f"synthetic.{plan.serialise}")
    catalog = spec.catalog
    assert catalog.openapi == plan.openapi
    assert catalog.endpoints() == [e.name for e in plan.endpoints]
    for e in plan.endpoints:
        assert catalog.models(e.name) == [m.model for m in e.models]
    assert read_facts(catalog) == expected_facts(plan)
    models = {m.model for e in plan.endpoints for m in e.models}
    for model in models:
        assert catalog.endpoints_for(model) == [
            e.name for e in plan.endpoints if model in [m.model for m in e.models]]


@examples(40)
@given(plan=spec_plans())
def test_synthetic_field_types_and_bounds_normalise_across_versions(plan: SpecPlan) -> None:
    """Each field keeps its type, enum and bounds; 3.0 ``nullable`` and boolean exclusive
    bounds come out in 3.1 form (type lists, numeric ``exclusiveMinimum``)."""
    catalog = Spec.from_bytes(render(plan)).catalog
    for e in plan.endpoints:
        for m in e.models:
            variant = catalog.variant(e.name, m.model)
            assert variant is not None
            for f in m.fields:
                got = variant.field_map[f.name]
                facts = {k: v for k, v in got.to_dict().items()
                         if k in ("type", "enum", "minimum", "maximum", "exclusiveMinimum",
                                  "minLength", "maxLength", "minItems", "maxItems")}
                assert facts == expected_field(f), f.name
                assert "exclusiveMaximum" not in got.schema
                assert "nullable" not in got.schema
                assert "description" not in got.schema
                if f.nullable:
                    assert "null" in got.schema["type"]


@examples(25)
@given(plan=spec_plans(), data=st.data())
def test_synthetic_recursive_and_nested_fields_validate_through_defs(
    plan: SpecPlan, data: st.DataObject
) -> None:
    """A recursive field is checked at any depth: a deep bad leaf is reported at its path."""
    spec = Spec.from_bytes(render(plan))
    trees = [(e, m, f) for e in plan.endpoints for m in e.models for f in m.fields
             if f.kind == "tree"]
    if not trees:
        return
    endpoint, model, tree_field = data.draw(st.sampled_from(trees))
    depth = data.draw(st.integers(1, 5))
    node: dict[str, Any] = {"label": 7}  # wrong type at the deepest level
    for level in range(depth):
        node = {"label": f"level {level}", "children": [node]}
    variant = spec.catalog.variant(endpoint.name, model.model)
    assert variant is not None
    problems = spec.preflight(endpoint.name, {"model": model.model, tree_field.name: node})
    bad = [p for p in problems if p.is_error and p.kind == "invalid_value"]
    assert [p.field for p in bad] == [tree_field.name + ".children[0]" * depth + ".label"]


@examples(30)
@given(plan=spec_plans())
def test_packing_a_synthetic_spec_keeps_its_catalog(plan: SpecPlan) -> None:
    """``runway spec pack`` drops prose only: the packed document derives the same catalog,
    and the catalog survives its own serialisation (the on-disk index)."""
    document = json.loads(json.dumps(Renderer(plan).document()))
    catalog = build_catalog(document)
    assert build_catalog(pack_document(document)).to_dict() == catalog.to_dict()
    assert Catalog.from_dict(catalog.to_dict()).facts() == catalog.facts()
