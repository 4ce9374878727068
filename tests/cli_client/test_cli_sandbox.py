"""The real ``runway`` CLI against the real sandbox: call → wait → download, tasks, uploads,
failures and exit codes, Ctrl-C, ``--sandbox`` and ``sandbox serve``.

The conftest runner asserts on every run that the API key appears in no output.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cli_client_support import KEY, PNG_MAGIC, Runner, base_env, command, fault_env

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

MAIN_JOB = ["--sandbox", "call", "text_to_video", "--model", "gen4.5",
            "--prompt-text", "a lighthouse on a cliff at dusk, waves below",
            "--ratio", "1280:720", "--duration", "5",
            "--wait", "--download", "--output-dir", "runway-output"]


def posts(sandbox: Sandbox, path: str) -> int:
    return sum(1 for entry in sandbox.state.requests
               if entry.method == "POST" and entry.path == path)


def only_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- call


def test_call_waits_and_downloads_a_real_png(runway: Runner, image_args: list[str],
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runway("call", "text_to_image", *image_args, "--wait", "--download",
                    "--output-dir", str(out), "--poll-interval", "0.05")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1, "stdout carries only the saved path"
    saved = Path(lines[0])
    assert saved.parent == out and saved.suffix == ".png"
    assert saved.read_bytes().startswith(PNG_MAGIC)
    assert only_files(out) == [saved], "no .part or stray files"
    assert "succeeded; saved 1 file" in result.err


def test_call_without_wait_prints_the_task_and_how_to_follow_it(
        runway: Runner, image_args: list[str]) -> None:
    result = runway("call", "text_to_image", *image_args)
    assert result.code == 0, result.err
    task_id = result.json()["id"]
    assert f"runway task get {task_id} --wait --download" in result.err


def test_call_wait_prints_the_finished_task_json(runway: Runner, image_args: list[str]) -> None:
    result = runway("call", "text_to_image", *image_args, "--wait", "--poll-interval", "0.05")
    assert result.code == 0, result.err
    task = result.json()
    assert task["status"] == "SUCCEEDED" and task["output"]


def test_call_json_download_reports_task_and_files(runway: Runner, image_args: list[str],
                                                   tmp_path: Path) -> None:
    result = runway("--json", "call", "text_to_image", *image_args, "--download",
                    "--output-dir", str(tmp_path), "--poll-interval", "0.05")
    assert result.code == 0, result.err
    data = result.json()
    assert data["task"]["status"] == "SUCCEEDED"
    assert [Path(f).is_file() for f in data["files"]] == [True]
    assert result.err == "", "--json keeps stderr free of progress lines"


def test_non_task_call_prints_the_answer(runway: Runner) -> None:
    result = runway("call", "organization")
    assert result.code == 0, result.err
    assert isinstance(result.json(), dict)


def test_call_local_file_in_nested_media_field_goes_inline(
        runway: Runner, sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path) -> None:
    """A local path inside a list of objects (referenceImages[].uri) becomes a data: URI."""
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG_MAGIC + b"\0" * 64)
    model = next((m for m in bundled_spec.models("text_to_image")
                  if "referenceImages" in {f.name for f in
                                           bundled_spec.fields("text_to_image", m)["required"]}),
                 None)
    if model is None:
        pytest.skip("no text_to_image model requires referenceImages in this spec")
    ratio = bundled_spec.ratios("text_to_image", model)[0]
    result = runway("call", "text_to_image", "--model", model, "--prompt-text", "@cat here",
                    "--ratio", ratio, "--reference-images",
                    f'{{"uri": "{picture}", "tag": "cat"}}')
    assert result.code == 0, result.err
    sent = next(e for e in sandbox.state.requests if e.method == "POST")
    uri = sent.body["referenceImages"][0]["uri"]
    assert uri.startswith("data:image/png;base64,")


def test_call_missing_local_file_fails_before_sending(
        runway: Runner, sandbox: Sandbox, image_args: list[str], bundled_spec: Spec) -> None:
    model = next((m for m in bundled_spec.models("text_to_image")
                  if "referenceImages" in {f.name for f in
                                           bundled_spec.fields("text_to_image", m)["required"]}),
                 None)
    if model is None:
        pytest.skip("no text_to_image model requires referenceImages in this spec")
    ratio = bundled_spec.ratios("text_to_image", model)[0]
    result = runway("call", "text_to_image", "--model", model, "--prompt-text", "x",
                    "--ratio", ratio, "--reference-images", '{"uri": "nope.png", "tag": "x"}')
    assert result.code == 2
    assert "nope.png" in result.err and "--reference-images" in result.err
    assert posts(sandbox, "/v1/text_to_image") == 0


# --------------------------------------------------------------------------- failures


def test_task_failure_exits_3_with_failure_code(runway: Runner, image_args: list[str],
                                                tmp_path: Path) -> None:
    result = runway("call", "text_to_image", *image_args, "--download", "--output-dir",
                    str(tmp_path), "--poll-interval", "0.05",
                    env=fault_env("task-fail=SAFETY.INPUT.TEXT"))
    assert result.code == 3
    assert "SAFETY.INPUT.TEXT" in result.err and "failed" in result.err
    assert only_files(tmp_path) == []


def test_task_failure_json_carries_failure_fields(runway: Runner,
                                                  image_args: list[str]) -> None:
    result = runway("--json", "call", "text_to_image", *image_args, "--wait",
                    "--poll-interval", "0.05", env=fault_env("task-fail=SAFETY.INPUT.TEXT"))
    assert result.code == 3
    import json

    error = json.loads(result.err.strip().splitlines()[-1])
    assert error["failureCode"] == "SAFETY.INPUT.TEXT" and error["failure"]


def test_internal_failure_is_resubmitted_when_asked(runway: Runner, sandbox: Sandbox,
                                                    image_args: list[str]) -> None:
    result = runway("call", "text_to_image", *image_args, "--wait", "--poll-interval", "0.05",
                    "--retry-on-internal-error", "1", "--retry-backoff-seconds", "0",
                    env=fault_env("task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=1"))
    assert result.code == 0, result.err
    assert result.json()["status"] == "SUCCEEDED"
    assert posts(sandbox, "/v1/text_to_image") == 2
    assert "resubmitted" in result.err


def test_wait_timeout_exits_4_and_says_how_to_resume(runway: Runner,
                                                     image_args: list[str]) -> None:
    result = runway("call", "text_to_image", *image_args, "--wait", "--timeout", "0.4",
                    "--poll-interval", "0.05", env=fault_env("task=throttled:30"))
    assert result.code == 4
    assert re.search(r"runway task get \S+ --wait", result.err)


def test_preflight_error_exits_2_and_sends_nothing(runway: Runner, sandbox: Sandbox,
                                                   image_args: list[str]) -> None:
    args = [a for a in image_args]
    args[args.index("--ratio") + 1] = "999:1"
    result = runway("call", "text_to_image", *args, "--wait")
    assert result.code == 2
    assert "999:1" in result.err
    assert posts(sandbox, "/v1/text_to_image") == 0


def test_no_key_is_one_line_naming_every_way(runway: Runner, image_args: list[str]) -> None:
    result = runway("call", "text_to_image", *image_args, key=False)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    for way in ("--api-key", "RUNWAY_API_KEY", "runway auth set", ".env"):
        assert way in lines[0]


def test_global_api_key_option_is_sent(runway: Runner, sandbox: Sandbox) -> None:
    """The sandbox answers 401 without a key, so a 200 proves --api-key went out."""
    refused = runway("call", "organization", key=False)
    assert refused.code == 1
    result = runway("--api-key", KEY, "call", "organization", key=False)
    assert result.code == 0, result.err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_while_waiting_exits_130_with_the_resume_command(
        sandbox: Sandbox, image_args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        command("call", "text_to_image", *image_args, "--download", "--output-dir", str(out),
                "--poll-interval", "0.05"),
        env=base_env(sandbox, **fault_env("task=throttled:30")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                t.status == "THROTTLED" for t in list(sandbox.state.tasks.values())):
            time.sleep(0.05)
        time.sleep(0.2)  # a few polls in
        proc.send_signal(signal.SIGINT)
        out_text, err_text = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err_text
    task_id = next(iter(sandbox.state.tasks))
    assert f"runway task get {task_id} --wait --download --output-dir {out}" in err_text
    assert "Traceback" not in err_text
    assert out_text == ""
    assert not out.exists() or only_files(out) == []
    assert KEY not in out_text + err_text


# --------------------------------------------------------------------------- task, upload


def _created(runway: Runner, image_args: list[str], env: dict[str, str] | None = None) -> str:
    result = runway("call", "text_to_image", *image_args, env=env)
    assert result.code == 0, result.err
    task_id: str = result.json()["id"]
    return task_id


def test_task_get_shows_then_waits_and_downloads(runway: Runner, image_args: list[str],
                                                 tmp_path: Path) -> None:
    task_id = _created(runway, image_args)
    shown = runway("task", "get", task_id)
    assert shown.code == 0 and shown.json()["id"] == task_id
    done = runway("task", "get", task_id, "--download", "--output-dir", str(tmp_path),
                  "--poll-interval", "0.05")
    assert done.code == 0, done.err
    saved = Path(done.out.strip())
    assert saved.read_bytes().startswith(PNG_MAGIC)
    again = runway("task", "get", task_id, "--download", "--output-dir", str(tmp_path))
    assert again.code == 0
    assert Path(again.out.strip()) != saved, "an existing file is never overwritten"
    assert len(only_files(tmp_path)) == 2


def test_task_cancel_then_get_shows_cancelled(runway: Runner, image_args: list[str]) -> None:
    task_id = _created(runway, image_args, env=fault_env("task=throttled:30"))
    cancelled = runway("task", "cancel", task_id)
    assert cancelled.code == 0, cancelled.err
    assert f"task {task_id} cancelled" in cancelled.err
    shown = runway("task", "get", task_id, "--wait")
    assert shown.code == 3
    assert "cancelled" in shown.err


def test_task_delete_then_get_is_not_found(runway: Runner, image_args: list[str]) -> None:
    task_id = _created(runway, image_args)
    assert runway("task", "get", task_id, "--wait", "--poll-interval", "0.05").code == 0
    deleted = runway("--json", "task", "delete", task_id)
    assert deleted.code == 0 and deleted.json() == {"id": task_id, "deleted": True}
    gone = runway("task", "get", task_id)
    assert gone.code == 1
    assert "404" in gone.err


def test_upload_create_prints_a_runway_uri(runway: Runner, sandbox: Sandbox,
                                           tmp_path: Path) -> None:
    picture = tmp_path / "frame.png"
    picture.write_bytes(PNG_MAGIC + b"\0" * 32)
    result = runway("upload", "create", str(picture))
    assert result.code == 0, result.err
    assert re.fullmatch(r"runway://\S+\n", result.out)


def test_upload_create_sends_metadata_with_the_file(runway: Runner, sandbox: Sandbox,
                                                   tmp_path: Path) -> None:
    picture = tmp_path / "frame.png"
    picture.write_bytes(PNG_MAGIC + b"\0" * 32)
    result = runway("upload", "create", str(picture), "--metadata", '{"shoot": "spring"}',
                    "--json")
    assert result.code == 0, result.err
    uri = result.json()["uri"]
    (upload,) = [u for u in sandbox.state.uploads.values() if u.runway_uri == uri]
    assert upload.received and upload.metadata == '{"shoot": "spring"}'


def test_upload_create_missing_file_is_a_usage_error(runway: Runner, sandbox: Sandbox) -> None:
    result = runway("upload", "create", "no-such-file.png")
    assert result.code == 2
    assert "no-such-file.png" in result.err
    assert not any(e.method == "POST" for e in sandbox.state.requests)


# --------------------------------------------------------------------------- --sandbox


def test_main_job_runs_offline_with_no_key(runway_offline: Runner, tmp_path: Path) -> None:
    """The README's first command: generate → wait → download with no key and no network."""
    result = runway_offline(*MAIN_JOB, key=False,
                            env={"RUNWAY_SANDBOX_TASK_SECONDS": "0.3"})
    assert result.code == 0, result.err
    saved = Path(result.out.strip())
    assert saved.parent == Path("runway-output")
    data = saved.read_bytes()
    assert saved.suffix == ".mp4" and data[4:8] == b"ftyp"
    assert "sandbox-placeholder-key" not in result.out + result.err


