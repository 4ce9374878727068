"""Values from JSON Schemas: invent a valid example, or bend a record into a schema's shape.

The sandbox answers every operation from the catalog's response schemas. :func:`example`
invents a minimal valid value (types, enums, ``const``, formats, bounds, patterns, the
first workable ``oneOf``/``anyOf`` branch, required properties only); :func:`conform`
keeps whatever of a stored record fits a schema and invents the rest, so one record can be
served by its create, get, list and update operations alike. :func:`matches` is the small,
dependency-free validity check both use (jsonschema stays the judge in the tests).

>>> example({"type": "string", "format": "uuid"})  # doctest: +SKIP
'3f0c…'
>>> conform({"id": "x", "extra": 1}, {"type": "object", "properties": {"id": {"type": "string"}},
...         "additionalProperties": False})
{'id': 'x'}
"""

from __future__ import annotations

import importlib
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from runway_dynamic.catalog import json_type

Schema = Mapping[str, Any]

_MAX_DEPTH = 12
_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_NUMBER_LIMIT = 2**53 - 1


def _default_uri(_: str) -> str:
    return "https://example.com/sandbox"


@dataclass
class Context:
    """Where a value is being made: the root schema (for ``$defs``) and how to make URIs."""

    root: Schema = field(default_factory=dict)
    make_uri: Callable[[str], str] = _default_uri
    depth: int = 0

    def deeper(self) -> Context:
        return Context(self.root, self.make_uri, self.depth + 1)


def now_iso() -> str:
    """The current UTC time as the API writes it: ``2024-11-06T12:00:00.000Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso(timestamp: float) -> str:
    """A Unix timestamp in the API's date-time form."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --------------------------------------------------------------------------- validity


def _resolve(schema: Any, ctx: Context) -> Any:
    """Follow a local ``#/$defs/...`` reference (recursive schemas keep those)."""
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 20:
        ref = schema["$ref"]
        node: Any = ctx.root
        for part in ref.lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **siblings} if siblings else node
        seen += 1
    return schema


def _type_ok(value: Any, wanted: Any) -> bool:
    kinds = wanted if isinstance(wanted, list) else [wanted]
    actual = json_type(value)
    for kind in kinds:
        if kind == actual or (kind == "number" and actual == "integer"):
            return True
        if kind == "integer" and actual == "number" and float(value).is_integer():
            return True
    return False


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _format_ok(value: str, fmt: str) -> bool:
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return len(value) == 36
    if fmt == "date-time":
        return bool(_DATE_TIME.match(value))
    if fmt == "date":
        return bool(_DATE.match(value))
    if fmt in ("uri", "url"):
        return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$", value))
    return True


