"""Exit codes are a contract: each documented code is produced where it says, and 2 only
when nothing was sent.

Every scenario runs the real CLI in a subprocess against a sandbox whose request log shows
what reached the API. The README's table, ``runway help exit-codes`` and the scenarios here
must name the same codes, so a new code cannot appear without a test that produces it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runway_dynamic.cli._run import EXIT_CODES
from runway_dynamic.sandbox import FAULT_HEADER, OrgLimits, Sandbox
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

REPO = Path(__file__).resolve().parents[2]
SPEC = Spec.from_bytes(bundled_spec_path().read_bytes(), "bundled")
KEY = "rk_exit_contract_key_0042"


def _image_args() -> list[str]:
    """``runway image`` for the first model that takes only a prompt and a ratio."""
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS

    endpoint = GENERATION_COMMANDS[("image",)]
    for model in SPEC.models(endpoint):
        variant = SPEC.catalog.variant(endpoint, model)
        assert variant is not None
        if set(variant.required) <= {"model", "promptText", "ratio"} and variant.ratios:
            return ["image", "--model", model, "--prompt-text", "a kite", "--ratio",
                    variant.ratios[0]]
    raise AssertionError("no prompt-and-ratio image model")


IMAGE = _image_args()


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    requests: list[dict[str, object]]

    @property
    def posts(self) -> int:
        return sum(1 for r in self.requests if r["method"] == "POST")


def run_sandboxed(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                  timeout: float = 120) -> Outcome:
    """``runway --sandbox ARGS``; the in-process sandbox's request log comes back too."""
    log = tmp_path / f"requests-{time.monotonic_ns()}.jsonl"
    full = {**os.environ, "RUNWAY_SANDBOX_TASK_SECONDS": "0.05",
            "RUNWAY_SANDBOX_REQUEST_LOG": str(log), **(env or {})}
    done = subprocess.run([sys.executable, "-m", "runway_dynamic", "--sandbox", *args],
                          cwd=tmp_path, env=full, capture_output=True, text=True,
                          timeout=timeout)
    requests = ([json.loads(line) for line in log.read_text().splitlines()]
                if log.exists() else [])
    assert "Traceback" not in done.stderr, done.stderr
    return Outcome(done.returncode, done.stdout, done.stderr, requests)


def fault(text: str) -> dict[str, str]:
    return {"RUNWAY_EXTRA_HEADERS": json.dumps({FAULT_HEADER: text})}


# --------------------------------------------------------------------------- the table


def _readme_codes() -> set[int]:
    section = (REPO / "README.md").read_text().split("### Exit codes", 1)[1]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


#: The scenarios below, by the code each proves (kept in step by the first test).
PROVEN = {0, 1, 2, 3, 4, 75, 130, 143}


def test_the_readme_help_and_scenarios_name_the_same_codes(tmp_path: Path) -> None:
    table = {code for code, _ in EXIT_CODES}
    assert _readme_codes() == table
    assert table == PROVEN, "every documented code needs a scenario here that produces it"
    shown = subprocess.run([sys.executable, "-m", "runway_dynamic", "help", "exit-codes"],
                           capture_output=True, text=True, timeout=60).stdout
    assert {int(c) for c in re.findall(r"^\s+(\d+)\s", shown, re.MULTILINE)} == table


# --------------------------------------------------------------------------- 0, 1, 2, 3


def test_success_is_0(tmp_path: Path) -> None:
    outcome = run_sandboxed(tmp_path, *IMAGE, "--download", "--output-dir", "out")
    assert outcome.code == 0, outcome.err
    assert outcome.posts == 1


