"""Running a document's examples the way a reader would, one after another.

A :class:`Scenario` is one document read top to bottom in one working directory, against
one sandbox (a real HTTP server shared by the document's examples, so a task made by one
example is there for the next). What a reader brings is made here, never by the document:

- media files an example names (``./still.png``, ``a1.jpg``, ``"uri":"./speech.wav"``) are
  real files made with ffmpeg; jobs files (``.jsonl``, ``.csv``) hold the README's own
  JSONL jobs; anything else (a plan file, a journal) must come from an earlier example;
- placeholders (``TASK_ID``, ``WORKFLOW_ID``, ``out/STILL.png``, ``--mode MODE``…) are filled
  from earlier examples' output or from the sandbox's state (:data:`PLACEHOLDERS`);
- ``.example`` hosts (RFC 2606 documentation names) are served by a loopback product page;
- servers (:data:`SERVERS`) are started, probed and stopped with SIGINT; commands that
  prompt (:data:`TERMINAL_INPUT`) get their answer on a pseudo-terminal.

Every example must exit as its document says (0 unless the paragraph above it says
otherwise) and leave what it promises (``--download`` prints saved files, ``-o`` writes).
"""

from __future__ import annotations

import atexit
import contextlib
import http.server
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from doc_commands import Command

from runway_dynamic.sandbox import Sandbox

KEY = "key_doc_examples_5f0c9e7a1b2d"
RUNWAY = (sys.executable, "-m", "runway_dynamic")
#: Seconds a sandbox task runs: short, so examples that wait stay quick.
TASK_SECONDS = 0.2
COMMAND_TIMEOUT = 180.0

#: Commands of the documents that are not ``runway`` commands and are not run, with why.
#: Keyed by their first words; anything else that is not ``runway`` fails the suite. (The
#: README's "Run the tests" line is run verbatim on a clean clone by .ci/run.)
NOT_RUN: dict[tuple[str, ...], str] = {
    ("python3", "-m", "venv"): "makes the virtual environment this suite already runs in",
    (".",): "activates that environment (a shell builtin, nothing of ours)",
    ("pip", "install"): "installs this checkout, which the suite is running from",
    ("python", "-m", "pytest"): "runs the test suite this test is part of",
}



def _throwaway_journal() -> str:
    """A fresh database on a throwaway PostgreSQL server (started on first use, stopped when
    the tests end), for the shared-journal examples: what the reader's own server would be."""
    if not _SERVER:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))
        import pg_cluster

        why = pg_cluster.unavailable()
        if why is not None:
            raise RuntimeError(f"this example needs a PostgreSQL server: {why}")
        stack = contextlib.ExitStack()
        _SERVER.append(stack.enter_context(pg_cluster.cluster()))
        atexit.register(stack.close)
    return str(_SERVER[0].database(f"doc_{uuid.uuid4().hex[:8]}"))


#: The throwaway PostgreSQL server of this test process, once started.
_SERVER: list[Any] = []
#: Variables a document ``export``s for its later examples, and what the runner sets
#: instead of the document's value (the server a reader would have).
EXPORTS: dict[str, Callable[[], str]] = {"RUNWAY_JOURNAL_URL": _throwaway_journal}

JOBS_SUFFIXES = (".jsonl", ".csv")
#: Options whose value is something the command writes (never made beforehand).
OUTPUT_OPTIONS = frozenset({"-o", "--output", "--output-dir"})
_PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9_]*[A-Z0-9])(?![a-z0-9])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EXAMPLE_URL = re.compile(r"https?://[A-Za-z0-9.-]+\.example(?=[/\"'\s]|$)")


@dataclass
class Ran:
    """One example as run: the argv after filling, its exit code and output."""

    command: Command
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    shared: bool  # ran against the shared sandbox (its task ids stay valid)


class ExampleFailed(Exception):
    """An example did not do what its document says; the message names doc, line, command."""

    def __init__(self, command: Command, problem: str, ran: Ran | None = None) -> None:
        detail = ""
        if ran is not None:
            detail = (f"\n    ran: {shlex.join(ran.argv)}\n    exit: {ran.returncode}"
                      + _tail("stdout", ran.stdout) + _tail("stderr", ran.stderr))
        super().__init__(f"{command.where}: `{command.text}`: {problem}{detail}")


