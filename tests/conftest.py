"""Shared fixtures: a clean environment per test, and the specs every suite uses."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_SPEC = REPO.parent / "shared" / "spec" / "runway-openapi.json"

# A suite started in the background by a non-interactive shell (`pytest &`, `nohup`) inherits
# SIGINT ignored, and so would every CLI it starts: the Ctrl-C tests would then see a CLI
# that cannot be interrupted. A handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def clean_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No RUNWAY_* / RUNWAYML_* leaks in; HOME, cache and config dirs point at tmp."""
    for name in list(os.environ):
        if name.startswith(("RUNWAY_", "RUNWAYML_")):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("RUNWAY_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("RUNWAY_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("RUNWAY_DATA_DIR", str(home / "data"))
    monkeypatch.chdir(home)
    yield


@pytest.fixture(scope="session")
def bundled_spec() -> Spec:
    """The facts-only snapshot shipped with the package (no cache: a pure build)."""
    return Spec.from_bytes(bundled_spec_path().read_bytes(), str(bundled_spec_path()))


@pytest.fixture(scope="session")
def official_spec() -> Spec:
    """Runway's official snapshot beside the repo; tests needing it skip when it is absent."""
    if not OFFICIAL_SPEC.is_file():
        pytest.skip("../shared/spec/runway-openapi.json is not present")
    return Spec.from_bytes(OFFICIAL_SPEC.read_bytes(), str(OFFICIAL_SPEC))
