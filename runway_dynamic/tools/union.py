"""The parameters schema of a generation tool: one schema no model's valid value fails.

Each model's field schema is scrubbed of prose (Runway's descriptions are not ours; this
package writes its own) and the models' schemas are united into a loose superset. The
exact, per-model check is pre-flight, run before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from runway_dynamic._refs import PROSE_KEYS
from runway_dynamic.catalog import schema_choices, schema_kind

NUMERIC_KINDS = {"integer", "number"}
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_SHARED_KEYS = ("pattern", "format", "default", "const", "uniqueItems", "contentEncoding",
                "contentMediaType")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
                  "propertyNames", "unevaluatedProperties", "unevaluatedItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def scrub(schema: Any) -> Any:
    """A copy of a schema without prose keywords (our descriptions are written here)."""
    if isinstance(schema, list):
        return [scrub(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in PROSE_KEYS or key.startswith("x-") or key == "$schema":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: scrub(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_VALUES:
            out[key] = scrub(value)
        else:
            out[key] = value
    return out


def union_schema(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A schema every value of any of ``schemas`` satisfies (a loose superset).

    Equal schemas stay as they are; enums are united; bounds widen to the loosest; arrays
    and objects merge member by member; anything else becomes an ``anyOf`` of the distinct
    schemas. Never stricter than any input, so no model's valid value is refused.
    """
    distinct = _distinct(schemas)
    if len(distinct) == 1:
        return dict(distinct[0])
    if any(not s for s in distinct):
        return {}
    kinds = {schema_kind(s) for s in distinct}
    scalar = kinds <= NUMERIC_KINDS or (len(kinds) == 1 and kinds <= {"string", "boolean"})
    if scalar and not any(_has_branches(s) for s in distinct):
        return _union_scalars(distinct, kinds)
    if kinds == {"array"} and not any(_has_branches(s) for s in distinct):
        out = {"type": "array", **_union_common(distinct)}
        items = [s.get("items", {}) for s in distinct]
        if all(isinstance(i, Mapping) for i in items):
            merged = union_schema(items)
            if merged:
                out["items"] = merged
        return out
    if kinds == {"object"} and not any(_has_branches(s) for s in distinct):
        return _union_objects(distinct)
    return {"anyOf": [dict(s) for s in distinct]}


def _distinct(schemas: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    for schema in schemas:
        seen.setdefault(json.dumps(schema, sort_keys=True, default=str), schema)
    return list(seen.values())


def _has_branches(schema: Mapping[str, Any]) -> bool:
    return any(k in schema for k in ("anyOf", "oneOf", "allOf", "not", "if", "$ref"))


def _union_scalars(schemas: Sequence[Mapping[str, Any]], kinds: set[str]) -> dict[str, Any]:
    kind = "number" if kinds == {"integer", "number"} else next(iter(kinds))
    out: dict[str, Any] = {"type": kind}
    out.update(_union_common(schemas))
    out.pop("const", None)
    choices = [schema_choices(s) for s in schemas]
    if all(c is not None for c in choices):
        out["enum"] = list(dict.fromkeys(v for c in choices if c for v in c))
    return out


def _union_common(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Keywords every input shares: the loosest bounds, and equal pattern/format/default."""
    out: dict[str, Any] = {}
    for key in _LOWER_BOUNDS:
        values = [s.get(key) for s in schemas]
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = min(values)  # type: ignore[type-var]
    for key in _UPPER_BOUNDS:
        values = [s.get(key) for s in schemas]
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = max(values)  # type: ignore[type-var]
    for key in _SHARED_KEYS:
        values = [json.dumps(s.get(key), sort_keys=True) for s in schemas]
        if key in schemas[0] and len(set(values)) == 1:
            out[key] = schemas[0][key]
    if all(s.get("deprecated") for s in schemas):
        out["deprecated"] = True
    return out


def _union_objects(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out = {"type": "object", **_union_common(schemas)}
    props: dict[str, list[Mapping[str, Any]]] = {}
    for schema in schemas:
        for name, sub in (schema.get("properties") or {}).items():
            props.setdefault(name, []).append(sub)
    if props:
        out["properties"] = {name: union_schema(subs) for name, subs in props.items()}
    required = [set(s.get("required") or ()) for s in schemas]
    common = [n for n in (schemas[0].get("required") or ()) if all(n in r for r in required)]
    if common:
        out["required"] = common
    if all(s.get("additionalProperties") is False for s in schemas):
        out["additionalProperties"] = False
    return out
