"""Finding `runway ...` command lines in Markdown and checking them against `--help`.

Shared by the README and agent-skill tests: a documented command must exist and accept
every flag it is shown with.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache

GLOBAL_WITH_VALUE = {"--spec", "--api-key"}
GLOBAL_FLAGS = {"--json", "--version", "-h", "--help", "--sandbox"}
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_USAGE = re.compile(r"^Usage: runway ((?:[^\s\[{A-Z<][^\s]*\s?)*)", re.MULTILINE)


def command_lines(text: str) -> list[str]:
    """``runway ...`` lines of fenced blocks (continuations joined, comments and ``$`` dropped)."""
    lines: list[str] = []
    for block in _FENCE.findall(text):
        joined = block.replace("\\\n", " ")
        for raw in joined.splitlines():
            line = " ".join(raw.strip().removeprefix("$ ").split(" #", 1)[0].split())
            for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
                if part.startswith("runway ") or part == "runway":
                    lines.append(part)
    return lines


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