def matches(value: Any, schema: Any, ctx: Context | None = None) -> bool:
    """Whether ``value`` is valid under ``schema`` (the keywords the spec uses)."""
    ctx = ctx or Context(schema if isinstance(schema, Mapping) else {})
    schema = _resolve(schema, ctx)
    if schema is True or schema is None:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        return True
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        return False
    if "type" in schema and not _type_ok(value, schema["type"]):
        return False
    for part in schema.get("allOf", ()):
        if not matches(value, part, ctx):
            return False
    if "anyOf" in schema and not any(matches(value, b, ctx) for b in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(1 for b in schema["oneOf"] if matches(value, b, ctx)) != 1:
        return False
    if "not" in schema and matches(value, schema["not"], ctx):
        return False
    kind = json_type(value)
    if kind == "string":
        return _string_ok(value, schema)
    if kind in ("integer", "number"):
        return _number_ok(value, schema)
    if kind == "array":
        return _array_ok(value, schema, ctx)
    if kind == "object":
        return _object_ok(value, schema, ctx)
    return True


def _same(a: Any, b: Any) -> bool:
    numbers = ("integer", "number")
    if json_type(a) in numbers and json_type(b) in numbers:
        return bool(a == b)
    return json_type(a) == json_type(b) and bool(a == b)


def _string_ok(value: str, schema: Schema) -> bool:
    if len(value) < schema.get("minLength", 0):
        return False
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        compiled = _compiled(pattern)
        if compiled is not None and not compiled.search(value):
            return False
    fmt = schema.get("format")
    return not isinstance(fmt, str) or _format_ok(value, fmt)


def _number_ok(value: float, schema: Schema) -> bool:
    if "minimum" in schema and value < schema["minimum"]:
        return False
    if "maximum" in schema and value > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return False
    step = schema.get("multipleOf")
    if step:
        ratio = value / step
        return math.isclose(ratio, round(ratio), abs_tol=1e-9)
    return True


def _array_ok(value: list[Any], schema: Schema, ctx: Context) -> bool:
    if len(value) < schema.get("minItems", 0):
        return False
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return False
    items = schema.get("items")
    return items is None or all(matches(v, items, ctx) for v in value)


def _object_ok(value: Mapping[str, Any], schema: Schema, ctx: Context) -> bool:
    props = schema.get("properties") or {}
    if any(name not in value for name in schema.get("required", ())):
        return False
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, sub in value.items():
        if names is not None and not matches(key, names, ctx):
            return False
        if key in props:
            if not matches(sub, props[key], ctx):
                return False
        elif extra is False or (isinstance(extra, Mapping) and not matches(sub, extra, ctx)):
            return False
    return True


# --------------------------------------------------------------------------- examples


def example(schema: Any, ctx: Context | None = None) -> Any:
    """A minimal value valid under ``schema`` (fresh uuids and timestamps each call)."""
    ctx = ctx or Context(schema if isinstance(schema, Mapping) else {})
    schema = _resolve(schema, ctx)
    if not isinstance(schema, Mapping) or not schema:
        return "example" if schema is not False else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None] or list(schema["enum"])
        return values[0] if values else None
    if "default" in schema and matches(schema["default"], schema, ctx):
        return schema["default"]
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")}
        first = None
        for branch in branches:
            candidate = example(_merge(base, branch) if base else branch, ctx)
            if matches(candidate, schema, ctx):
                return candidate
            first = candidate if first is None else first
        return first
    if schema.get("allOf"):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = _merge(merged, _resolve(part, ctx))
        return example(merged, ctx)
    kind = _pick_type(schema)
    if kind == "object":
        return _example_object(schema, ctx)
    if kind == "array":
        items = schema.get("items") or {}
        count = schema.get("minItems", 0)
        if ctx.depth > _MAX_DEPTH:
            return []
        return [example(items, ctx.deeper()) for _ in range(count)]
    if kind == "string":
        return _example_string(schema, ctx)
    if kind in ("integer", "number"):
        return _example_number(schema, kind)
    if kind == "boolean":
        return False
    return None


def _merge(a: Schema, b: Schema) -> dict[str, Any]:
    """Two schemas' constraints as one (properties and required united; b wins otherwise)."""
    out = {**a, **b}
    if "properties" in a or "properties" in b:
        out["properties"] = {**(a.get("properties") or {}), **(b.get("properties") or {})}
    if "required" in a or "required" in b:
        out["required"] = list(dict.fromkeys([*a.get("required", ()), *b.get("required", ())]))
    return out


