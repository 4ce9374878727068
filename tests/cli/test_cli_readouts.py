"""Read-outs worth reading (issue 15 §5), through the real CLI in a subprocess."""

from __future__ import annotations

import json
from typing import Any

from runway_dynamic.spec import Spec


def _model_with_underscore(spec: Spec) -> str:
    found = [m for m in spec.models() if "_" in m]
    assert found, "the spec lists no model id with an underscore"
    return found[0]


def test_a_model_id_typed_with_dashes_is_understood_and_said(run_cli: Any,
                                                             bundled_spec: Spec) -> None:
    model = _model_with_underscore(bundled_spec)
    typed = model.replace("_", "-").upper()
    done = run_cli("models", "schema", typed)
    assert done.code == 0, done.err
    assert done.out.startswith(f"{model}:") and f"model {typed} is {model}" in done.err


def test_models_schema_json_carries_what_the_text_shows(run_cli: Any,
                                                        bundled_spec: Spec) -> None:
    model = _model_with_underscore(bundled_spec)
    done = run_cli("models", "schema", model, "--json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert data["model"] == model and data["endpoints"]
    for endpoint, facts in data["endpoints"].items():
        variant = bundled_spec.catalog.variant(endpoint, model)
        assert variant is not None
        by_name = {f["name"]: f for f in facts["fields"]}
        assert set(by_name) == {f.name for f in variant.fields}
        for field in variant.fields:
            shown = by_name[field.name]
            assert shown["type"] == field.kind and shown["flag"].startswith("--")
            assert shown["required"] is field.required
            if field.choices is not None:
                assert shown["enum"] == list(field.choices)
            if field.has_default:
                assert shown["default"] == field.default
            for limit in ("minimum", "maximum", "maxLength"):
                if limit in field.schema:
                    assert shown[limit] == field.schema[limit]
