"""Every documented example runs and does what its document says.

The documents are found, not listed: README.md and every ``.agents/skills/**/SKILL.md``.
Their commands are extracted from fenced code blocks (tests/doc_commands.py) and run in
document order, each document in a working directory of its own against one sandbox
shared by its examples (tests/docs/doc_runner.py says what is filled in and how). Python
blocks run against a sandbox of their own. A new example is run the day it is written;
one that cannot run must be named in ``NOT_RUN`` with its reason.

A broken example fails its document's test, which lists every broken example as
``DOC:LINE: `command`: what went wrong`` with the exit code and the end of its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_commands import extract, extract_file, fenced_blocks
from doc_runner import (
    NOT_RUN,
    PLACEHOLDERS,
    ExampleFailed,
    MediaLibrary,
    ProductSite,
    Scenario,
    jobs_lines,
)

from runway_dynamic.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SKILLS = sorted((REPO / ".agents" / "skills").glob("**/SKILL.md"))
#: README, the agent skills, and any other document (docs/) that shows a runway command.
DOCUMENTS = [README, *SKILLS, *(
    path for path in sorted((REPO / "docs").glob("**/*.md"))
    if extract_file(path, REPO).runway)]
PYTHON_KEY = "key_doc_python_example_0123456789"


def _name(path: Path) -> str:
    return str(path.relative_to(REPO))


def _python_blocks() -> list[tuple[str, str]]:
    return [(f"{_name(path)}:{block.first_line}", "\n".join(block.lines))
            for path in DOCUMENTS for block in fenced_blocks(path.read_text(encoding="utf-8"))
            if block.lang == "python"]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaLibrary:
    return MediaLibrary(tmp_path_factory.mktemp("media"))


@pytest.fixture
def scenario(tmp_path: Path, media: MediaLibrary) -> Iterator[Scenario]:
    picture = tmp_path / "product-page.png"
    media.copy_to(picture)
    site = ProductSite(picture.read_bytes())
    try:
        with Sandbox(task_seconds=0.2) as sandbox:
            yield Scenario(tmp_path / "work", sandbox, site, media,
                           jobs_lines(README.read_text(encoding="utf-8")))
    finally:
        site.close()


def test_the_documents_are_found() -> None:
    assert README in DOCUMENTS and SKILLS and set(SKILLS) <= set(DOCUMENTS), DOCUMENTS


@pytest.mark.parametrize("path", DOCUMENTS, ids=_name)
def test_every_example_of_the_document_runs(path: Path, scenario: Scenario) -> None:
    """Each command of the document, in order, exits as the document says."""
    extracted = extract_file(path, REPO)
    assert not extracted.problems, "\n".join(extracted.problems)
    assert extracted.runway, f"{_name(path)} shows no runway command"
    numbers = [int(n) for c in extracted.runway for n in re.findall(r"\bjob-(\d+)\b", c.text)]
    scenario.job_count = max([3, *numbers])
    failures = []
    for command in extracted.commands:
        try:
            scenario.run(command)
        except ExampleFailed as exc:
            failures.append(str(exc))
    assert not failures, (f"{len(failures)} of {len(extracted.runway)} examples of "
                          f"{_name(path)} failed:\n" + "\n".join(failures))


@pytest.mark.parametrize(("where", "source"), _python_blocks(),
                         ids=[where for where, _ in _python_blocks()])
def test_every_python_example_runs_against_the_sandbox(where: str, source: str,
                                                       tmp_path: Path) -> None:
    with Sandbox(task_seconds=0.2) as sandbox:
        proc = subprocess.run(
            [sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True,
            timeout=120, env={**os.environ, "RUNWAY_BASE_URL": sandbox.base_url,
                              "RUNWAY_API_KEY": PYTHON_KEY})
    assert proc.returncode == 0, f"{where}: the Python example failed:\n{proc.stderr}"
    assert PYTHON_KEY not in proc.stdout + proc.stderr, f"{where} printed the key"


def test_a_broken_example_fails_naming_document_line_and_command(scenario: Scenario) -> None:
    """The checks can fail: a command not run, a wrong flag, a different shown output, an
    unknown placeholder."""
    text = ("Intro.\n\n```sh\nruntime\nrunway models --no-such-flag\n```\n\n"
            "It exits with code 2:\n\n```text\n$ runway call text_to_video --ratio 1:1 "
            "--dry-run\nnot what it prints\n```\n\n```sh\nrunway task get NO_SUCH_THING\n```\n")
    messages = []
    for command in extract(text, "BROKEN.md").commands:
        with pytest.raises(ExampleFailed) as caught:
            scenario.run(command)
        messages.append(str(caught.value))
    assert messages[0].startswith("BROKEN.md:4: `runtime`: not a runway command")
    assert messages[1].startswith("BROKEN.md:5: `runway models --no-such-flag`: exited 2, "
                                  "the document expects 0")
    assert messages[2].startswith("BROKEN.md:11: `runway call text_to_video --ratio 1:1 "
                                  "--dry-run`: the output differs")
    assert messages[3].startswith("BROKEN.md:16: `runway task get NO_SUCH_THING`: no way to "
                                  "fill the placeholder NO_SUCH_THING")
    assert len(messages) == 4


def test_unsupported_shell_syntax_is_reported_not_skipped() -> None:
    extracted = extract("```sh\nrunway models | head\nrunway models && runway spec show\n```\n",
                        "X.md")
    assert extracted.problems == ("X.md:2: shell syntax '|' in 'runway models | head' is not "
                                  "run by the documented-examples suite; write plain commands "
                                  "(chained with &&)",)
    assert [(c.line, c.text) for c in extracted.commands] == [
        (3, "runway models"), (3, "runway spec show")]


def test_transcripts_and_continuations_are_read() -> None:
    """``$`` lines carry the output shown under them; ``\\`` joins lines; the paragraph
    above a block can say the exit code."""
    text = ("It exits with code 2:\n\n```text\n$ runway call x \\\n  --dry-run\nerror: one\n"
            "  - two\n\n$ runway models\n```\n\n```sh\n$ runway spec show  # a note\n```\n")
    commands = extract(text, "T.md").commands
    assert [(c.line, c.text, c.shown, c.expect_exit) for c in commands] == [
        (4, "runway call x --dry-run", ("error: one", "  - two"), 2),
        (9, "runway models", (), 2),
        (13, "runway spec show", None, 0)]


def test_the_list_of_commands_not_run_stays_tiny() -> None:
    """Only the install and test-suite lines, which are not runway commands, are not run."""
    assert len(NOT_RUN) <= 4
    assert all(words[0] != "runway" for words in NOT_RUN)
    used = {words for path in DOCUMENTS for c in extract_file(path, REPO).commands
            if not c.is_runway for words in NOT_RUN if c.argv[: len(words)] == words}
    assert used == set(NOT_RUN), f"entries no document needs: {set(NOT_RUN) - used}"


def test_every_placeholder_resolver_is_used() -> None:
    """No resolver is kept for a placeholder that no document shows any more."""
    shown = {name for path in DOCUMENTS for c in extract_file(path, REPO).runway
             for token in c.argv for name in re.findall(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b", token)
             if " " not in token}
    unused = set(PLACEHOLDERS) - {"<choice>"} - shown
    assert not unused, f"resolvers for placeholders no document shows: {unused}"
