"""Helpers shared by the sandbox tests."""

from __future__ import annotations

from runway_dynamic.spec import Spec

API_KEY = "sandbox-test-key-0000"


def spec_headers(spec: Spec) -> dict[str, str]:
    """The headers every API call needs: a key and the headers the spec pins."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    for op in spec.catalog.operations:
        headers.update(op.constant_headers)
    return headers
