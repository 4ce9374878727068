"""``runway`` records every create in the history, and ``runway history`` reads it back.

Real subprocesses against a sandbox on loopback (the real key in the environment), so what
is tested is what a user's shell would see.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
import uuid
from pathlib import Path
from typing import Any

from history_support import KEY, Runner, start

from runway_dynamic.history import ANSWER_LOST, Entry
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.spec import Spec


def created(sandbox: Sandbox) -> set[str]:
    with sandbox.state.lock:
        return set(sandbox.state.tasks)


def check_entry(entry: Entry, spec: Spec, words: list[str]) -> None:
    """Fields every CLI entry has: the command run, the spec, a real (not sandbox) run."""
    assert entry.command is not None and entry.command.startswith("runway ")
    assert all(w in entry.command for w in words), (entry.command, words)
    assert entry.spec_sha == spec.sha256 and entry.sandbox is False
    assert entry.status not in ("SENDING", ANSWER_LOST)


# --------------------------------------------------------------------------- recording


def test_generation_commands_leave_one_entry_per_task_with_their_outcome(
        runway: Runner, sandbox: Sandbox, entries: Any, bundled_spec: Spec,
        image_args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    image = runway("image", "--prompt", "a lighthouse at dusk", *image_args, "--download",
                   "--output-dir", str(out))
    assert image.code == 0, image.err
    model, ratio = image_args[1], image_args[3]
    called = runway("call", "text_to_image", "--body", json.dumps(
        {"model": model, "promptText": "a kite", "ratio": ratio}), "--wait")
    assert called.code == 0, called.err
    routed = runway("generate", "a fox in the snow", "--kind", "image", *image_args)
    assert routed.code == 0, routed.err

    found = entries()
    assert len(found) == 3 and {e.task_id for e in found} == created(sandbox)
    fox, kite, lighthouse = found
    for entry, words in ((lighthouse, ["image", "--download"]), (kite, ["call", "--wait"]),
                         (fox, ["generate", "--kind"])):
        check_entry(entry, bundled_spec, words)
        assert (entry.endpoint, entry.model) == ("text_to_image", model)
    assert lighthouse.status == "SUCCEEDED" and lighthouse.outputs
    assert lighthouse.files == tuple(image.out.split()) and all(
        Path(f).is_file() for f in lighthouse.files)
    assert lighthouse.body == {"model": model, "ratio": ratio,
                               "promptText": "a lighthouse at dusk"}
    assert kite.status == "SUCCEEDED" and kite.files == ()
    assert fox.status == "SUBMITTED" and fox.prompt == "a fox in the snow"


def test_recipes_short_videos_and_workflows_leave_one_entry_per_task(
        runway: Runner, sandbox: Sandbox, entries: Any, bundled_spec: Spec,
        still: Path, tmp_path: Path) -> None:
    recipe = runway("product-photoshoot", "create", "--product", "a blue ceramic mug",
                    "--image", str(still), "--output-dir", str(tmp_path / "shoot"))
    assert recipe.code == 0, recipe.err
    after_recipe = created(sandbox)
    assert after_recipe and {e.task_id for e in entries()} == after_recipe

    video = runway("short-video", "a barista opens the cafe at dawn", "--shots", "2",
                   "-o", str(tmp_path / "video" / "cafe.mp4"))
    assert video.code == 0, video.err
    assert {e.task_id for e in entries()} == created(sandbox)

    workflow = str(uuid.uuid4())
    node = str(uuid.uuid4())
    sandbox.state.add_record("workflows", workflow, {
        "id": workflow, "name": "Salon", "description": None, "version": 1,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        "graph": {"version": 1, "edges": [], "nodes": [
            {"id": node, "type": "image_input", "name": "Portrait",
             "data": {"outputName": "image", "required": True}}]}})
    assert runway("workflow", "register", workflow).code == 0
    ran = runway("wf", "salon", "--portrait", str(still), "--output-dir", str(tmp_path / "wf"))
    assert ran.code == 0, ran.err

    found = entries()
    assert len(found) == len(created(sandbox)) == len({e.task_id for e in found})
    assert {e.task_id for e in found} == created(sandbox)
    run = found[0]
    check_entry(run, bundled_spec, ["wf", "salon"])
    assert run.endpoint == f"workflows/{workflow}" and run.status == "SUCCEEDED"
    # the portrait was inlined: the entry names the file, not its bytes
    assert run.body["nodeOutputs"][node]["image"]["uri"] == str(still)
    assert run.files and all(Path(f).is_file() for f in run.files)
    for entry in found[1:]:
        check_entry(entry, bundled_spec, [])


def test_a_batch_links_each_job_to_its_journal(
        runway: Runner, sandbox: Sandbox, entries: Any, image_args: list[str],
        tmp_path: Path) -> None:
    model, ratio = image_args[1], image_args[3]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"endpoint": "text_to_image", "model": model,
                                        "promptText": f"kite {i}", "ratio": ratio}) + "\n"
                            for i in range(3)), encoding="utf-8")
    ran = runway("batch", "run", str(jobs), "--output-dir", str(tmp_path / "b"))
    assert ran.code == 0, ran.err
    found = entries()
    assert {e.task_id for e in found} == created(sandbox) and len(found) == 3
    journal = str((tmp_path / "b" / "journal.sqlite3").absolute())
    assert {(e.batch_journal, e.body) for e in found} == {(journal, None)}
    assert sorted(e.batch_job or "" for e in found) == ["job-0001", "job-0002", "job-0003"]
    assert all(e.status == "SUCCEEDED" and e.files for e in found)


def test_the_mcp_servers_tool_calls_are_recorded(
        api_env: dict[str, str], sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    import sys

    import anyio
    from mcp import Client, StdioServerParameters

    keep = ("HOME", "RUNWAY_CACHE_DIR", "RUNWAY_CONFIG_DIR", "RUNWAY_DATA_DIR", "PATH")
    env = {**{k: os.environ[k] for k in keep if k in os.environ}, **api_env}
    params = StdioServerParameters(command=sys.executable, env=env, args=[
        "-m", "runway_dynamic", "mcp", "serve", "--poll-interval", "0.05"])
    body = {"model": image_args[1], "promptText": "an owl at noon", "ratio": image_args[3]}

    async def session() -> Any:
        with anyio.fail_after(60):
            async with Client(params) as client:
                return await client.call_tool("runway_text_to_image", body)

    result = anyio.run(session)
    assert not result.is_error, result.content
    [entry] = entries()
    assert entry.task_id in created(sandbox) and entry.status == "SUCCEEDED"
    assert entry.prompt == "an owl at noon" and "mcp serve" in (entry.command or "")


def test_a_lost_answer_leaves_an_uncertain_entry_with_what_to_look_for(
        runway: Runner, sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    lost = runway("image", "--prompt", "a lost kite", *image_args,
                  env={"RUNWAY_EXTRA_HEADERS": json.dumps({FAULT_HEADER: "drop=after"})})
    assert lost.code == 1 and "may have reached" in lost.err
    [entry] = entries()
    assert entry.status == ANSWER_LOST and entry.task_id is None
    assert len(created(sandbox)) == 1  # the task exists: only the answer was lost

    listed = runway("history", "uncertain", "--json")
    assert listed.code == 0
    [shown] = listed.json()
    assert shown["id"] == entry.id and shown["status"] == ANSWER_LOST
    assert image_args[1] in shown["lookFor"] and "a lost kite" in shown["lookFor"]
    assert runway("history", "--status", "answer-lost", "--json").json()[0]["id"] == entry.id
    assert runway("history", "show", str(entry.id)).json()["lookFor"] == shown["lookFor"]

    # a rerun is allowed (the user decides) but says the first one may have been billed
    again = runway("history", "rerun", str(entry.id), "--dry-run")
    assert again.code == 0 and "answer was lost" not in again.err  # a dry run sends nothing
    rerun = runway("history", "rerun", str(entry.id))
    assert rerun.code == 0 and "answer was lost" in rerun.err and "billed" in rerun.err
    assert len(created(sandbox)) == 2 and entries()[0].status == "SUBMITTED"


def test_reconcile_settles_a_lost_answer_with_the_task_found_or_none(
        runway: Runner, sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    lose = {"RUNWAY_EXTRA_HEADERS": json.dumps({FAULT_HEADER: "drop=after"})}
    assert runway("image", "--prompt", "found later", *image_args, env=lose).code == 1
    [made] = created(sandbox)  # what the user finds in the dashboard
    assert runway("image", "--prompt", "never found", *image_args, env=lose).code == 1
    found, lost = sorted(entries(), key=lambda e: e.id)
    assert "history reconcile" in runway("history", "uncertain", "--json").json()[0]["lookFor"]

    assert runway("history", "reconcile", str(found.id)).code == 2  # TASK_ID or --none
    assert runway("history", "reconcile", str(found.id), made, "--none").code == 2
    wrong = runway("history", "reconcile", str(found.id), str(uuid.uuid4()))
    assert wrong.code == 1 and "404" in wrong.err
    assert entries()[1].status == ANSWER_LOST  # a task the API does not know changes nothing

    settled = runway("history", "reconcile", str(found.id), made)
    assert settled.code == 0, settled.err
    assert settled.json()["taskId"] == made and settled.json()["status"] == "SUCCEEDED"
    assert settled.json()["outputs"]
    assert runway("history", "reconcile", str(lost.id), made).code == 2  # found's task
    nothing = runway("history", "reconcile", str(lost.id), "--none")
    assert nothing.code == 0 and nothing.json()["status"] == "NO_TASK"
    assert runway("history", "uncertain", "--json").json() == []
    again = runway("history", "reconcile", str(lost.id), "--none")
    assert again.code == 2 and "not uncertain" in again.err


def test_the_key_never_reaches_the_history_file(
        runway: Runner, entries: Any, history_path: Path, image_args: list[str]) -> None:
    given = runway("--api-key", KEY, "image", "--prompt", f"echo {KEY} back", *image_args,
                   "--wait")
    assert given.code == 0, given.err
    refused = runway("image", "--prompt", "refused", *image_args,
                     env={"RUNWAY_EXTRA_HEADERS": json.dumps({FAULT_HEADER: "status=400"})})
    assert refused.code != 0
    assert len(entries()) == 2
    for path in history_path.parent.glob("history.sqlite3*"):
        assert KEY.encode() not in path.read_bytes(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    command = entries()[1].command or ""
    assert "--api-key" in command and KEY not in command


def test_inlined_bytes_never_reach_the_history_file(
        runway: Runner, entries: Any, history_path: Path, bundled_spec: Spec,
        still: Path) -> None:
    import base64

    model = next(m for m in bundled_spec.models("image_to_video")
                 if {f.name for f in bundled_spec.fields("image_to_video", m)["required"]}
                 <= {"model", "promptImage", "ratio"})
    ratios = bundled_spec.ratios("image_to_video", model) or []
    payload = base64.b64encode(still.read_bytes()).decode()
    body = {"model": model, "promptImage": f"data:image/png;base64,{payload}",
            **({"ratio": ratios[0]} if ratios else {})}
    typed = runway("call", "image_to_video", "--body", json.dumps(body))
    assert typed.code == 0, typed.err
    flags = ["--ratio", ratios[0]] if ratios else []
    from_file = runway("image-to-video", "--model", model, "--prompt-image", str(still), *flags)
    assert from_file.code == 0, from_file.err

    from_path, typed_in = entries()
    assert from_path.body["promptImage"] == str(still)
    assert typed_in.body["promptImage"].startswith("<inlined image/png")
    assert "<inlined image/png" in (typed_in.command or "")
    for path in history_path.parent.glob("history.sqlite3*"):
        assert payload.encode() not in path.read_bytes(), path


def test_no_history_and_the_setting_turn_recording_off(
        runway: Runner, sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    assert runway("--no-history", "image", "--prompt", "unrecorded", *image_args).code == 0
    assert runway("config", "set", "history", "off").code == 0
    assert runway("image", "--prompt", "unrecorded too", *image_args).code == 0
    assert entries() == [] and len(created(sandbox)) == 2
    assert runway("config", "set", "history", "on").code == 0
    assert runway("image", "--prompt", "recorded", *image_args).code == 0
    assert [e.prompt for e in entries()] == ["recorded"]


def test_two_commands_writing_at_once_lose_nothing(
        api_env: dict[str, str], sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    runs = [start("image", "--prompt", f"kite {i}", *image_args, "--wait", env=api_env)
            for i in range(4)]
    for run in runs:
        _out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    found = entries()
    assert sorted(e.prompt or "" for e in found) == [f"kite {i}" for i in range(4)]
    assert {e.task_id for e in found} == created(sandbox)
    assert all(e.status == "SUCCEEDED" for e in found)


def test_the_size_cap_prunes_the_oldest_entries(
        runway: Runner, entries: Any, history_path: Path, image_args: list[str]) -> None:
    assert runway("config", "set", "history-max-mb", "0.004").code == 0  # ~4 KB
    for i in range(8):
        assert runway("image", "--prompt", f"{i} " + "long words " * 40, *image_args).code == 0
    kept = [e.prompt.split()[0] for e in entries() if e.prompt]
    assert kept and kept[0] == "7" and "0" not in kept and len(kept) < 8
    assert kept == sorted(kept, reverse=True)
    with sqlite3.connect(history_path) as db:
        total = db.execute("SELECT sum(size) FROM entries").fetchone()[0]
    assert total <= 0.004 * 1024 * 1024


# --------------------------------------------------------------------------- reading


def test_listing_filters_and_unicode_search(
        runway: Runner, image_args: list[str], tmp_path: Path) -> None:
    for prompt in ("Un phare à l'aube", "Маяк на закате", "灯台の写真", "a plain barn"):
        assert runway("image", "--prompt", prompt, *image_args).code == 0

    listed = runway("history")  # piped: JSON, newest first
    assert [e["prompt"] for e in listed.json()] == [
        "a plain barn", "灯台の写真", "Маяк на закате", "Un phare à l'aube"]
    assert [e["prompt"] for e in runway("history", "search", "PHARE").json()] == [
        "Un phare à l'aube"]
    assert [e["prompt"] for e in runway("history", "search", "маяк").json()] == [
        "Маяк на закате"]
    assert [e["prompt"] for e in runway("history", "search", "灯台").json()] == ["灯台の写真"]
    assert runway("history", "search", "submarine").json() == []
    assert len(runway("history", "--model", image_args[1], "--since", "1h").json()) == 4
    assert runway("history", "--endpoint", "text_to_video").json() == []
    assert runway("history", "--sandbox").json() == []
    assert len(runway("history", "--limit", "2").json()) == 2
    bad = runway("history", "--since", "last tuesday")
    assert bad.code == 2 and "--since" in bad.err and bad.err.count("\n") == 1

    shown = runway("history", "show", "1")
    assert shown.code == 0 and shown.json()["prompt"] == "Un phare à l'aube"
    assert runway("history", "show", "99").code == 2


def test_show_adds_the_current_state_of_an_unsettled_task(
        runway: Runner, image_args: list[str]) -> None:
    assert runway("image", "--prompt", "not waited for", *image_args).code == 0
    time.sleep(0.3)  # the sandbox's task is done by now; the entry does not know yet
    shown = runway("history", "show", "1").json()
    assert shown["status"] == "SUBMITTED" and shown["current"]["status"] == "SUCCEEDED"
    assert runway("history", "show", "1").json()["status"] == "SUCCEEDED"  # noted meanwhile


def test_clear_everything_or_before_a_date(runway: Runner, image_args: list[str]) -> None:
    assert runway("image", "--prompt", "a kite", *image_args).code == 0
    assert runway("history", "clear", "--before", "2000-01-01", "--json").json() == {
        "removed": 0}
    assert runway("history", "clear", "--json").json() == {"removed": 1}
    assert runway("history").json() == []


# --------------------------------------------------------------------------- rerun


def test_rerun_sends_the_same_body_dry_run_for_dry_run(
        runway: Runner, sandbox: Sandbox, entries: Any, bundled_spec: Spec,
        still: Path) -> None:
    operation = bundled_spec.catalog.model_operation("image_to_video")
    assert operation is not None
    variant = next(v for v in operation.variants if "promptImage" in v.field_map
                   and set(v.required) <= {"model", "promptImage", "ratio", "duration"})
    flags = ["--model", str(variant.key), "--prompt-image", str(still), "--prompt-text",
             "waves over a pier"]
    if "ratio" in variant.required and variant.ratios:
        flags += ["--ratio", variant.ratios[0]]
    if "duration" in variant.required:
        field = variant.field_map["duration"]
        flags += ["--duration", str((field.choices or [field.schema.get("minimum", 5)])[0])]
    original = runway("image-to-video", *flags, "--dry-run")
    assert original.code == 0, original.err
    sent = runway("image-to-video", *flags)
    assert sent.code == 0, sent.err
    [entry] = entries()
    assert entry.body["promptImage"] == str(still)  # the inlined file, by its path

    again = runway("history", "rerun", str(entry.id), "--dry-run")
    assert again.code == 0, again.err
    assert again.out == original.out  # the same request, byte for byte
    json_again = runway("history", "rerun", str(entry.id), "--dry-run", "--json")
    assert json_again.json() == runway("image-to-video", *flags, "--dry-run", "--json").json()

    other = next(m for m in bundled_spec.models("image_to_video") if m != variant.key)
    switched = runway("history", "rerun", str(entry.id), "--model", other, "--dry-run",
                      "--json")
    assert switched.code in (0, 2)  # today's pre-flight decides; never a traceback
    if switched.code == 0:
        assert switched.json()["body"]["model"] == other

    rerun = runway("history", "rerun", str(entry.id), "--prompt-text", "waves at night")
    assert rerun.code == 0, rerun.err
    latest = entries()[0]
    assert latest.id != entry.id and latest.prompt == "waves at night"
    assert latest.body == {**entry.body, "promptText": "waves at night"}


def test_a_sandbox_rehearsal_is_recorded_and_promoted_to_a_real_run(
        runway: Runner, sandbox: Sandbox, entries: Any, image_args: list[str]) -> None:
    rehearsed = runway("--sandbox", "image", "--prompt", "a rehearsal", *image_args, "--wait")
    assert rehearsed.code == 0, rehearsed.err
    [entry] = entries()
    assert entry.sandbox is True and entry.status == "SUCCEEDED"
    assert created(sandbox) == set()  # the rehearsal never reached the test's sandbox
    assert runway("history", "--no-sandbox").json() == []

    again = runway("history", "rerun", str(entry.id), "--sandbox", "--wait")
    assert again.code == 0, again.err
    assert entries()[0].sandbox is True and created(sandbox) == set()

    promoted = runway("history", "rerun", str(entry.id), "--wait")
    assert promoted.code == 0, promoted.err
    assert "real" in promoted.err
    real = entries()[0]
    assert real.sandbox is False and {real.task_id} == created(sandbox)
    assert real.body == entry.body


# --------------------------------------------------------------------------- outputs


def test_saved_files_are_recorded_by_absolute_path_and_open_from_anywhere(
        runway: Runner, entries: Any, image_args: list[str], tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    made = runway("image", "--prompt", "a heron", *image_args, "--download", "--output-dir",
                  "out", cwd=work)
    assert made.code == 0, made.err
    [entry] = entries()
    assert entry.files and all(Path(f).is_absolute() and Path(f).is_file()
                               and Path(f).parent == work / "out" for f in entry.files)
    printed = runway("history", "open", str(entry.id), "--print", cwd=elsewhere)
    assert printed.code == 0 and printed.out.split() == list(entry.files)


def test_open_hands_saved_files_to_the_opener_without_the_key(
        runway: Runner, entries: Any, image_args: list[str], tmp_path: Path) -> None:
    assert runway("image", "--prompt", "an owl", *image_args, "--download", "--output-dir",
                  str(tmp_path / "out")).code == 0
    log = tmp_path / "opened.txt"
    opener = tmp_path / "opener.py"
    opener.write_text("import os, sys\n"
                      f"with open({str(log)!r}, 'a') as f:\n"
                      "    f.write(repr((sys.argv[1:], 'RUNWAY_API_KEY' in os.environ)) + '\\n')\n")
    import sys

    opened = runway("history", "open", "1", env={"RUNWAY_OPENER": f"{sys.executable} {opener}"})
    assert opened.code == 0, opened.err
    [(files, has_key)] = [eval(line) for line in log.read_text().splitlines()]
    assert files == list(entries()[0].files) and has_key is False

    printed = runway("history", "open", "1", "--print")
    assert printed.out.split() == list(entries()[0].files)


def test_a_gallery_from_the_history(runway: Runner, image_args: list[str],
                                    tmp_path: Path) -> None:
    assert runway("image", "--prompt", "a heron", *image_args, "--download", "--output-dir",
                  str(tmp_path / "out")).code == 0
    assert runway("image", "--prompt", "not saved", *image_args).code == 0
    made = runway("gallery", "create", "--from-history", "--since", "1d", "-o",
                  str(tmp_path / "g.html"))
    assert made.code == 0, made.err
    page = (tmp_path / "g.html").read_text(encoding="utf-8")
    assert "a heron" in page and "not saved" not in page
    assert "runway history rerun 1" in page and "<img" in page