def test_sandbox_works_with_any_command(runway_offline: Runner) -> None:
    created = runway_offline("--sandbox", "--json", "call", "organization", key=False)
    assert created.code == 0, created.err
    assert isinstance(created.json(), dict)


def test_sandbox_serve_prints_its_url_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        command("sandbox", "serve", "--port", "0", "--task-seconds", "0.1"),
        env=base_env(None, key=False), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        answer = httpx.get(url + "/v1/organization", timeout=5)
        assert answer.status_code == 401, "serves the API (and asks for a key)"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopped" in err and "Traceback" not in err


def test_sandbox_serve_rejects_a_bad_fault(runway_offline: Runner) -> None:
    result = runway_offline("sandbox", "serve", "--fault", "explode=1")
    assert result.code == 2
    assert "explode" in result.err


# --------------------------------------------------------------------------- help


def test_exit_codes_are_documented(runway_offline: Runner) -> None:
    listed = runway_offline("help", "exit-codes")
    assert listed.code == 0
    for code in ("0", "1", "2", "3", "4", "75", "130"):
        assert re.search(rf"^\s+{code}\s", listed.out, re.M)
    top = runway_offline("--help")
    assert "exit codes" in top.out.lower()


def test_run_options_are_on_generation_calls(runway_offline: Runner) -> None:
    shown = runway_offline("call", "text_to_video", "--help")
    for flag in ("--wait", "--download", "--output-dir", "--timeout", "--poll-interval",
                 "--retry-on-internal-error", "--retry-backoff-seconds"):
        assert flag in shown.out
    plain = runway_offline("call", "organization", "--help")
    assert "--download" not in plain.out


