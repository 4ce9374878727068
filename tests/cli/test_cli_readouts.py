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
            assert shown["type"] == field.kind
            assert shown["required"] is field.required
            if field.choices is not None:
                assert shown["enum"] == list(field.choices)
            if field.has_default:
                assert shown["default"] == field.default
            for limit in ("minimum", "maximum", "maxLength"):
                if limit in field.schema:
                    assert shown[limit] == field.schema[limit]


def test_models_wraps_at_model_boundaries_and_names_each_command(run_cli: Any,
                                                                 bundled_spec: Spec) -> None:
    done = run_cli("models", env={"COLUMNS": "200"})  # never wider than 80, even so
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    catalog = bundled_spec.catalog
    headers = [line for line in lines if not line.startswith(" ")]
    assert [h.split(" ")[0] for h in headers] == catalog.endpoints()
    for endpoint in catalog.endpoints():
        at = lines.index(next(h for h in headers if h.startswith(endpoint + " ")))
        block = []
        for line in lines[at + 1:]:
            if not line.startswith(" "):
                break
            block.append(line.strip())
        # the wrapped lines are exactly the model ids, whole, in the spec's order
        assert ", ".join(block).replace(",,", ",").split(", ") == catalog.models(endpoint)
        command = lines[at][len(endpoint) + 1:].removeprefix("(runway ").removesuffix(")")
        helped = run_cli(*command.split(), "--help")
        assert helped.code == 0, (endpoint, command, helped.err)
    as_json = json.loads(run_cli("models", "--json").out)
    assert set(as_json["commands"]) == set(catalog.endpoints())


def test_account_summarises_use_and_limits_and_all_gives_the_whole_answer(
        run_cli: Any, bundled_spec: Spec) -> None:
    from runway_dynamic.sandbox import Sandbox

    endpoint = "text_to_image"
    simple = [(m, v) for m in bundled_spec.catalog.models(endpoint)
              if (v := bundled_spec.catalog.variant(endpoint, m)) is not None
              and set(v.required) <= {"model", "promptText", "ratio"} and v.ratios]
    assert simple, "no text_to_image model takes a prompt and a ratio alone"
    model, variant = simple[0]
    ratio = variant.ratios[0]  # type: ignore[index]
    with Sandbox(spec=bundled_spec, task_seconds=0.05) as sandbox:
        with sandbox.client() as client:
            for _ in range(2):
                client.create_task(endpoint, {"model": model, "promptText": "a lamp",
                                              "ratio": ratio})
        env = {"RUNWAY_BASE_URL": sandbox.base_url, "RUNWAY_API_KEY": "key-for-the-test"}
        summary = run_cli("account", env=env)
        assert summary.code == 0, summary.err
        lines = summary.out.splitlines()
        assert any(line.startswith("credit balance") for line in lines), summary.out
        row = next(line for line in lines if line.strip().startswith(model + " "))
        assert "2 of " in row and " left)" in row, row
        assert any("in use" in line for line in lines) and "--all" in lines[-1]
        assert len(lines) < 15, "a summary, not the whole tree"

        whole = run_cli("account", "--all", env=env)
        full = run_cli("account", "--json", env=env)
        assert whole.code == full.code == 0
        assert json.loads(whole.out) == json.loads(full.out)
        data = json.loads(full.out)
        assert len(data["tier"]["models"]) > 1 and data["usage"]["models"][model]
