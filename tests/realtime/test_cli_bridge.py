"""``runway realtime bridge`` as people run it: real subprocesses, real HTTP, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx
import pytest

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

KEY = "key_bridge_secret_0123456789abcdef"
BODY = json.dumps({"model": "gwm1_avatars",
                   "avatar": {"type": "runway-preset", "presetId": "cat-character"}})
SESSION = "3f0b8a8e-4d0c-4a43-9b8e-2a4c6f1e9d21"
FAST = {"RUNWAY_SANDBOX_TASK_SECONDS": "0.3"}


def runway(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runway_dynamic", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})})


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "runway_dynamic", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


@pytest.fixture
def recording_api(bundled_spec: Spec):  # type: ignore[no-untyped-def]
    """A sandbox standing in for Runway: its request log shows whether anything was sent."""
    with Sandbox(spec=bundled_spec, task_seconds=0.3) as sandbox:
        yield sandbox


# --------------------------------------------------------------------------- exit 2, nothing sent


@pytest.mark.parametrize("missing", [("av",), ("livekit",), ("av", "livekit")])
def test_without_the_extra_it_says_what_to_install(recording_api: Sandbox, tmp_path: Path,
                                                   missing: tuple[str, ...]) -> None:
    """No traceback when PyAV or LiveKit is absent: one line naming the extra, exit 2."""
    block = "; ".join(f"sys.modules[{name!r}] = None" for name in missing)
    code = (f"import sys; {block}; from runway_dynamic.cli import main; "
            f"sys.exit(main(['realtime', 'bridge', {SESSION!r}, '-o', 'out.mp4']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path,
                          env={**os.environ, "RUNWAY_BASE_URL": recording_api.base_url,
                               "RUNWAY_API_KEY": KEY})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "runway-dynamic[realtime]" in proc.stderr
    assert all(name in proc.stderr for name in missing)
    assert not recording_api.state.requests


@pytest.mark.parametrize(("args", "message"), [
    (["--codec", "vp9"], "--codec must be one of h264, h265, jpeg, png"),
    (["--resize", "zoom", "--width", "64", "--height", "64"], "--resize must be one of"),
    (["--quality", "50"], "--quality applies to jpeg, not h264"),
    (["--codec", "jpeg", "--quality", "0"], "--quality must be 1..100"),
    (["--width", "1"], "--width must be 2..4096"),
    (["--height", "64"], "--height needs --width"),
    (["--fps", "0"], "--fps must be above 0"),
    (["--bitrate", "fast"], "--bitrate: 'fast' is not a rate"),
    (["--codec", "png", "--bitrate", "200k"], "--bitrate applies to h264 and h265"),
    (["--crop-top", "-3"], "--crop-top must not be negative"),
    (["--preset", "phone"], "unknown preset 'phone'"),
    (["-o", "out.webm"], "h264 is written as .mp4 or .mov"),
    (["--codec", "png", "-o", "out.mp4"], "png is written as .mov"),
    (["-o", "missing/out.mp4"], "does not exist"),
    (["--duration", "0"], "--duration must be more than 0"),
    (["--audio-bitrate", "8k"], "--audio-bitrate must be 16k..320k"),
    (["--audio-bitrate", "loud"], "--audio-bitrate: 'loud' is not a rate"),
])
def test_bad_options_exit_2_before_anything_is_sent(recording_api: Sandbox, tmp_path: Path,
                                                    args: list[str], message: str) -> None:
    proc = runway("realtime", "bridge", SESSION, *args, cwd=tmp_path,
                  env={"RUNWAY_BASE_URL": recording_api.base_url, "RUNWAY_API_KEY": KEY})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr and KEY not in proc.stderr + proc.stdout
    assert not recording_api.state.requests


@pytest.mark.parametrize(("args", "message"), [
    (["not-a-session"], "is not a session id"),
    ([SESSION, "--create", BODY], "not both"),
    ([], "give a SESSION_ID"),
    (["--create", "{oops"], "--create"),
    (["--create", '{"model": "gwm1_avatars"}'], "avatar"),
    (["--create", "[1]"], "JSON object"),
])
def test_bad_sessions_and_bodies_exit_2_before_anything_is_sent(
        recording_api: Sandbox, args: list[str], message: str) -> None:
    proc = runway("realtime", "bridge", *args,
                  env={"RUNWAY_BASE_URL": recording_api.base_url, "RUNWAY_API_KEY": KEY})
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    # One line, except the project's pre-flight report (one line per problem, like every
    # generation command's).
    assert proc.stderr.count("\n") == 1 or "pre-flight check failed" in proc.stderr
    assert not recording_api.state.requests


def test_a_taken_port_exits_2_before_anything_is_sent(recording_api: Sandbox) -> None:
    port = str(recording_api.port)
    proc = runway("realtime", "bridge", SESSION, "--port", port,
                  env={"RUNWAY_BASE_URL": recording_api.base_url, "RUNWAY_API_KEY": KEY})
    assert proc.returncode == 2 and "cannot listen on 127.0.0.1:" in proc.stderr
    assert not recording_api.state.requests


def test_under_sandbox_the_relay_stays_on_loopback() -> None:
    proc = runway("--sandbox", "realtime", "bridge", "--create", BODY, "--host", "0.0.0.0")
    assert proc.returncode == 2
    assert "under --sandbox the bridge serves loopback only" in proc.stderr


# --------------------------------------------------------------------------- the key


def test_the_real_service_path_stops_at_consume_without_leaking_the_key(
        recording_api: Sandbox) -> None:
    """Against a stand-in API (the sandbox, which has no /consume): wait for READY with the
    account key, then the consume call is refused; one line, exit 1, the key nowhere."""
    created = httpx.post(recording_api.url("/v1/realtime_sessions"), json=json.loads(BODY),
                         headers={"Authorization": f"Bearer {KEY}",
                                  "X-Runway-Version": "2024-11-06"}).json()
    proc = runway("realtime", "bridge", created["id"], "--preset", "watch",
                  env={"RUNWAY_BASE_URL": recording_api.base_url, "RUNWAY_API_KEY": KEY})
    assert proc.returncode == 1, proc.stderr
    assert "joining session" in proc.stderr and "refused (HTTP 404)" in proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    paths = [r.path for r in recording_api.state.requests]
    assert f"/v1/realtime_sessions/{created['id']}/consume" in paths
    consume = next(r for r in recording_api.state.requests if r.path.endswith("/consume"))
    assert KEY not in json.dumps(consume.headers)  # the session key, not the account key


# --------------------------------------------------------------------------- --sandbox


def poisoned_livekit(tmp_path: Path) -> dict[str, str]:
    """A ``livekit`` package that fails on import: proof the room is never touched."""
    package = tmp_path / "poison" / "livekit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('livekit must not be used')\n")
    return {"PYTHONPATH": str(tmp_path / "poison"), "RUNWAY_BASE_URL": "http://192.0.2.1:9",
            "RUNWAY_API_KEY": KEY, **FAST}


def test_sandbox_bridge_writes_a_file_without_leaving_the_machine(tmp_path: Path) -> None:
    target = tmp_path / "watch.mp4"
    proc = runway("--sandbox", "realtime", "bridge", "--create", BODY, "--preset", "watch",
                  "-o", str(target), "--duration", "2", "--json", cwd=tmp_path,
                  env=poisoned_livekit(tmp_path))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames"] == 16 and summary["size"] == [256, 256]
    assert summary["output"] == str(target) and summary["stopped"] == "ended"
    assert summary["audio"] == "aac" and abs(summary["audio_seconds"] - 2.0) <= 0.05
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.average_rate) == ("h264", 256, 8)
        sound = container.streams.audio[0]  # the sandbox avatar's voice: a tone
        assert (sound.codec_context.name, sound.sample_rate, sound.channels) == ("aac",
                                                                                48_000, 1)
        assert abs(float(sound.duration * sound.time_base) - 2.0) <= 0.05
    assert not list(tmp_path.glob(".*partial"))
    assert KEY not in proc.stdout + proc.stderr


def test_no_audio_writes_the_picture_alone(tmp_path: Path) -> None:
    target = tmp_path / "mute.mov"
    proc = runway("--sandbox", "realtime", "bridge", "--create", BODY, "--codec", "jpeg",
                  "--width", "160", "--no-audio", "-o", str(target), "--duration", "1",
                  "--json", cwd=tmp_path, env=poisoned_livekit(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["audio"] is None
    with av.open(str(target)) as container:
        assert [s.type for s in container.streams] == ["video"]


def read_url(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline()
    assert line.startswith("http://127.0.0.1:"), (line, proc.poll())
    assert time.monotonic() < deadline
    return line.strip()


def test_ctrl_c_stops_the_bridge_cleanly(tmp_path: Path) -> None:
    """SIGINT to a serving bridge: clients' streams end, the process exits 0, no traceback."""
    proc = start("--sandbox", "realtime", "bridge", "--create", BODY, "--preset", "watch",
                 env=poisoned_livekit(tmp_path))
    try:
        url = read_url(proc)
        received = bytearray()
        with httpx.stream("GET", url, timeout=30) as response:
            assert response.headers["content-type"] == "video/mp4"
            pieces = response.iter_bytes()
            for piece in pieces:
                received += piece
                if len(received) > 20_000:
                    proc.send_signal(signal.SIGINT)
                    break
            for piece in pieces:  # the stream ends; it is not cut off
                received += piece
        code = proc.wait(timeout=20)
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, stderr
    assert "bridge stopped (interrupted)" in stderr and "Traceback" not in stderr
    assert received[4:8] == b"ftyp"


