"""Helpers shared by the history tests: the key, results, the real ``runway`` started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

KEY = "key_history_cli_s3cret_4d9e71"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
       b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Runner(Protocol):
    def __call__(self, *args: str, env: dict[str, str] | None = None,
                 input: str | None = None, cwd: Path | None = None) -> Result: ...


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``runway`` started, not waited for (to run two at once)."""
    return subprocess.Popen([sys.executable, "-m", "runway_dynamic", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
