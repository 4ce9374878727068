"""Bad spec input at the library level: one ``SpecError`` whose message is one line naming
the file; and the on-disk index is a cache — unwritable or corrupt, never fatal."""

from __future__ import annotations

import json
import marshal
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schema_strategies import examples

from runway_dynamic import cache, catalog
from runway_dynamic._exceptions import SpecError
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

_OP = {"post": {"requestBody": {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"x": {"$ref": "TARGET"}}}}}},
    "responses": {"200": {"description": "ok"}}}}


def _with_ref(target: str) -> bytes:
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                "paths": {"/v1/thing": json.loads(json.dumps(_OP).replace("TARGET", target))}}
    return orjson.dumps(document)


BAD_FILES: dict[str, bytes | None] = {
    "missing": None,
    "empty": b"",
    "blank": b" \n\t\n",
    "truncated JSON": bundled_spec_path().read_bytes()[:5000],
    "binary garbage": bytes(range(256)) * 4,
    "invalid UTF-8 YAML": b"openapi: 3.1.0\ninfo: \xff\xfe\n",
    "YAML list": b"- openapi\n- 3.1.0\n",
    "YAML scalar": b"just some words\n",
    "broken YAML": b"openapi: [3.1.0\npaths: {\n",
    "no openapi field": b'{"info": {"title": "t"}, "paths": {}}',
    "Swagger 2.0": b'{"swagger": "2.0", "info": {"title": "t"}, "paths": {}}',
    "OpenAPI 4.x": b'{"openapi": "4.0.0", "paths": {}}',
    "OpenAPI 2.x": b"openapi: 2.5.0\npaths: {}\n",
    "paths not a mapping": b'{"openapi": "3.1.0", "paths": [1, 2]}',
    "unresolvable $ref": _with_ref("#/components/schemas/Nowhere"),
    "external $ref": _with_ref("other.yaml#/components/schemas/Thing"),
    "$ref cycle": b'{"openapi": "3.1.0", "paths": {"/a": {"$ref": "#/paths/~1a"}}}',
    "request body not a mapping": b'{"openapi": "3.1.0", "paths": {"/a": {"post": '
                                  b'{"requestBody": 5}}}}',
    "content is a list": b'{"openapi": "3.1.0", "paths": {"/a": {"post": '
                         b'{"requestBody": {"content": [1]}}}}}',
    "properties is a list": b'{"openapi": "3.1.0", "paths": {"/a": {"post": {"requestBody": '
                            b'{"content": {"application/json": {"schema": '
                            b'{"properties": [1]}}}}}}}}',
}


def _assert_one_line_naming(error: SpecError, path: str) -> None:
    text = str(error)
    assert "\n" not in text, text
    assert text.startswith(path + ": "), text
    assert len(text) < 400, text
    assert error.source == path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_spec_file_raises_one_line_spec_error_naming_the_file(
    case: str, tmp_path: Path
) -> None:
    """Each kind of bad file fails with a SpecError: one line, starting with the file's path."""
    path = tmp_path / "spec.json"
    content = BAD_FILES[case]
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SpecError) as caught:
        Spec.load(path)
    _assert_one_line_naming(caught.value, str(path))
    assert caught.value.to_dict()["source"] == str(path)


def test_a_directory_is_not_a_spec_file(tmp_path: Path) -> None:
    """A directory given as the spec is refused by name, not with an OS traceback."""
    with pytest.raises(SpecError) as caught:
        Spec.load(tmp_path)
    _assert_one_line_naming(caught.value, str(tmp_path))


def test_bad_ref_messages_say_which_ref(tmp_path: Path) -> None:
    """Reference errors quote the reference, so the author can find it."""
    for target in ("#/components/schemas/Nowhere", "other.yaml#/components/schemas/Thing"):
        path = tmp_path / "ref.json"
        path.write_bytes(_with_ref(target))
        with pytest.raises(SpecError, match=r"Nowhere|external") as caught:
            Spec.load(path)
        assert target in str(caught.value)


