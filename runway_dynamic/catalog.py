"""The catalog: a frozen, serialisable model of what a spec offers, derived at run time.

Nothing downstream (validation, client routing, CLI, sandbox) reads the raw document: it
reads this. Built from a parsed OpenAPI 3.0/3.1/3.2 document by :func:`build_catalog`,
stored on disk by :mod:`runway_dynamic.cache` through :meth:`Catalog.to_dict`.

Terms:
- *operation*: one (method, path) of the spec.
- *endpoint*: the path without its version prefix (``text_to_video``, ``tasks/{id}``).
- *variant*: one branch of a request body, keyed by its discriminator value (the model id
  for generation endpoints, ``mode`` for some recipes); a plain body is one unkeyed variant.
- *model endpoint*: an operation whose variants are discriminated by ``model``.
- *kind*: what an operation does (:data:`OPERATION_KINDS`), and for a create, the endpoint
  that reads what it made (:attr:`Operation.result_endpoint`). Decided here, once, from the
  spec's shapes; the client, the CLI, the tools and the sandbox ask, never guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import unquote

from runway_dynamic._constants import MODEL_PROPERTY, RATIO_PROPERTY, TASK_ENDPOINT
from runway_dynamic._exceptions import SpecError
from runway_dynamic._frozen import Frozen
from runway_dynamic._limits import ExpansionBudget
from runway_dynamic._refs import RefResolver
from runway_dynamic.naming import closest, endpoint_name

CATALOG_FORMAT = 3
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")
_SCALAR_TYPES = ("string", "integer", "number", "boolean")

Schema = Mapping[str, Any]

# What an operation does (``Operation.kind``).
#: A POST whose answer carries the id of a task, read back at ``tasks/{id}``.
CREATES_TASK = "creates_task"
#: A POST whose answer carries the id of a resource the spec reads at an item path of its
#: own (``avatars`` → ``avatars/{id}``; ``workflows/{id}`` → ``workflow_invocations/{id}``).
CREATES_RESOURCE = "creates_resource"
#: A GET of one thing (an item, or a collection that does not list: ``organization``).
READS = "reads"
#: A GET of a collection (it pages, has items of its own, or answers a ``data`` list).
LISTS = "lists"
UPDATES = "updates"
DELETES = "deletes"
#: Anything else: a POST whose answer names nothing it made (``uploads``, ``voices/preview``).
ACTION = "action"
OPERATION_KINDS = (CREATES_TASK, CREATES_RESOURCE, READS, LISTS, UPDATES, DELETES, ACTION)
#: Query parameters that make a collection GET a list.
_PAGING_PARAMS = frozenset({"cursor", "limit", "page", "pageToken", "offset"})


# --------------------------------------------------------------------------- schema facts


def flatten_object(schema: Schema) -> tuple[dict[str, Schema], tuple[str, ...]]:
    """Properties and required names of an object schema, merged through ``allOf``."""
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for part in [*schema.get("allOf", ()), schema]:
        if part is not schema:
            sub_props, sub_required = flatten_object(part)
            properties.update(sub_props)
            required.extend(sub_required)
            continue
        properties.update(part.get("properties") or {})
        required.extend(part.get("required") or ())
    return properties, tuple(dict.fromkeys(required))


def variant_object(schema: Schema) -> tuple[dict[str, Schema], tuple[str, ...]]:
    """:func:`flatten_object` for a variant, which may be several alternatives for one
    model (``{"anyOf": [...]}``, valid if any accepts): every property any of them has
    (its schema, or ``anyOf`` the different ones), required when every one requires it."""
    alternatives = schema.get("anyOf")
    if set(schema) != {"anyOf"} or not isinstance(alternatives, list) or not alternatives:
        return flatten_object(schema)
    flat = [flatten_object(alt) for alt in alternatives if isinstance(alt, Mapping)]
    merged: dict[str, list[Schema]] = {}
    for properties, _ in flat:
        for name, sub in properties.items():
            seen = merged.setdefault(name, [])
            if sub not in seen:
                seen.append(sub)
    required = [name for name in merged if all(name in req for _, req in flat)]
    return ({name: subs[0] if len(subs) == 1 else {"anyOf": subs}
             for name, subs in merged.items()}, tuple(required))


def literal_value(schema: Schema) -> Any:
    """The one value a schema allows (``const`` or a one-item ``enum``), else ``None``."""
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and len(enum) == 1:
        return enum[0]
    return None


def schema_kind(schema: Schema) -> str:
    """The JSON type a value must have: string, integer, number, boolean, array, object, any."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if isinstance(kind, str):
        return kind
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        types = {json_type(v) for v in values if v is not None}
        return types.pop() if len(types) == 1 else "any"
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if branches:
        branch_kinds = {schema_kind(b) for b in branches}
        return branch_kinds.pop() if len(branch_kinds) == 1 else "any"
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "any"


def schema_choices(schema: Schema) -> tuple[Any, ...] | None:
    """The closed set of values a schema allows (enum, const, or anyOf of those), if any."""
    if "enum" in schema:
        return tuple(v for v in schema["enum"] if v is not None)
    if "const" in schema:
        return (schema["const"],)
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if branches:
        values: list[Any] = []
        for branch in branches:
            sub = schema_choices(branch)
            if sub is None:
                return None
            values.extend(sub)
        return tuple(dict.fromkeys(values))
    return None


def schema_suggestions(schema: Schema) -> tuple[Any, ...] | None:
    """The known values of an *open* enum, else ``None``.

    Newer schemas write "one of these, or any string" as ``anyOf: [{enum: [...]},
    {type: string}]``: the values are what to suggest and complete, but any value of the
    free branch is valid, so they are not a closed set (:func:`schema_choices` is ``None``).
    """
    branches = [b for b in (*schema.get("anyOf", ()), *schema.get("oneOf", ()))
                if isinstance(b, Mapping)]
    if not branches or schema_choices(schema) is not None:
        return None
    known: list[Any] = []
    for branch in branches:
        values = schema_choices(branch)
        if values is None:
            values = schema_suggestions(branch)  # nested: anyOf [anyOf [enum, string]]
        known.extend(values or ())
    return tuple(dict.fromkeys(known)) or None


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value (``bool`` is not an integer here)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "unknown"


