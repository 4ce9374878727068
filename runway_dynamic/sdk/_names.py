"""Where each operation of the spec lives on the official SDK's surface: one rule.

``client.<namespace>.<method>``: the namespace is the path's first segment after the
version (``/v1/image_to_video`` → ``image_to_video``), snake_case. The method comes from
what the operation does (``Operation.kind``, decided by the catalog) and the path's other literal
segments (its *action*); path parameters (``{id}``) are positional arguments, not names:

==============================  =============  ===================================
kind                            no action      with an action
==============================  =============  ===================================
reads                           ``retrieve``   ``retrieve_<action>``
lists                           ``list``       ``list_<action>`` (``routers.list_requests``)
updates                         ``update``     ``update_<action>``
deletes                         ``delete``     ``delete_<action>``
creates or action, collection   ``create``     ``<action>`` (``voices.preview``)
creates or action, on an item   ``run``        ``run_<action>`` (``workflows.run``)
==============================  =============  ===================================

Names that still collide (a PUT beside a PATCH) get ``_<method>``, then ``_<n>`` in spec
order, so the mapping is one-to-one. Where the official SDK documents another name, that
name is the one shown (:data:`OFFICIAL_NAMES`, which may nest namespaces:
``generate.video.create``); the rule's name stays as an alias unless it collides with a
namespace. A new path family in the next
spec gets a namespace, and a new path a method, by the same rule with no code change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runway_dynamic.catalog import (
    ACTION,
    CREATES_RESOURCE,
    CREATES_TASK,
    DELETES,
    LISTS,
    READS,
    UPDATES,
    Catalog,
    Operation,
)
from runway_dynamic.naming import python_name

#: ``(METHOD, endpoint) → dotted name`` where the official SDK (runwayml 5.x) names an
#: operation otherwise than the rule: what code written for it calls. Keep it to names the
#: official SDK documents; every other name comes from the rule.
OFFICIAL_NAMES: Mapping[tuple[str, str], str] = {
    ("POST", "uploads"): "uploads.create_ephemeral",
    ("POST", "organization/usage"): "organization.retrieve_usage",
    ("GET", "avatar_usage"): "avatars.get_usage",
    ("POST", "generate/video"): "generate.video.create",
    ("POST", "generate/image"): "generate.image.create",
    ("POST", "generate/audio"): "generate.audio.create",
    ("GET", "organization/webapp/usage"): "organization.webapp.list_usage",
    ("GET", "organization/webapp/audit_logs"): "organization.webapp.audit_logs.list",
    ("GET", "organization/webapp/audit_logs/{eventId}"):
        "organization.webapp.audit_logs.retrieve",
}

_VERBS = {READS: "retrieve", LISTS: "list", UPDATES: "update", DELETES: "delete"}
_CREATING = (CREATES_TASK, CREATES_RESOURCE, ACTION)


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


@dataclass(frozen=True)
class Placement:
    """Where one operation sits: its dotted name, and the rule's alias (if kept)."""

    operation: Operation
    kind: str
    path: tuple[str, ...]
    aliases: tuple[tuple[str, ...], ...] = ()

    @property
    def name(self) -> str:
        return ".".join(self.path)


def derived_name(op: Operation, kind: str) -> tuple[str, str]:
    """``(namespace, method)`` by the rule in this module's docstring."""
    parts = op.endpoint.split("/")
    namespace = python_name(parts[0])
    action = "_".join(python_name(p).rstrip("_") for p in parts[1:] if not _is_param(p))
    on_item = len(parts) > 1 and _is_param(parts[-1])
    if kind in _CREATING:
        verb = "run" if on_item else "create"
        if action and not on_item:
            return namespace, action
    else:
        verb = _VERBS.get(kind, op.method.lower())
    return namespace, f"{verb}_{action}" if action else verb


def place_operations(catalog: Catalog,
                     official: Mapping[tuple[str, str], str] = OFFICIAL_NAMES
                     ) -> list[Placement]:
    """Every operation of ``catalog`` with its place on the surface (pure, one-to-one)."""
    ops = list(catalog.operations)
    kinds = {id(op): op.kind for op in ops}
    derived = {id(op): derived_name(op, kinds[id(op)]) for op in ops}
    _unclash(ops, derived, lambda op, name: (name[0], f"{name[1]}_{op.method.lower()}"))
    counter: dict[tuple[str, str], int] = {}

    def numbered(op: Operation, name: tuple[str, str]) -> tuple[str, str]:
        counter[name] = counter.get(name, 0) + 1
        return name[0], f"{name[1]}_{counter[name]}"

    _unclash(ops, derived, numbered)
    shown = {id(op): tuple(official[(op.method, op.endpoint)].split("."))
             for op in ops if (op.method, op.endpoint) in official}
    namespaces = {path[:i] for path in shown.values() for i in range(1, len(path))}
    taken = set(shown.values())
    out = []
    for op in ops:
        rule = derived[id(op)]
        path = shown.get(id(op), rule)
        aliases = () if path == rule or rule in namespaces or rule in taken else (rule,)
        out.append(Placement(op, kinds[id(op)], path, aliases))
    return out


def _unclash(ops: Iterable[Operation], names: dict[int, tuple[str, str]],
             rename: object) -> None:
    seen: dict[tuple[str, str], list[Operation]] = {}
    for op in ops:
        seen.setdefault(names[id(op)], []).append(op)
    for name, group in seen.items():
        if len(group) > 1:
            for op in group:
                names[id(op)] = rename(op, name)  # type: ignore[operator]