def test_version_errors_name_the_problem() -> None:
    """Swagger 2.0 and OpenAPI 4 are told apart from "not OpenAPI at all"."""
    with pytest.raises(SpecError, match=r"Swagger 2\.0"):
        Spec.from_bytes(BAD_FILES["Swagger 2.0"] or b"", "s.json")
    with pytest.raises(SpecError, match=r"OpenAPI 4\.0\.0 is not supported"):
        Spec.from_bytes(BAD_FILES["OpenAPI 4.x"] or b"", "s.json")


_KEYS = st.sampled_from([
    "paths", "post", "get", "parameters", "requestBody", "content", "application/json",
    "schema", "properties", "oneOf", "anyOf", "allOf", "discriminator", "propertyName",
    "mapping", "required", "type", "enum", "const", "items", "responses", "200", "$ref",
    "name", "in", "info", "servers", "components", "schemas", "model", "ratio", "/v1/x",
])
_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
        ["#/paths", "#/components/schemas/A", "string", "object", "x", "#/"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=25,
)


# A small well-formed document touching every construct the catalog reads; the fuzz test
# replaces one node of it with junk.
_SKELETON: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "https://api.example.test"}],
    "paths": {
        "/v1/gen": {
            "parameters": [{"$ref": "#/components/parameters/Version"}],
            "post": {
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/A"},
                        {"type": "object", "required": ["model"], "properties": {
                            "model": {"type": "string", "const": "b"},
                            "ratio": {"type": "string", "enum": ["16:9", "1:1"]},
                            "img": {"anyOf": [{"type": "string", "pattern": "^https:.*"},
                                              {"type": "string", "pattern": "^data:image/.*",
                                               "maxLength": 99}]},
                        }},
                    ],
                    "discriminator": {"propertyName": "model",
                                      "mapping": {"a": "#/components/schemas/A"}},
                }}}},
                "responses": {"200": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"id": {"type": "string"}}}}}}},
            },
        },
        "/v1/tasks/{id}": {"get": {"parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"$ref": "#/components/responses/Task"}}}},
    },
    "components": {
        "parameters": {"Version": {"name": "X-Runway-Version", "in": "header", "required": True,
                                   "schema": {"type": "string", "const": "2024-11-06"}}},
        "schemas": {"A": {"allOf": [{"type": "object", "properties": {
            "model": {"type": "string"}, "n": {"type": "integer", "minimum": 1}},
            "required": ["model", "n"]}]}},
        "responses": {"Task": {"content": {"application/json": {"schema": {"type": "object"}}}}},
    },
}


def _node_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, sub in items:
        out.append((*prefix, key))
        out.extend(_node_paths(sub, (*prefix, key)))
    return out


_SKELETON_PATHS = [p for p in _node_paths(_SKELETON) if p[:1] != ("openapi",)]


def test_the_fuzz_skeleton_itself_is_well_formed() -> None:
    """The skeleton loads into two operations with models a and b (so junk is the cause)."""
    spec = Spec.from_bytes(orjson.dumps(_SKELETON), "skeleton.json")
    assert spec.models("gen") == ["a", "b"]
    assert spec.ratios("gen", "b") == ["16:9", "1:1"]
    assert spec.preflight("gen", {"model": "a", "n": 2}) == []


@examples(200)
@given(data=st.data(), as_yaml=st.booleans())
def test_any_malformed_openapi_document_loads_or_fails_with_one_line_spec_error(
    data: st.DataObject, as_yaml: bool
) -> None:
    """Junk in place of any node of a good document never escapes as a traceback: the spec
    loads (and its facts derive), or one SpecError line names the file."""
    document = json.loads(json.dumps(_SKELETON))
    for _ in range(data.draw(st.integers(1, 3), label="replacements")):
        paths = _node_paths(document)
        paths = [p for p in paths if p[:1] != ("openapi",)]
        if not paths:
            break
        where = data.draw(st.sampled_from(paths), label="where")
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        parent[where[-1]] = data.draw(_junk, label="junk")
    raw = yaml.safe_dump(document).encode() if as_yaml else orjson.dumps(document)
    try:
        spec = Spec.from_bytes(raw, "junk.yaml")
        spec.catalog.facts()
    except SpecError as exc:
        _assert_one_line_naming(exc, "junk.yaml")


# ---------------------------------------------------------------------------- the cache


