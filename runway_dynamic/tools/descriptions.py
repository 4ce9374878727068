"""Our words about a generation tool and its fields: who takes a field, who needs it, what
each model allows. Written from the catalog's facts, never copied from the spec's prose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runway_dynamic.catalog import Operation, schema_choices, schema_kind, schema_suggestions
from runway_dynamic.tools.union import NUMERIC_KINDS


def generation_description(
    op: Operation, models: Sequence[str], partly_required: Sequence[str], differing: Sequence[str]
) -> str:
    kind = op.endpoint.replace("_", " ").replace("/", " ")
    parts = [
        f"Run Runway's {op.endpoint} endpoint ({kind}): submit a task, wait for it and "
        "return its output URLs. The arguments are checked against the chosen model before "
        "anything is sent, so a rejected call costs nothing."
    ]
    if len(models) > 1:
        parts.append(f"{len(models)} models; fields and values depend on the model.")
    if partly_required:
        parts.append("Required by some models only: " + "; ".join(partly_required) + ".")
    if differing:
        parts.append("Values that differ per model (see each field's note): "
                     + ", ".join(differing) + ".")
    parts.append("For a local file, call runway_upload first and pass the runway:// URI.")
    return " ".join(parts)


@dataclass(frozen=True)
class Notes:
    text: str
    differs: bool


def field_notes(fname: str, per_model: Mapping[str, Any], models: Sequence[str]) -> Notes:
    """Our sentence about one field: who takes it, who needs it, what each model allows."""
    sentences: list[str] = []
    present = list(per_model)
    if len(present) < len(models):
        users = name_models(present, models)
        sentences.append(f"Not used by {users[len(_EXCEPT):]}." if users.startswith(_EXCEPT)
                         else f"Used by {users} only.")
    requiring = [m for m, f in per_model.items() if f.required]
    if requiring and len(requiring) < len(models):
        sentences.append(f"Required by {name_models(requiring, models)}.")
    groups: dict[str, list[str]] = {}
    for model, f in per_model.items():
        groups.setdefault(_constraint(f.schema), []).append(model)
    differs = len(groups) > 1 and any(groups)
    if differs:
        label = "Accepted values" if all(f.choices for f in per_model.values()) else "Limits"
        rendered = [f"{c or 'no fixed limits'} ({', '.join(ms)})" for c, ms in groups.items()]
        sentences.append(f"{label} per model: " + "; ".join(rendered) + ".")
    media = next((f.media for f in per_model.values() if f.media), None)
    if media is not None:
        sentences.append(_media_note(media.schemes))
    if any(f.deprecated for f in per_model.values()):
        deprecated = [m for m, f in per_model.items() if f.deprecated]
        sentences.append(f"Deprecated for {', '.join(deprecated)}.")
    return Notes(" ".join(sentences), differs)


_EXCEPT = "all models except "


def name_models(subset: Sequence[str], models: Sequence[str]) -> str:
    """``a, b`` or ``all models except c`` — whichever is shorter."""
    others = [m for m in models if m not in subset]
    listed = ", ".join(subset)
    if others and len(others) < len(subset):
        excepted = _EXCEPT + ", ".join(others)
        if len(excepted) < len(listed):
            return excepted
    return listed


def _constraint(schema: Mapping[str, Any]) -> str:
    """A short rendering of what one model allows (values, numeric range, length)."""
    choices = schema_choices(schema)
    if choices is not None:
        return ", ".join(str(c) for c in choices)
    suggested = schema_suggestions(schema)
    if suggested is not None:  # an open enum: the known values, and that others pass
        return ", ".join(str(c) for c in suggested) + " or other values"
    parts: list[str] = []
    kind = schema_kind(schema)
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None or high is not None:
        parts.append(_range(low, high))
    if "minLength" in schema or "maxLength" in schema:
        parts.append(_range(schema.get("minLength"), schema.get("maxLength")) + " characters")
    if "minItems" in schema or "maxItems" in schema:
        parts.append(_range(schema.get("minItems"), schema.get("maxItems")) + " items")
    if not parts and kind in NUMERIC_KINDS:
        parts.append(kind)
    return ", ".join(parts)


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low}-{high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _media_note(schemes: Sequence[str]) -> str:
    forms = []
    for scheme in schemes:
        if scheme == "runway":
            forms.append("a runway:// URI (from runway_upload)")
        elif scheme == "data":
            forms.append("a data: URI")
        else:
            forms.append(f"an {scheme}:// URL")
    return "Takes " + (", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1
                       else forms[0]) + "."
