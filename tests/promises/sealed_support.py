"""A hostile world for ``runway --sandbox``: every way to leak a key or reach out is armed.

- a *trap* TCP server on loopback is every proxy (``HTTP_PROXY``, ``HTTPS_PROXY``,
  ``ALL_PROXY`` and their lower-case twins), the ``RUNWAY_BASE_URL``, the ``base-url``
  setting and the spec's ``servers`` URL: any connection to it is a leak;
- a distinctive key sits in every key source (``--api-key``, both environment variables,
  ``.env``, our credentials file and the C# CLI's), each with its own last four characters,
  so a redacted key still shows which one was sent;
- fake ``claude`` and ``codex`` on ``PATH`` record every call, and an ``ffmpeg``/``ffprobe``
  wrapper records the environment it was given before running the real one;
- the in-process sandbox appends every request it saw (keys redacted as ``redact`` shows
  them) to a log (``RUNWAY_SANDBOX_REQUEST_LOG``).

:meth:`World.audit` then proves the promise: no connection to the trap, no agent started,
only the placeholder key reached the sandbox, and no key in any output, file or child
environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import wave
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runway_dynamic.boundary import PLACEHOLDER_KEY
from runway_dynamic.sources import bundled_spec_path

#: Every key planted, by where it was planted (distinct last four characters each).
KEYS = {
    "flag": "rk_contract_flag_Wy4Y",
    "env": "rk_contract_env_Kx7Q",
    "sdk-env": "rk_contract_sdk_Lm3W",
    "dotenv": "rk_contract_dotenv_Pz5R",
    "credentials": "rk_contract_creds_Tq8S",
    "legacy": "rk_contract_legacy_Vn2U",
    "stdin": "rk_contract_stdin_Zz9Z",
}
#: What a leak of any of them (or of part of one) looks like in text.
LEAK_MARK = "rk_contract_"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


def placeholder_authorization() -> str:
    from runway_dynamic._http import redact

    return f"Bearer {redact(PLACEHOLDER_KEY)}"


class Trap:
    """A loopback TCP listener that records every connection (and its first bytes)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.hits: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(4096)
                except OSError:
                    first = b""
                self.hits.append(first or b"<connected>")
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 502 Trap\r\nContent-Length: 0\r\n\r\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


class PageServer:
    """A loopback HTTP server with a product page and a spec (the allowed targets)."""

    def __init__(self, spec_bytes: bytes) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        page = (b"<html><head><title>Kite</title>"
                b'<meta property="og:title" content="A red kite">'
                b'<meta property="og:image" content="/kite.png"></head><body></body></html>')

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = (spec_bytes, "application/json") if self.path.endswith(
                    ".json") else (page, "text/html; charset=utf-8")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 90))
                                       for x in range(width)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def write_wav(path: Path, seconds: float = 0.5) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * int(8000 * seconds))


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def describe(self) -> str:
        tail = f"{self.out[-2000:]}\n{self.err[-2000:]}"
        return f"runway {' '.join(self.args)} -> {self.code}\n{tail}"


@dataclass
class World:
    """One isolated, armed environment; every command of a test runs in it."""

    root: Path
    trap: Trap
    pages: PageServer
    env: dict[str, str] = field(default_factory=dict)
    planted: set[Path] = field(default_factory=set)
    results: list[Result] = field(default_factory=list)

    @property
    def cwd(self) -> Path:
        return self.root / "work"

    @property
    def request_log(self) -> Path:
        return self.root / "sandbox-requests.jsonl"

    @property
    def calls_dir(self) -> Path:
        return self.root / "calls"

    def run(self, *args: str, input: str | None = None, timeout: float = 180,
            sandbox: bool = True) -> Result:
        """``runway --api-key KEY [--sandbox] ARGS`` in this world."""
        head = ["--api-key", KEYS["flag"], *(["--sandbox"] if sandbox else [])]
        done = subprocess.run([sys.executable, "-m", "runway_dynamic", *head, *args],
                              cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              input=input, timeout=timeout, stdin=None if input else
                              subprocess.DEVNULL)
        result = Result(tuple(args), done.returncode, done.stdout, done.stderr)
        self.results.append(result)
        return result

    # ---- the verdict

    def sandbox_requests(self) -> list[dict[str, Any]]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line]

    def audit(self) -> list[str]:
        """Every broken promise found in this world (empty: sealed)."""
        broken: list[str] = []
        if self.trap.hits:
            broken.append(f"{len(self.trap.hits)} connection(s) reached the trap (a proxy or "
                          f"the real API URL): {self.trap.hits[:3]!r}")
        for call in sorted(self.calls_dir.glob("agent-*")):
            broken.append(f"an external agent was started: {call.read_text()[:200]}")
        for result in self.results:
            text = result.out + result.err
            if LEAK_MARK in text:
                broken.append(f"a key was printed by `runway {' '.join(result.args)}`")
            if "Traceback (most recent call last)" in text:
                broken.append(f"a traceback from `runway {' '.join(result.args)}`:\n{text[-1500:]}")
        expected = placeholder_authorization()
        for request in self.sandbox_requests():
            line = json.dumps(request)
            if LEAK_MARK in line:
                broken.append(f"a key reached the sandbox: {line[:300]}")
            auth = next((v for k, v in request["headers"].items()
                         if k.lower() == "authorization"), None)
            if auth is not None and auth != expected:
                broken.append(f"{request['method']} {request['path']} carried {auth!r}, not the "
                              f"placeholder key ({expected})")
        for env_file in sorted(self.calls_dir.glob("env-*")):
            if LEAK_MARK in env_file.read_text():
                broken.append(f"a child process inherited a key: {env_file.name}")
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path not in self.planted and not path.is_symlink():
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if LEAK_MARK.encode() in data:
                    broken.append(f"a key was written to {path.relative_to(self.root)}")
        return broken


