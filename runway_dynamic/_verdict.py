"""A pure-Python verdict for the plain schemas most request bodies meet: valid, invalid, or
"cannot tell here".

Why: pre-flight's compiled verdict (jsonschema-rs) costs ~3 ms to import and more to
compile on a command's first body, which is most of what a one-shot ``--dry-run`` spends
on validation. Most variants use only a handful of keywords (type, enum, const, bounds,
lengths, required, properties…), which this module decides in microseconds.

Only a certain answer is given: every keyword it does not implement exactly as
python-jsonschema (the explaining path, Draft 2020-12) does — ``$ref``, ``format``,
``multipleOf``, ``patternProperties``, ``propertyNames``, ``uniqueItems``, ``if``… — makes
the answer :data:`UNSURE` as soon as a value reaches it, and so does any value that is not
plain decoded JSON. A caller trusts only :data:`VALID`, and asks the compiled validator
otherwise; the differential tests hold the three paths to one verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from typing import Any

#: The three answers (``None``: this module cannot tell).
VALID: bool | None = True
INVALID: bool | None = False
UNSURE: bool | None = None

#: Keywords that only annotate (no validator checks them): skipped.
_ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "example", "deprecated", "readOnly",
    "writeOnly", "$comment", "discriminator",
})


def verdict(schema: Any, instance: Any) -> bool | None:
    """:data:`VALID`, :data:`INVALID` or :data:`UNSURE` for ``instance`` under ``schema``.

    >>> verdict({"type": "string", "maxLength": 3}, "abc")
    True
    >>> verdict({"type": "string", "format": "uri"}, "x") is None
    True
    """
    try:
        return _check(schema, instance)
    except (RecursionError, re.error, TypeError, ValueError, OverflowError):
        return UNSURE


def _check(schema: Any, instance: Any) -> bool | None:
    if schema is True:
        return VALID
    if schema is False:
        return INVALID
    if not isinstance(schema, dict):
        return UNSURE
    result = VALID
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        rule = _RULES.get(key)
        if rule is None:
            return UNSURE
        found = rule(value, instance, schema)
        if found is INVALID:
            return INVALID
        if found is UNSURE:
            result = UNSURE
    return result


def _all(results: Any) -> bool | None:
    """Every part must hold: invalid as soon as one fails, unsure if any is unsure."""
    result = VALID
    for found in results:
        if found is INVALID:
            return INVALID
        if found is UNSURE:
            result = UNSURE
    return result


def _any(results: Any) -> bool | None:
    """One part must hold: valid as soon as one does, unsure if none does but one is unsure."""
    result = INVALID
    for found in results:
        if found is VALID:
            return VALID
        if found is UNSURE:
            result = UNSURE
    return result


# ---- types and values


def _is_type(instance: Any, name: Any) -> bool | None:
    """python-jsonschema's type check for plain JSON values; ``None`` for anything else."""
    if name == "string":
        return isinstance(instance, str)
    if name == "null":
        return instance is None
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name in ("integer", "number"):
        if isinstance(instance, bool):
            return False
        if isinstance(instance, int):
            return True
        if isinstance(instance, float):
            return name == "number" or instance.is_integer()
        return False
    return None  # an unknown type name: the explaining path says what it makes of it


_PLAIN = (str, int, float, bool, list, dict, type(None))