def _tail(name: str, text: str, lines: int = 12) -> str:
    kept = text.rstrip("\n").splitlines()[-lines:]
    return f"\n    {name}:\n      " + "\n      ".join(kept) if kept else ""


# --------------------------------------------------------------------------- fixtures


#: How ffmpeg makes each kind of media file an example may name (a frame, a tone, a clip).
FFMPEG_INPUTS: dict[str, tuple[str, ...]] = {
    ".png": ("-f", "lavfi", "-i", "testsrc2=size=1280x720", "-frames:v", "1"),
    ".jpg": ("-f", "lavfi", "-i", "testsrc2=size=1024x1024", "-frames:v", "1"),
    ".jpeg": ("-f", "lavfi", "-i", "testsrc2=size=1024x1024", "-frames:v", "1"),
    ".wav": ("-f", "lavfi", "-i", "sine=frequency=440:duration=2"),
    ".mp3": ("-f", "lavfi", "-i", "sine=frequency=440:duration=2"),
    ".mp4": ("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24:duration=2",
             "-pix_fmt", "yuv420p"),
    ".mov": ("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24:duration=2",
             "-pix_fmt", "yuv420p"),
}
MEDIA_SUFFIXES = tuple(FFMPEG_INPUTS)
_MEDIA_IN_TEXT = re.compile(r"[\w./~-]+(?:" + "|".join(re.escape(s) for s in MEDIA_SUFFIXES)
                            + r")\b")


class MediaLibrary:
    """Real media files made once with ffmpeg, copied wherever an example names one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def copy_to(self, target: Path) -> None:
        suffix = target.suffix.lower()
        source = self.directory / f"fixture{suffix}"
        with self._lock:
            if not source.exists():
                ffmpeg = shutil.which("ffmpeg")
                assert ffmpeg, "ffmpeg is needed to make the documented examples' media"
                subprocess.run([ffmpeg, "-loglevel", "error", "-y", *FFMPEG_INPUTS[suffix],
                                str(source)], check=True, timeout=60)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def jobs_lines(readme: str) -> list[dict[str, Any]]:
    """The README's own example jobs: its code block whose every line is a JSON job."""
    from doc_commands import fenced_blocks

    for block in fenced_blocks(readme):
        rows = [line for line in block.lines if line.strip()]
        try:
            jobs = [json.loads(line) for line in rows]
        except ValueError:
            continue
        if jobs and all(isinstance(j, dict) and "endpoint" in j for j in jobs):
            return jobs
    raise AssertionError("README.md has no block of JSONL jobs to use as the jobs fixture")


class ProductSite:
    """A loopback web server standing in for every ``*.example`` product page."""

    PAGE = """<!doctype html><html><head><title>Ceramic mug — Shop</title>
<meta property="og:title" content="Matte black ceramic mug">
<meta property="og:description" content="A 350 ml stoneware mug with a matte glaze.">
<meta property="og:image" content="/mug.png">
<meta property="product:price:amount" content="24.00">
<meta property="product:price:currency" content="EUR">
</head><body><h1>Matte black ceramic mug</h1></body></html>"""

    def __init__(self, image: bytes) -> None:
        page, picture = self.PAGE.encode(), image

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = ((picture, "image/png") if self.path.endswith(".png")
                              else (page, "text/html; charset=utf-8"))
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


#: A published workflow with one image input, as a user's account would hold one.
WORKFLOW = {
    "name": "Upscale", "description": "Upscale an image", "version": 1,
    "graph": {"version": 1, "edges": [], "nodes": [
        {"id": "7d1f3a52-6c1e-4b8e-9a3f-2f0c8d9e1a01", "type": "image_input",
         "data": {"label": "Image"}},
        {"id": "7d1f3a52-6c1e-4b8e-9a3f-2f0c8d9e1a02", "type": "upscale", "data": {}},
    ]},
}


# --------------------------------------------------------------------------- scenario


