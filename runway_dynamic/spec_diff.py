"""What changed between two specs, compared as catalogs (not as JSON text).

>>> changes = diff_catalogs(old_spec.catalog, new_spec.catalog)
>>> print(changes.render())
>>> changes.to_dict()["changes"][0]
{'kind': 'model_added', 'operation': 'POST text_to_video', 'variant': 'veo4', ...}

Change kinds: api_version_changed, operation_added, operation_removed, model_added,
model_removed (for other discriminators: variant_added/variant_removed), field_added,
field_removed, field_required_changed, field_type_changed, field_enum_changed,
field_open_changed, field_limit_changed, ratio_added, ratio_removed, ratios_open_changed,
parameter_added, parameter_removed, parameter_required_changed, parameter_type_changed.
Comparing catalogs means moving a schema into ``components``, reordering keys or
rewording prose is not a change.

A type change is one change: ``duration`` going from integer ``[5, 8]`` to string
``["5", "8"]`` says ``type integer → string``, and the values are compared by their text,
so only values really added or removed are listed. Limits (min/max values and lengths,
``maxItems``…) are compared one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic.catalog import Catalog, Field, Operation, Variant

__all__ = ["Change", "SpecDiff", "diff_catalogs"]


@dataclass(frozen=True)
class Change:
    """One difference. ``operation`` is ``"METHOD endpoint"``; ``variant`` its model (if any)."""

    kind: str
    operation: str | None = None
    variant: str | None = None
    name: str | None = None
    #: The limit a ``field_limit_changed`` is about (``maximum``, ``maxLength``…).
    limit: str | None = None
    old: Any = None
    new: Any = None
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("operation", "variant", "name", "limit", "old", "new"):
            value = getattr(self, key)
            if value is not None or (self.limit is not None and key in ("old", "new")):
                out[key] = value  # a limit that appears or goes is null on one side
        if self.added:
            out["added"] = list(self.added)
        if self.removed:
            out["removed"] = list(self.removed)
        return out

    def describe(self) -> str:
        """The change as a changelog line (without its operation/variant heading)."""
        kind, name = self.kind, self.name
        if kind == "operation_added":
            return "+ new operation"
        if kind == "operation_removed":
            return "- operation removed"
        if kind in ("model_added", "variant_added"):
            noun = "model" if kind == "model_added" else "variant"
            return f"+ {noun} {self.variant}" + (f" (required: {', '.join(self.new)})"
                                                  if self.new else "")
        if kind in ("model_removed", "variant_removed"):
            return f"- {'model' if kind == 'model_removed' else 'variant'} {self.variant}"
        if kind == "field_added":
            return f"+ field {name} ({'required' if self.new else 'optional'})"
        if kind == "field_removed":
            return f"- field {name} (was {'required' if self.old else 'optional'})"
        if kind == "field_required_changed":
            return f"~ field {name}: now {'required' if self.new else 'optional'}"
        if kind in ("field_type_changed", "parameter_type_changed"):
            noun = "field" if kind == "field_type_changed" else "parameter"
            return f"~ {noun} {name}: type {self.old} → {self.new}"
        if kind == "field_enum_changed":
            return f"~ field {name}: values" + _plus_minus(self.added, self.removed)
        if kind in ("field_open_changed", "ratios_open_changed"):
            what = f"field {name}: values" if kind == "field_open_changed" else "ratios"
            return f"~ {what} now " + ("open (other values accepted)" if self.new else
                                      "closed (only the listed values)")
        if kind == "field_limit_changed":
            return (f"~ field {name}: {self.limit} {_limit_text(self.old)} → "
                    f"{_limit_text(self.new)}")
        if kind == "ratio_added":
            return "+ ratios " + ", ".join(self.added)
        if kind == "ratio_removed":
            return "- ratios " + ", ".join(self.removed)
        if kind == "parameter_added":
            return f"+ parameter {name} ({'required' if self.new else 'optional'})"
        if kind == "parameter_removed":
            return f"- parameter {name}"
        if kind == "parameter_required_changed":
            return f"~ parameter {name}: now {'required' if self.new else 'optional'}"
        if kind == "api_version_changed":
            return f"API version {self.old} → {self.new}"
        return kind


def _limit_text(value: Any) -> str:
    return "none" if value is None else str(value)


def _plus_minus(added: tuple[Any, ...], removed: tuple[Any, ...]) -> str:
    parts = []
    if added:
        parts.append(" +" + ", +".join(map(str, added)))
    if removed:
        parts.append(" -" + ", -".join(map(str, removed)))
    return ";".join(parts)


@dataclass(frozen=True)
class SpecDiff:
    """Every change from ``old`` to ``new``, in a stable order."""

    old: Mapping[str, Any]
    new: Mapping[str, Any]
    changes: tuple[Change, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.kind] = out.get(change.kind, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"old": dict(self.old), "new": dict(self.new), "counts": self.counts(),
                "changes": [c.to_dict() for c in self.changes]}

    def render(self, *, old_label: str | None = None, new_label: str | None = None) -> str:
        """A changelog a person can read, grouped by operation and model."""
        old_name = old_label or str(self.old.get("apiVersion"))
        new_name = new_label or str(self.new.get("apiVersion"))
        lines = [f"spec diff: {old_name} → {new_name}"]
        if not self.changes:
            lines.append("no changes to operations, models, fields, parameters or ratios")
            return "\n".join(lines)
        summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in self.counts().items())
        lines.append(f"{len(self.changes)} change(s): {summary}")
        heading: tuple[str | None, str | None] | None = None
        for change in self.changes:
            if change.operation is None:
                lines += ["", change.describe()]
                heading = None
                continue
            if heading is None or heading[0] != change.operation:
                lines += ["", change.operation]
                heading = (change.operation, None)
            in_variant = change.variant is not None and change.kind not in (
                "model_added", "model_removed", "variant_added", "variant_removed")
            if in_variant and heading[1] != change.variant:
                lines.append(f"  {change.variant}:")
                heading = (change.operation, change.variant)
            elif not in_variant:
                heading = (change.operation, None)
            lines.append(("    " if in_variant else "  ") + change.describe())
        return "\n".join(lines)


def _facts(catalog: Catalog) -> dict[str, Any]:
    return {"apiVersion": catalog.api_version, "openapi": catalog.openapi,
            "sha256": catalog.sha256 or None, **{k: v for k, v in catalog.summary().items()
                                                  if k not in ("openapi", "apiVersion")}}


def _key(op: Operation) -> str:
    return f"{op.method} {op.endpoint}"


def diff_catalogs(old: Catalog, new: Catalog) -> SpecDiff:
    """Compare two catalogs: operations, models, fields, required-ness, enums, ratios."""
    return SpecDiff(_facts(old), _facts(new), tuple(_changes(old, new)))


def _changes(old: Catalog, new: Catalog) -> Iterator[Change]:
    if old.api_version != new.api_version:
        yield Change("api_version_changed", old=old.api_version, new=new.api_version)
    before = {_key(op): op for op in old.operations}
    after = {_key(op): op for op in new.operations}
    for key in sorted(before.keys() | after.keys(), key=_operation_order):
        if key not in before:
            yield Change("operation_added", key)
            continue
        if key not in after:
            yield Change("operation_removed", key)
            continue
        yield from _operation_changes(key, before[key], after[key])


def _operation_order(key: str) -> tuple[str, str]:
    method, _, endpoint = key.partition(" ")
    return endpoint, method


def _operation_changes(key: str, old: Operation, new: Operation) -> Iterator[Change]:
    old_params = {(p.location, p.name): p for p in old.parameters}
    new_params = {(p.location, p.name): p for p in new.parameters}
    for loc_name in sorted(old_params.keys() | new_params.keys()):
        label = f"{loc_name[1]} ({loc_name[0]})"
        if loc_name not in old_params:
            yield Change("parameter_added", key, name=label, new=new_params[loc_name].required)
        elif loc_name not in new_params:
            yield Change("parameter_removed", key, name=label, old=old_params[loc_name].required)
        else:
            before, after = old_params[loc_name].as_field(), new_params[loc_name].as_field()
            if before.required != after.required:
                yield Change("parameter_required_changed", key, name=label,
                             old=before.required, new=after.required)
            if before.kind != after.kind:
                yield Change("parameter_type_changed", key, name=label, old=before.kind,
                             new=after.kind)
    models = old.is_model_endpoint or new.is_model_endpoint
    old_variants = {v.key: v for v in old.variants}
    new_variants = {v.key: v for v in new.variants}
    for variant_key in sorted(old_variants.keys() | new_variants.keys(), key=lambda k: k or ""):
        if variant_key not in old_variants:
            added = new_variants[variant_key]
            yield Change("model_added" if models else "variant_added", key, variant_key,
                         new=tuple(sorted(added.required)))
            continue
        if variant_key not in new_variants:
            yield Change("model_removed" if models else "variant_removed", key, variant_key)
            continue
        yield from _variant_changes(key, old_variants[variant_key], new_variants[variant_key])


def _variant_changes(key: str, old: Variant, new: Variant) -> Iterator[Change]:
    before, after = old.field_map, new.field_map
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            yield Change("field_added", key, new.key, name, new=after[name].required)
            continue
        if name not in after:
            yield Change("field_removed", key, old.key, name, old=before[name].required)
            continue
        yield from _field_changes(key, new.key, before[name], after[name])
    if old.known_ratios is not None or new.known_ratios is not None:
        had, has = set(old.known_ratios or ()), set(new.known_ratios or ())
        if has - had:
            yield Change("ratio_added", key, new.key, RATIO_PROPERTY, added=_sorted(has - had))
        if had - has:
            yield Change("ratio_removed", key, new.key, RATIO_PROPERTY, removed=_sorted(had - has))
        if old.known_ratios is not None and new.known_ratios is not None and (
                old.ratios_open != new.ratios_open):
            yield Change("ratios_open_changed", key, new.key, RATIO_PROPERTY,
                         old=old.ratios_open, new=new.ratios_open)


def _field_changes(key: str, variant: str | None, old: Field, new: Field) -> Iterator[Change]:
    if old.required != new.required:
        yield Change("field_required_changed", key, variant, new.name, old=old.required,
                     new=new.required)
    retyped = old.kind != new.kind
    if retyped:
        yield Change("field_type_changed", key, variant, new.name, old=old.kind, new=new.kind)
    before, after = old.bounds(), new.bounds()
    for limit in _LIMITS:
        if before.get(limit) != after.get(limit):
            yield Change("field_limit_changed", key, variant, new.name, limit=limit,
                         old=before.get(limit), new=after.get(limit))
    if new.name == RATIO_PROPERTY:
        return  # ratio values are reported as ratio_added / ratio_removed
    if old.suggestions is not None or new.suggestions is not None:
        # Across a type change a value is the same value when its text is (5 and "5").
        had = {_value_key(v, retyped): v for v in old.suggestions or ()}
        has = {_value_key(v, retyped): v for v in new.suggestions or ()}
        if had.keys() != has.keys():
            yield Change("field_enum_changed", key, variant, new.name,
                         added=_sorted([has[k] for k in has.keys() - had.keys()]),
                         removed=_sorted([had[k] for k in had.keys() - has.keys()]))
        if old.suggestions is not None and new.suggestions is not None and (
                old.open_values != new.open_values):
            yield Change("field_open_changed", key, variant, new.name, old=old.open_values,
                         new=new.open_values)


#: The limits compared one by one (a changed ``pattern`` or ``format`` is not reported).
_LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
           "maxLength", "minItems", "maxItems")


def _value_key(value: Any, by_text: bool) -> str:
    """How enum values are matched: as JSON, or (across a type change) by their text."""
    import json

    if by_text and not isinstance(value, (dict, list)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _sorted(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(values, key=lambda v: (type(v).__name__, str(v))))