def _type(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(instance, _PLAIN):
        return UNSURE
    names = value if isinstance(value, list) else [value]
    return _any(_is_type(instance, name) for name in names)


def _equal(one: Any, two: Any) -> bool | None:
    """python-jsonschema's ``equal`` for scalars (a bool equals only itself; 1 == 1.0);
    ``None`` when a container is involved."""
    if one is two:
        return True
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return None
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if one is None or two is None:
        return one is two
    if isinstance(one, (int, float)) and isinstance(two, (int, float)):
        return bool(one == two)
    return None


def _enum(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(value, list):
        return UNSURE
    return _any(_equal(member, instance) for member in value)


def _const(value: Any, instance: Any, _schema: Any) -> bool | None:
    found = _equal(value, instance)
    return UNSURE if found is None else found


# ---- bounds


def _number(instance: Any) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool)


def _bound(fails: Callable[[Any, Any], bool]) -> Callable[[Any, Any, Any], bool | None]:
    """A numeric bound, refused by the very comparison python-jsonschema makes (so that a
    NaN is judged alike)."""
    def rule(value: Any, instance: Any, _schema: Any) -> bool | None:
        if not _number(instance):
            return VALID
        if not _number(value):
            return UNSURE  # a broken bound: the explaining path reports the spec
        return INVALID if fails(instance, value) else VALID
    return rule


def _length(fails: Callable[[int, int], bool],
            kind: type[Sized]) -> Callable[[Any, Any, Any], bool | None]:
    """A bound on the length of a string, an array or an object (only of that kind)."""
    def rule(value: Any, instance: Any, _schema: Any) -> bool | None:
        if not isinstance(instance, kind):
            return VALID
        if not isinstance(value, int) or isinstance(value, bool):
            return UNSURE
        return INVALID if fails(len(instance), value) else VALID
    return rule


def _pattern(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(instance, str):
        return VALID
    if not isinstance(value, str):
        return UNSURE
    return VALID if re.search(value, instance) else INVALID


# ---- objects and arrays


def _properties(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(instance, dict):
        return VALID
    if not isinstance(value, dict):
        return UNSURE
    return _all(_check(sub, instance[name]) for name, sub in value.items() if name in instance)


def _required(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(instance, dict):
        return VALID
    if not isinstance(value, list):
        return UNSURE
    return VALID if all(name in instance for name in value) else INVALID


def _additional(value: Any, instance: Any, schema: Any) -> bool | None:
    if not isinstance(instance, dict):
        return VALID
    if "patternProperties" in schema:
        return UNSURE
    known = schema.get("properties", {})
    if not isinstance(known, dict):
        return UNSURE
    return _all(_check(value, instance[name]) for name in instance if name not in known)


def _items(value: Any, instance: Any, schema: Any) -> bool | None:
    if not isinstance(instance, list):
        return VALID
    if "prefixItems" in schema or not isinstance(value, (dict, bool)):
        return UNSURE
    return _all(_check(value, item) for item in instance)


# ---- combinations


def _all_of(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(value, list) or not value:
        return UNSURE
    return _all(_check(sub, instance) for sub in value)


def _any_of(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(value, list) or not value:
        return UNSURE
    return _any(_check(sub, instance) for sub in value)


def _one_of(value: Any, instance: Any, _schema: Any) -> bool | None:
    if not isinstance(value, list) or not value:
        return UNSURE
    found = [_check(sub, instance) for sub in value]
    valid = found.count(VALID)
    if valid > 1:
        return INVALID
    if UNSURE in found:
        return UNSURE
    return VALID if valid == 1 else INVALID


def _not(value: Any, instance: Any, _schema: Any) -> bool | None:
    found = _check(value, instance)
    return UNSURE if found is None else not found


_RULES: dict[str, Callable[[Any, Any, Any], bool | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound(lambda n, limit: n < limit),
    "maximum": _bound(lambda n, limit: n > limit),
    "exclusiveMinimum": _bound(lambda n, limit: n <= limit),
    "exclusiveMaximum": _bound(lambda n, limit: n >= limit),
    "minLength": _length(lambda n, limit: n < limit, str),
    "maxLength": _length(lambda n, limit: n > limit, str),
    "minItems": _length(lambda n, limit: n < limit, list),
    "maxItems": _length(lambda n, limit: n > limit, list),
    "minProperties": _length(lambda n, limit: n < limit, dict),
    "maxProperties": _length(lambda n, limit: n > limit, dict),
    "pattern": _pattern,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
}


# ---- explaining the plain schemas


class SchemaError:
    """One refusal, shaped as python-jsonschema's ``ValidationError`` for what pre-flight
    reads of it (the keyword, its value, the instance, the schema, the path from the body,
    the message of a missing property)."""

    __slots__ = ("absolute_path", "instance", "message", "schema", "validator",
                 "validator_value")

    context: tuple[()] = ()

    def __init__(self, keyword: str, value: Any, instance: Any, schema: Any,
                 path: tuple[Any, ...], message: str = "") -> None:
        self.validator = keyword
        self.validator_value = value
        self.instance = instance
        self.schema = schema
        self.absolute_path = path
        self.message = message

    def __repr__(self) -> str:
        return f"SchemaError({self.validator!r} at {list(self.absolute_path)})"


class _Unexplained(Exception):
    """The schema or the body is outside what :func:`explain` reproduces exactly."""


#: The keywords :func:`explain` reproduces (the combinators, ``format``, ``$ref`` and the
#: rest are left to python-jsonschema).
_EXPLAINED = frozenset({
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "minItems", "maxItems", "pattern", "required", "properties",
    "additionalProperties", "items",
})


def explain(schema: Any, instance: Any) -> list[SchemaError] | None:
    """Every error python-jsonschema (Draft 2020-12) reports for ``instance``, in its order,
    when the schema parts the instance reaches use only plain keywords; ``None`` otherwise
    (then python-jsonschema explains). No import, no compilation: a refused ``--dry-run``
    need not load a validator library.

    >>> [e.validator for e in explain({"type": "integer", "maximum": 10}, 50)]
    ['maximum']
    """
    found: list[SchemaError] = []
    try:
        _explain(schema, instance, (), found)
    except (_Unexplained, RecursionError, re.error, TypeError, ValueError, OverflowError):
        return None
    return found


def _explain(schema: Any, instance: Any, path: tuple[Any, ...],
             found: list[SchemaError]) -> None:
    if schema is True:
        return
    if not isinstance(schema, dict) or not isinstance(instance, _PLAIN):
        raise _Unexplained
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key not in _EXPLAINED:
            raise _Unexplained
        if key == "properties":
            if not isinstance(value, dict):
                raise _Unexplained
            if isinstance(instance, dict):
                for name, sub in value.items():
                    if name in instance:
                        _explain(sub, instance[name], (*path, name), found)
        elif key == "items":
            if not isinstance(value, (dict, bool)) or "prefixItems" in schema:
                raise _Unexplained
            if isinstance(instance, list):
                if value is False and instance:
                    raise _Unexplained  # one error for the whole rest: its message varies
                for index, item in enumerate(instance):
                    _explain(value, item, (*path, index), found)
        elif key == "additionalProperties":
            _explain_additional(value, instance, schema, path, found)
        elif key == "required":
            if not isinstance(value, list):
                raise _Unexplained
            if isinstance(instance, dict):
                found += [SchemaError(key, value, instance, schema, path,
                                      f"{name!r} is a required property")
                          for name in value if name not in instance]
        else:
            rule = _RULES[key]
            verdict = rule(value, instance, schema)
            if verdict is UNSURE:
                raise _Unexplained
            if verdict is INVALID:
                found.append(SchemaError(key, value, instance, schema, path))


def _explain_additional(value: Any, instance: Any, schema: Any, path: tuple[Any, ...],
                        found: list[SchemaError]) -> None:
    """``additionalProperties``: ``false`` is one error naming every extra (pre-flight
    lists them from the instance); a schema applies to each extra, which python-jsonschema
    visits in set order, so several extras under a schema are left to it."""
    if "patternProperties" in schema or not isinstance(schema.get("properties", {}), dict):
        raise _Unexplained
    if not isinstance(instance, dict):
        return
    known = schema.get("properties", {})
    extras = [name for name in instance if name not in known]
    if value is False:
        if extras:
            found.append(SchemaError("additionalProperties", value, instance, schema, path))
    elif value is True:
        return
    elif isinstance(value, dict):
        if len(extras) > 1:
            raise _Unexplained
        for name in extras:
            _explain(value, instance[name], (*path, name), found)
    else:
        raise _Unexplained
