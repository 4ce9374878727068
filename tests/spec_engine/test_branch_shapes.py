"""Every valid shape of a model branch (issue 14 §2), against jsonschema as the oracle.

A random plan of model endpoints is rendered into a small OpenAPI document whose branches
take every shape OpenAPI and JSON Schema allow for "this body is for model X": ``const``,
``enum`` of one or several models, the pin inside an ``allOf`` part, a ``$ref`` keyed by
``discriminator.mapping`` (several keys may name one schema) or by its implicit name, a
``$ref`` with sibling keywords (3.1: they apply together with the target), branches inside
a nested ``oneOf``, a body ``allOf`` around the branching part, keywords beside the
``oneOf`` that apply to every branch, two branches for the same model, and a branch that
pins no model at all. Fields are OpenAPI 3.0 (``nullable``) or 3.1 (type arrays, boolean
subschemas).

The oracle is written independently of the catalog: for model ``m`` the routed schema is
``anyOf`` of the branches the plan says serve ``m`` ("valid if any accepts"), each with
the keywords around it, resolved by jsonschema itself against a 3.1 rendering of the same
plan; a model no branch names goes to the branches that pin nothing (or is not checked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import FieldPlan, any_json, bodies, examples, make_nullable

from runway_dynamic.spec import Spec
from runway_dynamic.validation import Validator, errors

PINS = ("const", "enum", "allof", "mapping", "implicit", "open")
KINDS = ("string", "integer", "number", "boolean", "enum", "array", "object", "any", "never",
         "ratio")
UNKNOWN = "zz_unknown_model"


@dataclass
class BranchPlan:
    models: list[str]  # what the branch pins ([] for "open")
    pin: str
    fields: list[FieldPlan]
    ref: bool = False  # written as a $ref to a component
    siblings: bool = False  # the $ref carries keywords of its own (3.1 and later)
    closed: bool = False  # additionalProperties: false
    group: int | None = None  # branches sharing a group sit in one nested oneOf


@dataclass
class EndpointPlan:
    name: str
    branches: list[BranchPlan]
    branch_key: str
    discriminator: bool
    base: bool  # keywords beside the oneOf (a shared optional field, required model)
    wrap_allof: bool  # the body is allOf [common part, {oneOf: ...}]


@dataclass
class DocPlan:
    openapi: str
    as_yaml: bool
    endpoints: list[EndpointPlan]

    @property
    def legacy(self) -> bool:
        return self.openapi.startswith("3.0")


# ---------------------------------------------------------------------------- plans

_models = st.sampled_from(["alpha", "beta", "gamma", "delta", "eps.1", "zeta_2"])
_field_names = st.sampled_from(["prompt", "seed", "count", "flag", "tags", "mode", "opts",
                                "anything", "forbidden", "width"])


@st.composite
def field_plans(draw: st.DrawFn, name: str, legacy: bool) -> FieldPlan:
    kinds = [k for k in KINDS if not (legacy and k in ("any", "never"))]
    kind = "ratio" if name == "ratio" else draw(st.sampled_from([k for k in kinds if k != "ratio"]))
    plan = FieldPlan(name, kind, draw(st.booleans()))
    if kind in ("string", "integer", "number", "array"):
        plan.low = draw(st.none() | st.integers(0, 3))
        plan.high = draw(st.none() | st.integers(4, 9))
    if kind in ("enum", "ratio"):
        pool = ["16:9", "1:1", "9:16", "4:3"] if kind == "ratio" else ["a", "b", "c", "d"]
        plan.choices = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        plan.open = draw(st.booleans())
    if kind in ("string", "integer") or (kind == "enum" and not plan.open):
        plan.nullable = draw(st.booleans())
    if kind == "never":
        plan.required = False
    return plan


@st.composite
def branch_plans(draw: st.DrawFn, legacy: bool, pool: list[str]) -> BranchPlan:
    pin = draw(st.sampled_from([p for p in PINS if not (legacy and p == "const")]))
    if pin == "open":
        models: list[str] = []
    elif pin in ("enum", "mapping"):
        models = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    else:
        models = [draw(st.sampled_from(pool))]
    names = draw(st.lists(_field_names, max_size=4, unique=True))
    if draw(st.booleans()):
        names.append("ratio")
    fields = [draw(field_plans(n, legacy)) for n in names]
    # An unpinned $ref under a discriminator is keyed by its name (implicit mapping): an
    # "open" branch is therefore written inline.
    ref = pin in ("mapping", "implicit") or (pin != "open" and draw(st.booleans()))
    return BranchPlan(
        models, pin, fields, ref=ref,
        siblings=ref and not legacy and draw(st.booleans()),
        closed=draw(st.booleans()),
    )


@st.composite
def endpoint_plans(draw: st.DrawFn, name: str, legacy: bool) -> EndpointPlan:
    pool = draw(st.lists(_models, min_size=1, max_size=4, unique=True))
    branches = draw(st.lists(branch_plans(legacy, pool), min_size=1, max_size=5))
    mapped: set[str] = set()
    for branch in branches:  # a mapping names one schema per model
        if branch.pin == "mapping":
            branch.models = [m for m in branch.models if m not in mapped] or branch.models
            if set(branch.models) & mapped:
                branch.pin, branch.ref = "enum", False
            mapped.update(branch.models)
    for branch in branches:
        if branch.pin not in ("mapping", "implicit") and draw(st.integers(0, 3)) == 0:
            branch.group = 0  # into the nested oneOf
    return EndpointPlan(
        name, branches, draw(st.sampled_from(["oneOf", "anyOf"])),
        discriminator=draw(st.booleans()) or any(
            b.pin in ("mapping", "implicit") for b in branches),
        base=draw(st.booleans()), wrap_allof=draw(st.booleans()),
    )


@st.composite
def doc_plans(draw: st.DrawFn) -> DocPlan:
    openapi = draw(st.sampled_from(["3.0.3", "3.1.0", "3.2.0"]))
    names = draw(st.lists(st.sampled_from(["gen", "make", "edit"]), min_size=1, max_size=2,
                          unique=True))
    legacy = openapi.startswith("3.0")
    return DocPlan(openapi, draw(st.booleans()),
                   [draw(endpoint_plans(n, legacy)) for n in names])


# ---------------------------------------------------------------------------- rendering


class Renderer:
    """Writes a plan as an OpenAPI document of a given version; remembers, per endpoint,
    each branch's schema with the keywords around it (for the oracle)."""

    def __init__(self, plan: DocPlan, openapi: str) -> None:
        self.plan = plan
        self.openapi = openapi
        self.legacy = openapi.startswith("3.0")
        self.schemas: dict[str, Any] = {}
        #: endpoint -> [(branch plan, schema as the oracle applies it)]
        self.routed: dict[str, list[tuple[BranchPlan, Any]]] = {}
        self.bodies: dict[str, Any] = {}

    def field(self, f: FieldPlan) -> Any:
        if f.kind == "any":
            return True
        if f.kind == "never":
            return False
        schema: dict[str, Any]
        if f.kind in ("enum", "ratio") and f.open:
            closed_first = len(f.choices) % 2 == 1  # either order of the two branches
            known = {"type": "string", "enum": list(f.choices)}
            return {"anyOf": [known, {"type": "string"}] if closed_first
                    else [{"type": "string"}, known]}
        if f.kind in ("enum", "ratio"):
            schema = {"type": "string", "enum": list(f.choices)}
        elif f.kind == "array":
            schema = {"type": "array", "items": {"type": "string"}}
            if f.low is not None:
                schema["minItems"] = f.low
            if f.high is not None:
                schema["maxItems"] = f.high
        elif f.kind == "object":
            schema = {"type": "object", "properties": {"inner": {"type": "integer"}},
                      "required": ["inner"]}
        elif f.kind == "string":
            schema = {"type": "string"}
            if f.low is not None:
                schema["minLength"] = f.low
            if f.high is not None:
                schema["maxLength"] = f.high
        elif f.kind in ("integer", "number"):
            schema = {"type": f.kind}
            if f.low is not None:
                schema["minimum"] = f.low
            if f.high is not None:
                schema["maximum"] = f.high
        else:
            schema = {"type": "boolean"}
        if f.nullable:
            make_nullable(schema, self.legacy)
        return schema

    def model_schema(self, b: BranchPlan) -> dict[str, Any]:
        if b.pin == "const":
            return {"type": "string", "const": b.models[0]}
        if b.pin in ("enum", "allof"):
            return {"type": "string", "enum": list(b.models)}
        return {"type": "string"}  # mapping, implicit, open: the model is not pinned here

    def branch(self, endpoint: EndpointPlan, b: BranchPlan, index: int) -> Any:
        props = {f.name: self.field(f) for f in b.fields}
        required = [f.name for f in b.fields if f.required]
        schema: dict[str, Any]
        if b.pin == "allof":
            schema = {"allOf": [
                {"type": "object", "properties": props,
                 **({"required": required} if required else {})},
                {"type": "object", "properties": {"model": self.model_schema(b)},
                 "required": ["model"]},
            ]}
            if b.closed:
                schema["unevaluatedProperties"] = False
        else:
            schema = {"type": "object", "properties": {"model": self.model_schema(b), **props},
                      "required": ["model", *required]}
            if b.closed:
                schema["additionalProperties"] = False
        if not b.ref:
            return schema
        name = b.models[0] if b.pin == "implicit" else f"{endpoint.name}_{index}"
        if b.siblings:
            # The target lacks one requirement and one field; the reference adds them.
            extra = {"type": "integer", "maximum": 5}
            self.schemas[name] = schema
            return {"$ref": f"#/components/schemas/{name}",
                    "properties": {"sibling": extra}, "required": ["sibling"]}
        self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def body(self, endpoint: EndpointPlan) -> Any:
        written: list[Any] = []
        nested: list[Any] = []
        nested_at: int | None = None
        routed: list[tuple[BranchPlan, Any]] = []
        for index, b in enumerate(endpoint.branches):
            schema = self.branch(endpoint, b, index)
            routed.append((b, schema))
            if b.group is None:
                written.append(schema)
            else:
                if nested_at is None:
                    nested_at = len(written)
                    written.append(None)
                nested.append(schema)
        if nested_at is not None:
            written[nested_at] = {"oneOf": nested}
        body: dict[str, Any] = {endpoint.branch_key: written}
        if endpoint.discriminator:
            body["discriminator"] = {"propertyName": "model"}
            mapping = {m: f"#/components/schemas/{endpoint.name}_{i}"
                       for i, b in enumerate(endpoint.branches) if b.pin == "mapping"
                       for m in b.models}
            if mapping:
                body["discriminator"]["mapping"] = mapping
        around: list[Any] = []
        if endpoint.base:
            beside = {"properties": {"shared": {"type": "string", "maxLength": 4}},
                      "required": ["model"]}
            body.update(beside)
            around.append(beside)
        if endpoint.wrap_allof:
            common = {"type": "object", "properties": {"common": {"type": "boolean"}}}
            around.insert(0, common)
            body = {"allOf": [common, body]}
        self.routed[endpoint.name] = [
            (b, {"allOf": [*around, schema]} if around else schema) for b, schema in routed]
        self.bodies[endpoint.name] = body
        return body

    def document(self) -> dict[str, Any]:
        paths = {}
        for endpoint in self.plan.endpoints:
            paths[f"/v1/{endpoint.name}"] = {"post": {
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": self.body(endpoint)}}},
                "responses": {"200": {"description": "ok"}},
            }}
        return {"openapi": self.openapi, "info": {"title": "shapes", "version": "1"},
                "paths": paths, "components": {"schemas": self.schemas}}