@pytest.mark.parametrize("where", ["a-file", "/proc/runway-cannot-exist", "a-file/below"])
def test_an_unusable_output_dir_is_2_before_anything_is_sent(tmp_path: Path, where: str) -> None:
    """The output folder is checked before the create: nothing is paid for (was: a traceback
    after the task had run)."""
    (tmp_path / "a-file").write_text("not a folder")
    outcome = run_sandboxed(tmp_path, *IMAGE, "--download", "--output-dir", where)
    assert outcome.code == 2, outcome.err
    assert "--output-dir" in outcome.err
    assert outcome.requests == [], "a request left although a local check failed"


def test_preflight_is_2_and_sends_nothing(tmp_path: Path) -> None:
    outcome = run_sandboxed(tmp_path, *IMAGE[:-1], "999:1")
    assert outcome.code == 2 and "pre-flight" in outcome.err
    assert outcome.requests == []


def test_an_api_that_refuses_is_1_not_2(tmp_path: Path) -> None:
    """A 400 from the API means something was sent: exit 1 (2 would promise it was not)."""
    outcome = run_sandboxed(tmp_path, *IMAGE, env=fault("status=400; times=1"))
    assert outcome.code == 1, outcome.err
    assert outcome.requests


def test_server_errors_are_1(tmp_path: Path) -> None:
    outcome = run_sandboxed(tmp_path, "organization", "get", env=fault("status=500"))
    assert outcome.code == 1, outcome.err


def test_a_failed_task_is_3_with_its_failure(tmp_path: Path) -> None:
    outcome = run_sandboxed(tmp_path, *IMAGE, "--wait",
                            env=fault("task-fail=SAFETY.INPUT.TEXT"))
    assert outcome.code == 3, outcome.err
    assert "SAFETY.INPUT.TEXT" in outcome.err


def test_no_key_is_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNWAY_", "RUNWAYML_"))}
    done = subprocess.run([sys.executable, "-m", "runway_dynamic", "organization", "get"],
                          cwd=tmp_path, env={**env, "HOME": str(tmp_path),
                                             "RUNWAY_CONFIG_DIR": str(tmp_path / "c")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no Runway API key" in done.stderr


# --------------------------------------------------------------------------- 4: time-outs


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (a hung API)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


def test_timeout_bounds_the_whole_wait_when_the_api_hangs(tmp_path: Path,
                                                          silent_server: str) -> None:
    """``--timeout 3`` against a server that never answers ends near 3 s with exit 4 (was:
    182 s and exit 1) and says how to keep waiting."""
    env = {**os.environ, "RUNWAY_BASE_URL": silent_server, "RUNWAY_API_KEY": KEY}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "runway_dynamic", "task", "get",
                           "0b8c4d2e-1111-4f00-9c3a-000000000001", "--wait", "--timeout", "3"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 4, done.stderr
    assert took < 20, f"--timeout 3 took {took:.0f}s"
    assert "task get 0b8c4d2e-1111-4f00-9c3a-000000000001 --wait" in done.stderr
    assert KEY not in done.stdout + done.stderr


def test_a_wait_rides_out_a_run_of_server_errors(tmp_path: Path) -> None:
    """Polls that meet 503s back off and go on (was: the wait gave up after ~1.5 s)."""
    with Sandbox(spec=SPEC, task_seconds=0.2) as sandbox, sandbox.client() as client:
        body = {"model": IMAGE[2], "promptText": "a kite", "ratio": IMAGE[-1]}
        endpoint = __import__("runway_dynamic.cli._command_names",
                              fromlist=["x"]).GENERATION_COMMANDS[("image",)]
        task = client.create_task(endpoint, body)
        env = {**os.environ, "RUNWAY_BASE_URL": sandbox.base_url, "RUNWAY_API_KEY": KEY,
               **fault("status=503; retry-after=0; times=6")}
        done = subprocess.run([sys.executable, "-m", "runway_dynamic", "task", "get", task.id,
                               "--wait", "--poll-interval", "0.05", "--timeout", "60"],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        failed = [r for r in sandbox.state.requests if r.status == 503]
    assert done.returncode == 0, done.stderr
    assert len(failed) == 6
    assert json.loads(done.stdout)["status"] == "SUCCEEDED"


def test_a_slow_task_times_out_with_4_and_the_resume_command(tmp_path: Path) -> None:
    outcome = run_sandboxed(tmp_path, *IMAGE, "--wait", "--timeout", "1",
                            env={"RUNWAY_SANDBOX_TASK_SECONDS": "30"})
    assert outcome.code == 4, outcome.err
    assert "runway task get" in outcome.err and "--wait" in outcome.err


# --------------------------------------------------------------------------- 75


def test_a_batch_paused_at_a_limit_is_75(tmp_path: Path) -> None:
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS

    endpoint = GENERATION_COMMANDS[("image",)]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"endpoint": endpoint, "model": IMAGE[2],
                                        "promptText": f"kite {n}", "ratio": IMAGE[-1]}) + "\n"
                            for n in range(4)))
    with Sandbox(spec=SPEC, task_seconds=0.05, limits=OrgLimits(daily=2)) as sandbox:
        env = {**os.environ, "RUNWAY_BASE_URL": sandbox.base_url, "RUNWAY_API_KEY": KEY}
        done = subprocess.run([sys.executable, "-m", "runway_dynamic", "batch", "run",
                               str(jobs), "--output-dir", "out", "--poll-interval", "0.05"],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180)
    assert done.returncode == 75, done.stderr
    assert "batch resume" in done.stdout + done.stderr