def _pick_type(schema: Schema) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if any(k in schema for k in ("pattern", "format", "minLength", "maxLength")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return "string"


def _example_object(schema: Schema, ctx: Context) -> dict[str, Any]:
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required", ()):
        sub = props.get(name)
        if sub is None:
            extra = schema.get("additionalProperties")
            sub = extra if isinstance(extra, Mapping) else {}
        out[name] = example(sub, ctx.deeper())
    return out


_URI_SCHEMES = re.compile(r"^\^?([a-z][a-z0-9+.-]*):")


def _example_string(schema: Schema, ctx: Context) -> str:
    fmt = schema.get("format")
    pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    candidates: list[str] = []
    if fmt == "uuid":
        candidates.append(str(uuid.uuid4()))
    elif fmt == "date-time":
        candidates.append(now_iso())
    elif fmt == "date":
        candidates.append(now_iso()[:10])
    elif fmt in ("uri", "url"):
        candidates.append(ctx.make_uri("uri"))
    if pattern:
        text = pattern.lstrip("^").replace("\\", "")
        if text.startswith("https:") or text.startswith("http:"):
            candidates.append("https://example.com/sandbox-input.png")
        elif text.startswith("runway:"):
            candidates.append("runway://sandbox/example")
        elif text.startswith("data:"):
            mime = text[len("data:"):].split(".*")[0].split("(")[0].rstrip("/") or "text"
            sample = {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}
            candidates.append(f"data:{sample.get(mime, mime + '/plain')};base64,AAAAAAAAAAAA")
        synthesized = _from_pattern(pattern, schema.get("minLength", 0))
        if synthesized is not None:
            candidates.append(synthesized)
    candidates.append("example")
    minimum = schema.get("minLength", 0)
    maximum = schema.get("maxLength")
    for candidate in candidates:
        if len(candidate) < minimum:
            candidate = candidate + "x" * (minimum - len(candidate))
        if maximum is not None and len(candidate) > maximum:
            candidate = candidate[:maximum]
        if _string_ok(candidate, schema):
            return candidate
    return candidates[0]


def _example_number(schema: Schema, kind: str) -> int | float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema:
        bound = schema["exclusiveMinimum"]
        gap = min(1.0, (high - bound) / 2) if high is not None else 1.0
        low = bound + 1 if kind == "integer" else bound + gap
    if "exclusiveMaximum" in schema:
        bound = schema["exclusiveMaximum"]
        gap = min(1.0, (bound - low) / 2) if low is not None else 1.0
        high = bound - 1 if kind == "integer" else bound - gap
    value: float = 1
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if step:
        value = math.ceil(value / step) * step
    value = max(-_NUMBER_LIMIT, min(_NUMBER_LIMIT, value))
    return int(value) if kind == "integer" else float(value)


def _from_pattern(pattern: str, min_length: int = 0) -> str | None:
    """A string matching a regular expression, built from its parse tree (best effort)."""
    try:  # the regex parser is private: re._parser from 3.11, sre_parse before
        sre_parse: Any = importlib.import_module("re._parser")
    except ImportError:
        sre_parse = importlib.import_module("sre_parse")
    compiled = _compiled(pattern)
    if compiled is None:
        return None
    try:
        tree = sre_parse.parse(pattern)
    except Exception:
        return None
    for stretch in (False, True):
        out: list[str] = []
        try:
            _emit(tree, out, sre_parse, max(min_length, 1) if stretch else 0)
        except Exception:
            return None
        text = "".join(out)
        if compiled.search(text) and len(text) >= min_length:
            return text
    return None


def _emit(items: Any, out: list[str], sp: Any, stretch: int) -> None:
    c = sp  # constants live on the parser module (re._constants re-exported)
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if av != ord("a") else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_char(av))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            count = low
            if stretch and high != low:
                limit = high if high != c.MAXREPEAT else stretch
                count = max(low, min(limit, stretch))
            for _ in range(count):
                _emit(sub, out, sp, stretch)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            _emit(av[-1], out, sp, stretch)
        elif name == "BRANCH":
            _emit(av[1][0], out, sp, stretch)
        # AT (anchors), ASSERT, GROUPREF and the rest emit nothing


def _class_char(members: Any) -> str:
    first = members[0] if members else None
    if first is None:
        return "a"
    op, av = first
    name = str(op)
    if name == "NEGATE":
        excluded = {chr(v) for o, v in members[1:] if str(o) == "LITERAL"}
        return next(ch for ch in "axz0_-" if ch not in excluded)
    if name == "LITERAL":
        return chr(av)
    if name == "RANGE":
        return chr(av[0])
    if name == "CATEGORY":
        return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a"}.get(
            str(av), "a"
        )
    return "a"


# --------------------------------------------------------------------------- conform


