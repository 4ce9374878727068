"""Local ``$ref`` resolution with a cycle guard, and schema normalisation to JSON Schema 2020-12.

OpenAPI 3.0 schemas (``nullable``, boolean ``exclusiveMinimum``) are rewritten into 3.1's
JSON Schema dialect so that one validator and one catalog builder serve every version.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from runway_dynamic import _limits
from runway_dynamic._exceptions import SpecError
from runway_dynamic._limits import ExpansionBudget, SpecLimits

# Keys that carry prose or samples, not facts; dropped from derived schemas.
PROSE_KEYS = frozenset(
    {"description", "summary", "example", "examples", "externalDocs", "title", "$comment",
     "x-codeSamples", "x-stainless-variantName"}
)


class RefResolver:
    """Resolves ``#/...`` references inside one OpenAPI document."""

    def __init__(self, document: dict[str, Any], *, source: str, openapi_version: str,
                 limits: SpecLimits | None = None) -> None:
        self.document = document
        self.source = source
        self.legacy = openapi_version.startswith("3.0")
        self.limits = limits or _limits.current()
        self._max_depth = self.limits.max_depth
        #: What reusing shared schemas adds to the derived index (see _limits).
        self.budget = ExpansionBudget(self.limits, source)
        self.where = "the spec"
        self._inlined: dict[str, Any] = {}
        self._inlined_depth: dict[str, int] = {}
        self._recursive: set[str] = set()
        self.defs: dict[str, Any] = {}

    def lookup(self, ref: str) -> Any:
        """The node a local JSON pointer names; a :class:`SpecError` if it names nothing."""
        if not ref.startswith("#"):
            raise SpecError(f"external $ref {ref!r} is not supported", source=self.source)
        node: Any = self.document
        pointer = unquote(ref[1:])
        if pointer in ("", "/"):
            return node
        for raw in pointer.lstrip("/").split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"unresolvable $ref {ref!r}", source=self.source)
        return node

    def deref(self, node: Any, _seen: tuple[str, ...] = ()) -> Any:
        """Follow ``$ref`` chains to a concrete node (siblings of the ``$ref`` win)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in _seen:
                raise SpecError(f"$ref cycle through {ref!r}", source=self.source)
            _seen = (*_seen, ref)
            target = self.lookup(ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
        return node

    def inline(self, node: Any, where: str = "the spec") -> Any:
        """A copy of the schema ``node`` with every ``$ref`` replaced by its target, prose
        dropped, and boolean subschemas in object form (``true`` → ``{}``, ``false`` →
        ``{"not": {}}``, as 2020-12 defines them).

        Recursive references cannot be inlined: they become ``{"$ref": "#/$defs/NAME"}``
        and their definitions are collected in :attr:`defs`. ``where`` names the schema's
        place in errors. Bounded by :mod:`runway_dynamic._limits`: nesting depth, and what
        reusing a target writes out again.
        """
        self.where = where
        return self._schema(node, (), 0, 0)

    def _schema(self, node: Any, stack: _Stack, depth: int, descents: int) -> Any:
        """``node`` in a place that holds a schema."""
        if node is True:
            return {}
        if node is False:
            return {"not": {}}
        return self._inline(node, stack, depth, descents)

    def _inline(self, node: Any, stack: _Stack, depth: int, descents: int) -> Any:
        """``node`` in a place that holds a value: a copy of containers, scalars as they are.

        The hot loop of a cold load (every object of every schema passes here once): one
        role lookup per key, and no call for a scalar or for a schema that is an object.
        """
        if not isinstance(node, _CONTAINERS):
            return node
        if depth >= self._max_depth:  # depth counts the objects and arrays above
            raise self.budget.too_deep(self.where)
        if isinstance(node, list):
            inner = depth + 1
            return [self._inline(item, stack, inner, descents)
                    if isinstance(item, _CONTAINERS) else item for item in node]
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._reference(node, ref, stack, depth, descents)
        out: dict[str, Any] = {}
        inline, schema = self._inline, self._schema
        for key, value in node.items():
            role = _ROLES.get(key)
            if role is None:
                if key.startswith("x-"):
                    continue
                role = _VALUE
            if role == _VALUE:
                out[key] = (inline(value, stack, depth + 1, descents)
                            if isinstance(value, _CONTAINERS) else value)
            elif role == _EACH_VALUE:  # a schema (or false) for every other property's value
                out[key] = (inline(value, stack, depth + 1, descents + 1)
                            if isinstance(value, _CONTAINERS) else value)
            elif role == _LITERAL:
                out[key] = value
            elif role == _SKIP:
                continue
            elif role == _ONE:
                deeper = descents + 1 if key in _DESCENDING_KEYS else descents
                out[key] = schema(value, stack, depth + 1, deeper)
            elif role == _MAP and isinstance(value, dict):
                deeper = descents + 1 if key in _DESCENDING_KEYS else descents
                inner = depth + 2
                out[key] = {name: inline(sub, stack, inner, deeper) if type(sub) is dict
                            else schema(sub, stack, inner, deeper) for name, sub in value.items()}
            elif role == _LIST and isinstance(value, list):
                deeper = descents + 1 if key in _DESCENDING_KEYS else descents
                inner = depth + 2
                out[key] = [inline(sub, stack, inner, deeper) if type(sub) is dict
                            else schema(sub, stack, inner, deeper) for sub in value]
            else:  # a map or list keyword holding something else: read as a plain value
                out[key] = inline(value, stack, depth + 1, descents)
        if self.legacy:
            _upgrade_legacy(out)
        return out

    def _reference(
        self, node: dict[str, Any], ref: str, stack: _Stack, depth: int, descents: int
    ) -> Any:
        siblings = {k: v for k, v in node.items() if k != "$ref" and k not in PROSE_KEYS}
        for seen, seen_descents in stack:
            if seen != ref:
                continue
            if seen_descents == descents:
                # Back to the same reference without entering any value: no finite schema.
                raise SpecError(f"$ref cycle through {ref!r} never reaches a value "
                                f"(in {self.where})", source=self.source)
            self._recursive.add(ref)
            return {"$ref": "#/$defs/" + def_name(ref),
                    **self._inline(siblings, stack, depth, descents)}
        if ref in self._inlined:
            result = self._inlined[ref]
            # Reuse writes the target out once more in the index: pay for it.
            self.budget.charge(result)
            if depth > self._inlined_depth[ref] and (
                depth + self.budget.height(result) > self.limits.max_depth
            ):  # met deeper than where it was first inlined and checked
                raise self.budget.too_deep(self.where)
        else:
            result = self._schema(self.lookup(ref), (*stack, (ref, descents)), depth, descents)
            self._inlined[ref] = result
            self._inlined_depth[ref] = depth
            if ref in self._recursive:
                self.defs[def_name(ref)] = result
        if siblings and isinstance(result, dict):
            return self._with_siblings(result, self._inline(siblings, stack, depth, descents))
        return result

    def _with_siblings(self, target: dict[str, Any], siblings: dict[str, Any]) -> dict[str, Any]:
        """A reference with keywords beside it.

        OpenAPI 3.1 (JSON Schema 2020-12) applies them together with the target, like
        ``allOf``: ``{"$ref": X, "required": ["seed"]}`` keeps X's required list too. They
        are merged into one object when that means the same (no keyword on both sides, none
        that reads its neighbours), else kept apart under ``allOf``. OpenAPI 3.0 says such
        siblings are ignored; specs put ``nullable`` or a ``default`` there meaning "this
        use of X", so 3.0 documents keep reading them as overrides.
        """
        if self.legacy or not (
            siblings.keys() & target.keys() or siblings.keys() & _ADJACENT_KEYS
            or (target.keys() & _ADJACENT_KEYS and siblings.keys() & _APPLICATOR_KEYS)
        ):
            return {**target, **siblings}
        return {"allOf": [target, siblings]}


# Keywords whose meaning depends on other keywords of the same object (additionalProperties
# on properties, items on prefixItems, then on if…): never merged across a $ref boundary.
_ADJACENT_KEYS = frozenset({
    "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "items",
    "prefixItems", "contains", "minContains", "maxContains", "if", "then", "else",
    "properties", "patternProperties", "dependentSchemas", "discriminator"})
_APPLICATOR_KEYS = _ADJACENT_KEYS | {"allOf", "anyOf", "oneOf", "not", "$ref"}

# A chain of references being inlined: (reference, value levels entered when it was met).
_Stack = tuple[tuple[str, int], ...]

# Keywords whose values are data, copied as they are (a "title" inside a default is data).
_LITERAL_KEYS = frozenset({"const", "default", "enum", "required", "discriminator"})
# Keywords whose values map names to schemas: the names are never prose.
_MAP_KEYS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
# Keywords whose values are lists of schemas, and keywords whose value is one schema
# (``additionalProperties``/``unevaluatedProperties`` keep ``false``: code reads it so).
_LIST_KEYS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_KEYS = frozenset({"items", "not", "contains", "if", "then", "else", "propertyNames",
                          "additionalItems", "unevaluatedItems", "contentSchema"})
# Keywords that apply their schema to a part of the value (or never apply it): a reference
# cycle through one of these describes a deeper value each turn, so it ends.
_DESCENDING_KEYS = frozenset({
    "properties", "patternProperties", "additionalProperties", "unevaluatedProperties",
    "items", "prefixItems", "additionalItems", "unevaluatedItems", "contains", "propertyNames",
    "$defs", "definitions", "contentSchema"})

_CONTAINERS = (dict, list)
# What _inline does with a key's value, decided by one lookup: copy it as data (_LITERAL),
# drop it (_SKIP: prose, "$schema"), read it as a value (_VALUE: any other key, but "x-"
# extensions are dropped), or as schemas (_ONE schema, a _MAP or _LIST of them, or the
# _EACH_VALUE schema of additionalProperties, which also keeps ``false`` as written).
_VALUE, _LITERAL, _SKIP, _ONE, _MAP, _LIST, _EACH_VALUE = range(7)
_ROLES: dict[str, int] = {
    **dict.fromkeys(_DESCENDING_KEYS - _SCHEMA_KEYS - _LIST_KEYS - _MAP_KEYS, _EACH_VALUE),
    **dict.fromkeys(_SCHEMA_KEYS, _ONE), **dict.fromkeys(_LIST_KEYS, _LIST),
    **dict.fromkeys(_MAP_KEYS, _MAP), **dict.fromkeys(_LITERAL_KEYS, _LITERAL),
    **dict.fromkeys(PROSE_KEYS | {"$schema"}, _SKIP),
}


def def_name(ref: str) -> str:
    """A ``$defs`` key for a reference: its last pointer segment."""
    return unquote(ref.rsplit("/", 1)[-1]).replace("~1", "_").replace("~0", "_") or "root"


def _upgrade_legacy(schema: dict[str, Any]) -> None:
    """Rewrite OpenAPI 3.0 schema keywords into JSON Schema 2020-12 in place."""
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(bound)
        if isinstance(flag, bool):
            if flag and limit in schema:
                schema[bound] = schema.pop(limit)
            else:
                del schema[bound]
