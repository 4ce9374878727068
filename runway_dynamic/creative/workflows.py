"""Registered workflows: typed commands derived from a published workflow's input nodes.

``workflow register ID`` reads ``GET /v1/workflows/{id}``; the spec types the graph's
nodes only as objects, so the graph is read tolerantly. An *exposed input node* is a node
whose ``type``/``kind``/``nodeType`` contains ``input`` (or that says ``exposed``/
``isInput``); its value type comes from ``data.inputType``/``valueType``/``dataType``/
``mediaType`` (or the type word: ``image_input`` → image), its output name from
``data.outputName`` (default ``value``), and a node may list several ``outputs``
(``[{"name", "type"}]``). Each becomes one input with a name unique in the workflow (the
CLI makes a flag of ``runway wf NAME`` from it): media (image, video, audio) take a file or
a URI, the rest take text, numbers or booleans.

Running builds the ``nodeOutputs`` body of ``POST /v1/workflows/{id}``: media values as
``{"type": kind, "uri": …}`` (local files inlined within the spec's limit for that kind,
else uploaded), others as ``{"type": "primitive", "value": …}``.

The registry is one JSON file in the data dir, written atomically; a broken file is an
error that names the file, never silently treated as empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runway_dynamic import _paths
from runway_dynamic._exceptions import ConfigError, UsageError
from runway_dynamic.catalog import Catalog, MediaFacts, flatten_object, media_facts
from runway_dynamic.naming import kebab

REGISTRY_FILE = "workflows.json"
REGISTRY_VERSION = 1
WORKFLOW_ENDPOINT = "workflows/{id}"
INVOCATION_ENDPOINT = "workflow_invocations/{id}"
MEDIA_KINDS = ("image", "video", "audio")
_KIND_WORDS = {
    "image": "image", "picture": "image", "photo": "image", "video": "video", "clip": "video",
    "audio": "audio", "sound": "audio", "voice": "audio",
    "text": "text", "string": "text", "prompt": "text",
    "number": "number", "float": "number", "integer": "integer", "int": "integer",
    "boolean": "boolean", "bool": "boolean", "toggle": "boolean",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


@dataclass(frozen=True)
class WorkflowInput:
    #: Kebab-case, unique among the workflow's inputs (``product-photo``).
    name: str
    node_id: str
    output: str
    kind: str  # image, video, audio, text, number, integer, boolean
    label: str
    required: bool = False
    default: Any = None

    @property
    def is_media(self) -> bool:
        return self.kind in MEDIA_KINDS


@dataclass(frozen=True)
class RegisteredWorkflow:
    name: str
    id: str
    title: str
    version: int | None
    inputs: tuple[WorkflowInput, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "title": self.title, "version": self.version,
                "inputs": [asdict(i) for i in self.inputs]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegisteredWorkflow:
        return cls(name=str(data["name"]), id=str(data["id"]), title=str(data.get("title", "")),
                   version=data.get("version"),
                   inputs=tuple(_input(i) for i in data.get("inputs", [])))


def _input(data: Mapping[str, Any]) -> WorkflowInput:
    """An input as stored; registries written before inputs had a ``name`` call it ``flag``."""
    fields = dict(data)
    if "flag" in fields and "name" not in fields:
        fields["name"] = fields.pop("flag")
    return WorkflowInput(**fields)


# --------------------------------------------------------------------------- graph


def slug(text: str) -> str:
    """An input name or command word: ``Product photo`` → ``product-photo``."""
    return re.sub(r"[^a-z0-9]+", "-", kebab(text)).strip("-")


def _kind(text: Any) -> str | None:
    words = re.split(r"[^a-z]+", kebab(str(text or "")).lower())
    for word in words:
        if word in _KIND_WORDS:
            return _KIND_WORDS[word]
    return None


def _is_input(node: Mapping[str, Any]) -> bool:
    if node.get("exposed") is True or node.get("isInput") is True:
        return True
    marker = " ".join(str(node.get(k) or "") for k in ("type", "kind", "nodeType", "category"))
    return "input" in marker.lower()


def input_nodes(workflow: Mapping[str, Any]) -> list[WorkflowInput]:
    """The exposed inputs of a workflow as returned by ``GET /v1/workflows/{id}``."""
    graph = workflow.get("graph") or {}
    nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    if not isinstance(nodes, list):
        raise UsageError("the workflow has no graph.nodes list to read inputs from")
    found: list[WorkflowInput] = []
    taken: set[str] = set()
    for node in nodes:
        if not isinstance(node, Mapping) or not node.get("id") or not _is_input(node):
            continue
        data = node.get("data") if isinstance(node.get("data"), Mapping) else {}
        assert isinstance(data, Mapping)
        label = str(node.get("name") or data.get("label") or node.get("label") or node["id"])
        outputs = node.get("outputs")
        entries: list[tuple[str, Any, Any]] = []
        if isinstance(outputs, list) and outputs:
            for out in outputs:
                if isinstance(out, Mapping) and out.get("name"):
                    entries.append((str(out["name"]), out.get("type"), out.get("default")))
        else:
            declared = next((data.get(k) or node.get(k) for k in
                             ("inputType", "valueType", "dataType", "mediaType", "outputType")
                             if data.get(k) or node.get(k)), None)
            declared = declared or node.get("type") or node.get("kind") or node.get("nodeType")
            entries.append((str(data.get("outputName") or node.get("outputName") or "value"),
                            declared, data.get("default", node.get("default"))))
        for output, declared, default in entries:
            kind = _kind(declared) or "text"
            base = slug(label) or "input"
            if len(entries) > 1:
                base = f"{base}-{slug(output)}"
            name, n = base, 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
            taken.add(name)
            required = bool(data.get("required", node.get("required", False)))
            found.append(WorkflowInput(name, str(node["id"]), output, kind, label, required,
                                       default))
    return found


# --------------------------------------------------------------------------- registry


def registry_path() -> Path:
    return _paths.data_dir() / REGISTRY_FILE


def load_registry(path: Path | None = None) -> dict[str, RegisteredWorkflow]:
    """Registered workflows by name; :class:`ConfigError` for a broken file (never skipped)."""
    where = path or registry_path()
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"workflow registry {where}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("workflows"), dict):
            raise ValueError("expected {\"version\": 1, \"workflows\": {...}}")
        return {name: RegisteredWorkflow.from_dict(entry)
                for name, entry in data["workflows"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"workflow registry {where} is broken ({exc}); fix it or remove it "
                          "and register the workflows again") from None


def _save(entries: Mapping[str, RegisteredWorkflow], path: Path | None = None) -> None:
    from runway_dynamic._files import atomic_write_bytes

    data = {"version": REGISTRY_VERSION,
            "workflows": {name: wf.to_dict() for name, wf in sorted(entries.items())}}
    atomic_write_bytes(path or registry_path(),
                       (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


def check_name(name: str, reserved: Iterable[str] = ()) -> str:
    if not _NAME.match(name):
        raise UsageError(f"workflow name {name!r}: use lowercase letters, digits and '-' "
                         "(up to 48, starting with a letter or digit)")
    if name in set(reserved):
        raise UsageError(f"workflow name {name!r} would shadow a runway command; pick another "
                         "with --name")
    return name


def register(workflow: Mapping[str, Any], *, name: str | None = None,
             reserved: Iterable[str] = ()) -> RegisteredWorkflow:
    """Derive the inputs and store the workflow under ``name`` (default: from its name)."""
    wid = str(workflow.get("id") or "")
    if not wid:
        raise UsageError("the workflow answer has no id")
    chosen = check_name(name or slug(str(workflow.get("name") or ""))[:48] or f"wf-{wid[:8]}",
                        reserved)
    entry = RegisteredWorkflow(chosen, wid, str(workflow.get("name") or ""),
                               workflow.get("version") if isinstance(workflow.get("version"),
                                                                     int) else None,
                               tuple(input_nodes(workflow)))
    entries = load_registry()
    entries[chosen] = entry
    _save(entries)
    return entry


def remove(name: str) -> RegisteredWorkflow:
    entries = load_registry()
    if name not in entries:
        raise UsageError(f"no registered workflow {name!r}; see 'runway workflow registered list'")
    gone = entries.pop(name)
    _save(entries)
    return gone


def get(name: str) -> RegisteredWorkflow:
    entries = load_registry()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none yet ('runway workflow register ID')"
        raise UsageError(f"no registered workflow {name!r}; registered: {known}")
    return entries[name]


# --------------------------------------------------------------------------- running


def media_facts_for(catalog: Catalog, kind: str) -> MediaFacts | None:
    """The ``uri`` facts of the ``nodeOutputs`` value branch of ``kind``, from the spec."""
    op = catalog.operation(WORKFLOW_ENDPOINT, "POST")
    variant = op.variants[0] if op and op.variants else None
    field = variant.field_map.get("nodeOutputs") if variant else None
    schema: Any = field.schema if field else {}
    for _ in range(2):
        schema = schema.get("additionalProperties") if isinstance(schema, Mapping) else None
    branches = (schema or {}).get("oneOf") or (schema or {}).get("anyOf") or []
    for branch in branches:
        properties, _ = flatten_object(branch)
        if properties.get("type", {}).get("const") == kind and "uri" in properties:
            return media_facts(properties["uri"])
    return None


def coerce(item: WorkflowInput, raw: Any, *, label: str | None = None) -> Any:
    """A text value as the input's kind; errors name the input as ``label`` (its flag)."""
    if item.kind == "number":
        return float(raw)
    if item.kind == "integer":
        return int(raw)
    if item.kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{label or item.name}: expected true or false, got {raw!r}")
    return str(raw)


def node_outputs(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{input: resolved value}`` → the ``nodeOutputs`` body (media already URIs)."""
    body: dict[str, dict[str, Any]] = {}
    for item, value in values.items():
        assert isinstance(item, WorkflowInput)
        entry = ({"type": item.kind, "uri": value} if item.is_media
                 else {"type": "primitive", "value": value})
        body.setdefault(item.node_id, {})[item.output] = entry
    return body


def output_urls(invocation: Mapping[str, Any]) -> list[str]:
    """Every output URL of a finished invocation (``output`` maps node ids to URL lists)."""
    output = invocation.get("output")
    urls: list[str] = []
    if isinstance(output, Mapping):
        for value in output.values():
            urls += [str(u) for u in value] if isinstance(value, list) else [str(value)]
    elif isinstance(output, list):
        urls = [str(u) for u in output]
    return urls
