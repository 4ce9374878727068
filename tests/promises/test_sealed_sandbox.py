"""The promise of ``--sandbox``: nothing leaves the machine and the real key is never used.

Every command of the registry (and every command the spec derives) runs under
``--sandbox`` in a world armed against it (see :mod:`sealed_support`): proxies and the API
URL lead to a trap, a distinctive key sits in every key source, and fake agents wait on
``PATH``. A case fails on any connection to the trap, any agent started, any key in a
request, an output, a file or a child process's environment — and on any traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from promise_cases import (
    STATIC_STEPS,
    Case,
    derived_cases,
    fill,
    jobs_lines,
    uncovered,
    values,
)
from sealed_support import KEYS, LEAK_MARK, World, make_world, placeholder_authorization

from runway_dynamic.cli import _registry
from runway_dynamic.cli._context import GLOBAL_OPTION_TABLE, GlobalOption
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

SPEC = Spec.from_bytes(bundled_spec_path().read_bytes(), "bundled")
DERIVED = _registry.derived_from(
    (op.method, op.path, [p.name for p in op.params("query")]) for op in SPEC.catalog.operations)
STATIC = [Case(" ".join(path), steps) for path, steps in STATIC_STEPS.items()]
DYNAMIC = derived_cases(SPEC.catalog, DERIVED)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = make_world(tmp_path)
    try:
        yield built
    finally:
        built.trap.close()
        built.pages.close()


def _values(world: World) -> dict[str, str]:
    jobs = world.cwd / "jobs.jsonl"
    jobs.write_text(jobs_lines(SPEC.catalog))
    return values(SPEC.catalog, pages=world.pages.url, spec=str(world.root / "spec.json"),
                  jobs=str(jobs), stdin_key=KEYS["stdin"])


def _run_case(world: World, case: Case) -> None:
    given = _values(world)
    for step in case.steps:
        before = len(world.sandbox_requests())
        result = world.run(*(fill(a, given) for a in step.args),
                           input=fill(step.input, given) if step.input else None)
        given["previous"] = (result.out.split() or [""])[0]
        assert result.code in step.codes, result.describe()
        if step.sends:
            assert len(world.sandbox_requests()) > before, (
                f"{result.describe()}\nit sent nothing to the sandbox")
    broken = world.audit()
    assert not broken, "\n".join(broken)


def test_every_registry_command_has_a_contract_case() -> None:
    """A new command must get a case here (or be derived from the spec) before it lands."""
    assert uncovered(DERIVED) == []
    assert len(DYNAMIC) >= len(DERIVED)


@pytest.mark.parametrize("case", STATIC, ids=lambda c: c.name)
def test_static_command_is_sealed_under_sandbox(world: World, case: Case) -> None:
    """No connection leaves, no agent starts, no key is sent, printed or written."""
    _run_case(world, case)


@pytest.mark.parametrize("case", DYNAMIC, ids=lambda c: c.name)
def test_spec_derived_command_is_sealed_under_sandbox(world: World, case: Case) -> None:
    """Every operation's command talks to the sandbox only, with the placeholder key."""
    _run_case(world, case)


def test_sandbox_serve_listens_on_loopback_only(world: World) -> None:
    """``sandbox serve`` binds loopback by default, prints its URL and stops on Ctrl-C."""
    head = ["--api-key", KEYS["flag"], "--sandbox"]
    process = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic", *head, "sandbox", "serve", "--port", "0"],
        cwd=world.cwd, env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        process.stderr.readline()  # "listening on …": it serves now, Ctrl-C stops it
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert LEAK_MARK not in out + err
    assert not world.audit()


def test_mcp_serve_serves_the_sandbox(world: World) -> None:
    """``--sandbox mcp serve``: tool calls run in the sandbox with the placeholder key."""
    import anyio
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "runway_dynamic", "--api-key", KEYS["flag"], "--sandbox", "mcp", "serve",
              "--poll-interval", "0.05"],
        env=world.env, cwd=str(world.cwd))
    given = _values(world)
    endpoint = given["image_endpoint"]
    import json

    body = json.loads(given["image_body"])

    async def session() -> Any:
        with anyio.fail_after(90):
            async with Client(params) as client:
                return await client.call_tool(f"runway_{endpoint}", body)

    result = anyio.run(session)
    assert not result.is_error, result
    assert result.structured_content["status"] == "SUCCEEDED"
    requests = world.sandbox_requests()
    assert any(r["method"] == "POST" for r in requests), requests
    assert all(r["headers"].get("Authorization", placeholder_authorization())
               == placeholder_authorization() for r in requests)
    assert not world.audit()


def test_an_agent_runs_only_when_named_and_never_gets_the_key(world: World) -> None:
    """Outside the sandbox a named planner starts, without any key in its environment; under
    ``--sandbox`` the ``auto`` planner is the deterministic one."""
    result = world.run("short-video", "plan", "a kite", "--shots", "2", "--planner", "claude",
                       "-o", "named.json", sandbox=False)
    assert result.code != 0  # the fake agent answers nothing usable
    calls = sorted(world.calls_dir.glob("agent-claude-*"))
    assert calls, "the named planner was not started"
    environments = sorted(world.calls_dir.glob("env-agent-claude-*"))
    assert environments and LEAK_MARK not in environments[0].read_text()
    for path in [*calls, *environments]:
        path.unlink()
    result = world.run("short-video", "plan", "a kite", "--shots", "2", "-o", "auto.json")
    assert result.code == 0, result.describe()
    assert not list(world.calls_dir.glob("agent-*")), "auto started an agent under --sandbox"
    assert not world.audit()


