"""Every operation of the spec answers a valid request with a 2xx that conforms to the spec.

Requests are derived from the catalog alone (example bodies and parameters from the
schemas); responses are checked twice from outside: jsonschema against the catalog's
response schema, and openapi-core against the OpenAPI document itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft202012Validator
from sandbox_support import spec_headers

from runway_dynamic.catalog import Operation
from runway_dynamic.naming import endpoint_name
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec
from runway_dynamic.uploads import UPLOADS_ENDPOINT

_ORDER = {"POST": 0, "GET": 2, "PATCH": 3, "PUT": 3, "DELETE": 4}


def _phase(op: Operation) -> tuple[int, int, str]:
    """Creates first (collections, then POSTs on existing items), reads, updates, deletes."""
    has_param = "{" in op.path
    return (_ORDER.get(op.method, 2) + (1 if op.method == "POST" and has_param else 0),
            op.path.count("{"), op.path)


def _existing_id(sb: Sandbox, op: Operation, name: str) -> str:
    """An id the sandbox holds for the collection that ``{name}`` indexes in ``op.path``."""
    collection = endpoint_name(op.path.split("/{" + name + "}")[0])
    records = list(sb.state.resources.get(collection, {}))
    tasks = [t.id for t in sb.state.tasks.values() if t.collection == collection]
    found = records + tasks
    assert found, f"nothing in {collection!r} to address {op.method} {op.path} with"
    return found[-1]


Planned = tuple[Operation, str | None, str, dict[str, Any], Any]


def _requests(spec: Spec, sb: Sandbox) -> Iterator[Planned]:
    for op in sorted(spec.catalog.operations, key=_phase):
        query = {p.name: example(p.schema) for p in op.params("query")
                 if p.required and "default" not in p.schema}
        variants = op.variants or (None,)
        for variant in variants:
            path = op.path
            for name in [p.name for p in op.params("path")]:
                path = path.replace("{" + name + "}", quote(_existing_id(sb, op, name), safe=""))
            body = example(variant.schema) if variant is not None else None
            if op.endpoint == UPLOADS_ENDPOINT and isinstance(body, dict):
                body["filename"] = "example.png"  # an upload must name a media file
            yield op, variant.key if variant is not None else None, path, query, body


def _check_schema(op: Operation, response: httpx.Response) -> None:
    schema = op.responses.get(str(response.status_code))
    if schema is None:
        assert response.content == b"", f"{op.method} {op.path}: the spec gives no body"
        return
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
              for e in validator.iter_errors(response.json())]
    assert not errors, f"{op.method} {op.path}: {errors[:3]}"


def _without_discriminators(node: Any) -> Any:
    """The document minus ``discriminator`` hints (validation under oneOf is unchanged).

    openapi-core resolves a discriminator without ``mapping`` as ``#/components/schemas/
    <value>``; this spec inlines every branch, so that lookup fails on valid data.
    """
    if isinstance(node, dict):
        return {k: _without_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_without_discriminators(v) for v in node]
    return node


def _openapi_core(document: dict[str, Any]) -> Any:
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_dict(_without_discriminators(document),
                             config=Config(spec_validator_cls=None))


def _check_openapi_core(openapi: Any, spec: Spec, op: Operation, path: str,
                        query: dict[str, Any], body: Any, response: httpx.Response) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    request = MockRequest(
        spec.catalog.servers[0], op.method.lower(), path, args=query,
        headers=spec_headers(spec), data=httpx.Request("POST", "http://x", json=body).content
        if body is not None else None,
    )
    result = MockResponse(response.content, status_code=response.status_code,
                          headers=dict(response.headers),
                          content_type=response.headers.get("content-type", "application/json"))
    openapi.validate_response(request, result)


def _run_every_operation(spec: Spec, document: dict[str, Any]) -> set[tuple[str, str]]:
    openapi = _openapi_core(document)
    seen: set[tuple[str, str]] = set()
    with Sandbox(spec=spec, task_seconds=0.0) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(spec), timeout=10
    ) as client:
        for op, key, path, query, body in _requests(spec, sb):
            response = client.request(op.method, path, params=query, json=body)
            assert 200 <= response.status_code < 300, (
                f"{op.method} {path} ({key}): {response.status_code} {response.text[:500]}")
            _check_schema(op, response)
            _check_openapi_core(openapi, spec, op, path, query, body, response)
            seen.add((op.method, op.path))
    return seen


def test_every_operation_of_the_bundled_spec_answers_2xx_conforming_to_the_spec(
    bundled_spec: Spec,
) -> None:
    seen = _run_every_operation(bundled_spec, bundled_spec.document.document)
    assert seen == {(op.method, op.path) for op in bundled_spec.catalog.operations}


def test_every_operation_of_the_official_spec_conforms_to_the_official_document(
    official_spec: Spec,
) -> None:
    """A sandbox built from Runway's own document satisfies openapi-core reading that document."""
    seen = _run_every_operation(official_spec, official_spec.document.document)
    assert len(seen) == len(official_spec.catalog.operations)


@pytest.mark.parametrize("status", ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED",
                                    "THROTTLED"])
def test_every_task_state_conforms_to_the_task_schema(bundled_spec: Spec, status: str) -> None:
    """The task view in each state validates against GET /v1/tasks/{id}'s schema."""
    faults = {"FAILED": ["task-fail=INTERNAL.BAD_OUTPUT.CODE01"], "THROTTLED": ["task=throttled:5"]}
    seconds = {"PENDING": 100.0, "RUNNING": 0.5, "CANCELLED": 100.0}.get(status, 0.0)
    op = bundled_spec.catalog.operation("tasks/{id}", "GET")
    assert op is not None
    with Sandbox(spec=bundled_spec, task_seconds=seconds, faults=faults.get(status)) as sb, \
            httpx.Client(base_url=sb.base_url, headers=spec_headers(bundled_spec)) as client:
        body = example(bundled_spec.catalog.variant("text_to_image", "gen4_image").schema)
        task_id = client.post("/v1/text_to_image", json=body).json()["id"]
        if status == "RUNNING":
            sb.state.tasks[task_id].created -= 0.3
        if status == "CANCELLED":
            assert client.delete(f"/v1/tasks/{task_id}").status_code == 204
        response = client.get(f"/v1/tasks/{task_id}")
        assert response.json()["status"] == status
        _check_schema(op, response)
