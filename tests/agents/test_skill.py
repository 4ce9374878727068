"""The agent skill only teaches commands and flags that exist.

Every ``runway ...`` line inside a fenced code block of SKILL.md is checked in a subprocess:
``runway <command words> --help`` must succeed and name that command in its usage line, and
every flag the line uses must appear in that help text. A renamed or removed flag fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_commands import check_command_line, command_lines, help_text, split_command

REPO = Path(__file__).resolve().parents[2]
SKILL = REPO / ".agents" / "skills" / "runway" / "SKILL.md"


def test_command_line_extraction_is_strict() -> None:
    """The extractor itself: it finds lines in fences only, and splits words from flags."""
    text = "runway outside\n```sh\n$ runway models schema gen4.5 --json  # note\n" \
           "runway call text_to_video \\\n  --model gen4.5 --ratio=1280:720\n" \
           "echo hi && runway --spec s.json models\n```\n"
    lines = command_lines(text)
    assert lines == ["runway models schema gen4.5 --json",
                     "runway call text_to_video --model gen4.5 --ratio=1280:720",
                     "runway --spec s.json models"]
    assert split_command(lines[1]) == ([], ["call", "text_to_video"], ["--model", "--ratio"])
    assert split_command(lines[2]) == (["--spec"], ["models"], [])


def test_a_made_up_flag_or_command_would_fail() -> None:
    """The checks below can fail: a flag the command lacks, a command that does not exist."""
    code, text = help_text(("models", "schema", "gen4.5"))
    assert code == 0 and "--definitely-not-a-flag" not in text
    code, _ = help_text(("no-such-command",))
    assert code != 0


def test_skill_exists_with_front_matter() -> None:
    text = SKILL.read_text()
    assert text.startswith("---\n")
    front = text.split("---\n", 2)[1]
    assert re.search(r"^name: runway$", front, re.MULTILINE)
    assert re.search(r"^description: .{20,}", front, re.MULTILINE)


LINES = command_lines(SKILL.read_text()) if SKILL.exists() else []


def test_skill_mentions_commands() -> None:
    assert len(LINES) >= 5


@pytest.mark.parametrize("line", LINES)
def test_every_command_exists_and_accepts_its_flags(line: str) -> None:
    check_command_line(line)
