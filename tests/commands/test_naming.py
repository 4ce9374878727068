"""The name rules: resource commands and the command tables (cli/_command_names.py), short
aliases (naming.py)."""

from __future__ import annotations

import pytest

from runway_dynamic.cli._command_names import (
    GENERATE_KINDS,
    GENERATION_COMMANDS,
    REFERENCE_ALIASES,
    command_names,
)
from runway_dynamic.naming import short_alias, short_aliases
from runway_dynamic.spec import Spec


def _names(spec: Spec) -> dict[tuple[str, str], tuple[str, str]]:
    return command_names((op.method, op.endpoint, [p.name for p in op.params("query")])
                         for op in spec.catalog.operations)


def test_command_names_are_one_to_one_over_the_bundled_spec(bundled_spec: Spec) -> None:
    names = _names(bundled_spec)
    assert len(names) == len(bundled_spec.catalog.operations) == 64
    assert len(set(names.values())) == len(names)


def test_command_names_are_one_to_one_over_the_official_spec(official_spec: Spec) -> None:
    names = _names(official_spec)
    assert len(set(names.values())) == len(names) == len(official_spec.catalog.operations)


@pytest.mark.parametrize(("method", "endpoint", "query", "expected"), [
    ("GET", "avatars", ["cursor", "limit"], ("avatars", "list")),
    ("POST", "avatars", [], ("avatars", "create")),
    ("GET", "avatars/{id}", [], ("avatars", "get")),
    ("PATCH", "avatars/{id}", [], ("avatars", "update")),
    ("DELETE", "avatars/{id}", [], ("avatars", "delete")),
    ("POST", "voices/preview", [], ("voices", "preview")),
    ("GET", "routers/{id}/requests", ["cursor"], ("routers", "requests")),
    ("POST", "workflows/{id}", [], ("workflows", "run")),
    ("GET", "workflows", [], ("workflows", "list")),
    ("GET", "organization", [], ("organization", "get")),
    ("POST", "organization/usage", [], ("organization", "usage")),
    ("POST", "recipes/product_ad", [], ("recipes", "product-ad")),
    ("GET", "avatar_usage", ["startDate"], ("avatar-usage", "get")),
    ("GET", "organization/webapp/audit_logs/{eventId}", [],
     ("organization", "webapp-audit-logs-get")),
], ids=lambda v: v if isinstance(v, str) else None)
def test_command_name_rules_on_the_bundled_spec(bundled_spec: Spec, method: str, endpoint: str,
                                                query: list[str],
                                                expected: tuple[str, str]) -> None:
    assert _names(bundled_spec)[(method, endpoint)] == expected


def test_collisions_get_a_method_suffix_and_several_methods_on_an_action_get_verbs() -> None:
    names = command_names([
        ("GET", "voices/preview", []), ("POST", "voices/preview", []),
        ("PUT", "things/{id}", []), ("PATCH", "things/{id}", []),
        ("GET", "a_b", []), ("GET", "a-b", []),
    ])
    assert names[("GET", "voices/preview")] == ("voices", "preview-get")
    assert names[("POST", "voices/preview")] == ("voices", "preview-create")
    assert names[("PUT", "things/{id}")] == ("things", "replace")
    assert names[("PATCH", "things/{id}")] == ("things", "update")
    assert names[("GET", "a_b")] == ("a-b", "get-get-1")
    assert names[("GET", "a-b")] == ("a-b", "get-get-2")
    assert len(set(names.values())) == len(names)


def test_overrides_replace_a_derived_name() -> None:
    names = command_names([("GET", "things", [])],
                          overrides={("GET", "things"): ("things", "show")})
    assert names == {("GET", "things"): ("things", "show")}


@pytest.mark.parametrize(("field", "alias"), [
    ("promptText", "prompt"), ("promptImage", "image"), ("promptVideo", "video"),
    ("videoUri", "video"), ("audioUri", "audio"), ("imageUri", "image"),
    ("negativePrompt", None), ("ratio", None), ("referenceImages", None),
    ("contentModeration", None), ("promptTextExtra", None),
])
def test_short_alias_rule(field: str, alias: str | None) -> None:
    """One rule: second word Text/Uri/Url → the first word; else first word prompt → the second."""
    assert short_alias(field) == alias


def test_short_aliases_drop_taken_names_and_names_ambiguous_within_one_variant() -> None:
    found = short_aliases(
        [["videoUri", "promptText"], ["promptVideo", "promptText", "audio"],
         ["imageUri", "promptImage"]],
        taken=["audio", "--dry-run"],
    )
    assert found == {"video": ("videoUri", "promptVideo"), "prompt": ("promptText",)}


def test_a_list_field_named_as_a_plural_gets_its_singular_unless_taken_or_short() -> None:
    found = short_aliases(
        [["referenceImages", "keyframes", "tags", "address", "promptImages"],
         ["referenceImages", "references"]],
        taken=["--tag"], lists={"referenceImages", "keyframes", "tags", "address", "references",
                                "promptImages"},
    )
    assert found == {"reference-image": ("referenceImages",), "keyframe": ("keyframes",),
                     "images": ("promptImages",), "reference": ("references",)}
    assert short_aliases([["referenceImages"]], taken=[]) == {}  # not a list: no singular


def test_reference_aliases_and_generation_tables_point_at_the_bundled_spec(
    bundled_spec: Spec,
) -> None:
    names = set(_names(bundled_spec).values())
    for alias, target in REFERENCE_ALIASES.items():
        assert target in names, alias
    for endpoint in GENERATION_COMMANDS.values():
        assert endpoint in bundled_spec.catalog.endpoints()
    assert set(GENERATE_KINDS.values()) <= set(GENERATION_COMMANDS)
