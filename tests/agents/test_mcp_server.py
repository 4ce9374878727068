"""A real MCP client session (the ``mcp`` SDK) against our server, pointed at the sandbox.

stdio: ``python -m runway_dynamic.mcp_server`` as a subprocess, spoken to by the SDK's
stdio client. Streamable HTTP: the same server with ``--http`` on a loopback port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from runway_dynamic._exceptions import UsageError
from runway_dynamic.mcp_server import check_loopback
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.tools import export_tools

KEY = "sandbox-key-1234"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(task_seconds=0.3) as sb:
        yield sb


def _server_args(sandbox: Sandbox, *extra: str) -> list[str]:
    return ["-m", "runway_dynamic.mcp_server", "--spec", str(bundled_spec_path()),
            "--base-url", sandbox.base_url, "--api-key", KEY, "--poll-interval", "0.05", *extra]


def _env() -> dict[str, str]:
    """The test's isolated dirs (the server's own environment stays minimal)."""
    keep = ("HOME", "RUNWAY_CACHE_DIR", "RUNWAY_CONFIG_DIR", "RUNWAY_DATA_DIR", "PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return env


def _prompt_body(spec: Spec, endpoint: str) -> dict[str, Any]:
    for model in spec.models(endpoint):
        variant = spec.catalog.variant(endpoint, model)
        assert variant is not None
        if set(variant.required) <= {"model", "promptText", "ratio"} and variant.ratios:
            return {"model": model, "promptText": "a red kite over dunes",
                    "ratio": variant.ratios[0]}
    raise AssertionError(endpoint)


def test_stdio_session_lists_calls_errors_and_reads(sandbox: Sandbox, bundled_spec: Spec) -> None:
    params = StdioServerParameters(command=sys.executable, args=_server_args(sandbox),
                                   env=_env())
    body = _prompt_body(bundled_spec, "text_to_image")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with anyio.fail_after(60):
            async with Client(params) as client:
                out["tools"] = (await client.list_tools()).tools
                out["ok"] = await client.call_tool("runway_text_to_image", body,
                                                   progress_callback=on_progress)
                out["bad"] = await client.call_tool(
                    "runway_text_to_image", {**body, "ratio": "999:1"})
                out["typo"] = await client.call_tool(
                    "runway_text_to_image", {**body, "model": body["model"] + "x"})
                out["resource"] = await client.read_resource("runway://models")
                out["resources"] = (await client.list_resources()).resources
        return out

    out = anyio.run(session)

    # tools: exactly our MCP export, schemas untouched by the SDK
    ours = {t["name"]: t for t in export_tools(bundled_spec, "mcp")}
    listed = {t.name: t for t in out["tools"]}
    assert set(listed) == set(ours)
    for name, tool in listed.items():
        assert tool.input_schema == ours[name]["inputSchema"], name
        assert tool.description == ours[name]["description"]

    # a generation call end to end, with progress notifications that only go up
    ok = out["ok"]
    assert not ok.is_error
    result = ok.structured_content
    assert result["status"] == "SUCCEEDED" and result["output"]
    assert all(u.startswith(sandbox.base_url) for u in result["output"])
    assert json.loads(ok.content[0].text) == result
    values = [v for v, _, _ in progress]
    assert values and values == sorted(values) and len(set(values)) == len(values)
    assert values[-1] == 100.0 and all(t == 100.0 for _, t, _ in progress)

    # a bad ratio: a tool error naming the argument (not a CLI flag) and the accepted values
    bad = out["bad"]
    assert bad.is_error
    text = bad.content[0].text
    accepted = bundled_spec.ratios("text_to_image", body["model"])
    assert "ratio" in text and "--ratio" not in text and ", ".join(accepted) in text
    assert bad.structured_content["problems"][0]["field"] == "ratio"

    # a near miss of a model id: a tool error saying which id was meant, never a crash
    typo = out["typo"]
    text = typo.content[0].text
    assert typo.is_error and f"did you mean {body['model']}" in text, text
    assert "Traceback" not in text and "--allow-unknown-model" not in text

    # the models resource: endpoints → models, per model its schema summary
    assert [str(r.uri) for r in out["resources"]] == ["runway://models"]
    models = json.loads(out["resource"].contents[0].text)
    assert models["endpoints"] == {e: bundled_spec.models(e) for e in bundled_spec.endpoints()}
    facts = models["models"][body["model"]]["endpoints"]["text_to_image"]
    assert facts["ratios"] == accepted
    assert KEY not in json.dumps(models) + text + ok.content[0].text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"MCP HTTP server did not listen on {port}")


def test_streamable_http_session(sandbox: Sandbox, bundled_spec: Spec) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, *_server_args(sandbox, "--http", "--port", str(port))],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    body = _prompt_body(bundled_spec, "text_to_image")
    try:
        _wait_for_port(port, proc)

        async def session() -> Any:
            with anyio.fail_after(60):
                async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                    names = {t.name for t in (await client.list_tools()).tools}
                    assert "runway_text_to_image" in names
                    return await client.call_tool("runway_text_to_image", body)

        result = anyio.run(session)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not result.is_error
    assert result.structured_content["status"] == "SUCCEEDED"


def test_http_refuses_non_loopback_hosts() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        check_loopback(host)
    for host in ("0.0.0.0", "192.168.1.5", "example.com"):
        with pytest.raises(UsageError, match="loopback"):
            check_loopback(host)
    proc = subprocess.run(
        [sys.executable, "-m", "runway_dynamic.mcp_server", "--http", "--host", "0.0.0.0",
         "--api-key", KEY, "--base-url", "http://127.0.0.1:9"],
        env=_env(), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "loopback" in proc.stderr