def conform(value: Any, schema: Any, ctx: Context | None = None) -> Any:
    """``value`` reshaped to be valid under ``schema``: keep what fits, invent what is missing.

    Objects keep known properties (recursively conformed), fill missing required ones with
    examples and drop extras the schema forbids; ``oneOf``/``anyOf`` pick the branch whose
    ``const`` properties agree with the value and that keeps most of it.
    """
    ctx = ctx or Context(schema if isinstance(schema, Mapping) else {})
    schema = _resolve(schema, ctx)
    if not isinstance(schema, Mapping) or not schema:
        return value
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")}
        return _conform_branches(value, [_merge(base, b) if base else b for b in branches],
                                 schema, ctx)
    if schema.get("allOf"):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = _merge(merged, _resolve(part, ctx))
        return conform(value, merged, ctx)
    if "const" in schema or "enum" in schema:
        return value if matches(value, schema, ctx) else example(schema, ctx)
    kind = _pick_type(schema)
    if kind == "object" and isinstance(value, Mapping):
        return _conform_object(value, schema, ctx)
    if kind == "array" and isinstance(value, list):
        items = schema.get("items") or {}
        out = [conform(v, items, ctx.deeper()) for v in value]
        if "maxItems" in schema:
            out = out[: schema["maxItems"]]
        while len(out) < schema.get("minItems", 0):
            out.append(example(items, ctx.deeper()))
        return out
    return value if matches(value, schema, ctx) else example(schema, ctx)


def _conform_object(value: Mapping[str, Any], schema: Schema, ctx: Context) -> dict[str, Any]:
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if key in props:
            out[key] = conform(sub, props[key], ctx.deeper())
        elif extra is not False and (names is None or matches(key, names, ctx)):
            out[key] = conform(sub, extra, ctx.deeper()) if isinstance(extra, Mapping) else sub
    for name in schema.get("required", ()):
        if name not in out:
            sub_schema = props.get(name, extra if isinstance(extra, Mapping) else {})
            out[name] = example(sub_schema, ctx.deeper())
    return out


def _const_props(branch: Any, ctx: Context) -> dict[str, Any]:
    branch = _resolve(branch, ctx)
    out = {}
    for name, sub in ((branch or {}).get("properties") or {}).items():
        sub = _resolve(sub, ctx)
        if isinstance(sub, Mapping):
            if "const" in sub:
                out[name] = sub["const"]
            elif isinstance(sub.get("enum"), list) and len(sub["enum"]) == 1:
                out[name] = sub["enum"][0]
    return out


def _conform_branches(value: Any, branches: list[Any], whole: Schema, ctx: Context) -> Any:
    agreeing = []
    for branch in branches:
        consts = _const_props(branch, ctx)
        if isinstance(value, Mapping) and any(
            k in value and not _same(value[k], v) for k, v in consts.items()
        ):
            continue
        agreeing.append(branch)
    for branch in agreeing:  # the value is already fine under one branch: keep it as it is
        if matches(value, branch, ctx) and matches(value, whole, ctx):
            return value
    best: tuple[int, int] | None = None
    chosen: Any = None
    for index, branch in enumerate(agreeing or branches):
        candidate = conform(value, branch, ctx)
        if not matches(candidate, whole, ctx):
            continue
        kept = _kept(value, candidate)
        score = (kept, -index)
        if best is None or score > best:
            best, chosen = score, candidate
    if best is not None:
        return chosen
    return example(whole, ctx)


def _kept(value: Any, candidate: Any) -> int:
    """How much of ``value`` survived in ``candidate`` (matching keys, or 1 for an equal scalar)."""
    if isinstance(value, Mapping) and isinstance(candidate, Mapping):
        return sum(1 + _kept(v, candidate[k]) for k, v in value.items() if k in candidate
                   and json_type(v) == json_type(candidate[k]))
    if isinstance(value, list) and isinstance(candidate, list):
        return sum(_kept(a, b) for a, b in zip(value, candidate, strict=False))
    return 1 if _same(value, candidate) else 0