class MediaFacts(Frozen):
    """What a URI-taking field accepts: schemes, and for ``data:`` URIs the type and size cap."""

    _fields = ("schemes", "data_mime_prefix", "data_max_length")
    schemes: tuple[str, ...]
    data_mime_prefix: str | None
    data_max_length: int | None

    def __init__(self, schemes: tuple[str, ...], data_mime_prefix: str | None,
                 data_max_length: int | None) -> None:
        self._set(schemes=schemes, data_mime_prefix=data_mime_prefix,
                  data_max_length=data_max_length)


def media_facts(schema: Schema) -> MediaFacts | None:
    """Recognise a media URI field by its string patterns (``^https:``/``^runway:``/``^data:``)."""
    branches = list(_string_branches(schema))
    schemes: list[str] = []
    mime: str | None = None
    data_max: int | None = None
    for branch in branches:
        pattern = branch.get("pattern")
        if schema_kind(branch) != "string" or not isinstance(pattern, str):
            continue
        text = pattern.lstrip("^").replace("\\", "")
        for scheme in ("https", "http", "runway", "data"):
            if text.startswith(scheme + ":"):
                schemes.append(scheme)
                if scheme == "data":
                    rest = text[len("data:") :].split(".*")[0].split("(")[0]
                    mime = rest or None
                    data_max = branch.get("maxLength")
                break
    if not schemes:
        return None
    return MediaFacts(tuple(dict.fromkeys(schemes)), mime, data_max)


def _string_branches(schema: Schema) -> Iterator[Schema]:
    """String alternatives of a schema, through nested ``anyOf``/``oneOf``."""
    nested = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if not nested:
        yield schema
        return
    for branch in nested:
        yield from _string_branches(branch)


def ratio_aspect(ratio: str) -> float | None:
    """``"1280:720"`` → log(1280/720); ``None`` for names like ``auto`` or ``adaptive``."""
    width, sep, height = str(ratio).partition(":")
    try:
        w, h = float(width), float(height)
    except ValueError:
        return None
    if not sep or w <= 0 or h <= 0:
        return None
    return math.log(w / h)


def closest_ratios(wanted: str, accepted: Iterable[str], n: int = 3) -> list[str]:
    """Accepted ratios nearest to ``wanted`` by aspect: distance of log(width/height).

    Ties (same aspect at other sizes) go to the nearest pixel area.
    """
    return list(_closest_ratios(wanted, tuple(accepted), n))


def _spelling(model: str) -> str:
    """How a model id reads regardless of case and of ``-`` for ``_``."""
    return model.strip().lower().replace("-", "_")


def _digits(model: str) -> str:
    """The digits of an id in order (``veo3.1_fast`` → ``31``): its version, as people
    read it. Ids whose digits differ are different versions (``gen4.6``, ``eleven_v4``),
    never a mistyping: a model newer than the spec must still pass."""
    return "".join(ch for ch in model if ch.isdigit())


def _near_limit(known: str) -> int:
    """How many edits still make a mistyping of ``known``: 1 for short ids, else 2."""
    return 1 if len(known) <= 4 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``; any
    answer above ``limit`` is ``limit + 1``. (Optimal string alignment: a dozen lines for
    ids of a few dozen characters; no kept library is in the stack for it.)"""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if (before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2]
                    and a[i - 2] == b[j - 1]):
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return min(row[-1], limit + 1)


#: The JSON types a value of each :func:`schema_kind` may have.
_ACCEPTS: dict[str, frozenset[str]] = {
    "string": frozenset({"string"}), "integer": frozenset({"integer"}),
    "number": frozenset({"integer", "number"}), "boolean": frozenset({"boolean"}),
    "object": frozenset({"object"}), "array": frozenset({"array"}),
    "any": frozenset({"string", "integer", "number", "boolean", "object", "array"}),
}
#: :func:`agreed_kind`'s answer when the known models share no type: numbers and booleans
#: are read as JSON, anything else stays text.
SCALAR = "scalar"


def agreed_kind(kinds: Iterable[str]) -> str:
    """The kind a value takes for a model the spec does not list, from the kinds the
    listed models give the same field: the narrowest one every listed model accepts
    (integer and number → integer), else :data:`SCALAR`. An unknown model is most likely
    a sibling of the listed ones, so its ``--duration 5`` should be ``5``, not ``"5"``."""
    accepted: frozenset[str] | None = None
    for kind in kinds:
        types = _ACCEPTS.get(kind, _ACCEPTS["any"])
        accepted = types if accepted is None else accepted & types
    if accepted is None:
        return "any"
    for kind, types in _ACCEPTS.items():
        if types == accepted:
            return kind
    return SCALAR


@lru_cache(maxsize=1024)
def _closest_ratios(wanted: str, accepted: tuple[str, ...], n: int) -> tuple[str, ...]:
    """:func:`closest_ratios`, remembered: a refused ratio is usually refused again."""
    target = ratio_aspect(wanted)
    if target is None:
        return ()
    tw, _, th = wanted.partition(":")
    target_area = math.log(float(tw) * float(th))
    scored = []
    for ratio in accepted:
        aspect = ratio_aspect(ratio)
        if aspect is None:
            continue
        w, _, h = ratio.partition(":")
        area_gap = abs(math.log(float(w) * float(h)) - target_area)
        scored.append((round(abs(aspect - target), 9), area_gap, ratio))
    return tuple(ratio for *_, ratio in sorted(scored)[:n])


# --------------------------------------------------------------------------- model


class Field(Frozen):
    """One top-level body field of a variant (or a parameter), with its facts."""

    _fields = ("name", "required", "schema")
    _hidden = ("schema",)
    name: str
    required: bool
    schema: Schema

    def __init__(self, name: str, required: bool, schema: Schema) -> None:
        self._set(name=name, required=required, schema=schema)

    @cached_property
    def kind(self) -> str:
        return schema_kind(self.schema)

    @cached_property
    def choices(self) -> tuple[Any, ...] | None:
        return schema_choices(self.schema)

    @cached_property
    def suggestions(self) -> tuple[Any, ...] | None:
        """The values the spec names for this field: its closed set, or an open enum's known
        values (see :attr:`open_values`); what help shows and completion offers."""
        return self.choices if self.choices is not None else schema_suggestions(self.schema)

    @property
    def open_values(self) -> bool:
        """The spec names values but accepts others too ("one of these, or any string")."""
        return self.choices is None and self.suggestions is not None

    @cached_property
    def media(self) -> MediaFacts | None:
        return media_facts(self.schema)

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def deprecated(self) -> bool:
        return bool(self.schema.get("deprecated"))

    def bounds(self) -> dict[str, Any]:
        """The schema's limits that a person would want to see (min/max, lengths, items)."""
        keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                "maxLength", "minItems", "maxItems", "pattern", "format")
        return {k: self.schema[k] for k in keys if k in self.schema}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "required": self.required, "type": self.kind}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        elif self.suggestions is not None:
            out["suggestions"] = list(self.suggestions)
            out["open"] = True
        if self.has_default:
            out["default"] = self.default
        out.update(self.bounds())
        if self.media:
            out["media"] = list(self.media.schemes)
        return out


