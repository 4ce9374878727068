"""Hypothesis strategies for request bodies, built from the catalog's variant schemas.

Our own generator: hypothesis-jsonschema is broken with current hypothesis (FACTS.md). It
covers the JSON Schema subset the Runway spec uses, after the catalog's normalisation to
2020-12: ``type`` (one or a list, ``null``), ``const``, ``enum``, ``anyOf``/``oneOf``
(siblings merged into each branch; ``oneOf`` values filtered to match exactly one branch),
``allOf`` (object parts merged), local ``$ref`` (``#/$defs/...``, recursion cut by depth),
string lengths, ``pattern`` (media URI prefixes built by hand, others by ``from_regex``),
``format`` (uuid, uri, date-time, email), numeric bounds (inclusive and exclusive),
``multipleOf``, arrays (``minItems``/``maxItems``/``uniqueItems``) and objects (every
required property plus a random subset of the optional ones).

Deliberate limits, because the spec does not use them and they would make generation
slow or guessy: ``not``, ``if``/``then``/``else``, ``dependent*``, ``patternProperties``,
``propertyNames``, ``contains``, ``min/maxProperties`` are ignored, no extra properties are
invented for open objects, strings are kept short (a 5 MB ``data:`` cap is honoured by
generating far less), and array sizes are capped a few items above ``minItems``. Tests
check every generated body with a real validator, so a gap here fails loudly rather than
passing silently.

Hypothesis is a test dependency only, which is why this module lives under ``tests/``.
"""

from __future__ import annotations

import math
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

Schema = Mapping[str, Any]

# Strings beyond this many characters add nothing but time.
MAX_TEXT = 24
# Arrays get at most this many items beyond their minimum.
EXTRA_ITEMS = 3
# Nesting depth after which objects take only required fields and arrays their minimum.
MAX_DEPTH = 4

_JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")

# ---------------------------------------------------------------------------- settings

# HYPOTHESIS_PROFILE=ci halves the examples, =thorough multiplies them by five; the
# default is moderate. Scaling per test (instead of a global profile) leaves other suites'
# hypothesis settings alone.
_SCALE = {"ci": 0.5, "default": 1.0, "thorough": 5.0}.get(
    os.environ.get("HYPOTHESIS_PROFILE", "default"), 1.0
)


def examples(n: int) -> settings:
    """Settings for a property: ``n`` examples (scaled by profile), no deadline, no database.

    No deadline: the first example of a variant pays for compiling its validator. No
    database: tests run in a fresh tmp cwd, so a database would never be reused anyway.
    """
    return settings(
        max_examples=max(1, math.ceil(n * _SCALE)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
    )


@dataclass
class FieldPlan:
    """One body field a generated document will declare (shared by the spec-shape tests)."""

    name: str
    kind: str
    required: bool
    nullable: bool = False
    low: int | None = None
    high: int | None = None
    exclusive: bool = False
    choices: list[str] = field(default_factory=list)
    open: bool = False  # the choices are an open enum: anyOf [{enum: choices}, {type: string}]


def make_nullable(schema: dict[str, Any], legacy: bool) -> None:
    """Let ``schema`` also accept null, written the way its OpenAPI version says it.

    3.0 writes ``nullable: true``; 3.1+ adds "null" to ``type`` and, since an enum is
    checked on its own, to the enum too.
    """
    if legacy:
        schema["nullable"] = True
        return
    schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]


# ---------------------------------------------------------------------------- values


def json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=8),
    )


def any_json() -> st.SearchStrategy[Any]:
    """Small arbitrary JSON values (for schemas that allow anything)."""
    return st.recursive(
        json_scalars(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                    max_size=3),
        max_leaves=6,
    )


_URL_CHARS = string.ascii_letters + string.digits + "-._~/"
_B64_CHARS = string.ascii_letters + string.digits + "+/"

# A pattern that is a literal prefix followed by anything: ``^https:\/\/.*``.
_PREFIX_PATTERN = re.compile(r"^\^((?:\\.|[^\\.*+?()\[\]{}|^$])*)\.\*\$?$")