def _write_spec(tmp_path: Path) -> Path:
    path = tmp_path / "runway.json"
    path.write_bytes(bundled_spec_path().read_bytes())
    return path


def test_unwritable_cache_dir_still_loads_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a regular file no directory can be made (even as root): load works, with a note."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    monkeypatch.setenv("RUNWAY_CACHE_DIR", str(blocker / "sub"))
    spec = Spec.load(_write_spec(tmp_path))
    assert spec.cache_note is not None
    assert "not cached" in spec.cache_note and str(blocker) in spec.cache_note
    assert "\n" not in spec.cache_note
    assert spec.endpoints()


def test_cold_build_and_warm_load_give_equal_catalogs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second load reads the index (no derivation at all) and equals the first."""
    path = _write_spec(tmp_path)
    cold = Spec.load(path)
    assert cold.cache_note is None
    assert cache.index_path(cold.document.index_key).is_file()

    def no_build(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a warm load must not derive the catalog")

    monkeypatch.setattr("runway_dynamic.spec.build_catalog", no_build)
    warm = Spec.load(path)
    assert warm.catalog.to_dict() == cold.catalog.to_dict()
    assert warm.catalog.facts() == cold.catalog.facts()
    assert warm.catalog.ratio_matrix() == cold.catalog.ratio_matrix()


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_was(tmp_path: Path, enabled: bool) -> None:
    """Loading pauses the cyclic collector (it would walk the new objects for nothing) and
    leaves it as it found it: after a cold load, a warm load and a refused spec alike."""
    import contextlib
    import gc

    path = _write_spec(tmp_path)
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        for load in (lambda: Spec.load(path), lambda: Spec.load(path),
                     lambda: Spec.from_bytes(b"openapi: 2.0\n", "old.yaml")):
            with contextlib.suppress(SpecError):
                load()
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


_CORRUPT = st.one_of(
    st.binary(max_size=64),
    st.just(b""),
    st.just(b'{"sha256": "SHA"'),  # truncated
    st.recursive(st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=4),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.sampled_from(["operations", "format", "openapi", "method",
                                                    "path", "parameters", "body", "variants"]),
                                   inner, max_size=4),
                 max_leaves=12).map(lambda tree: orjson.dumps(
                     {"sha256": "SHA", "format": catalog.CATALOG_FORMAT, "openapi": "3.1.0",
                      **(tree if isinstance(tree, dict) else {"operations": tree})})),
)


@examples(40)
@given(junk=_CORRUPT, with_header=st.booleans())
def test_corrupt_index_is_rebuilt_not_fatal(
    junk: bytes, with_header: bool, tmp_path_factory: Any
) -> None:
    """Whatever bytes sit in the index file, loading never fails and never uses them unless
    they are an index written for this spec: without a matching header (spec digest, sha256
    and payload digest) the index is rebuilt and rewritten; with one, a payload that does
    not decode into a catalog is rebuilt too.
    """
    from runway_dynamic._digest import content_digest

    tmp = tmp_path_factory.mktemp("corrupt")
    path = _write_spec(tmp)
    first = Spec.load(path, use_cache=False)
    key = first.document.index_key
    index = cache.index_path(key)
    index.parent.mkdir(parents=True, exist_ok=True)
    junk = junk.replace(b"SHA", first.sha256.encode())
    try:
        tree = orjson.loads(junk)
    except orjson.JSONDecodeError:
        pass
    else:  # a catalog-like tree: stored the way the index stores one
        junk = marshal.dumps(tree)
    if with_header:
        header = cache.header_line(key, first.sha256, content_digest(junk))
        index.write_bytes(header + b"\n" + junk)
    else:
        index.write_bytes(junk)
    spec = Spec.load(path)
    try:
        if not with_header:
            raise ValueError("no header: never trusted")
        catalog.Catalog.from_dict(marshal.loads(junk)).facts()
    except Exception:  # not ours, or undecodable in any way: must have been rebuilt
        assert spec.catalog.to_dict() == first.catalog.to_dict()
        stored = cache.load_index(key)
        assert stored is not None
        assert catalog.Catalog.from_dict(stored).to_dict() == first.catalog.to_dict()
    else:
        spec.catalog.facts()