class Parameter(Frozen):
    """A path, query or header parameter."""

    _fields = ("name", "location", "required", "schema")
    _hidden = ("schema",)
    name: str
    location: str
    required: bool
    schema: Schema

    def __init__(self, name: str, location: str, required: bool, schema: Schema) -> None:
        self._set(name=name, location=location, required=required, schema=schema)

    def as_field(self) -> Field:
        return Field(self.name, self.required, self.schema)

    @property
    def constant(self) -> Any:
        """The fixed value of a parameter pinned by ``const`` (e.g. an API version header)."""
        return literal_value(self.schema)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "in": self.location, "required": self.required,
                "schema": self.schema}


class Variant(Frozen):
    """One request-body branch: its discriminator value (``key``) and self-contained schema."""

    _fields = ("endpoint", "method", "key", "schema")
    _hidden = ("schema",)
    endpoint: str
    method: str
    key: str | None
    schema: Schema

    def __init__(self, endpoint: str, method: str, key: str | None, schema: Schema) -> None:
        self._set(endpoint=endpoint, method=method, key=key, schema=schema)

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        properties, required = variant_object(self.schema)
        return tuple(Field(name, name in required, sub) for name, sub in properties.items())

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if not f.required)

    @cached_property
    def ratios(self) -> tuple[str, ...] | None:
        """The ratios this variant accepts; ``None`` when it has no closed ratio set."""
        ratio = self.field_map.get(RATIO_PROPERTY)
        if ratio is None or ratio.choices is None:
            return None
        return tuple(str(r) for r in ratio.choices)

    @cached_property
    def known_ratios(self) -> tuple[str, ...] | None:
        """The ratios the spec names for this variant, closed set or open enum (see
        :attr:`ratios_open`); ``None`` when it names none."""
        ratio = self.field_map.get(RATIO_PROPERTY)
        if ratio is None or ratio.suggestions is None:
            return None
        return tuple(str(r) for r in ratio.suggestions)

    @property
    def ratios_open(self) -> bool:
        """The named ratios are suggestions: any other string is accepted too."""
        ratio = self.field_map.get(RATIO_PROPERTY)
        return ratio is not None and ratio.open_values

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "schema": self.schema}