def literal_prefix(pattern: str) -> str | None:
    """``^https:\\/\\/.*`` → ``https://``; ``None`` when the pattern is not prefix + ``.*``."""
    found = _PREFIX_PATTERN.match(pattern)
    if found is None:
        return None
    return re.sub(r"\\(.)", r"\1", found.group(1))


def media_uri(prefix: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """A plausible URI starting with ``prefix`` whose length lies in [min_size, max_size]."""
    if prefix.startswith("data:"):
        # data:image/ → data:image/png;base64,AAAA ; data: alone → data:text/plain;base64,…
        mime = prefix[len("data:"):]
        if not mime:
            head = st.just("data:text/plain;base64,")
        elif mime.endswith("/"):
            head = st.sampled_from(["png", "jpeg", "webp", "mp4", "mpeg", "wav"]).map(
                lambda sub: f"{prefix}{sub};base64,")
        else:
            head = st.just(prefix + ";base64," if "/" in mime else prefix)
        tail_chars = _B64_CHARS
    elif prefix.endswith("://") and prefix.startswith("http"):
        head = st.sampled_from(["example.com", "cdn.example.org", "media.test"]).map(
            lambda host: f"{prefix}{host}/")
        tail_chars = _URL_CHARS
    else:
        head = st.just(prefix)
        tail_chars = _URL_CHARS

    def fill(start: str) -> st.SearchStrategy[str]:
        low = max(0, min_size - len(start))
        high = max(low, min(max_size, len(start) + low + MAX_TEXT) - len(start))
        if len(start) + low > max_size:  # the prefix alone is too long: plain prefix + pad
            start = prefix
            low = max(0, min_size - len(start))
            high = max(low, min(max_size - len(start), low + MAX_TEXT))
        return st.text(tail_chars, min_size=low, max_size=high).map(lambda tail: start + tail)

    return head.flatmap(fill)


class SchemaStrategies:
    """Builds strategies for the schemas of one root (a variant schema with its ``$defs``)."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    # ---- references and merging

    def resolve(self, schema: Schema) -> Schema:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 50:
            target = self.lookup(schema["$ref"])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings}
            seen += 1
        return schema

    def lookup(self, ref: str) -> Schema:
        node: Any = self.root
        for raw in ref.lstrip("#").strip("/").split("/"):
            if raw:
                node = node[raw.replace("~1", "/").replace("~0", "~")]
        return node

    def merge(self, *parts: Schema) -> dict[str, Any]:
        """Merge schemas that must all hold (``allOf``) into one, for the subset we generate."""
        out: dict[str, Any] = {}
        for raw in parts:
            part = self.resolve(raw)
            if "allOf" in part:
                part = self.merge({k: v for k, v in part.items() if k != "allOf"}, *part["allOf"])
            for key, value in part.items():
                if key == "properties":
                    props = dict(out.get("properties", {}))
                    for name, sub in value.items():
                        props[name] = self.merge(props[name], sub) if name in props else sub
                    out["properties"] = props
                elif key == "required":
                    out["required"] = list(dict.fromkeys([*out.get("required", ()), *value]))
                elif key == "type" and "type" in out:
                    mine = set(_as_list(out["type"]))
                    theirs = set(_as_list(value))
                    if "number" in mine and "integer" in theirs:
                        mine.add("integer")
                    if "number" in theirs and "integer" in mine:
                        theirs.add("integer")
                    out["type"] = sorted(mine & theirs)
                elif key in ("anyOf", "oneOf") and key in out:
                    out.setdefault("allOf", []).append({key: value})
                else:
                    out[key] = value
        return out

    # ---- generation

    def strategy(self, schema: Schema, depth: int = 0) -> st.SearchStrategy[Any]:
        if not isinstance(schema, Mapping):
            return any_json() if schema is not False else st.nothing()
        schema = self.resolve(schema)
        if "allOf" in schema:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.strategy(self.merge(rest, *schema["allOf"]), depth)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                siblings = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
                branches = [self.merge(siblings, b) for b in schema[key]]
                chosen = st.one_of([self.strategy(b, depth) for b in branches])
                if key == "oneOf":
                    return chosen.filter(_exactly_one([self.checker(b) for b in branches]))
                return chosen
        kinds: list[str | None] = [*_as_list(schema.get("type"))] or [_infer_type(schema)]
        return st.one_of([self._typed(k, schema, depth) for k in kinds])

    def checker(self, schema: Schema) -> Any:
        """A predicate: does a value satisfy ``schema`` (resolved against this root)?"""
        from jsonschema import Draft202012Validator

        defs = self.root.get("$defs")
        full = {**schema, "$defs": defs} if defs else schema
        return Draft202012Validator(full).is_valid

    def _typed(self, kind: str | None, schema: Schema, depth: int) -> st.SearchStrategy[Any]:
        if kind is None:
            return any_json()
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in ("integer", "number"):
            return self._number(kind, schema)
        if kind == "string":
            return self._string(schema)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "object":
            return self._object(schema, depth)
        raise ValueError(f"unknown JSON type {kind!r}")

    def _number(self, kind: str, schema: Schema) -> st.SearchStrategy[Any]:
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = schema.get("multipleOf")
        ints_low = _ceil(low) if low is not None else None
        ints_high = _floor(high) if high is not None else None
        if isinstance(xlow, (int, float)) and not isinstance(xlow, bool):
            candidate = math.floor(xlow) + 1
            ints_low = candidate if ints_low is None else max(ints_low, candidate)
        if isinstance(xhigh, (int, float)) and not isinstance(xhigh, bool):
            candidate = math.ceil(xhigh) - 1
            ints_high = candidate if ints_high is None else min(ints_high, candidate)
        if step:
            lo = math.ceil(ints_low / step) if ints_low is not None else -1000
            hi = math.floor(ints_high / step) if ints_high is not None else 1000
            return st.integers(lo, hi).map(lambda k: k * step)
        ints = st.integers(ints_low, ints_high)
        if kind == "integer":
            return ints
        floats = st.floats(
            min_value=_pick(low, xlow), max_value=_pick(high, xhigh),
            exclude_min=_is_num(xlow) and (low is None or xlow >= low),
            exclude_max=_is_num(xhigh) and (high is None or xhigh <= high),
            allow_nan=False, allow_infinity=False,
        )
        return ints | floats

    def _string(self, schema: Schema) -> st.SearchStrategy[str]:
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", 10**9))
        pattern = schema.get("pattern")
        fmt = schema.get("format")
        if isinstance(pattern, str):
            prefix = literal_prefix(pattern)
            if prefix is not None:
                return media_uri(prefix, low, high)
            # ECMA-262 classes are ASCII (``\d`` is [0-9]); Python's would draw any digit.
            compiled = re.compile(pattern, re.ASCII)
            drawn = st.from_regex(compiled, fullmatch=True).filter(
                lambda s: low <= len(s) <= high)
            if isinstance(fmt, str):
                # A pattern may be looser than its format: the spec's date pattern takes year
                # 0000, which RFC 3339 allows but Python's date parser (behind both our
                # validator and openapi-core) refuses. Draw only what the format accepts.
                drawn = drawn.filter(lambda s: _conforms(s, fmt))
            return drawn
        if fmt == "uuid":
            return st.uuids().map(str)
        if fmt == "uri":
            return media_uri("https://", low, high)
        if fmt == "date-time":
            return st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if fmt == "email":
            return st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True)
        return st.text(min_size=low, max_size=max(low, min(high, low + MAX_TEXT)))

    def _array(self, schema: Schema, depth: int) -> st.SearchStrategy[list[Any]]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + EXTRA_ITEMS))
        high = low if depth >= MAX_DEPTH else min(high, low + EXTRA_ITEMS)
        items = self.strategy(schema.get("items", {}), depth + 1)
        unique = schema.get("uniqueItems") is True
        return st.lists(items, min_size=low, max_size=high,
                        unique_by=_canonical if unique else None)

    def _object(self, schema: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
        props = schema.get("properties") or {}
        required = [n for n in schema.get("required") or () if isinstance(n, str)]
        fixed = {n: self.strategy(props.get(n, {}), depth + 1) for n in required}
        optional = {} if depth >= MAX_DEPTH else {
            n: self.strategy(sub, depth + 1) for n, sub in props.items() if n not in fixed
        }
        return st.fixed_dictionaries(fixed, optional=optional)


def _exactly_one(checks: list[Any]) -> Any:
    """A ``oneOf`` value must match exactly one branch; sibling branches may overlap."""
    return lambda value: sum(bool(check(value)) for check in checks) == 1


def _conforms(value: str, fmt: str) -> bool:
    from jsonschema import Draft202012Validator

    return bool(Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt))


def _as_list(kind: Any) -> list[str]:
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def _infer_type(schema: Schema) -> str | None:
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "minItems" in schema:
        return "array"
    if {"minLength", "maxLength", "pattern", "format"} & set(schema):
        return "string"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & set(schema):
        return "number"
    return None


def _ceil(x: Any) -> int:
    return math.ceil(x)


def _floor(x: Any) -> int:
    return math.floor(x)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _pick(inclusive: Any, exclusive: Any) -> float | None:
    if _is_num(exclusive) and (inclusive is None or exclusive >= inclusive):
        return float(exclusive)
    return float(inclusive) if inclusive is not None else None


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------------------- variants


def bodies(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """Valid request bodies for one variant schema."""
    return SchemaStrategies(schema).strategy(schema)


def accepted_types(schema: Any, root: Schema | None = None) -> frozenset[str] | None:
    """The JSON types a schema can accept; ``None`` when it accepts every type.

    ``integer`` is listed whenever ``number`` is (every integer is a number).
    """
    gen = SchemaStrategies(root or {})
    if not isinstance(schema, Mapping):
        return None if schema is not False else frozenset()
    schema = gen.resolve(schema)
    found: set[str] | None = None

    def narrow(types: set[str] | None) -> None:
        nonlocal found
        if types is None:
            return
        found = set(types) if found is None else found & types

    if "type" in schema:
        kinds = set(_as_list(schema["type"]))
        if "number" in kinds:
            kinds.add("integer")
        narrow(kinds)
    if "const" in schema:
        narrow({_json_type(schema["const"])})
    if "enum" in schema:
        narrow({_json_type(v) for v in schema["enum"]})
    for key in ("anyOf", "oneOf"):
        if key in schema:
            union: set[str] = set()
            for branch in schema[key]:
                sub = accepted_types(branch, root)
                if sub is None:
                    union = set(_JSON_TYPES)
                    break
                union |= sub
            narrow(union)
    for part in schema.get("allOf", ()):
        sub = accepted_types(part, root)
        narrow(set(sub) if sub is not None else None)
    return None if found is None else frozenset(found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def wrong_values(types: frozenset[str]) -> st.SearchStrategy[Any]:
    """Values whose JSON type is none of ``types`` (``st.nothing()`` if every type is taken)."""
    candidates = {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": st.integers(-10**6, 10**6),
        # A float with a fraction is a number but never an integer.
        "number": st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: not x.is_integer()),
        "string": st.text(max_size=6),
        "array": st.lists(st.integers(0, 9), max_size=2),
        "object": st.dictionaries(st.sampled_from("xyz"), st.integers(0, 9), max_size=2),
    }
    missing = [s for kind, s in candidates.items() if kind not in types
               and not (kind == "integer" and "number" in types)]
    return st.one_of(missing) if missing else st.nothing()


def ratio_strings() -> st.SearchStrategy[str]:
    """``W:H`` ratios with pixel-like sides."""
    sides = st.integers(1, 8192)
    return st.builds(lambda w, h: f"{w}:{h}", sides, sides)
