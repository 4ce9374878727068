"""The official SDK's documented programs give the same results on runway_dynamic.

Each program of tests/sdk/programs.py runs twice against a fresh sandbox of its own: as
written (``import runwayml``), and with only the import changed to ``runway_dynamic``. Both
must print the same lines once ids and the sandbox's address are normalised: the programs
are valid official-SDK code, and the drop-in surface behaves as the official one does.

The official SDK's waiter sleeps ``POLL_TIME`` (6 s) ± ``POLL_JITTER``/2 before every poll
and takes no option for it; the tests set those two module constants of
``runwayml.lib.polling`` (they are read at each poll), which is the one place its own code
allows, so a run takes a second instead of a minute. One test keeps the official waiter's
real interval, to show nothing depends on that. Our side reads its interval from
``runway config set poll-interval``, as a user would set it.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from pathlib import Path

import pytest
from programs import PROGRAMS

from runway_dynamic import config
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sandbox.media import png

runwayml = pytest.importorskip("runwayml")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IMPORTS = ((re.compile(r"^from runwayml import ", re.M), "from runway_dynamic import "),
            (re.compile(r"^import runwayml$", re.M), "import runway_dynamic as runwayml"))


def as_runway_dynamic(source: str) -> str:
    """The program with only its import lines changed."""
    out = source
    for pattern, replacement in _IMPORTS:
        out = pattern.sub(replacement, out)
    changed = [(a, b) for a, b in zip(source.splitlines(), out.splitlines(), strict=True) if a != b]
    assert changed and all(a.startswith(("from runwayml", "import runwayml"))
                           for a, _ in changed), changed
    return out


@pytest.fixture
def fast_official_waiter(monkeypatch: pytest.MonkeyPatch) -> None:
    import runwayml.lib.polling as polling

    monkeypatch.setattr(polling, "POLL_TIME", 0.05)
    monkeypatch.setattr(polling, "POLL_JITTER", 0.0)


def run_program(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run ``source`` against a sandbox of its own; what it printed, normalised."""
    work = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    (work / "still.png").write_bytes(png(1280, 720))
    monkeypatch.chdir(work)
    config.set_value("poll-interval", "0.05")
    with Sandbox(task_seconds=0.1) as sandbox:
        workflow_id = str(uuid.uuid4())  # what a user made in Runway's web app
        sandbox.app.state.add_record("workflows", workflow_id,
                                     {"id": workflow_id, "name": "compat"})
        monkeypatch.setenv("WORKFLOW_ID", workflow_id)
        monkeypatch.setenv("RUNWAYML_API_SECRET", "key_compat_test_0123456789")
        monkeypatch.setenv("RUNWAYML_BASE_URL", sandbox.base_url)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<program>", "exec"), {"__name__": "__main__"})
    text = printed.getvalue().replace(sandbox.base_url, "<sandbox>")
    return _UUID.sub("<id>", text)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_program_prints_the_same_with_either_import(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fast_official_waiter: None) -> None:
    official = run_program(PROGRAMS[name], tmp_path, monkeypatch)
    ours = run_program(as_runway_dynamic(PROGRAMS[name]), tmp_path, monkeypatch)
    assert official.strip(), f"{name} printed nothing"
    assert ours == official


def test_the_official_waiter_with_its_own_interval(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Without touching the official SDK at all (it sleeps ~6 s before its first poll)."""
    source = PROGRAMS["create_wait_read_output"]
    official = run_program(source, tmp_path, monkeypatch)
    assert official == run_program(as_runway_dynamic(source), tmp_path, monkeypatch)


def test_every_official_exception_is_here_in_the_same_relations() -> None:
    """Each exception class the official SDK exports exists at our top level under its
    name, and wherever one official class is a subclass of another, ours is too."""
    import runway_dynamic

    official = {name: getattr(runwayml, name) for name in runwayml.__all__
                if isinstance(getattr(runwayml, name), type)
                and issubclass(getattr(runwayml, name), BaseException)}
    assert len(official) >= 14
    missing = [name for name in official if not hasattr(runway_dynamic, name)]
    assert not missing
    for name, cls in official.items():
        for other, base in official.items():
            if issubclass(cls, base):
                assert issubclass(getattr(runway_dynamic, name), getattr(runway_dynamic, other)), (
                    f"{name} should be a {other}")


def test_only_the_import_changes() -> None:
    for source in PROGRAMS.values():
        changed = as_runway_dynamic(source)
        assert len(changed.splitlines()) == len(source.splitlines())
