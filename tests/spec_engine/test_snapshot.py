"""The bundled facts-only snapshot derives exactly the catalog of the official spec."""

from __future__ import annotations

import orjson

from runway_dynamic.catalog import build_catalog
from runway_dynamic.pack import pack_document
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec


def test_bundled_snapshot_derives_the_official_catalog(
    official_spec: Spec, bundled_spec: Spec
) -> None:
    ours = bundled_spec.catalog.to_dict()
    theirs = official_spec.catalog.to_dict()
    ours.pop("sha256"), theirs.pop("sha256")
    assert ours == theirs


def test_bundled_snapshot_is_what_pack_writes_today(official_spec: Spec) -> None:
    packed = pack_document(official_spec.document.document)
    on_disk = orjson.loads(bundled_spec_path().read_bytes())
    assert packed == on_disk, "spec/runway.json is stale: run `runway spec pack` again"


def test_snapshot_carries_no_prose(bundled_spec: Spec) -> None:
    text = bundled_spec_path().read_text()
    for key in ('"summary"', '"example"', '"examples"', '"x-codeSamples"', '"externalDocs"'):
        assert key not in text
    # "description"/"title" may only appear as property names (keys of a properties map).
    document = orjson.loads(text)

    def walk(node: object, in_properties: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "title") and not in_properties:
                    assert not isinstance(value, str), f"prose key {key!r} kept"
                walk(value, key == "properties" and not in_properties)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)

    document.pop("info")  # keeps the API's title and version only
    walk(document, False)


def test_official_counts(official_spec: Spec) -> None:
    """Facts measured on the snapshot: 64 operations, 15 model endpoints, 33 models, 51
    (endpoint, model) pairs. (FACTS.md says 14/31/49: it was measured before a body whose
    ``model`` is ``enum: [a, b]`` counted as serving a and b; voices/preview is one.)"""
    summary = official_spec.catalog.summary()
    assert summary["operations"] == 64
    assert summary["endpoints"] == 15
    assert summary["models"] == 33
    assert summary["variants"] == 51
    assert official_spec.models("voices/preview") == ["eleven_ttv_v3",
                                                      "eleven_multilingual_ttv_v2"]
    assert build_catalog(official_spec.document.document).endpoints() == official_spec.endpoints()