@dataclass
class Scenario:
    """One document's examples, in order, in ``root``, against ``sandbox``."""

    root: Path
    sandbox: Sandbox
    site: ProductSite
    media: MediaLibrary
    jobs: list[dict[str, Any]]
    job_count: int = 3
    history: list[Ran] = field(default_factory=list)
    workflow_id: str = ""
    #: Placeholder values a precondition settled for the next command only.
    filled: dict[str, str] = field(default_factory=dict)
    #: What the document's ``export`` lines set, for the examples after them.
    exported: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        self.workflow_id = str(uuid.uuid4())
        self.sandbox.state.add_record("workflows", self.workflow_id, {
            "id": self.workflow_id, "createdAt": now, "updatedAt": now, **WORKFLOW})
        # The reader's settings: poll the sandbox often (its tasks take a fraction of a second).
        run = subprocess.run([*RUNWAY, "config", "set", "poll-interval", "0.05"],
                             capture_output=True, text=True, env=self.env(shared=True),
                             timeout=COMMAND_TIMEOUT)
        assert run.returncode == 0, run.stderr

    # ----------------------------------------------------------------- environment

    def env(self, *, shared: bool) -> dict[str, str]:
        env = {**os.environ, "RUNWAY_SANDBOX_TASK_SECONDS": str(TASK_SECONDS),
               **self.exported}
        if shared:
            env |= {"RUNWAY_BASE_URL": self.sandbox.base_url, "RUNWAY_API_KEY": KEY}
        return env

    # ----------------------------------------------------------------- running

    def run(self, command: Command) -> Ran | None:
        """Run one command of the document; raise :class:`ExampleFailed` when it misbehaves."""
        if not command.is_runway and command.argv[:1] == ("export",):
            name = command.argv[1].split("=", 1)[0] if len(command.argv) > 1 else ""
            if name not in EXPORTS:
                raise ExampleFailed(command, f"exports {name or 'nothing'}, which the runner "
                                             "cannot provide (EXPORTS in tests/docs/doc_runner.py)")
            try:
                self.exported[name] = EXPORTS[name]()
            except RuntimeError as exc:
                raise ExampleFailed(command, str(exc)) from None
            return None
        if not command.is_runway:
            for words, _reason in NOT_RUN.items():
                if command.argv[: len(words)] == words:
                    return None
            raise ExampleFailed(command, "not a runway command, and not in NOT_RUN with a "
                                         "reason (tests/docs/doc_runner.py)")
        words = _command_words(list(command.argv))
        if tuple(words[:2]) in PRECONDITIONS:
            self.filled |= PRECONDITIONS[tuple(words[:2])](self, command)
        argv = self.fill(command)
        self.filled.clear()
        self.prepare_files(command, argv)
        shared = "--sandbox" not in _global_options(argv)
        if tuple(words[:2]) in SERVERS:
            ran = self._serve(command, argv, SERVERS[tuple(words[:2])], shared)
        elif tuple(words[:2]) in TERMINAL_INPUT:
            ran = self._on_terminal(command, argv, TERMINAL_INPUT[tuple(words[:2])], shared)
        else:
            ran = self._plain(command, argv, shared)
        self.history.append(ran)
        self.check(ran)
        return ran

    def _plain(self, command: Command, argv: list[str], shared: bool) -> Ran:
        started = time.monotonic()
        # A transcript shows what a terminal shows: stdout and stderr as they interleave.
        merged = command.shown is not None
        try:
            proc = subprocess.run(
                [*RUNWAY, *argv[1:]], cwd=self.root, env=self.env(shared=shared),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merged else subprocess.PIPE, text=True,
                timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ExampleFailed(command, f"still running after {COMMAND_TIMEOUT:.0f} s (a "
                                "server? give it a readiness probe in SERVERS)") from None
        return Ran(command, argv, proc.returncode, proc.stdout or "", proc.stderr or "",
                   time.monotonic() - started, shared)

    def _serve(self, command: Command, argv: list[str], probe: Probe, shared: bool) -> Ran:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*RUNWAY, *argv[1:]], cwd=self.root, env=self.env(shared=shared),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            problem = probe(proc)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                problem = problem or "did not stop within 15 s of SIGINT"
        ran = Ran(command, argv, proc.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - started, shared)
        if problem:
            raise ExampleFailed(command, problem, ran)
        return ran

    def _on_terminal(self, command: Command, argv: list[str], answer: Callable[[], str],
                     shared: bool) -> Ran:
        import pty

        started = time.monotonic()
        leader, follower = pty.openpty()
        proc = subprocess.Popen([*RUNWAY, *argv[1:]], cwd=self.root,
                                env=self.env(shared=shared), stdin=follower, stdout=follower,
                                stderr=follower, start_new_session=True)
        os.close(follower)
        transcript = b""
        sent = False
        deadline = time.monotonic() + 60
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                ready, _, _ = select.select([leader], [], [], 0.2)
                if ready:
                    chunk = os.read(leader, 4096)
                    if not chunk:
                        break
                    transcript += chunk
                    if not sent and b":" in transcript:
                        os.write(leader, answer().encode() + b"\n")
                        sent = True
                elif proc.poll() is not None:
                    break
        os.close(leader)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        text = transcript.decode(errors="replace").replace("\r\n", "\n")
        return Ran(command, argv, proc.returncode, text, "", time.monotonic() - started, shared)

    # ----------------------------------------------------------------- checks

    def check(self, ran: Ran) -> None:
        command = ran.command
        if ran.returncode != command.expect_exit:
            raise ExampleFailed(command, f"exited {ran.returncode}, the document expects "
                                         f"{command.expect_exit}", ran)
        if "Traceback (most recent call last)" in ran.stdout + ran.stderr:
            raise ExampleFailed(command, "printed a traceback", ran)
        if KEY in ran.stdout + ran.stderr:
            raise ExampleFailed(command, "printed the API key", ran)
        if command.shown is not None:
            got = [line.rstrip() for line in ran.stdout.rstrip("\n").splitlines()]
            if got != list(command.shown):
                raise ExampleFailed(command, "the output differs from the one the document "
                                    "shows:\n      " + "\n      ".join(
                                        f"- {a}" for a in command.shown) + "\n      "
                                    + "\n      ".join(f"+ {b}" for b in got), ran)
        options = _options(ran.argv)
        if ran.returncode == 0 and "--download" in options and "--json" not in ran.argv:
            saved = [line for line in ran.stdout.splitlines() if line.strip()]
            missing = [p for p in saved if not (self.root / p).is_file()
                       or not (self.root / p).stat().st_size]
            if not saved or missing:
                raise ExampleFailed(command, "--download should print each saved file on "
                                    f"stdout (missing or empty: {missing})", ran)
        for name in ("-o", "--output"):
            target = options.get(name)
            if ran.returncode == 0 and target and not (self.root / target).exists() \
                    and not self._numbered_outputs(target, ran):
                raise ExampleFailed(command, f"{name} {target} was not written", ran)

    def _numbered_outputs(self, target: str, ran: Ran) -> bool:
        """A task's several outputs saved by ``-o FILE`` as ``FILE-1.ext``, ``FILE-2.ext``…
        (each printed on stdout)."""
        stem = Path(target).with_suffix("").name
        saved = [Path(line) for line in ran.stdout.splitlines() if line.strip()]
        return len(saved) > 1 and all(
            p.name.startswith(f"{stem}-") and (self.root / p).is_file() for p in saved)

    # ----------------------------------------------------------------- filling in

    def fill(self, command: Command) -> list[str]:
        """``command.argv`` with placeholders filled and ``.example`` hosts made local."""
        argv: list[str] = []
        for position, token in enumerate(command.argv):
            token = _EXAMPLE_URL.sub(self.site.url, token)
            if " " not in token and not token.startswith(("{", "[")):
                token = _PLACEHOLDER.sub(
                    lambda m, p=position: self.placeholder(command, argv, p, m.group(1),
                                                           m.string), token)
            argv.append(token)
        return argv

    def placeholder(self, command: Command, before: list[str], position: int, name: str,
                    token: str) -> str:
        if name in self.filled:
            return self.filled[name]
        resolver = PLACEHOLDERS.get(name)
        if resolver is None and before and before[-1].startswith("-"):
            resolver = PLACEHOLDERS["<choice>"]
        if resolver is None:
            raise ExampleFailed(command, f"no way to fill the placeholder {name}: teach "
                                f"PLACEHOLDERS in tests/docs/doc_runner.py where it comes from")
        value = resolver(self, before, name, token)
        if value is None:
            raise ExampleFailed(command, f"placeholder {name}: nothing earlier in the "
                                "document (or in the sandbox) to fill it from")
        return value

    def prepare_files(self, command: Command, argv: list[str]) -> None:
        """Make the media and jobs files an example names, as a reader would bring them."""
        for position, token in enumerate(argv):
            if position and argv[position - 1] in OUTPUT_OPTIONS:
                continue
            if token.lower().endswith(JOBS_SUFFIXES) and not token.startswith("-"):
                self._jobs_file(self.root / token)
            for found in _MEDIA_IN_TEXT.findall(token):
                # Not a URL's or URI's path (`//host/a.png`), not outside the workdir.
                if not found.startswith(("/", "~")):
                    self._media_file(self.root / found)

    def _media_file(self, path: Path) -> None:
        if not path.exists():
            self.media.copy_to(path)

    def _jobs_file(self, path: Path) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".jsonl":
            path.write_text("".join(json.dumps(job) + "\n" for job in self.jobs))
            for job in self.jobs:
                for value in job.values():
                    if isinstance(value, str) and value.lower().endswith(MEDIA_SUFFIXES):
                        self._media_file(path.parent / value)
            return
        plain = next(j for j in self.jobs if not any(
            isinstance(v, str) and v.lower().endswith(MEDIA_SUFFIXES) for v in j.values()))
        header = ["endpoint", "model", "prompt", "ratio"]
        rows = [",".join(header)] + [
            ",".join([plain["endpoint"], plain["model"], f"product shot {n}", plain["ratio"]])
            for n in range(1, self.job_count + 1)]
        path.write_text("\n".join(rows) + "\n")

    # ----------------------------------------------------------------- earlier output

    def earlier_outputs(self, *, shared_only: bool = False) -> Iterator[str]:
        for ran in reversed(self.history):
            if ran.shared or not shared_only:
                yield ran.stdout + "\n" + ran.stderr

    def known_task(self) -> str | None:
        """The newest task id an earlier example printed that the shared sandbox knows."""
        for text in self.earlier_outputs(shared_only=True):
            for task_id in reversed(_UUID.findall(text)):
                if task_id in self.sandbox.state.tasks:
                    return task_id
        return None


