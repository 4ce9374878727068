"""The sandbox checked from outside by schemathesis: generated requests for every operation.

Schemathesis draws requests from the OpenAPI document itself (not from our catalog) and
checks that the sandbox never answers 5xx, and that every documented answer conforms to
its schema and content type. Undocumented statuses (404 for random ids, 400 for the
bodies our pre-flight refuses) are expected of a stateful API and not checked here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sandbox_support import spec_headers

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 2


def _exercise(
    operation: Any, base_url: str, headers: dict[str, str], checks: list[Any]
) -> list[int]:
    """Send a few generated requests for one operation; the statuses seen (raises on failure)."""
    seen: list[int] = []

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers)
        seen.append(response.status_code)
        case.validate_response(response, checks=checks)

    check()
    return seen


def test_schemathesis_finds_no_server_error_or_nonconforming_answer(bundled_spec: Spec) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
    )

    schema = schemathesis.openapi.from_dict(bundled_spec.document.document)
    headers = spec_headers(bundled_spec)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: list[str] = []
    statuses: dict[str, list[int]] = {}
    with Sandbox(spec=bundled_spec, task_seconds=0.0) as sb:
        for result in schema.get_all_operations():
            operation = result.ok()
            try:
                statuses[operation.label] = _exercise(operation, sb.base_url, headers, checks)
            except Exception as exc:  # collect every operation's failure, then fail once
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:400]}")
    assert not failures, "\n".join(failures)
    assert len(statuses) == len(bundled_spec.catalog.operations)
    assert sum(1 for codes in statuses.values() if any(200 <= c < 300 for c in codes)) >= 30
