"""``runway auth set|show|clear`` and key precedence, through the real CLI.

The key must never be printed: the conftest runner checks every run's stdout and stderr.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cli_client_support import KEY, Runner

from runway_dynamic import auth


def credentials() -> Path:
    return auth.credentials_path()


def test_auth_set_stdin_writes_a_private_file(runway_offline: Runner) -> None:
    result = runway_offline("auth", "set", "--stdin", input=KEY + "\n", key=False)
    assert result.code == 0, result.err
    path = credentials()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["apiKey"] == KEY
    assert "****" + KEY[-4:] in result.err and str(path) in result.err


def test_auth_show_is_masked_and_names_the_source(runway_offline: Runner) -> None:
    runway_offline("auth", "set", "--stdin", input=KEY, key=False)
    shown = runway_offline("auth", "show", key=False)
    assert shown.code == 0, shown.err
    assert f"****{KEY[-4:]}" in shown.out
    assert "credentials file" in shown.out and str(credentials()) in shown.out
    as_json = runway_offline("auth", "show", "--json", key=False).json()
    assert as_json == {"key": f"****{KEY[-4:]}", "source": f"credentials file {credentials()}"}


def test_precedence_api_key_then_env_then_file(runway_offline: Runner) -> None:
    runway_offline("auth", "set", "--stdin", input="file-key-aaaaaaaaaaaa1111", key=False)
    from_env = runway_offline("auth", "show", "--json").json()
    assert from_env["source"] == "environment variable RUNWAY_API_KEY"
    explicit = runway_offline("--api-key", "flag-key-bbbbbbbbbbbb2222", "auth", "show",
                              "--json").json()
    assert explicit == {"key": "****2222", "source": "--api-key"}


def test_auth_set_notes_an_env_key_that_wins(runway_offline: Runner) -> None:
    result = runway_offline("auth", "set", "--stdin", input="another-key-cccccccc3333")
    assert result.code == 0
    assert "RUNWAY_API_KEY is set and takes precedence" in result.err


def test_auth_clear_removes_the_file(runway_offline: Runner) -> None:
    runway_offline("auth", "set", "--stdin", input=KEY, key=False)
    cleared = runway_offline("auth", "clear", key=False)
    assert cleared.code == 0
    assert not credentials().exists()
    assert "removed" in cleared.err
    again = runway_offline("auth", "clear", key=False)
    assert again.code == 0 and "nothing to do" in again.err
    shown = runway_offline("auth", "show", key=False)
    assert shown.code == 1
    assert "runway auth set" in shown.err and shown.out == ""


def test_auth_set_without_terminal_or_stdin_flag_is_a_usage_error(
        runway_offline: Runner) -> None:
    result = runway_offline("auth", "set", input="", key=False)
    assert result.code == 2
    assert "--stdin" in result.err
    assert not credentials().exists()


def test_auth_set_refuses_empty_input(runway_offline: Runner) -> None:
    result = runway_offline("auth", "set", "--stdin", input="\n\n", key=False)
    assert result.code == 2
    assert not credentials().exists()


def test_key_from_dotenv_is_found(runway_offline: Runner) -> None:
    Path(".env").write_text(f"RUNWAY_API_KEY={KEY}\n")
    shown = runway_offline("auth", "show", "--json", key=False).json()
    assert shown["key"] == f"****{KEY[-4:]}"
    assert shown["source"].startswith("RUNWAY_API_KEY in ") and shown["source"].endswith(".env")


def test_auth_set_takes_the_key_as_a_flag_with_a_warning(runway_offline: Runner) -> None:
    """As other CLIs take it (`auth set --api-key K`); the note says the shell history keeps it,
    and the key itself is never printed."""
    result = runway_offline("auth", "set", "--api-key", KEY, key=False)
    assert result.code == 0, result.err
    assert json.loads(credentials().read_text())["apiKey"] == KEY
    assert "shell history" in result.err and KEY not in result.err + result.out
    both = runway_offline("auth", "set", "--api-key", KEY, "--stdin", input=KEY, key=False)
    assert both.code == 2 and "once" in both.err
