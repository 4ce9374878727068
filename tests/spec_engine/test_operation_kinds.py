"""The operation's kind is decided once, in the catalog, and survives the cached index."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runway_dynamic import cache
from runway_dynamic.catalog import (
    ACTION,
    CREATES_RESOURCE,
    CREATES_TASK,
    DELETES,
    LISTS,
    OPERATION_KINDS,
    READS,
    UPDATES,
    Catalog,
    build_catalog,
)
from runway_dynamic.spec import Spec


@pytest.mark.parametrize(("method", "endpoint", "kind", "result"), [
    ("POST", "text_to_video", CREATES_TASK, "tasks/{id}"),   # {id, estimatedCost}
    ("POST", "text_to_image", CREATES_TASK, "tasks/{id}"),
    ("POST", "avatars", CREATES_RESOURCE, "avatars/{id}"),   # has its own GET avatars/{id}
    ("POST", "realtime_sessions", CREATES_RESOURCE, "realtime_sessions/{id}"),
    ("POST", "workflows/{id}", CREATES_RESOURCE, "workflow_invocations/{id}"),
    ("POST", "uploads", ACTION, None),                       # no id in the answer
    ("POST", "voices/preview", ACTION, None),
    ("GET", "tasks/{id}", READS, None),
    ("GET", "organization", READS, None),                    # a collection that does not list
    ("GET", "avatars", LISTS, None),
    ("GET", "routers/{id}/requests", LISTS, None),           # pages with a cursor
    ("PATCH", "avatars/{id}", UPDATES, None),
    ("DELETE", "tasks/{id}", DELETES, None),
], ids=lambda v: v if isinstance(v, str) else None)
def test_kinds_of_the_bundled_spec(bundled_spec: Spec, method: str, endpoint: str, kind: str,
                                   result: str | None) -> None:
    operation = bundled_spec.catalog.operation(endpoint, method)
    assert operation is not None
    assert (operation.kind, operation.result_endpoint) == (kind, result)


def test_only_creates_are_unsafe_to_resend_and_reads_are_reads(bundled_spec: Spec) -> None:
    """``creates`` is exactly the two create kinds here (every POST has a success schema),
    and every create's result endpoint is a GET of the same catalog."""
    catalog = bundled_spec.catalog
    for op in catalog.operations:
        assert op.kind in OPERATION_KINDS
        assert op.creates is (op.kind in (CREATES_TASK, CREATES_RESOURCE)), op
        assert op.is_read is (op.method == "GET"), op
        if op.result_endpoint is not None:
            assert catalog.operation(op.result_endpoint, "GET") is not None


def _document(paths: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths}


def _answer(properties: dict[str, Any] | None) -> dict[str, Any]:
    if properties is None:
        return {"200": {"description": "ok"}}
    return {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": properties}}}}}


_ID = {"id": {"type": "string"}}


def test_kinds_follow_the_spec_shapes_not_names() -> None:
    """A spec without a task reader has tasks whose result endpoint is unknown; a POST whose
    answer the spec does not describe is an action that still counts as creating; an item
    POST with an id and no invocations is a task."""
    catalog = build_catalog(_document({
        "/v1/make": {"post": {"responses": _answer(_ID)}},
        "/v1/things": {"post": {"responses": _answer(_ID)},
                       "get": {"responses": _answer({"items": {"type": "array"}})}},
        "/v1/things/{thingId}": {"get": {"responses": _answer(_ID)},
                                 "post": {"responses": _answer(_ID)},
                                 "put": {"responses": _answer(_ID)}},
        "/v1/ping": {"post": {"responses": _answer(None)}},
        "/v1/stats": {"get": {"parameters": [{"name": "cursor", "in": "query",
                                              "schema": {"type": "string"}}],
                              "responses": _answer({"x": {"type": "integer"}})}},
    }))
    kinds = {(op.method, op.endpoint): (op.kind, op.result_endpoint, op.creates)
             for op in catalog.operations}
    assert kinds == {
        ("POST", "make"): (CREATES_TASK, None, True),
        ("POST", "things"): (CREATES_RESOURCE, "things/{thingId}", True),
        ("GET", "things"): (LISTS, None, False),
        ("GET", "things/{thingId}"): (READS, None, False),
        ("POST", "things/{thingId}"): (CREATES_TASK, None, True),
        ("PUT", "things/{thingId}"): (UPDATES, None, False),
        ("POST", "ping"): (ACTION, None, True),
        ("GET", "stats"): (LISTS, None, False),
    }


def test_kinds_are_serialised_in_the_cached_index(bundled_spec: Spec) -> None:
    """The index on disk carries each kind: a warm load reads it, it does not re-derive it."""
    data = json.loads(json.dumps(bundled_spec.catalog.to_dict()))
    assert {op["kind"] for op in data["operations"]} <= set(OPERATION_KINDS)
    data["operations"][0]["kind"] = ACTION  # what is read back is what was stored
    loaded = Catalog.from_dict(data)
    assert loaded.operations[0].kind == ACTION
    assert [op.result_endpoint for op in loaded.operations[1:]] == [
        op.result_endpoint for op in bundled_spec.catalog.operations[1:]]


def test_an_index_of_the_previous_format_is_rebuilt(bundled_spec: Spec) -> None:
    """An index cached before kinds existed (format 1, no ``kind``) is not trusted."""
    data = bundled_spec.catalog.to_dict()
    data["format"] = 1
    for op in data["operations"]:
        del op["kind"], op["resultEndpoint"]
    with pytest.raises(ValueError):
        Catalog.from_dict(data)
    cache.store_index(bundled_spec.document.index_key, data)
    reloaded = Spec.from_document(bundled_spec.document)
    assert reloaded.catalog.operation("text_to_video", "POST").kind == CREATES_TASK  # type: ignore[union-attr]