# --------------------------------------------------------------------------- argv helpers


def _global_options(argv: list[str]) -> list[str]:
    out = []
    for token in argv[1:]:
        if not token.startswith("-"):
            break
        out.append(token)
    return out


def _command_words(argv: list[str]) -> list[str]:
    tokens = argv[1:]
    while tokens and tokens[0].startswith("-"):
        token = tokens.pop(0)
        if token in {"--spec", "--api-key"} and tokens:
            tokens.pop(0)
    words = []
    for token in tokens:
        if token.startswith("-"):
            break
        words.append(token)
    return words


def _options(argv: list[str]) -> dict[str, str]:
    """``--flag value`` / ``--flag=value`` pairs (a bare flag maps to "")."""
    out: dict[str, str] = {}
    for index, token in enumerate(argv):
        if not token.startswith("-"):
            continue
        name, eq, value = token.partition("=")
        if not eq:
            following = argv[index + 1] if index + 1 < len(argv) else ""
            value = "" if following.startswith("-") else following
        out[name] = value
    return out


# --------------------------------------------------------------------------- placeholders

Resolver = Callable[[Scenario, list[str], str, str], "str | None"]


def _task(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A task id: the newest one an earlier example made in the shared sandbox."""
    return scenario.known_task()


def _entry(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A history entry's id: the newest one an earlier example recorded (not a batch link,
    whose body stays in its journal)."""
    proc = subprocess.run([*RUNWAY, "history", "--json", "--limit", "20"], capture_output=True,
                          text=True, env=scenario.env(shared=True), cwd=scenario.root,
                          timeout=COMMAND_TIMEOUT)
    if proc.returncode != 0:
        return None
    found = [e for e in json.loads(proc.stdout) if e.get("body") is not None]
    return str(found[0]["id"]) if found else None


def _workflow(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A published workflow's id: the one the sandbox holds for this document."""
    return scenario.workflow_id


def _printed_path(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A file an earlier example printed (``out/STILL.png``: a ``.png`` it saved in out/)."""
    pattern = re.compile(re.escape(token).replace(re.escape(name), "[^/]+") + "$")
    for text in scenario.earlier_outputs():
        for line in reversed(text.splitlines()):
            path = line.strip()
            if pattern.match(path) and (scenario.root / path).is_file():
                return path
    return None


def _workflow_input(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A workflow input flag: the first one ``workflow register`` said to run it with."""
    for text in scenario.earlier_outputs():
        found = re.search(r"run it with: runway wf \S+ --([\w-]+)", text)
        if found:
            return found.group(1)
    return None


def _input_value(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """A value for the flag before it: a fixture file for a media input, else text."""
    flag = before[-1] if before else ""
    for kind, suffix in (("image", ".png"), ("video", ".mp4"), ("audio", ".wav")):
        if kind in flag:
            scenario._media_file(scenario.root / f"input{suffix}")
            return f"input{suffix}"
    return "a value"


def _choice(scenario: Scenario, before: list[str], name: str, token: str) -> str | None:
    """The value of an option whose help lists its choices (``--mode a|b|c``): the first."""
    option = before[-1]
    words = _command_words(before)
    proc = subprocess.run([*RUNWAY, *words, "--help"], capture_output=True, text=True,
                          env=scenario.env(shared=True), timeout=COMMAND_TIMEOUT)
    found = re.search(rf"{re.escape(option)}\s+([\w.-]+(?:\|[\w.-]+)+)", proc.stdout)
    return found.group(1).split("|")[0] if found else None


PLACEHOLDERS: dict[str, Resolver] = {
    "TASK_ID": _task,
    "ENTRY_ID": _entry,
    "WORKFLOW_ID": _workflow,
    "STILL": _printed_path,
    "INPUT": _workflow_input,
    "VALUE": _input_value,
    "<choice>": _choice,
}


# --------------------------------------------------------------------------- preconditions


class LosingProxy:
    """Forwards every request to the sandbox but loses the answer to one create: the
    request is processed (a task exists) and the connection closes with no response, as
    when a process dies or the network drops while a create is out."""

    def __init__(self, target: str, lose: Callable[[bytes], bool]) -> None:
        forward = httpx.Client(base_url=target, timeout=30)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in {"host", "content-length", "connection"}}
                reply = forward.request(self.command, self.path, content=body,
                                        headers=headers)
                if self.command == "POST" and lose(body):
                    self.close_connection = True
                    return
                self.send_response(reply.status_code)
                for name, value in reply.headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding",
                                            "connection", "content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

            def log_message(self, *_: Any) -> None:
                pass

        self._forward = forward
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._forward.close()


def _uncertain_job(scenario: Scenario, command: Command) -> dict[str, str]:
    """``batch resolve JOURNAL --job KEY --task-id ID`` settles a job left *uncertain*: its
    create was out when the batch died. When the document's batch finished cleanly, the
    suite replays it (its own jobs file, fresh output dir) with the answer to that job's
    create lost, then reads the job's task from the sandbox, as a person reads the
    dashboard. It fills ``ID``/``TASK_ID`` with that task and a ``KEY`` placeholder with
    the job (the uncertain one ``batch status`` lists, else the journal's last)."""
    from runway_dynamic.batch import Batch

    words = _command_words(list(command.argv))
    journal = scenario.root / words[2]
    key = _options(list(command.argv))["--job"]
    with Batch.open(journal, readonly=True) as batch:
        if _PLACEHOLDER.fullmatch(key):
            key = (batch.journal.jobs(["uncertain"]) or batch.journal.jobs())[-1].key
        record = batch.journal.job(key)
    # The create of this job: its fields as journaled (local files are sent inlined).
    wanted = {k: v for k, v in record.body.items()
              if not (isinstance(v, str) and v.lower().endswith(MEDIA_SUFFIXES))}
    before: set[str] = set()
    if record.state != "uncertain":
        before = set(scenario.sandbox.state.tasks)
        status = json.loads(subprocess.run(
            [*RUNWAY, "batch", "status", str(journal), "--json"], capture_output=True,
            text=True, env=scenario.env(shared=True), timeout=COMMAND_TIMEOUT).stdout)
        jobs_file, output_dir = Path(status["jobsFile"]), Path(status["outputDir"])
        output_dir.rename(output_dir.with_name(output_dir.name + ".before-the-crash"))
        proxy = LosingProxy(scenario.sandbox.base_url, lambda body: _has(body, wanted))
        try:
            crashed = subprocess.run(
                [*RUNWAY, "batch", "run", str(jobs_file), "--output-dir", str(output_dir)],
                cwd=scenario.root, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                env={**scenario.env(shared=True), "RUNWAY_BASE_URL": proxy.url})
        finally:
            proxy.close()
        with Batch.open(journal, readonly=True) as batch:
            record = batch.journal.job(key)
        if record.state != "uncertain":
            raise ExampleFailed(command, f"could not leave {key} uncertain to resolve "
                                f"(exit {crashed.returncode}): {crashed.stderr[-500:]}")
    made = [t.id for t in list(scenario.sandbox.state.tasks.values())
            if t.id not in before and _has(json.dumps(t.body).encode(), wanted)]
    if not made:
        raise ExampleFailed(command, f"the sandbox holds no task for {key}")
    return {"KEY": key, "ID": made[-1], "TASK_ID": made[-1]}


def _has(body: bytes, wanted: dict[str, Any]) -> bool:
    """Whether the JSON object ``body`` holds every field of ``wanted``."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and all(data.get(k) == v for k, v in wanted.items())


#: What an example needs that the examples before it do not leave, and how it is made.
PRECONDITIONS: dict[tuple[str, str], Callable[[Scenario, Command], dict[str, str]]] = {
    ("batch", "resolve"): _uncertain_job,
}


# --------------------------------------------------------------------------- servers

Probe = Callable[[subprocess.Popen[bytes]], "str | None"]


def _read_line(proc: subprocess.Popen[bytes], seconds: float) -> bytes | None:
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            buffer += chunk
            if b"\n" in buffer:
                return buffer.split(b"\n", 1)[0]
        elif proc.poll() is not None:
            return None
    return None


def _mcp_stdio(proc: subprocess.Popen[bytes]) -> str | None:
    """An MCP server on stdio answers ``initialize`` and lists its tools."""
    assert proc.stdin is not None
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "doc-examples", "version": "1"}}}
    proc.stdin.write(json.dumps(hello).encode() + b"\n")
    proc.stdin.flush()
    line = _read_line(proc, 60)
    if not line:
        return "no answer to MCP initialize within 60 s"
    answer = json.loads(line)
    if "result" not in answer:
        return f"MCP initialize failed: {answer}"
    return None


def _sandbox_serve(proc: subprocess.Popen[bytes]) -> str | None:
    """``sandbox serve`` prints its URL, which then answers API requests."""
    line = _read_line(proc, 60)
    if not line:
        return "printed no URL within 60 s"
    url = line.decode().strip()
    reply = httpx.get(url + "/v1/organization", headers={"Authorization": "Bearer any"},
                      timeout=10)
    return None if reply.status_code < 500 else f"{url} answered {reply.status_code}"


SERVERS: dict[tuple[str, str], Probe] = {
    ("mcp", "serve"): _mcp_stdio,
    ("sandbox", "serve"): _sandbox_serve,
}

#: Commands that prompt on a terminal, and what the reader types.
TERMINAL_INPUT: dict[tuple[str, str], Callable[[], str]] = {
    ("auth", "set"): lambda: KEY,
}
