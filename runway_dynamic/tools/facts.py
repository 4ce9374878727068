"""Model facts for agents: one model's fields per endpoint, and the overview of all models.

Answers from the local catalog; nothing is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import MODEL_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import Catalog, Variant

if TYPE_CHECKING:
    from runway_dynamic.spec import Spec


def catalog_of(spec: Spec | Catalog) -> Catalog:
    return spec if isinstance(spec, Catalog) else spec.catalog


def model_schema(spec: Spec | Catalog, model: str, endpoint: str | None = None) -> dict[str, Any]:
    """Per endpoint serving ``model``: required and optional fields, their facts, ratios."""
    catalog = catalog_of(spec)
    serving = catalog.endpoints_for(model)
    if not serving:
        near = catalog.closest_models(model)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UsageError(f"unknown model {model!r}{hint}")
    if endpoint is not None:
        if endpoint not in serving:
            raise UsageError(
                f"model {model!r} is not served by {endpoint!r}; it is served by "
                f"{', '.join(serving)}"
            )
        serving = [endpoint]
    out: dict[str, Any] = {"model": model, "endpoints": {}}
    for name in serving:
        variant = catalog.variant(name, model)
        if variant is not None:
            out["endpoints"][name] = variant_summary(variant)
    return out


def variant_summary(variant: Variant) -> dict[str, Any]:
    """One (endpoint, model): required/optional names, ratios and each field's facts."""
    fields = {}
    for f in variant.fields:
        if f.name == MODEL_PROPERTY:
            continue
        facts = f.to_dict()
        facts.pop("name", None)
        fields[f.name] = facts
    return {
        "required": [n for n in variant.required if n != MODEL_PROPERTY],
        "optional": [n for n in variant.optional if n != MODEL_PROPERTY],
        "ratios": list(variant.ratios) if variant.ratios is not None else None,
        "fields": fields,
    }


def models_overview(spec: Spec | Catalog) -> dict[str, Any]:
    """The ``runway://models`` resource: endpoints → models, and per model its schemas."""
    catalog = catalog_of(spec)
    endpoints = {name: catalog.models(name) for name in catalog.endpoints()}
    models: dict[str, Any] = {}
    for model in catalog.models():
        per_endpoint = {}
        for name in catalog.endpoints_for(model):
            variant = catalog.variant(name, model)
            if variant is None:  # pragma: no cover - endpoints_for lists serving endpoints
                continue
            summary = variant_summary(variant)
            per_endpoint[name] = {k: summary[k] for k in ("required", "optional", "ratios")}
        models[model] = {"endpoints": per_endpoint}
    return {"apiVersion": catalog.api_version, "endpoints": endpoints, "models": models}
