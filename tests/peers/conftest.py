"""Outside mock servers from npm (Steady, Prism) serving Runway's spec on loopback.

They are independent implementations of "what does this spec accept": our client's requests
must look valid to them, and Steady's discriminator-aware verdicts must agree with our
pre-flight. `.ci/run` installs them with `npm ci` in this folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BIN = HERE / "node_modules" / ".bin"
REPO = HERE.parent.parent
OFFICIAL = REPO.parent / "shared" / "spec" / "runway-openapi.json"
BUNDLED = REPO / "spec" / "runway.json"


def peer_spec() -> Path:
    """The spec the peers serve: the official snapshot when present, else our bundled pack."""
    return OFFICIAL if OFFICIAL.is_file() else BUNDLED


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(argv: list[str], port: int, log: Path, ready_seconds: float) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=HERE)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{argv[0]} exited early:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    tail = log.read_text()[-2000:]
    pytest.fail(f"{argv[0]} did not listen on {port} within {ready_seconds}s:\n{tail}")


def _peer(name: str, argv_for: object, tmp: Path, ready_seconds: float) -> Iterator[str]:
    binary = BIN / name
    if not binary.exists() or shutil.which("node") is None:
        pytest.skip(f"{name} is not installed: run `npm ci` in tests/peers (CI does)")
    port = _free_port()
    argv = argv_for(str(binary), port)  # type: ignore[operator]
    process = _start(argv, port, tmp / f"{name}.log", ready_seconds)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def steady_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _peer(
        "steady",
        lambda binary, port: [
            binary, "-p", str(port), "--host", "127.0.0.1", "-q", str(peer_spec())
        ],
        tmp_path_factory.mktemp("steady"),
        ready_seconds=30,
    )


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _peer(
        "prism",
        lambda binary, port: [binary, "mock", "-p", str(port), "-h", "127.0.0.1", str(peer_spec())],
        tmp_path_factory.mktemp("prism"),
        ready_seconds=60,
    )
