"""Finding the `runway ...` examples of a Markdown document.

Shared by the documented-examples suite (tests/docs), which runs every example, and the
agent-skill test, which checks each command line against ``--help``.

What counts as an example, read from fenced code blocks only:

- ``sh``/``bash``/``shell``/``console`` blocks: every command line, ``\\`` continuations
  joined, ``# comments`` dropped, ``&&`` / ``;`` chains split into their commands;
- any block: a ``$ command`` transcript line, whose following lines (up to the next ``$``
  line) are the output the document shows for it.

A block's examples are expected to exit 0 unless the paragraph right above the block says
"exits with code N". Shell syntax the runner cannot reproduce (pipes, redirections,
``||``, background jobs) is reported as a problem, so an example is never skipped silently.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

GLOBAL_WITH_VALUE = {"--spec", "--api-key", "--profile", "--runway-version", "-H", "--header",
                     "--filter"}
GLOBAL_FLAGS = {"--json", "--version", "-h", "--help", "--sandbox", "--no-history"}
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
_FENCE_OPEN = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
_EXIT_SAID = re.compile(r"exits? with (?:code|status) (\d+)", re.IGNORECASE)
_SEQUENCE = {"&&", ";"}
_USAGE = re.compile(r"^Usage: runway ((?:[^\s\[{A-Z<][^\s]*\s?)*)", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, body lines and the paragraph just above it."""

    lang: str
    first_line: int  # 1-based line number of the first body line
    lines: tuple[str, ...]
    lead: str


@dataclass(frozen=True)
class Command:
    """One command of a document: where it is, its words, and what the document expects."""

    doc: str
    line: int
    text: str
    argv: tuple[str, ...]
    block: int
    expect_exit: int = 0
    #: The output a transcript shows for it (``$ runway ...`` then its lines), else None.
    shown: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def is_runway(self) -> bool:
        return bool(self.argv) and self.argv[0] == "runway"


@dataclass(frozen=True)
class Extracted:
    commands: tuple[Command, ...]
    #: Lines the extractor could not turn into commands, each with its place and reason.
    problems: tuple[str, ...]

    @property
    def runway(self) -> tuple[Command, ...]:
        return tuple(c for c in self.commands if c.is_runway)


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` with its line numbers and leading paragraph."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, lang = opened.group(1), opened.group(2).lower()
        end = i + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        lead: list[str] = []
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        while j >= 0 and lines[j].strip() and not _FENCE_OPEN.match(lines[j]):
            lead.insert(0, lines[j])
            j -= 1
        blocks.append(Block(lang, i + 2, tuple(lines[i + 1:end]), " ".join(lead)))
        i = end + 1
    return blocks


def _logical_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, text) with ``\\`` continuations joined."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(block.lines):
        number = block.first_line + offset
        if pending is not None:
            pending = (pending[0], pending[1] + " " + raw.strip())
        else:
            pending = (number, raw.strip())
        if pending[1].endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
            continue
        out.append(pending)
        pending = None
    if pending is not None:
        out.append(pending)
    return out


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _split_chain(doc: str, number: int, line: str) -> tuple[list[list[str]], str | None]:
    """The commands of one shell line, or a problem when it uses syntax we do not run."""
    try:
        tokens = _tokens(line)
    except ValueError as exc:
        return [], f"{doc}:{number}: cannot read {line!r} as a shell line ({exc})"
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEQUENCE:
            commands.append([])
        elif token and set(token) <= set("();<>|&"):
            return [], (f"{doc}:{number}: shell syntax {token!r} in {line!r} is not run by the "
                        "documented-examples suite; write plain commands (chained with &&)")
        else:
            commands[-1].append(token)
    return [c for c in commands if c], None


def _display(argv: list[str]) -> str:
    return shlex.join(argv)


def extract(text: str, doc: str) -> Extracted:
    """Every command of every fenced block of ``text`` (``doc`` names it in messages)."""
    commands: list[Command] = []
    problems: list[str] = []
    for index, block in enumerate(fenced_blocks(text)):
        said = _EXIT_SAID.findall(block.lead)
        expect = int(said[-1]) if said else 0
        if block.lang in SHELL_LANGUAGES:
            for number, line in _logical_lines(block):
                if not line or line.startswith("#"):
                    continue
                line = line.removeprefix("$ ")
                chain, problem = _split_chain(doc, number, line)
                if problem:
                    problems.append(problem)
                for argv in chain:
                    commands.append(Command(doc, number, _display(argv), tuple(argv), index,
                                            expect))
            continue
        lines = block.lines
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                i += 1
                continue
            number, line = block.first_line + i, lines[i][2:].strip()
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1].rstrip() + " " + lines[i].strip()
            i += 1
            shown: list[str] = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i].rstrip())
                i += 1
            while shown and not shown[-1]:
                shown.pop()
            chain, problem = _split_chain(doc, number, line)
            if problem:
                problems.append(problem)
            elif len(chain) != 1:
                problems.append(f"{doc}:{number}: a transcript line shows one command's "
                                f"output; split {line!r}")
            else:
                commands.append(Command(doc, number, _display(chain[0]), tuple(chain[0]),
                                        index, expect, tuple(shown)))
    return Extracted(tuple(commands), tuple(problems))


def extract_file(path: Path, root: Path) -> Extracted:
    return extract(path.read_text(encoding="utf-8"), str(path.relative_to(root)))


def command_lines(text: str) -> list[str]:
    """The ``runway ...`` commands of ``text``'s fenced blocks, as one line each."""
    return [c.text for c in extract(text, "<text>").runway]


def split_command(line: str) -> tuple[list[str], list[str], list[str]]:
    """(global options, command words, flags) of one ``runway ...`` line."""
    tokens = shlex.split(line)[1:]
    globals_: list[str] = []
    while tokens and tokens[0].startswith("-"):
        token = tokens.pop(0)
        globals_.append(token)
        if token in GLOBAL_WITH_VALUE and tokens:
            tokens.pop(0)
    words: list[str] = []
    while tokens and not tokens[0].startswith("-"):
        words.append(tokens.pop(0))
    flags = [t.split("=", 1)[0] for t in tokens if re.match(r"^--?[A-Za-z]", t)]
    return globals_, words, flags


@cache
def help_text(words: tuple[str, ...]) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "runway_dynamic", *words, "--help"],
        capture_output=True, text=True, timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def check_command_line(line: str) -> None:
    """Assert ``line`` names a real command and uses only global options and flags it accepts."""
    globals_, words, flags = split_command(line)
    assert set(globals_) <= GLOBAL_FLAGS | GLOBAL_WITH_VALUE, line
    assert words, f"no command in {line!r}"
    code, text = help_text(tuple(words))
    assert code == 0, f"{line!r}: `runway {' '.join(words)} --help` failed:\n{text}"
    usage = _USAGE.search(text)
    assert usage, text
    path = usage.group(1).split()
    assert words[: len(path)] == path, f"{line!r} names {words}, help is for {path}"
    for flag in flags:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (
            f"{line!r}: {flag} is not accepted by `runway {' '.join(path)}`")