# --------------------------------------------------------------------------- 130, 143


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                   (signal.SIGTERM, 143, "terminated")])
def test_a_signal_while_waiting_prints_the_task_and_how_to_resume(
        tmp_path: Path, sig: signal.Signals, code: int, word: str) -> None:
    env = {**os.environ, "RUNWAY_SANDBOX_TASK_SECONDS": "60"}
    process = subprocess.Popen([sys.executable, "-m", "runway_dynamic", "--sandbox", *IMAGE,
                                "--wait"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if "submitted" in line:
            break
    else:
        process.kill()
        raise AssertionError("".join(seen))
    task_id = re.search(r"task (\S+) submitted", "".join(seen))
    assert task_id
    time.sleep(0.3)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert word in err and task_id.group(1) in err
    assert f"runway task get {task_id.group(1)} --wait" in err


# --------------------------------------------------------------------------- media limits


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_an_upload_too_large_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    """The limit is named; the sandbox sees no request (the file is sparse: 0 bytes on disk)."""
    from runway_dynamic._constants import UPLOAD_MAX_BYTES

    _sparse(tmp_path / "huge.png", UPLOAD_MAX_BYTES + 1)
    outcome = run_sandboxed(tmp_path, "upload", "create", "huge.png")
    assert outcome.code == 2, outcome.err
    assert "an upload takes at most" in outcome.err
    assert outcome.requests == []


def test_a_media_file_of_the_wrong_family_is_refused_before_the_create(tmp_path: Path) -> None:
    """A text file where the field takes images: exit 2, nothing sent (was: uploaded, then a
    paid task that fails)."""
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS

    endpoint = GENERATION_COMMANDS[("image-to-video",)]
    model = SPEC.models(endpoint)[0]
    variant = SPEC.catalog.variant(endpoint, model)
    assert variant is not None
    image_field = next(f for f in variant.fields if f.media and f.media.data_mime_prefix ==
                       "image/" and "runway" in f.media.schemes)
    (tmp_path / "notes.txt").write_text("not a picture " * 2_000_000)  # too big to inline
    flag = "--" + __import__("runway_dynamic.naming", fromlist=["kebab"]).kebab(
        image_field.name)
    outcome = run_sandboxed(tmp_path, "image-to-video", "--model", model, flag, "notes.txt",
                            "--prompt-text", "x", "--dry-run")
    assert outcome.code == 2, outcome.err
    assert "takes image files" in outcome.err
    assert outcome.requests == []