def implicit_clash(plan: DocPlan) -> bool:
    """Two implicit branches naming the same component cannot both be written."""
    names = [b.models[0] for e in plan.endpoints for b in e.branches if b.pin == "implicit"]
    return len(names) != len(set(names))


def render(plan: DocPlan) -> tuple[bytes, Renderer]:
    """The document under test, and a 3.1 rendering of the same plan for the oracle."""
    document = Renderer(plan, plan.openapi).document()
    oracle = Renderer(plan, "3.1.0")
    oracle.document()
    text = yaml.safe_dump(document, sort_keys=False).encode() if plan.as_yaml \
        else orjson.dumps(document)
    return text, oracle


# ---------------------------------------------------------------------------- the oracle


def written_order(endpoint: EndpointPlan) -> list[BranchPlan]:
    """Branches as the document lists them: the nested group where its first member was."""
    out: list[BranchPlan] = []
    grouped = [b for b in endpoint.branches if b.group is not None]
    for b in endpoint.branches:
        if b.group is None:
            out.append(b)
        elif b is grouped[0]:
            out.extend(grouped)
    return out


def named_models(endpoint: EndpointPlan) -> list[str]:
    """Every model the document names for an endpoint, in order of first appearance."""
    return list(dict.fromkeys(m for b in written_order(endpoint) for m in b.models))