def test_library_sandbox_clients_are_sealed(world: World, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """``rd.Sandbox().client()``: loopback only, no proxy, and never the user's key."""
    from runway_dynamic.sandbox import Sandbox

    for name, value in world.env.items():
        if name.endswith(("_PROXY", "_proxy")) or name.startswith("RUNWAY"):
            monkeypatch.setenv(name, value)
    given = _values(world)
    import json

    body = json.loads(given["image_body"])
    with Sandbox(spec=SPEC, task_seconds=0.05) as sandbox, sandbox.client(
            poll_interval=0.02) as client:
        task = client.run(given["image_endpoint"], body)
        assert task.status == "SUCCEEDED"
        auths = {r.headers.get("Authorization") for r in sandbox.state.requests}
    assert auths == {placeholder_authorization()}
    assert world.trap.hits == []
    assert os.environ["RUNWAY_API_KEY"] == KEYS["env"]  # there to be found, and not used


def test_global_headers_and_profiles_stay_inside_the_sandbox(world: World) -> None:
    """``-H``, ``--runway-version`` and ``--profile`` under ``--sandbox``: the extra headers
    reach the loopback sandbox and nothing else (uploads, downloads and the trap never see
    them), a profile's saved key is not even read, and a header that would carry a key
    (``-H 'Authorization: …'``) is refused before anything is sent, without printing it."""
    _plant_profile(world, "work")
    given = _values(world)
    version = SPEC.catalog.operation(given["image_endpoint"], "POST")
    pinned = {p.name: str(p.constant) for p in version.params("header")} if version else {}
    assert pinned, "the bundled spec pins a version header"
    (name, value), = pinned.items()
    call = ["call", given["image_endpoint"], "--body", given["image_body"], "--download",
            "--output-dir", "out"]
    result = world.run("--profile", "work", "-H", "X-Trace: sealed-probe",
                       "--runway-version", value, *call)
    assert result.code == 0, result.describe()
    requests = world.sandbox_requests()
    api = [r for r in requests if r["path"].startswith("/v1/")]
    assert api and all(r["headers"].get("x-trace") == "sealed-probe"
                       and r["headers"].get(name.lower()) == value for r in api), api
    files = [r for r in requests if r not in api]
    assert files and not any("x-trace" in r["headers"] for r in files), files
    before = len(requests)
    refused = world.run("-H", f"Authorization: Bearer {KEYS['flag']}", *call)
    assert refused.code == 2 and "may not set Authorization" in refused.err
    assert len(world.sandbox_requests()) == before
    assert not world.audit()


def _plant_profile(world: World, name: str) -> None:
    """A profile with its own saved key, which no run under ``--sandbox`` may read or send."""
    import json

    profile = world.root / "config" / "profiles" / name
    profile.mkdir(parents=True, mode=0o700)
    saved = profile / "credentials.json"
    saved.write_text(json.dumps({"apiKey": "rk_contract_profile_Hh6P"}))
    saved.chmod(0o600)
    world.planted.add(saved)


def _global_option_forms() -> list[tuple[str, GlobalOption]]:
    """Every spelling of every global option the dispatcher documents (long and short)."""
    return [(form, option) for option in GLOBAL_OPTION_TABLE
            for form in (f"--{option.name}", option.short) if form]


@pytest.mark.parametrize(("form", "option"), _global_option_forms(), ids=lambda v: str(v)[:20])
def test_every_global_option_stays_inside_the_sandbox(world: World, form: str,
                                                      option: GlobalOption) -> None:
    """Each global option (read from the dispatcher's own table, so a new one is covered the
    day it lands) given before a paid, downloading call under ``--sandbox``: the run succeeds,
    sends to the loopback sandbox only (unless the option just prints and exits) and the
    world stays sealed. A new option whose value kind has no sample here fails, naming it."""
    _plant_profile(world, "work")
    given = _values(world)
    version = SPEC.catalog.operation(given["image_endpoint"], "POST")
    pinned = [str(p.constant) for p in version.params("header")] if version else []
    samples = {"PATH|URL": str(world.root / "spec.json"), "KEY": KEYS["flag"],
               "NAME": "work", "V": pinned[0] if pinned else "", "'N: V'": "X-Trace: probe",
               "EXPR": "id"}
    assert not option.metavar or samples.get(option.metavar), (
        f"no sample value for {form} {option.metavar}: add one to this test")
    argv = [form, *([samples[option.metavar]] if option.metavar else [])]
    before = len(world.sandbox_requests())
    result = world.run(*argv, "call", given["image_endpoint"], "--body", given["image_body"],
                       "--download", "--output-dir", "out")
    assert result.code == 0, result.describe()
    if "and exit" not in option.help:
        assert len(world.sandbox_requests()) > before, f"{result.describe()}\nit sent nothing"
    broken = world.audit()
    assert not broken, "\n".join(broken)
