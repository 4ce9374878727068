"""What reaches a person's terminal: never the key, never a server's control sequences, and
one line (not a traceback) for local mistakes.

A hostile stub server echoes the ``Authorization`` header into its answers and salts them
with terminal escapes (a window-title change, a screen clear, a colour that never ends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.cli._command_names import GENERATION_COMMANDS
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

SPEC = Spec.from_bytes(bundled_spec_path().read_bytes(), "bundled")
KEY = "rk_echoed_back_by_server_7731"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b1m\r"


class EchoHandler(BaseHTTPRequestHandler):
    """Creates tasks that fail with the caller's key in the failure text; refuses
    /organization with the key in the error; serves a product page in an unknown charset."""

    def _send(self, status: int, payload: Any, kind: str = "application/json",
              charset: str = "") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind + (f"; charset={charset}" if charset else ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._send(200, {"id": "0b8c4d2e-1111-4f00-9c3a-00000000abcd"})

    def do_GET(self) -> None:
        echoed = self.headers.get("Authorization", "")
        if self.path.startswith("/v1/tasks/"):
            self._send(200, {"id": self.path.rsplit("/", 1)[1], "status": "FAILED",
                             "createdAt": "2026-01-01T00:00:00.000Z",
                             "failure": f"refused {echoed}{ESCAPES}",
                             "failureCode": f"SAFETY.INPUT.TEXT{ESCAPES}"})
        elif self.path.startswith("/v1/organization"):
            self._send(400, {"error": f"bad credentials {echoed}{ESCAPES}"})
        else:
            title = f"Kite{ESCAPES} deluxe".encode()
            self._send(200, b"<html><head><title>" + title + b"</title></head></html>",
                       kind="text/html", charset="x-no-such-charset")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def runway(cwd: Path, *args: str, base_url: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "RUNWAY_API_KEY": KEY, **(env or {})}
    if base_url:
        full["RUNWAY_BASE_URL"] = base_url
    return subprocess.run([sys.executable, "-m", "runway_dynamic", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def assert_clean(done: subprocess.CompletedProcess[str]) -> None:
    text = done.stdout + done.stderr
    assert KEY not in text, "the key was printed"
    assert "\x1b" not in text and "\x9b" not in text and "\r" not in text, repr(text[-400:])
    assert "Traceback" not in text, text


def _image() -> list[str]:
    endpoint = GENERATION_COMMANDS[("image",)]
    for model in SPEC.models(endpoint):
        variant = SPEC.catalog.variant(endpoint, model)
        assert variant is not None
        if set(variant.required) <= {"model", "promptText", "ratio"} and variant.ratios:
            return ["image", "--model", model, "--prompt", "kite", "--ratio", variant.ratios[0]]
    raise AssertionError


def test_a_failure_text_that_echoes_the_key_is_masked_and_defused(tmp_path: Path,
                                                                  echo_server: str) -> None:
    done = runway(tmp_path, *_image(), "--wait", base_url=echo_server)
    assert done.returncode == 3, done.stderr
    assert "SAFETY.INPUT.TEXT" in done.stderr and "****7731" in done.stderr
    assert_clean(done)


def test_the_same_holds_for_json_output(tmp_path: Path, echo_server: str) -> None:
    done = runway(tmp_path, "--json", *_image(), "--wait", base_url=echo_server)
    assert done.returncode == 3
    assert KEY not in done.stdout + done.stderr


def test_an_error_body_that_echoes_the_key_is_masked_and_defused(tmp_path: Path,
                                                                 echo_server: str) -> None:
    done = runway(tmp_path, "organization", "get", base_url=echo_server)
    assert done.returncode == 1
    assert "bad credentials" in done.stderr
    assert_clean(done)


def test_a_web_page_in_an_unknown_charset_is_read_and_defused(tmp_path: Path,
                                                              echo_server: str) -> None:
    done = runway(tmp_path, "marketing-studio", "webproducts", "fetch", "--url",
                  f"{echo_server}/item")
    assert done.returncode == 0, done.stderr
    assert "Kite" in done.stdout and "deluxe" in done.stdout
    assert_clean(done)


# --------------------------------------------------------------------------- one line


def test_a_setting_of_the_wrong_kind_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"poll-interval": "soon"}))
    done = runway(tmp_path, "--sandbox", *_image(), "--wait",
                  env={"RUNWAY_CONFIG_DIR": str(config)})
    assert done.returncode == 1, done.stderr
    assert "poll-interval" in done.stderr and "runway config" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert_clean(done)


def test_a_binary_plan_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    done = runway(tmp_path, "--sandbox", "short-video", "run", "--plan", "plan.json")
    assert done.returncode == 2, done.stderr
    assert "plan.json" in done.stderr and "not a text file" in done.stderr
    assert_clean(done)