def test_ctrl_c_finishes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "live.mov"
    proc = start("--sandbox", "realtime", "bridge", "--create", BODY, "--codec", "jpeg",
                 "--width", "160", "-o", str(target), env=poisoned_livekit(tmp_path))
    try:
        deadline = time.monotonic() + 60
        while (not list(tmp_path.glob(".live.mov.*partial")) and time.monotonic() < deadline
               and proc.poll() is None):
            time.sleep(0.05)  # frames are being written
        assert list(tmp_path.glob(".live.mov.*partial")) and not target.exists()
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert not list(tmp_path.glob(".live.mov.*partial"))
    with av.open(str(target)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 5 and (frames[0].width, frames[0].height) == (160, 90)


def test_ctrl_c_while_waiting_for_the_session_exits_130(tmp_path: Path) -> None:
    proc = start("--sandbox", "realtime", "bridge", "--create", BODY,
                 env={**poisoned_livekit(tmp_path), "RUNWAY_SANDBOX_TASK_SECONDS": "60"})
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "NOT_READY" in line:
                break
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
        rest = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130 and "interrupted" in rest and "Traceback" not in rest


def test_help_names_every_option() -> None:
    proc = runway("realtime", "bridge", "--help")
    assert proc.returncode == 0
    for option in ("--width", "--height", "--resize", "--crop-top", "--codec", "--fps",
                   "--bitrate", "--quality", "--preset", "--output", "--host", "--port",
                   "--create", "--duration", "--no-audio", "--audio-bitrate"):
        assert option in proc.stdout
    import re

    assert "JPEG/PNG streams carry no sound" in re.sub(r"[\s│]+", " ", proc.stdout)


# --------------------------------------------------------------------------- the README


def readme_bridge_examples() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Realtime avatar bridge", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines()
            if line.startswith("runway --sandbox realtime bridge")]


def test_readme_has_bridge_examples() -> None:
    assert len(readme_bridge_examples()) >= 2


@pytest.mark.parametrize("line", readme_bridge_examples())
def test_readme_bridge_examples_run_under_sandbox(line: str, tmp_path: Path) -> None:
    import shlex

    proc = runway(*shlex.split(line)[1:], cwd=tmp_path, env=poisoned_livekit(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "bridge stopped (ended)" in proc.stderr
    if " -o " in line:
        written = tmp_path / shlex.split(line.split(" -o ", 1)[1])[0]
        with av.open(str(written)) as container:
            assert container.streams.video[0].frames > 0
            # The file carries the avatar's voice unless the example says --no-audio.
            assert bool(container.streams.audio) == ("--no-audio" not in line)
    else:
        assert proc.stdout.startswith("http://127.0.0.1:")