class DeferredSchemas(Mapping[str, "Schema | None"]):
    """Response schemas kept as JSON text until first read.

    They are half of a cached index and most commands never look at them: a warm start
    parses a string instead of building their dicts (see :func:`runway_dynamic.cache.store_index`).
    """

    __slots__ = ("_data", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._data: dict[str, Schema | None] | None = None

    def _loaded(self) -> dict[str, Schema | None]:
        if self._data is None:
            import orjson

            self._data = orjson.loads(self._text)
        return self._data

    def __getitem__(self, key: str) -> Schema | None:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _responses(value: Any) -> Mapping[str, Schema | None]:
    """An index's responses: a mapping, or JSON text read when first needed."""
    if isinstance(value, str):
        return DeferredSchemas(value)
    return value or {}


class Operation(Frozen):
    """One (method, path) of the spec, with everything needed to call and validate it."""

    _fields = ("method", "path", "parameters", "body_required", "content_type",
               "discriminator", "variants", "responses", "operation_id", "tags", "deprecated",
               "kind", "result_endpoint")
    _hidden = ("responses",)
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    content_type: str | None
    discriminator: str | None
    variants: tuple[Variant, ...]
    responses: Mapping[str, Schema | None]
    operation_id: str | None
    tags: tuple[str, ...]
    deprecated: bool
    #: What it does (one of :data:`OPERATION_KINDS`); set by :func:`build_catalog`.
    kind: str
    #: For a create: the GET endpoint that reads what it made (``tasks/{id}`` for a task,
    #: the item path for a resource); ``None`` otherwise, or when the spec has no reader.
    result_endpoint: str | None

    def __init__(
        self, method: str, path: str, parameters: tuple[Parameter, ...] = (),
        body_required: bool = False, content_type: str | None = None,
        discriminator: str | None = None, variants: tuple[Variant, ...] = (),
        responses: Mapping[str, Schema | None] | None = None, operation_id: str | None = None,
        tags: tuple[str, ...] = (), deprecated: bool = False, kind: str = ACTION,
        result_endpoint: str | None = None,
    ) -> None:
        self._set(method=method, path=path, parameters=parameters, body_required=body_required,
                  content_type=content_type, discriminator=discriminator, variants=variants,
                  responses={} if responses is None else responses, operation_id=operation_id,
                  tags=tags, deprecated=deprecated, kind=kind, result_endpoint=result_endpoint)

    def _replaced(self, **changes: Any) -> Operation:
        """A copy with some fields changed (what ``dataclasses.replace`` did: facts derived
        from the old fields are not carried over)."""
        values = self.__dict__
        return Operation(**{**{name: values[name] for name in self._fields}, **changes})

    @cached_property
    def endpoint(self) -> str:
        return endpoint_name(self.path)

    @property
    def creates(self) -> bool:
        """Whether sending it may make something (a billed task, a resource), so resending a
        request whose answer was lost could make it twice. A POST whose answer the spec does
        not describe counts as creating: assume the worst."""
        if self.kind in (CREATES_TASK, CREATES_RESOURCE):
            return True
        return self.method == "POST" and not self.success_schema()

    @property
    def output_family(self) -> str | None:
        """What a generation endpoint makes, as its name says after ``_to_``
        (``image_to_video`` → ``video``); ``None`` when the name does not say. The task's
        output schema names no media type, so the endpoint name is the spec's only word
        on it; endpoints of one family are alternatives by input (text, image, video)."""
        name = self.endpoint.rsplit("/", 1)[-1]
        _, to, made = name.rpartition("_to_")
        return made or None if to else None

    @property
    def is_read(self) -> bool:
        """A GET of one thing or of a list: safe to send by default, and to resend."""
        return self.kind in (READS, LISTS)

    @property
    def has_body(self) -> bool:
        return bool(self.variants)

    @property
    def is_model_endpoint(self) -> bool:
        return self.discriminator == MODEL_PROPERTY and any(v.key for v in self.variants)

    @property
    def models(self) -> tuple[str, ...]:
        if not self.is_model_endpoint:
            return ()
        return tuple(v.key for v in self.variants if v.key is not None)

    def unknown_model_kind(self, name: str) -> str | None:
        """The kind field ``name``'s value takes for a model this operation does not list:
        what the listed models that have the field agree on (:func:`agreed_kind`);
        ``None`` when none has it."""
        kinds = [v.field_map[name].kind for v in self.variants if name in v.field_map]
        return agreed_kind(kinds) if kinds else None

    def variant(self, key: str | None) -> Variant | None:
        for candidate in self.variants:
            if candidate.key == key:
                return candidate
        return None

    def params(self, location: str) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)

    @property
    def constant_headers(self) -> dict[str, str]:
        """Header parameters whose value the spec pins (sent automatically)."""
        return {p.name: str(p.constant) for p in self.params("header") if p.constant is not None}

    def success_schema(self) -> Schema | None:
        for status in sorted(self.responses):
            if status.startswith("2"):
                return self.responses[status]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "operationId": self.operation_id,
            "tags": list(self.tags),
            "deprecated": self.deprecated,
            "kind": self.kind,
            "resultEndpoint": self.result_endpoint,
            "parameters": [p.to_dict() for p in self.parameters],
            "body": None
            if not self.variants
            else {
                "required": self.body_required,
                "contentType": self.content_type,
                "discriminator": self.discriminator,
                "variants": [v.to_dict() for v in self.variants],
            },
            "responses": dict(self.responses),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        method, path = data["method"], data["path"]
        body = data.get("body") or {}
        endpoint = endpoint_name(path)
        return cls(
            method=method,
            path=path,
            parameters=tuple(
                Parameter(p["name"], p["in"], p["required"], p["schema"])
                for p in data["parameters"]
            ),
            body_required=bool(body.get("required")),
            content_type=body.get("contentType"),
            discriminator=body.get("discriminator"),
            variants=tuple(
                Variant(endpoint, method, v["key"], v["schema"]) for v in body.get("variants", ())
            ),
            responses=_responses(data.get("responses")),
            operation_id=data.get("operationId"),
            tags=tuple(data.get("tags") or ()),
            deprecated=bool(data.get("deprecated")),
            kind=_known_kind(data["kind"]),
            result_endpoint=data.get("resultEndpoint"),
        )


def _known_kind(kind: Any) -> str:
    if kind not in OPERATION_KINDS:
        raise ValueError(f"unknown operation kind {kind!r}")
    return str(kind)