def test_startup_of_task_commands_keeps_heavy_imports_away(tmp_path: Path) -> None:
    """``runway task --help``-like paths import no httpx/jsonschema/openapi-core/sandbox."""
    script = (
        "import sys\n"
        "from runway_dynamic.cli import main\n"
        "for args in (['task', 'get', '--help'], ['auth', 'show'], ['help', 'exit-codes'],"
        " ['upload', 'create', '--help'], ['sandbox', 'serve', '--help']):\n"
        "    main(args)\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('httpx', 'jsonschema',"
        " 'openapi_core') or m.startswith('runway_dynamic.sandbox')]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([*command()[:1], "-c", script], capture_output=True, text=True,
                          env={**os.environ, "RUNWAY_API_KEY": KEY}, timeout=60)
    assert "HEAVY []" in done.stderr, done.stderr


def test_sandbox_serve_takes_organization_limits(bundled_spec: Spec) -> None:
    """--concurrency-limit/--daily-limit/--credits reach GET /v1/organization."""
    proc = subprocess.Popen(
        command("sandbox", "serve", "--concurrency-limit", "3", "--daily-limit", "7",
                "--credits", "500", "--no-auth"),
        env=base_env(None, key=False), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        op = bundled_spec.catalog.operation("organization", "GET")
        assert op is not None
        org = httpx.get(url + "/v1/organization", headers=dict(op.constant_headers),
                        timeout=5).json()
        stats = httpx.get(url + "/_sandbox/stats", timeout=5).json()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    model = bundled_spec.models()[0]
    assert org["tier"]["models"][model] == {"maxConcurrentGenerations": 3,
                                            "maxDailyGenerations": 7}
    assert org["tier"]["maxMonthlyCreditSpend"] == 500 and org["creditBalance"] == 500
    assert stats["created"] == 0
