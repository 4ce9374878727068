"""Spec engine: index build (cold) vs warm load, and pre-flight vs peers on one body.

Run: python benchmarks/bench_spec_engine.py [path/to/official-openapi.json [MODEL]]
Peers measured in the same run: orjson/json parsing, jsonschema on the whole ``oneOf``,
openapi-core's request validation (the independent oracle).
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import fmt, median_seconds

from runway_dynamic import cache
from runway_dynamic.catalog import Catalog, build_catalog
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.validation import Validator

REPO = Path(__file__).resolve().parent.parent
OFFICIAL = REPO.parent / "shared" / "spec" / "runway-openapi.json"


def main() -> None:
    official = Path(sys.argv[1]) if len(sys.argv) > 1 else OFFICIAL
    bundled = bundled_spec_path()
    data = bundled.read_bytes()
    document = orjson.loads(data)

    print(f"== index (bundled spec, {len(data) // 1024} KB)")
    parse_orjson = median_seconds(lambda: orjson.loads(data), repeat=15)
    parse_json = median_seconds(lambda: json.loads(data), repeat=15)
    build = median_seconds(lambda: build_catalog(document), repeat=15)
    cold = median_seconds(lambda: Spec.from_bytes(data), repeat=15)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["RUNWAY_CACHE_DIR"] = tmp
        Spec.from_bytes(data, use_cache=True)
        key = Spec.from_bytes(data).document.index_key
        warm = median_seconds(lambda: Spec.from_bytes(data, use_cache=True), repeat=15)
        load_only = median_seconds(
            lambda: Catalog.from_dict(cache.load_index(key) or {}), repeat=15
        )
    print(f"  parse json              {fmt(parse_json)}")
    print(f"  parse orjson            {fmt(parse_orjson)}")
    print(f"  build catalog           {fmt(build)}")
    print(f"  cold (parse+build)      {fmt(cold)}   (target < 100 ms)")
    print(f"  warm (hash+load index)  {fmt(warm)}   ({cold / warm:.1f}x faster than cold)")
    print(f"  index load only         {fmt(load_only)}")

    print("== pre-flight of one text_to_video body (valid, then with 2 problems)")
    spec = Spec.from_bytes(data)
    model = sys.argv[2] if len(sys.argv) > 2 else spec.models("text_to_video")[0]
    variant = spec.catalog.variant("text_to_video", model)
    assert variant is not None
    body = _minimal_body(variant)
    assert not [p for p in spec.preflight("text_to_video", body) if p.is_error], body
    broken = _two_problems(variant, body)
    assert len([p for p in spec.preflight("text_to_video", broken) if p.is_error]) >= 2
    explaining = Validator(spec.catalog, compiled=False)
    print(f"  model {model}; the invalid body: {sorted(set(broken) ^ set(body))} changed")
    rows: list[tuple[str, float, float | None]] = []
    checks: list[tuple[str, Callable[[Any], Any]]] = [
        ("ours (compiled fast path)", lambda b: spec.preflight("text_to_video", b)),
        ("ours + full messages (to_dict)",
         lambda b: [p.to_dict() for p in spec.preflight("text_to_video", b)]),
        ("ours, python-jsonschema only", lambda b: explaining.check("text_to_video", b))]
    for label, check in checks:
        valid = median_seconds(functools.partial(check, body), repeat=9, number=500)
        invalid = median_seconds(functools.partial(check, broken), repeat=9, number=200)
        rows.append((label, valid, invalid))
    ours = rows[0][1]

    import jsonschema_rs
    from jsonschema import Draft202012Validator

    rs = jsonschema_rs.Draft202012Validator(variant.schema)
    rows.append(("jsonschema-rs is_valid, routed branch",
                 median_seconds(lambda: rs.is_valid(body), repeat=9, number=2000), None))
    op = spec.operation("text_to_video")
    assert op is not None
    whole_validator = Draft202012Validator({"oneOf": [v.schema for v in op.variants]})
    rows.append(("jsonschema, whole oneOf",
                 median_seconds(lambda: list(whole_validator.iter_errors(body)), repeat=9,
                                number=50), None))
    try:
        import fastjsonschema

        fast = fastjsonschema.compile(variant.schema)  # note: it writes defaults into input
        rows.append(("fastjsonschema, routed branch",
                     median_seconds(lambda: fast(dict(body)), repeat=9, number=2000), None))
    except ImportError:
        print("  fastjsonschema: not installed, skipped")
    if official.is_file():
        rows.append(("openapi-core validate_request", _openapi_core_timer(
            orjson.loads(official.read_bytes()), body, op.constant_headers), None))
    else:
        print("  openapi-core: official spec not found, skipped")
    print(f"  {'':38} {'valid':>10} {'2 problems':>11}  valid vs ours")
    for label, valid, invalid in rows:
        bad = fmt(invalid) if invalid is not None else "—"
        print(f"  {label:38} {fmt(valid):>10} {bad:>11}  {valid / ours:8.1f}x")


def _two_problems(variant: object, body: dict) -> dict:
    """``body`` with a ratio no model takes and one required field (not the model) gone."""
    broken = dict(body)
    if "ratio" in broken:
        broken["ratio"] = "999:1"
    required = [f.name for f in variant.fields  # type: ignore[attr-defined]
                if f.required and f.name not in ("model", "ratio")]
    if required:
        del broken[required[0]]
    return broken


def _minimal_body(variant: object) -> dict:
    body: dict = {}
    for field in variant.fields:  # type: ignore[attr-defined]
        if not field.required:
            continue
        if field.choices:
            body[field.name] = field.choices[0]
        elif field.kind == "integer":
            body[field.name] = int(field.schema.get("minimum", 1))
        elif field.kind == "string":
            body[field.name] = "a lighthouse at dusk, slow dolly in"
    return body


def _openapi_core_timer(document: dict, body: dict, headers: dict[str, str]) -> float:
    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest

    openapi = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    server = document["servers"][0]["url"]
    request = MockRequest(
        server, "post", "/v1/text_to_video",
        headers={**headers, "Authorization": "Bearer key"},
        data=orjson.dumps(body), content_type="application/json",
    )
    openapi.validate_request(request)
    return median_seconds(lambda: openapi.validate_request(request), repeat=5, number=20)


if __name__ == "__main__":
    main()
