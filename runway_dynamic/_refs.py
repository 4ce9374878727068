"""Local ``$ref`` resolution with a cycle guard, and schema normalisation to JSON Schema 2020-12.

OpenAPI 3.0 schemas (``nullable``, boolean ``exclusiveMinimum``) are rewritten into 3.1's
JSON Schema dialect so that one validator and one catalog builder serve every version.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from runway_dynamic._exceptions import SpecError

# Keys that carry prose or samples, not facts; dropped from derived schemas.
PROSE_KEYS = frozenset(
    {"description", "summary", "example", "examples", "externalDocs", "title", "$comment",
     "x-codeSamples", "x-stainless-variantName"}
)


class RefResolver:
    """Resolves ``#/...`` references inside one OpenAPI document."""

    def __init__(self, document: dict[str, Any], *, source: str, openapi_version: str) -> None:
        self.document = document
        self.source = source
        self.legacy = openapi_version.startswith("3.0")
        self._inlined: dict[str, Any] = {}
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

    def inline(self, node: Any) -> Any:
        """A copy of ``node`` with every ``$ref`` replaced by its target, prose dropped.

        Recursive references cannot be inlined: they become ``{"$ref": "#/$defs/NAME"}``
        and their definitions are collected in :attr:`defs`.
        """
        return self._inline(node, ())

    def _inline(self, node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            siblings = {k: v for k, v in node.items() if k != "$ref" and k not in PROSE_KEYS}
            if ref in stack:
                self._recursive.add(ref)
                return {"$ref": "#/$defs/" + def_name(ref), **self._inline(siblings, stack)}
            if ref in self._inlined:
                result = self._inlined[ref]
            else:
                result = self._inline(self.lookup(ref), (*stack, ref))
                self._inlined[ref] = result
                if ref in self._recursive:
                    self.defs[def_name(ref)] = result
            if siblings and isinstance(result, dict):
                result = {**result, **self._inline(siblings, stack)}
            return result
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in PROSE_KEYS or key == "$schema" or key.startswith("x-"):
                continue
            if key in _LITERAL_KEYS:
                out[key] = value
            elif key in _MAP_KEYS and isinstance(value, dict):
                out[key] = {name: self._inline(sub, stack) for name, sub in value.items()}
            else:
                out[key] = self._inline(value, stack)
        if self.legacy:
            _upgrade_legacy(out)
        return out


# Keywords whose values are data, copied as they are (a "title" inside a default is data).
_LITERAL_KEYS = frozenset({"const", "default", "enum", "required", "discriminator"})
# Keywords whose values map names to schemas: the names are never prose.
_MAP_KEYS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


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