def routed_schema(oracle: Renderer, endpoint: EndpointPlan, model: str) -> Any:
    """What jsonschema should check a body for ``model`` against; ``None``: not checked."""
    components = {"components": {"schemas": oracle.schemas}}
    if not named_models(endpoint):
        return {**oracle.bodies[endpoint.name], **components}  # a plain body: the whole thing
    serving = [s for b, s in oracle.routed[endpoint.name] if model in b.models]
    if not serving:
        serving = [s for b, s in oracle.routed[endpoint.name] if not b.models]
    if not serving:
        return None
    return {"anyOf": serving, **components}


def jsonschema_accepts(schema: Any, body: Any) -> bool:
    from jsonschema import Draft202012Validator

    if schema is None:
        return True
    return Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(body)


# ---------------------------------------------------------------------------- properties


@examples(60)
@given(plan=doc_plans())
def test_models_lists_every_model_the_document_names(plan: DocPlan) -> None:
    """Whatever shape its branch takes, each model a document names is listed for its
    endpoint (one odd branch never hides the others), in order of first appearance."""
    if implicit_clash(plan):
        return
    text, _ = render(plan)
    catalog = Spec.from_bytes(text, "shapes.yaml" if plan.as_yaml else "shapes.json").catalog
    for endpoint in plan.endpoints:
        assert catalog.models(endpoint.name) == named_models(endpoint), endpoint
    listed = [e.name for e in plan.endpoints if named_models(e)]
    assert catalog.endpoints() == listed


