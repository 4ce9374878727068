"""How a creative command's --ratio meets a model's ratios: closed sets, open enums."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runway_dynamic.catalog import Variant
from runway_dynamic.creative._facts import fit_ratio
from runway_dynamic.spec import Spec


def _variant(ratio: dict[str, Any]) -> Variant:
    branch = {"type": "object", "required": ["model"], "properties": {
        "model": {"const": "m"}, "ratio": ratio}}
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                "paths": {"/v1/text_to_image": {"post": {
                    "requestBody": {"content": {"application/json": {
                        "schema": {"oneOf": [branch]}}}},
                    "responses": {"200": {"description": "ok"}}}}}}
    variant = Spec.from_bytes(json.dumps(document).encode()).catalog.variant(
        "text_to_image", "m")
    assert variant is not None
    return variant


OPEN = {"anyOf": [{"enum": ["1920:1080", "1080:1920"]}, {"type": "string"}]}


@pytest.mark.parametrize(("wanted", "sent", "noted"), [
    ("1080:1920", "1080:1920", False),  # listed: kept
    ("9:16", "1080:1920", True),  # the listed form of the same shape
    ("4:3", "4:3", False),  # not listed, open: sent as given
    (None, None, False),  # nothing asked: the server's default
])
def test_an_open_enum_sends_a_listed_shape_in_its_listed_form(
    wanted: str | None, sent: str | None, noted: bool
) -> None:
    ratio, note = fit_ratio(_variant(OPEN), wanted)
    assert ratio == sent and (note is not None) == noted


def test_a_closed_set_still_takes_the_nearest_accepted_ratio() -> None:
    ratio, note = fit_ratio(_variant({"enum": ["1920:1080", "1080:1920"]}), "4:3")
    assert ratio == "1920:1080" and note is not None and "closest" in note
