"""Our client against outside mock servers (Steady, Prism) serving the official spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runway_dynamic import AuthenticationError, ConfigError, RunwayClient
from runway_dynamic._exceptions import BadRequestError
from runway_dynamic.catalog import Variant, iter_variants
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec
from runway_dynamic.validation import errors

from .conftest import peer_spec

KEY = "key_peer_test_0123456789abcdef"


@pytest.fixture(scope="module")
def spec() -> Spec:
    path = peer_spec()
    return Spec.from_bytes(path.read_bytes(), str(path))


def valid_body(variant: Variant) -> dict[str, Any]:
    body = example(variant.schema)
    assert isinstance(body, dict)
    return body


def creates_a_task(spec: Spec, endpoint: str) -> bool:
    """Whether the endpoint answers with a task (``id``): most model endpoints do, but not
    every one (voices/preview answers with the preview itself)."""
    op = spec.operation(endpoint, "POST")
    success = op.success_schema() if op is not None else None
    return "id" in ((success or {}).get("properties") or {})


def cases(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, endpoint, body): one valid body per variant, and mutations of it."""
    catalog = spec.catalog
    for variant in iter_variants(catalog):
        body = valid_body(variant)
        yield f"{variant.endpoint}/{variant.key}/valid", variant.endpoint, body
        for name in variant.required:
            if name != "model":
                yield (f"{variant.endpoint}/{variant.key}/drop-{name}", variant.endpoint,
                       {k: v for k, v in body.items() if k != name})
                break
        if variant.ratios:
            yield (f"{variant.endpoint}/{variant.key}/bad-ratio", variant.endpoint,
                   {**body, "ratio": "7:3"})
        foreign = next(
            (m for m in catalog.models() if m not in catalog.models(variant.endpoint)), None
        )
        if foreign is not None:
            yield (f"{variant.endpoint}/{variant.key}/wrong-endpoint", variant.endpoint,
                   {**body, "model": foreign})


def test_every_valid_variant_body_is_accepted_by_steady(spec: Spec, steady_url: str) -> None:
    """A body our pre-flight accepts, for every (endpoint, model), gets a 2xx from Steady."""
    with RunwayClient(KEY, base_url=steady_url, spec=spec, preflight=True, max_retries=0) as client:
        for variant in iter_variants(spec.catalog):
            body = valid_body(variant)
            assert not errors(spec.preflight(variant.endpoint, body)), (variant.key, body)
            answer = client.request(variant.endpoint, method="POST", body=body)
            assert isinstance(answer, dict), (variant.endpoint, variant.key)
            if creates_a_task(spec, variant.endpoint):
                assert "id" in answer, (variant.endpoint, variant.key)


def test_steady_verdicts_agree_with_preflight(spec: Spec, steady_url: str) -> None:
    """With pre-flight off, Steady rejects (400) exactly the bodies our pre-flight rejects."""
    disagreements = []
    checked = 0
    client = RunwayClient(KEY, base_url=steady_url, spec=spec, preflight=False, max_retries=0)
    with client:
        for label, endpoint, body in cases(spec):
            ours_reject = bool(errors(spec.preflight(endpoint, body)))
            try:
                client.request(endpoint, method="POST", body=body)
                theirs_reject = False
            except BadRequestError:
                theirs_reject = True
            checked += 1
            if ours_reject != theirs_reject:
                disagreements.append(f"{label}: ours={ours_reject} steady={theirs_reject}")
    assert checked > 100
    assert not disagreements, "\n".join(disagreements)


def test_prism_accepts_one_valid_body_per_endpoint(spec: Spec, prism_url: str) -> None:
    """Prism, a second independent mock, answers our requests with 2xx."""
    seen: set[str] = set()
    with RunwayClient(KEY, base_url=prism_url, spec=spec, max_retries=0) as client:
        for variant in iter_variants(spec.catalog):
            if variant.endpoint in seen:
                continue
            seen.add(variant.endpoint)
            answer = client.request(variant.endpoint, method="POST", body=valid_body(variant))
            assert isinstance(answer, dict)
            if creates_a_task(spec, variant.endpoint):
                task = client.tasks.get(answer["id"])
                assert task.id
    assert seen == set(spec.endpoints())


def test_prism_401_without_key_is_our_authentication_error(spec: Spec, prism_url: str) -> None:
    """Prism answers 401 to a request with no Authorization; our client maps it to
    AuthenticationError without echoing any key. With no key anywhere, our client refuses
    before sending (ConfigError)."""

    def strip_auth(request: httpx.Request) -> None:
        del request.headers["Authorization"]

    http = httpx.Client(event_hooks={"request": [strip_auth]})
    client = RunwayClient(KEY, base_url=prism_url, spec=spec, http_client=http, max_retries=0)
    with client, pytest.raises(AuthenticationError) as caught:
        client.request("organization", method="GET")
    assert caught.value.status_code == 401
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)

    with pytest.raises(ConfigError) as missing:
        RunwayClient(base_url=prism_url, spec=spec).request("organization", method="GET")
    assert "RUNWAY_API_KEY" in str(missing.value)