class Catalog(Frozen):
    """Everything derived from one spec. Build with :func:`build_catalog`."""

    _fields = ("openapi", "api_version", "title", "servers", "operations", "sha256")
    openapi: str
    api_version: str | None
    title: str | None
    servers: tuple[str, ...]
    operations: tuple[Operation, ...]
    sha256: str

    def __init__(self, openapi: str, api_version: str | None, title: str | None,
                 servers: tuple[str, ...], operations: tuple[Operation, ...],
                 sha256: str = "") -> None:
        self._set(openapi=openapi, api_version=api_version, title=title, servers=servers,
                  operations=operations, sha256=sha256)

    # ---- operations and endpoints

    def endpoints(self) -> list[str]:
        """Model endpoints (those whose bodies are discriminated by ``model``), spec order."""
        return list(dict.fromkeys(op.endpoint for op in self.operations if op.is_model_endpoint))

    @cached_property
    def pinned_headers(self) -> tuple[str, ...]:
        """The header parameters whose value the spec pins (``X-Runway-Version``): sent on
        every operation that declares them; ``--runway-version`` sets what they carry."""
        return tuple(sorted({p.name for op in self.operations for p in op.params("header")
                             if p.constant is not None}))

    def all_endpoints(self) -> list[str]:
        """Every endpoint name, spec order."""
        return list(dict.fromkeys(op.endpoint for op in self.operations))

    @cached_property
    def _by_endpoint(self) -> dict[str, list[Operation]]:
        out: dict[str, list[Operation]] = {}
        for op in self.operations:
            out.setdefault(op.endpoint, []).append(op)
        return out

    def operations_for(self, endpoint: str) -> list[Operation]:
        """Operations at an endpoint name (``tasks/{id}``) or full path (``/v1/tasks/{id}``)."""
        name = endpoint_name(endpoint) if endpoint.startswith("/") else endpoint.strip("/")
        return list(self._by_endpoint.get(name, ()))

    def operation(self, endpoint: str, method: str | None = None) -> Operation | None:
        """The operation at ``endpoint`` (with ``method``, or the only/body-carrying one)."""
        ops = self.operations_for(endpoint)
        if method:
            ops = [op for op in ops if op.method.lower() == method.lower()]
            return ops[0] if ops else None
        if len(ops) == 1:
            return ops[0]
        with_models = [op for op in ops if op.is_model_endpoint]
        return with_models[0] if len(with_models) == 1 else None

    @cached_property
    def _model_ops(self) -> dict[str, Operation]:
        return {op.endpoint: op for op in self.operations if op.is_model_endpoint}

    def model_operation(self, endpoint: str) -> Operation | None:
        return self._model_ops.get(endpoint)

    # ---- models

    def models(self, endpoint: str | None = None) -> list[str]:
        """Model ids of one endpoint, or of all endpoints (first appearance order)."""
        if endpoint is not None:
            op = self._model_ops.get(endpoint)
            return list(op.models) if op else []
        return list(dict.fromkeys(m for op in self._model_ops.values() for m in op.models))

    def endpoints_for(self, model: str) -> list[str]:
        return [name for name, op in self._model_ops.items() if model in op.models]

    def variant(self, endpoint: str, model: str) -> Variant | None:
        op = self._model_ops.get(endpoint)
        return op.variant(model) if op else None

    def fields(self, endpoint: str, model: str) -> tuple[Field, ...]:
        found = self.variant(endpoint, model)
        return found.fields if found else ()

    def closest_models(self, model: str, n: int = 3) -> list[str]:
        return closest(model, self.models(), n)

    def resolve_model(self, model: str) -> str:
        """The spec's id for ``model`` as people type it: ``veo3.1-fast`` is ``veo3.1_fast``
        and ``GEN4.5`` is ``gen4.5`` when exactly one listed id reads that way; anything
        else is returned as given (an id the spec does not list passes through)."""
        found = self._model_spellings.get(_spelling(model), ())
        return found[0] if len(found) == 1 and model not in found else model

    def near_misses(self, model: str) -> list[str]:
        """Listed ids that ``model`` is most likely a mistyping of, closest first; ``[]``
        for a listed id and for one far from every listed id (a model newer than the spec).

        Near: another spelling (:meth:`resolve_model`), or a few edits away
        (``veo3.1fast``) with the same version digits. Pre-flight refuses a near miss
        (nothing is sent for a typo) unless the caller allows unknown models.
        """
        if model in self._model_set:
            return []
        wanted = _spelling(model)
        digits = _digits(wanted)
        scored = []
        for known in self.models():
            spelled = _spelling(known)
            if spelled == wanted:
                scored.append((0, known))
                continue
            if _digits(spelled) != digits:
                continue
            limit = _near_limit(spelled)
            distance = edit_distance(wanted, spelled, limit)
            if distance <= limit:
                scored.append((distance, known))
        return [known for _, known in sorted(scored, key=lambda pair: pair[0])]

    @cached_property
    def _model_set(self) -> frozenset[str]:
        return frozenset(self.models())

    @cached_property
    def _model_spellings(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for model in self.models():
            out.setdefault(_spelling(model), []).append(model)
        return {key: tuple(ids) for key, ids in out.items()}

    # ---- ratios

    def ratios(self, endpoint: str, model: str) -> list[str] | None:
        found = self.variant(endpoint, model)
        if found is None or found.ratios is None:
            return None
        return list(found.ratios)

    def ratio_matrix(self) -> dict[str, dict[str, list[str]]]:
        """``{endpoint: {model: [ratios]}}`` for every variant that names its ratios (a
        closed set, or an open enum's known values: :meth:`Variant.ratios_open`)."""
        return {name: {model: list(ratios) for model, ratios in by_model.items()}
                for name, by_model in self._ratios.items()}

    def models_accepting(self, ratio: str, endpoint: str | None = None) -> dict[str, list[str]]:
        """``{endpoint: [models]}`` that name ``ratio`` (closed set or open enum); a model
        whose ratio is any string without named values is not listed."""
        found = self._accepting.get(ratio, {})
        if endpoint is not None:
            return {endpoint: list(found[endpoint])} if endpoint in found else {}
        return {name: list(models) for name, models in found.items()}

    @cached_property
    def _ratios(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """The ratio matrix, built once (pre-flight messages ask it on every refusal)."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for name, op in self._model_ops.items():
            for v in op.variants:
                if v.key is not None and v.known_ratios is not None:
                    out.setdefault(name, {})[v.key] = tuple(v.known_ratios)
        return out

    @cached_property
    def _accepting(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """``{ratio: {endpoint: models}}``: the matrix read the other way, built once."""
        out: dict[str, dict[str, list[str]]] = {}
        for name, by_model in self._ratios.items():
            for model, ratios in by_model.items():
                for ratio in ratios:
                    out.setdefault(ratio, {}).setdefault(name, []).append(model)
        return {ratio: {name: tuple(models) for name, models in by_endpoint.items()}
                for ratio, by_endpoint in out.items()}

    def all_ratios(self) -> list[str]:
        matrix = self.ratio_matrix().values()
        seen = {r for by_model in matrix for rs in by_model.values() for r in rs}
        return sorted(seen, key=_ratio_sort_key)

    # ---- serialisation

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CATALOG_FORMAT,
            "sha256": self.sha256,
            "openapi": self.openapi,
            "apiVersion": self.api_version,
            "title": self.title,
            "servers": list(self.servers),
            "operations": [op.to_dict() for op in self.operations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        if data.get("format") != CATALOG_FORMAT:
            raise ValueError("catalog format mismatch")
        return cls(
            openapi=data["openapi"],
            api_version=data.get("apiVersion"),
            title=data.get("title"),
            servers=tuple(data.get("servers") or ()),
            operations=tuple(Operation.from_dict(op) for op in data["operations"]),
            sha256=data.get("sha256", ""),
        )

    def summary(self) -> dict[str, Any]:
        """Facts for ``runway spec show`` and for comparing two catalogs."""
        models = self.models()
        pairs = sum(len(op.models) for op in self._model_ops.values())
        return {
            "openapi": self.openapi,
            "apiVersion": self.api_version,
            "operations": len(self.operations),
            "endpoints": len(self._model_ops),
            "models": len(models),
            "variants": pairs,
        }

    def facts(self) -> dict[str, Any]:
        """The catalog in the shape people compare: endpoints → models → fields and ratios."""
        out: dict[str, Any] = {}
        for op in self.operations:
            key = f"{op.method.upper()} {op.path}"
            out[key] = {
                "parameters": sorted(f"{p.location}:{p.name}" for p in op.parameters),
                "discriminator": op.discriminator,
                "variants": {
                    str(v.key): {
                        "required": sorted(v.required),
                        "optional": sorted(v.optional),
                        "ratios": sorted(v.ratios) if v.ratios is not None else None,
                        "fields": {f.name: f.to_dict() for f in v.fields},
                    }
                    for v in op.variants
                },
            }
        return out


def _ratio_sort_key(ratio: str) -> tuple[int, float, str]:
    aspect = ratio_aspect(ratio)
    return (0, aspect, ratio) if aspect is not None else (1, 0.0, ratio)


# --------------------------------------------------------------------------- building


def build_catalog(
    document: Mapping[str, Any], *, source: str = "<spec>", sha256: str = ""
) -> Catalog:
    """Derive the catalog from a parsed OpenAPI document (the slow path; the result is cached)."""
    openapi = str(document.get("openapi", ""))
    resolver = RefResolver(dict(document), source=source, openapi_version=openapi)
    info = document.get("info")
    info = info if isinstance(info, Mapping) else {}
    listed = document.get("servers")
    servers = tuple(
        str(s["url"]) for s in (listed if isinstance(listed, list) else ())
        if isinstance(s, dict) and "url" in s
    )
    operations = []
    for path, item in (document.get("paths") or {}).items():
        item = resolver.deref(item)
        if not isinstance(item, dict):
            raise SpecError(f"path item {path!r} is not a mapping", source=source)
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            try:
                built = _build_operation(resolver, path, method, op, shared)
                _touch_facts(built)
            except RecursionError:  # a safety net: the depth limit should stop this first
                raise SpecError(f"{method.upper()} {path} is nested too deeply to read",
                                source=source) from None
            except _MALFORMED as exc:
                what = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
                raise SpecError(
                    f"malformed operation {method.upper()} {path} ({what})", source=source
                ) from None
            operations.append(built)
    if resolver.defs:
        operations = [_attach_defs(op, resolver.defs, resolver.budget) for op in operations]
    operations = classify(operations)
    return Catalog(
        openapi=openapi,
        api_version=str(info["version"]) if "version" in info else None,
        title=info.get("title"),
        servers=servers,
        operations=tuple(operations),
        sha256=sha256,
    )


# What walking junk where a mapping or list belongs raises (``"requestBody": 5``,
# ``"properties": [1]``): reported as a SpecError naming the operation, never a traceback.
_MALFORMED = (AttributeError, TypeError, KeyError, ValueError, IndexError)


def _touch_facts(op: Operation) -> None:
    """Derive the lazily computed field facts now, so a malformed schema fails at build time
    (with the operation named) rather than later, in whatever first reads the field.

    The facts are derived and dropped, not cached on each field: a command reads a few
    fields of one operation, and a cached property's first read costs more than the fact.
    """
    for variant in op.variants:
        for item in variant.fields:
            schema_kind(item.schema)
            schema_choices(item.schema)
            media_facts(item.schema)
            item.bounds()
    for param in op.parameters:
        schema_kind(param.schema)
        schema_choices(param.schema)
        literal_value(param.schema)  # Parameter.constant
    _success_properties(op)  # what classify() reads


def _build_operation(
    resolver: RefResolver, path: str, method: str, op: Mapping[str, Any], shared: list[Any]
) -> Operation:
    params: dict[tuple[str, str], Parameter] = {}
    for raw in [*shared, *(op.get("parameters") or [])]:
        param = resolver.deref(raw)
        if not isinstance(param, dict) or "name" not in param or "in" not in param:
            raise SpecError(
                f"malformed parameter in {method.upper()} {path}", source=resolver.source
            )
        schema = param.get("schema")
        if schema is None:  # content-based parameters: take the first media type's schema
            content = param.get("content") or {}
            first: Mapping[str, Any] = next(iter(content.values()), {})
            schema = first.get("schema", {})
        params[(param["name"], param["in"])] = Parameter(
            param["name"],
            param["in"],
            bool(param.get("required")) or param["in"] == "path",
            resolver.inline({} if schema is None else schema,
                            f"{method.upper()} {path} parameter {param['name']}"),
        )
    endpoint = endpoint_name(path)
    discriminator: str | None = None
    variants: tuple[Variant, ...] = ()
    content_type: str | None = None
    body_required = False
    body = op.get("requestBody")
    if body is not None:
        body = resolver.deref(body)
        body_required = bool(body.get("required"))
        content_type, media = _pick_media(body.get("content") or {})
        if media is not None:
            raw = media.get("schema")
            raw = {} if raw is None else raw
            schema = resolver.inline(raw, f"{method.upper()} {path} request body")
            schema = {k: v for k, v in schema.items() if k != "$schema"}
            discriminator, keyed = split_variants(schema, raw, resolver, resolver.budget)
            variants = tuple(Variant(endpoint, method.upper(), key, s) for key, s in keyed)
    responses: dict[str, Schema | None] = {}
    for status, response in (op.get("responses") or {}).items():
        response = resolver.deref(response)
        _, media = _pick_media((response or {}).get("content") or {})
        found = media.get("schema") if media else None
        responses[str(status)] = resolver.inline(
            {} if found is None else found, f"{method.upper()} {path} response {status}"
        ) if media else None
    return Operation(
        method=method.upper(),
        path=path,
        parameters=tuple(params.values()),
        body_required=body_required,
        content_type=content_type,
        discriminator=discriminator,
        variants=variants,
        responses=responses,
        operation_id=op.get("operationId"),
        tags=tuple(op.get("tags") or ()),
        deprecated=bool(op.get("deprecated")),
    )


def _pick_media(content: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    """Prefer JSON (``application/json`` or ``*+json``), then the first media type."""
    for name, media in content.items():
        if name.split(";")[0].strip() == "application/json" or name.endswith("+json"):
            return name, media or {}
    for name, media in content.items():
        return name, media or {}
    return None, None


def split_variants(
    schema: Schema, raw: Any = None, resolver: RefResolver | None = None,
    budget: ExpansionBudget | None = None,
) -> tuple[str | None, list[tuple[str | None, Schema]]]:
    """Split a body schema into (discriminator property, [(key, variant schema)]).

    Every alternative of the body counts, however it is written: branches of ``oneOf`` or
    ``anyOf``, nested ones (their siblings apply to each), and an ``allOf`` with one
    branching part. An alternative serves the values its discriminator property allows
    (``const``, an ``enum`` of one or more, any of those through ``allOf``), else its
    ``discriminator.mapping`` keys or implicit name when it is a ``$ref`` (``raw`` is the
    body before inlining, where the ``$ref`` is still visible). The property is the declared
    ``discriminator.propertyName``, else ``model`` when any alternative pins one.

    - an alternative that pins several values (``enum: [a, b]``) serves each of them;
    - alternatives for the same value are one variant, valid if any accepts it
      (``{"anyOf": [...]}``);
    - alternatives that pin nothing serve every other value: one variant keyed ``None``;
    - one odd alternative never hides the others; a body with no pinned value at all is
      one plain, unkeyed variant.
    """
    alternatives = list(_alternatives(schema, raw, resolver, {}, declared=False, budget=budget))
    declared = _declared_property(schema, raw, resolver)
    prop = declared
    if prop is None and any(
        _pinned_values(alt, MODEL_PROPERTY) for alt, _ in alternatives
    ):
        prop = MODEL_PROPERTY
    if prop is None:
        return None, [(None, schema)]
    served: dict[str, list[Schema]] = {}
    unpinned: list[Schema] = []
    used: set[int] = set()
    for alt, mapped in alternatives:
        values = _pinned_values(alt, prop) or list(mapped)
        if not values:
            unpinned.append(alt)
            continue
        for value in values:
            if budget is not None and id(alt) in used:
                budget.charge(alt)  # one more variant writes it out again
            used.add(id(alt))
            group = served.setdefault(str(value), [])
            if not any(alt is known for known in group):
                group.append(alt)
    if not served:
        return None, [(None, schema)]
    out: list[tuple[str | None, Schema]] = [
        (key, group[0] if len(group) == 1 else {"anyOf": group}) for key, group in served.items()
    ]
    if unpinned:
        out.append((None, unpinned[0] if len(unpinned) == 1 else {"anyOf": unpinned}))
    return prop, out


def _declared_property(schema: Any, raw: Any, resolver: RefResolver | None) -> str | None:
    """``discriminator.propertyName`` of the body, or of its first branching part."""
    for node in (schema, _deref(raw, resolver)):
        if not isinstance(node, Mapping):
            continue
        declared = node.get("discriminator")
        if isinstance(declared, Mapping) and isinstance(declared.get("propertyName"), str):
            return str(declared["propertyName"])
        for part in node.get("allOf") or ():
            found = _declared_property(part, None, None) if isinstance(part, Mapping) else None
            if found:
                return found
    return None


def _deref(raw: Any, resolver: RefResolver | None) -> Any:
    if resolver is None or raw is None:
        return raw
    try:
        return resolver.deref(raw)
    except SpecError:
        return None  # the inlined schema already says what is wrong


def _alternatives(
    schema: Any, raw: Any, resolver: RefResolver | None,
    mapping: Mapping[str, list[str]], *, declared: bool, budget: ExpansionBudget | None,
) -> Iterator[tuple[Schema, tuple[str, ...]]]:
    """``(alternative, mapping keys)`` of a body: each branch of ``oneOf``/``anyOf`` (and of
    nested ones) with its siblings merged in, or the schema itself."""
    if not isinstance(schema, Mapping):
        return
    raw_node = _deref(raw, resolver)
    raw_node = raw_node if isinstance(raw_node, Mapping) else {}
    own = schema.get("discriminator")
    if isinstance(own, Mapping):
        declared = True
        if isinstance(own.get("mapping"), Mapping):
            mapping = _mapping_by_ref(own["mapping"])
    key = "oneOf" if "oneOf" in schema else "anyOf" if "anyOf" in schema else None
    if key is not None and isinstance(schema[key], list):
        base = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
        raw_branches = raw_node.get(key)
        if not isinstance(raw_branches, list) or len(raw_branches) != len(schema[key]):
            raw_branches = [None] * len(schema[key])
        for branch, raw_branch in zip(schema[key], raw_branches, strict=True):
            keys = _ref_keys(raw_branch, mapping, declared)
            for alt, inner in _alternatives(branch, raw_branch, resolver, mapping,
                                            declared=declared, budget=budget):
                yield _with_base(base, alt, budget), inner or keys
        return
    parts = schema.get("allOf")
    if isinstance(parts, list):
        branching = [i for i, part in enumerate(parts)
                     if isinstance(part, Mapping) and ("oneOf" in part or "anyOf" in part)]
        if len(branching) == 1:
            index = branching[0]
            raw_parts = raw_node.get("allOf")
            raw_part = raw_parts[index] if isinstance(raw_parts, list) and len(raw_parts) == len(
                parts) else None
            rest = {**schema, "allOf": [p for i, p in enumerate(parts) if i != index]}
            if not rest["allOf"]:
                del rest["allOf"]
            for alt, inner in _alternatives(parts[index], raw_part, resolver, mapping,
                                            declared=declared, budget=budget):
                yield _with_base(rest, alt, budget), inner
            return
    yield schema, ()


def _with_base(base: Mapping[str, Any], alt: Schema, budget: ExpansionBudget | None) -> Schema:
    """A branch with the keywords around its ``oneOf`` applied too (the base is written out
    once per branch: charged to the budget)."""
    if not _has_keywords(base):
        return alt
    if budget is not None:
        budget.charge(base)
    return {"allOf": [base, alt]}


def _mapping_by_ref(mapping: Mapping[str, Any]) -> dict[str, list[str]]:
    """``discriminator.mapping`` turned around: reference → every value that names it."""
    by_ref: dict[str, list[str]] = {}
    for value, target in mapping.items():
        target = str(target)
        ref = target if "#" in target else f"#/components/schemas/{target}"
        by_ref.setdefault(ref, []).append(str(value))
    return by_ref


def _ref_keys(raw: Any, mapping: Mapping[str, list[str]], declared: bool) -> tuple[str, ...]:
    """The discriminator values of a ``$ref`` branch: its mapping entries, else (with a
    declared discriminator) the referenced schema's name, as OpenAPI's implicit mapping."""
    ref = raw.get("$ref") if isinstance(raw, Mapping) else None
    if not isinstance(ref, str):
        return ()
    if ref in mapping:
        return tuple(mapping[ref])
    name = unquote(ref.rsplit("/", 1)[-1])
    return (name,) if declared and name else ()


def _pinned_values(schema: Any, prop: str) -> list[Any]:
    """The values an alternative allows for ``prop``, when it limits them to a known set
    (through ``allOf`` too: every part that limits them must agree)."""
    found: list[Any] | None = None
    for sub in _property_schemas(schema, prop):
        choices = schema_choices(sub)
        if choices is None:
            continue
        values = [v for v in choices if isinstance(v, (str, int)) and not isinstance(v, bool)]
        found = values if found is None else [v for v in found if v in values]
    return found or []


def _property_schemas(schema: Any, prop: str) -> Iterator[Schema]:
    if not isinstance(schema, Mapping):
        return
    sub = (schema.get("properties") or {}).get(prop) if isinstance(
        schema.get("properties"), Mapping) else None
    if isinstance(sub, Mapping):
        yield sub
    for part in schema.get("allOf") or ():
        yield from _property_schemas(part, prop)


def _has_keywords(schema: Schema) -> bool:
    return any(k not in ("type",) for k in schema) or False


def _attach_defs(op: Operation, defs: Mapping[str, Any], budget: ExpansionBudget) -> Operation:
    """Give every schema of ``op`` that names ``#/$defs/...`` the definitions it needs."""
    import orjson

    shared = dict(defs)

    def with_defs(schema: Schema | None) -> Schema | None:
        if schema is None or b"#/$defs/" not in orjson.dumps(schema):
            return schema
        budget.charge(shared)  # written out again in every schema that carries it
        return {**schema, "$defs": shared}

    variants = tuple(
        Variant(v.endpoint, v.method, v.key, with_defs(v.schema) or {}) for v in op.variants
    )
    responses = {k: with_defs(s) for k, s in op.responses.items()}
    params = tuple(
        Parameter(p.name, p.location, p.required, with_defs(p.schema) or {}) for p in op.parameters
    )
    return op._replaced(parameters=params, variants=variants, responses=responses)


# --------------------------------------------------------------------------- kinds


def classify(operations: Sequence[Operation]) -> list[Operation]:
    """The operations with their :attr:`~Operation.kind` and result endpoint set.

    The one rule, read from methods, path shapes and success schemas:

    * GET of an item (the path ends in a parameter) → :data:`READS`; GET of a collection →
      :data:`LISTS` when it pages (``cursor``, ``limit``…), has an item GET of its own or
      answers a ``data`` property, else :data:`READS` (``organization``).
    * PUT/PATCH → :data:`UPDATES`; DELETE → :data:`DELETES`.
    * POST whose success answer has an ``id``: on a collection with an item GET of its own
      (``avatars`` + ``avatars/{id}``) → :data:`CREATES_RESOURCE`, read there; on an item
      whose kind has an invocations collection (``workflows/{id}`` +
      ``workflow_invocations/{id}``) → :data:`CREATES_RESOURCE`, read there; otherwise the
      id is a task's → :data:`CREATES_TASK`, read at ``tasks/{id}``.
    * Anything else → :data:`ACTION`.
    """
    item_readers: dict[str, str] = {}
    for op in operations:
        head, _, last = op.endpoint.rpartition("/")
        if op.method == "GET" and head and _is_param(last):
            item_readers.setdefault(head, op.endpoint)
    task_reader = TASK_ENDPOINT if any(
        op.method == "GET" and op.endpoint == TASK_ENDPOINT for op in operations) else None
    out = []
    for op in operations:
        kind, result = _kind_of(op, item_readers, task_reader)
        out.append(op._replaced(kind=kind, result_endpoint=result))
    return out


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _kind_of(op: Operation, item_readers: Mapping[str, str], task_reader: str | None
             ) -> tuple[str, str | None]:
    head, _, last = op.endpoint.rpartition("/")
    on_item = bool(head) and _is_param(last)
    if op.method in ("GET", "HEAD", "QUERY"):
        if on_item:
            return READS, None
        paged = any(p.name in _PAGING_PARAMS for p in op.params("query"))
        listing = "data" in _success_properties(op)
        return (LISTS if paged or listing or op.endpoint in item_readers else READS), None
    if op.method in ("PUT", "PATCH"):
        return UPDATES, None
    if op.method == "DELETE":
        return DELETES, None
    if op.method != "POST" or "id" not in _success_properties(op):
        return ACTION, None
    if on_item:
        singular = head.rsplit("/", 1)[-1].rstrip("s")
        invocations = item_readers.get(f"{singular}_invocations")
        if invocations is not None:
            return CREATES_RESOURCE, invocations
    elif op.endpoint in item_readers:
        return CREATES_RESOURCE, item_readers[op.endpoint]
    return CREATES_TASK, task_reader


def _success_properties(op: Operation) -> set[str]:
    """Property names of the success answer, through its ``oneOf``/``anyOf`` branches."""
    success = op.success_schema()
    if not isinstance(success, Mapping):  # none, or a boolean schema: it names nothing
        return set()
    branches = [*success.get("oneOf", ()), *success.get("anyOf", ())] or [success]
    return {name for branch in branches if isinstance(branch, Mapping)
            for name in flatten_object(branch)[0]}


def iter_variants(catalog: Catalog) -> Iterator[Variant]:
    """Every (endpoint, model) variant of the model endpoints."""
    for op in catalog.operations:
        if op.is_model_endpoint:
            yield from (v for v in op.variants if v.key is not None)