@examples(40)
@given(plan=doc_plans(), data=st.data())
def test_preflight_verdict_equals_jsonschema_on_the_routed_schema(
    plan: DocPlan, data: st.DataObject
) -> None:
    """For bodies drawn from the routed schema and then (sometimes) damaged, pre-flight
    blocks exactly when jsonschema rejects the body under the schema its model routes to."""
    if implicit_clash(plan):
        return
    text, oracle = render(plan)
    spec = Spec.from_bytes(text, "shapes.json")
    for _ in range(6):
        endpoint = data.draw(st.sampled_from(plan.endpoints), label="endpoint")
        model = data.draw(st.sampled_from([*named_models(endpoint), UNKNOWN]), label="model")
        routed = routed_schema(oracle, endpoint, model)
        source = routed if routed is not None else {"type": "object"}
        body = data.draw(bodies(source), label="valid body")
        body = dict(body) if isinstance(body, dict) else {}
        if named_models(endpoint):
            body["model"] = model
        mutation = data.draw(st.sampled_from(["none", "drop", "junk", "extra"]), label="how")
        keys = [k for k in body if k != "model"]
        if mutation == "drop" and body:
            del body[data.draw(st.sampled_from(sorted(body)), label="dropped")]
        elif mutation == "junk" and keys:
            body[data.draw(st.sampled_from(sorted(keys)), label="junked")] = data.draw(
                any_json(), label="junk")
        elif mutation == "extra":
            body[data.draw(st.sampled_from(["sibling", "shared", "common", "zzz", "prompt"]),
                           label="extra")] = data.draw(any_json(), label="value")
        if named_models(endpoint) and "model" not in body:
            # Nothing to route by: the body as a whole (every branch requires a model).
            routed = {**oracle.bodies[endpoint.name],
                      "components": {"schemas": oracle.schemas}}
        problems = spec.preflight(endpoint.name, body)
        assert problems == Validator(spec.catalog, compiled=False).check(endpoint.name, body), (
            "the fast paths and the explaining path differ", json.dumps(body))
        assert problems == Validator(spec.catalog, plain=False).check(endpoint.name, body), (
            "the pure-Python verdict and the compiled one differ", json.dumps(body))
        ours = not errors(problems)
        theirs = jsonschema_accepts(routed, body)
        assert ours == theirs, (endpoint.name, model, json.dumps(body),
                                spec.preflight(endpoint.name, body))
