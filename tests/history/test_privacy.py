"""What the history keeps of a command line: never a credential, wherever it was typed."""

from __future__ import annotations

import pytest

from runway_dynamic._http import redact_url, redact_urls
from runway_dynamic.cli._context import Invocation


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://me:hunter2@127.0.0.1:5432/runs", "postgresql://me:***@127.0.0.1:5432/runs"),
    ("postgresql://:hunter2@db/runs", "postgresql://***@db/runs"),
    ("postgresql://db/runs?password=hunter2&sslmode=require",
     "postgresql://db/runs?password=***&sslmode=require"),
    ("https://cdn.example/a.png?token=hunter2&w=10", "https://cdn.example/a.png?token=***&w=10"),
    ("https://cdn.example/a.png?w=10", "https://cdn.example/a.png?w=10"),
    ("https://me@cdn.example/a.png", "https://me@cdn.example/a.png"),
    ("https://cdn.example:notaport/a.png", "https://cdn.example:notaport/a.png"),
])
def test_a_url_loses_its_password_and_secret_query_values_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_urls_inside_a_text_are_redacted_where_they_stand() -> None:
    text = "journal at postgresql://me:hunter2@db/runs, then https://x.example/?key=k3y"
    assert redact_urls(text) == ("journal at postgresql://me:***@db/runs, then "
                                 "https://x.example/?key=***")
    assert redact_urls("no url here") == "no url here"


@pytest.mark.parametrize("argv", [
    ("--api-key", "key_s3cret", "batch", "run", "jobs.jsonl", "--journal",
     "postgresql://me:hunter2@127.0.0.1/runs"),
    ("--api-key=key_s3cret", "batch", "run", "jobs.jsonl",
     "--journal=postgresql://db/runs?password=hunter2"),
])
def test_the_recorded_command_line_masks_the_key_and_url_credentials(
        argv: tuple[str, ...]) -> None:
    invocation = Invocation()
    invocation.argv = argv
    line = invocation.command_line()
    assert line.startswith("runway ") and "batch run jobs.jsonl" in line
    assert "key_s3cret" not in line and "hunter2" not in line
    assert "--api-key" in line and "--journal" in line and "***" in line
