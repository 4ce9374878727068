"""``runway spec pack``: a compact, facts-only copy of an OpenAPI document.

Keeps structure, names, types, enums, limits, defaults and ``$ref``s; drops descriptions,
summaries, titles, examples, code samples and vendor extensions. The result derives the same
catalog as the original (a test checks it), at a fraction of the size, and carries none of
the original's prose.
"""

from __future__ import annotations

from typing import Any

# Keys whose values are maps from names to objects: their keys are names, never prose.
_NAME_MAPS = frozenset({
    "properties", "patternProperties", "$defs", "definitions", "paths", "responses", "content",
    "schemas", "parameters", "requestBodies", "headers", "securitySchemes", "links",
    "callbacks", "encoding", "webhooks", "variables", "pathItems", "mapping", "scopes", "flows",
})
_PROSE = frozenset({"description", "summary", "title", "example", "examples", "externalDocs",
                    "$comment", "termsOfService", "contact", "license"})
# Values copied untouched: they are data (a default object may hold a "title" key).
_LITERAL = frozenset({"const", "default", "enum", "required"})


def pack_document(document: dict[str, Any]) -> dict[str, Any]:
    """A facts-only copy of ``document``."""
    packed = _pack(document, name_map=False)
    info = document.get("info") or {}
    packed["info"] = {k: info[k] for k in ("title", "version") if k in info}
    if "tags" in document:
        packed["tags"] = [{"name": t["name"]} for t in document["tags"] if "name" in t]
    components = packed.get("components")
    if isinstance(components, dict):
        components.pop("examples", None)
        for name in [k for k, v in components.items() if v == {}]:
            del components[name]
    return packed


def _pack(node: Any, *, name_map: bool) -> Any:
    if isinstance(node, list):
        return [_pack(item, name_map=False) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not name_map and (key in _PROSE or key.startswith("x-")):
            continue
        if not name_map and key in _LITERAL:
            out[key] = value
            continue
        out[key] = _pack(value, name_map=(not name_map and key in _NAME_MAPS))
    return out
