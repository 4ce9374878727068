"""Helpers shared by the CLI-against-sandbox tests: the key, results, environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from runway_dynamic.sandbox import FAULT_HEADER, Sandbox

KEY = "key_cli_s3cret_never_printed_7f3e"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Runner(Protocol):
    def __call__(self, *args: str, env: dict[str, str] | None = None,
                 input: str | None = None, key: bool = True) -> Result: ...


def base_env(sandbox: Sandbox | None, *, key: bool = True, **extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    if sandbox is not None:
        env["RUNWAY_BASE_URL"] = sandbox.base_url
    if key:
        env["RUNWAY_API_KEY"] = KEY
    return env


def fault_env(text: str) -> dict[str, str]:
    return {"RUNWAY_EXTRA_HEADERS": json.dumps({FAULT_HEADER: text})}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "runway_dynamic", *args]


def run_cli(sandbox: Sandbox | None, args: tuple[str, ...], env: dict[str, str] | None,
         input: str | None, key: bool) -> Result:
    done = subprocess.run(command(*args), capture_output=True, text=True,
                          env=base_env(sandbox, key=key, **(env or {})), input=input, timeout=60)
    result = Result(done.returncode, done.stdout, done.stderr)
    assert KEY not in result.out and KEY not in result.err, "the API key was printed"
    return result