_FAKE_AGENT = """#!/bin/sh
echo "$0 $*" > "{calls}/agent-$(basename "$0")-$$"
env > "{calls}/env-agent-$(basename "$0")-$$"
exit 1
"""
_WRAPPER = """#!/bin/sh
env > "{calls}/env-$(basename "$0")-$$"
exec "{real}" "$@"
"""


def make_world(root: Path) -> World:
    """Plant the keys, arm the trap, write the fixtures; the caller closes the servers."""
    trap = Trap()
    spec_doc = json.loads(bundled_spec_path().read_bytes())
    spec_doc["servers"] = [{"url": f"https://127.0.0.1:{trap.port}"}]
    spec_bytes = json.dumps(spec_doc).encode()
    pages = PageServer(spec_bytes)
    world = World(root, trap, pages)
    for sub in ("work", "calls", "bin", "home", "config", "cache", "data", "legacy"):
        (root / sub).mkdir()
    calls = world.calls_dir
    bin_dir = root / "bin"
    for agent in ("claude", "codex"):
        script = bin_dir / agent
        script.write_text(_FAKE_AGENT.format(calls=calls))
        script.chmod(0o755)
    for tool in ("ffmpeg", "ffprobe"):
        real = shutil.which(tool)
        if real:
            script = bin_dir / tool
            script.write_text(_WRAPPER.format(calls=calls, real=real))
            script.chmod(0o755)
    spec_path = root / "spec.json"
    spec_path.write_bytes(spec_bytes)
    # the key sources
    dotenv = world.cwd / ".env"
    dotenv.write_text(f"RUNWAY_API_KEY={KEYS['dotenv']}\n")
    dotenv.chmod(0o600)
    credentials = root / "config" / "credentials.json"
    credentials.write_text(json.dumps({"apiKey": KEYS["credentials"]}))
    credentials.chmod(0o600)
    (root / "config").chmod(0o700)
    legacy = root / "legacy" / ".runway-cli" / "credentials.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"apiKey": KEYS["legacy"]}))
    world.planted |= {dotenv, credentials, legacy}
    (root / "config" / "config.json").write_text(json.dumps({"base-url": trap.url}))
    # fixtures
    (world.cwd / "still.png").write_bytes(png_bytes())
    write_wav(world.cwd / "voice.wav")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAY_", "RUNWAYML_")) and k.lower() != "no_proxy"}
    env.update({
        "HOME": str(root / "home"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "RUNWAY_CONFIG_DIR": str(root / "config"),
        "RUNWAY_CACHE_DIR": str(root / "cache"),
        "RUNWAY_DATA_DIR": str(root / "data"),
        "RUNWAY_CLI_HOME": str(root / "legacy"),
        "RUNWAY_API_KEY": KEYS["env"],
        "RUNWAYML_API_SECRET": KEYS["sdk-env"],
        "RUNWAY_BASE_URL": trap.url,
        "RUNWAY_SPEC": str(spec_path),
        "RUNWAY_SANDBOX_TASK_SECONDS": "0.05",
        "RUNWAY_SANDBOX_REQUEST_LOG": str(world.request_log),
        **{name: trap.url for name in PROXY_VARIABLES},
    })
    world.env = env
    return world
