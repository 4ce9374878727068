"""Golden output of the real CLI (subprocess) on the bundled spec.

Regenerate with ``UPDATE_GOLDEN=1 pytest tests/cli`` and review the diff by eye: the files
are the CLI's contract with people and scripts.
"""

from __future__ import annotations

import json

import pytest
from cli_support import check_golden

from runway_dynamic.spec import Spec

CASES = [
    ("models.txt", ["models"], 0),
    ("models.json", ["models", "--json"], 0),
    ("models_schema_gen4.5.txt", ["models", "schema", "gen4.5"], 0),
    ("models_schema_gen4.5.json", ["models", "schema", "gen4.5", "--json"], 0),
    ("models_ratios.txt", ["models", "ratios"], 0),
    ("models_ratios_1280x720.txt", ["models", "ratios", "1280:720"], 0),
]


@pytest.mark.parametrize(("name", "args", "code"), CASES, ids=[c[0] for c in CASES])
def test_golden_output(run_cli, name: str, args: list[str], code: int) -> None:
    result = run_cli(*args)
    assert result.code == code, result.err
    assert result.err == ""
    check_golden(name, result.out)


PREFLIGHT = ["call", "text_to_video", "--model", "gen4.5", "--prompt-text", "a cat",
             "--ratio", "999:1", "--dry-run"]


def test_preflight_golden_text(run_cli) -> None:
    result = run_cli(*PREFLIGHT)
    assert result.code == 2
    assert result.out == ""
    check_golden("preflight_text_to_video.txt", result.err)


def test_preflight_golden_json(run_cli) -> None:
    result = run_cli("--json", *PREFLIGHT)
    assert result.code == 2
    assert result.out == ""
    payload = json.loads(result.err)
    assert payload["error"] == "PreflightError"
    assert [p["field"] for p in payload["problems"]] == ["duration", "ratio"]
    check_golden("preflight_text_to_video.json", json.dumps(payload, indent=2) + "\n")


def test_preflight_wrong_endpoint_golden(run_cli) -> None:
    result = run_cli("call", "text_to_video", "--model", "aleph2", "--prompt-text", "x",
                     "--dry-run")
    assert result.code == 2
    check_golden("preflight_wrong_endpoint.txt", result.err)


def test_unknown_model_exits_1_with_closest_ids(run_cli) -> None:
    result = run_cli("models", "schema", "gen45")
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "gen4.5" in result.err and "Traceback" not in result.err


# ---- the goldens say what the catalog says (so a wrong golden cannot be recorded)


def test_schema_json_is_exactly_the_catalog(run_cli, bundled_spec: Spec) -> None:
    result = run_cli("models", "schema", "gen4.5", "--json")
    data = json.loads(result.out)
    catalog = bundled_spec.catalog
    expected = {
        endpoint: {
            "method": catalog.model_operation(endpoint).method,  # type: ignore[union-attr]
            "required": sorted(catalog.variant(endpoint, "gen4.5").required),
            "optional": sorted(catalog.variant(endpoint, "gen4.5").optional),
            "ratios": sorted(catalog.variant(endpoint, "gen4.5").known_ratios or ()),
            "ratiosOpen": catalog.variant(endpoint, "gen4.5").ratios_open,
            "fields": [f.to_dict() for f in sorted(catalog.variant(endpoint, "gen4.5").fields,
                                                   key=lambda f: f.name)],
        }
        for endpoint in catalog.endpoints_for("gen4.5")
    }
    assert data == {"model": "gen4.5", "endpoints": expected}
    assert list(data) == ["model", "endpoints"]
    for entry in data["endpoints"].values():
        assert list(entry) == ["method", "required", "optional", "ratios", "ratiosOpen",
                               "fields"]
        assert "model" in entry["required"]


def test_schema_json_of_a_model_without_ratio_enum_has_empty_ratios(run_cli,
                                                                    bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    model = next(m for m in catalog.models() for e in catalog.endpoints_for(m)
                 if catalog.ratios(e, m) is None)
    data = json.loads(run_cli("models", "schema", model, "--json").out)
    assert any(entry["ratios"] == [] for entry in data["endpoints"].values())


def test_schema_text_lists_every_field_with_its_flag(run_cli, bundled_spec: Spec) -> None:
    from runway_dynamic.cli.call import command_options

    text = run_cli("models", "schema", "gen4.5").out
    catalog = bundled_spec.catalog
    required_union = sorted({n for e in catalog.endpoints_for("gen4.5")
                             for n in catalog.variant(e, "gen4.5").required})
    head = text.splitlines()[1]
    assert head.startswith("required: ")
    assert [part.split(" (")[0] for part in head[len("required: "):].split(", ")] == required_union
    for endpoint in catalog.endpoints_for("gen4.5"):
        variant = catalog.variant(endpoint, "gen4.5")
        section = text.split(f"POST {endpoint}\n")[1].split("\n\n")[0]
        options = command_options(catalog.model_operation(endpoint))
        for field in variant.fields:
            assert any(line.split()[:2] == [field.name, options.flag_for(field.name)]
                       for line in section.splitlines()), field.name
        assert f"  ratios: {', '.join(sorted(variant.ratios))}" in section


def test_models_json_is_the_catalog(run_cli, bundled_spec: Spec) -> None:
    data = json.loads(run_cli("models", "--json").out)
    catalog = bundled_spec.catalog
    assert data["endpoints"] == {e: catalog.models(e) for e in catalog.endpoints()}
    assert list(data["commands"]) == catalog.endpoints()


def test_ratios_json_matrix_and_lookup(run_cli, bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    matrix = json.loads(run_cli("models", "ratios", "--json").out)["endpoints"]
    for endpoint in catalog.endpoints():
        for model in catalog.models(endpoint):
            assert matrix[endpoint][model] == sorted(catalog.ratios(endpoint, model) or ())
    lookup = json.loads(run_cli("models", "ratios", "1280:720", "--json").out)
    assert lookup["endpoints"] == {
        e: sorted(ms) for e, ms in catalog.models_accepting("1280:720").items()}


def test_ratio_nobody_accepts_names_the_closest(run_cli) -> None:
    result = run_cli("models", "ratios", "1000:1001")
    assert result.code == 1
    assert "closest ratios:" in result.err
    data = json.loads(run_cli("models", "ratios", "1000:1001", "--json").out)
    assert data["endpoints"] == {} and data["closest"]
