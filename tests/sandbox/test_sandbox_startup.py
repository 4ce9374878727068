"""Starting the sandbox costs only what is used: a lazy sandbox nobody calls loads no server.

Start-up time itself is measured in ``benchmarks/bench_sandbox.py --startup``; here the
tests check what is imported (a subprocess, so that nothing else loaded it before) and that
a lazy sandbox answers its first client like an eager one.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
from sandbox_support import spec_headers

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

HEAVY = ("uvicorn", "starlette", "python_multipart", "asyncio", "runway_dynamic.sandbox.app",
         "httptools")


def test_a_lazy_sandbox_nobody_calls_loads_no_server() -> None:
    code = (
        "import sys\n"
        "from runway_dynamic.sandbox import Sandbox\n"
        "sb = Sandbox(task_seconds=0.1).start(lazy=True)\n"
        "url = sb.base_url\n"
        "sb.stop()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "", f"loaded for nothing: {done.stdout.strip()}"


def test_runway_sandbox_models_starts_no_server() -> None:
    """``runway --sandbox models`` sends nothing, so it pays for no server."""
    code = (
        "import sys, runway_dynamic.cli as cli\n"
        "code = cli.main(['--sandbox', 'models'])\n"
        f"print('|', code, ','.join(m for m in {HEAVY[:3]!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.splitlines()[-1].strip() == "| 0", done.stdout[-300:] + done.stderr


def test_a_lazy_sandbox_serves_its_first_client(bundled_spec: Spec) -> None:
    sandbox = Sandbox(spec=bundled_spec, task_seconds=0.1).start(lazy=True)
    try:
        with httpx.Client(base_url=sandbox.base_url, headers=spec_headers(bundled_spec),
                          timeout=60) as client:
            assert client.get("/v1/organization").status_code == 200
            assert sandbox.state.requests[-1].path == "/v1/organization"
    finally:
        sandbox.stop()
    with httpx.Client(timeout=5) as client:
        try:
            client.get(sandbox.base_url + "/v1/organization")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("a stopped sandbox still answers")
