"""Fixtures for the client tests: the fake API, the two-kind harness, a valid body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from client_fakes import FakeRunway, Harness

from runway_dynamic.spec import Spec


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeRunway:
    return FakeRunway()


@pytest.fixture
def harness(client_kind: str, fake: FakeRunway, bundled_spec: Spec) -> Iterator[Any]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        h = Harness(client_kind, fake, bundled_spec, **options)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture
def image_body(bundled_spec: Spec) -> dict[str, Any]:
    """A valid text_to_image body for the first model needing only a prompt and a ratio."""
    model = next(
        m
        for m in bundled_spec.models("text_to_image")
        if {f.name for f in bundled_spec.fields("text_to_image", m)["required"]}
        <= {"model", "promptText", "ratio"}
    )
    ratios = bundled_spec.ratios("text_to_image", model)
    assert ratios
    body = {"model": model, "promptText": "a lighthouse at dusk", "ratio": ratios[0]}
    assert [p for p in bundled_spec.preflight("text_to_image", body) if p.is_error] == []
    return body
