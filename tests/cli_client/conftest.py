"""Fixtures for the CLI-against-sandbox tests: a running sandbox and the real ``runway``.

Every run goes through a subprocess (``python -m runway_dynamic``) with ``RUNWAY_BASE_URL``
pointing at the sandbox and the key in ``RUNWAY_API_KEY``; each run asserts the key
appears in neither stdout nor stderr, so "the key is never printed" is checked everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_client_support import Result, Runner, run_cli

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.2) as sb:
        yield sb


@pytest.fixture
def runway(sandbox: Sandbox) -> Runner:
    """``runway(*args, env=None, input=None, key=True)`` against the test's sandbox."""

    def runner(*args: str, env: dict[str, str] | None = None, input: str | None = None,
               key: bool = True) -> Result:
        return run_cli(sandbox, args, env, input, key)

    return runner


@pytest.fixture
def runway_offline() -> Runner:
    """The CLI with no sandbox and no base URL set (``--sandbox`` runs, auth, errors)."""

    def runner(*args: str, env: dict[str, str] | None = None, input: str | None = None,
               key: bool = True) -> Result:
        return run_cli(None, args, env, input, key)

    return runner


@pytest.fixture
def image_args(bundled_spec: Spec) -> list[str]:
    """Flags of a valid text_to_image call, for a model needing only a prompt and a ratio."""
    for model in bundled_spec.models("text_to_image"):
        required = {f.name for f in bundled_spec.fields("text_to_image", model)["required"]}
        ratios = bundled_spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return ["--model", model, "--prompt-text", "a lighthouse", "--ratio", ratios[0]]
    pytest.skip("no simple text_to_image model in the bundled spec")
