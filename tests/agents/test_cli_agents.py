"""``runway tools export`` and ``runway mcp serve``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.tools import export_tools

KEY = "sandbox-key-5678"


def runway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runway_dynamic", *args],
                          capture_output=True, text=True, timeout=120)


def test_tools_export_writes_each_format(bundled_spec: Spec, tmp_path: Path) -> None:
    target = tmp_path / "tools.json"
    done = runway("tools", "export", "--format", "anthropic", "--endpoints",
                  "text_to_video,image_to_video", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout
    expected = export_tools(bundled_spec, "anthropic", ["text_to_video", "image_to_video"])
    assert json.loads(target.read_text()) == expected
    for fmt in ("openai", "mcp"):
        done = runway("tools", "export", "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == export_tools(bundled_spec, fmt)


def test_tools_export_usage_errors_exit_2() -> None:
    done = runway("tools", "export", "--format", "gemini")
    assert done.returncode == 2 and "openai, anthropic, mcp" in done.stderr
    done = runway("tools", "export", "--format", "mcp", "--endpoints", "text_to_vide")
    assert done.returncode == 2 and "did you mean text_to_video" in done.stderr


def test_mcp_serve_speaks_stdio(bundled_spec: Spec) -> None:
    keep = ("HOME", "RUNWAY_CACHE_DIR", "RUNWAY_CONFIG_DIR", "RUNWAY_DATA_DIR", "PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["RUNWAY_API_KEY"] = KEY
    model = next(m for m in bundled_spec.models("text_to_image")
                 if set(bundled_spec.catalog.variant("text_to_image", m).required)
                 <= {"model", "promptText", "ratio"})
    body = {"model": model, "promptText": "a paper boat",
            "ratio": bundled_spec.ratios("text_to_image", model)[0]}
    with Sandbox(task_seconds=0.2) as sandbox:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "runway_dynamic", "--spec", str(bundled_spec_path()), "mcp", "serve",
                  "--base-url", sandbox.base_url, "--poll-interval", "0.05",
                  "--endpoints", "text_to_image"],
            env=env,
        )

        async def session() -> tuple[list[str], Any]:
            with anyio.fail_after(60):
                async with Client(params) as client:
                    names = [t.name for t in (await client.list_tools()).tools]
                    return names, await client.call_tool("runway_text_to_image", body)

        names, result = anyio.run(session)
    assert names[0] == "runway_text_to_image" and "runway_text_to_video" not in names
    assert not result.is_error and result.structured_content["output"]
