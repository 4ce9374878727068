"""API key precedence, the credentials file, and masking."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from runway_dynamic import auth
from runway_dynamic._exceptions import ConfigError

KEY = "key_explicit_0123456789abcdef"


def write_legacy(home: Path, key: str) -> Path:
    path = home / ".runway-cli" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"apiKey": key, "updatedAt": "2025-01-01T00:00:00Z"}))
    return path


def test_precedence_walks_the_whole_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each source wins over every later one; adding a higher one takes over."""
    home = Path(os.environ["HOME"])
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    (project / ".git").mkdir()  # the repository root bounds the .env search
    monkeypatch.chdir(deep)
    legacy = write_legacy(home, "key_from_legacy_cli_file")
    assert auth.resolve_api_key() == ("key_from_legacy_cli_file", f"credentials file {legacy}")
    saved = auth.save_api_key("key_from_our_credentials")
    assert auth.resolve_api_key() == ("key_from_our_credentials", f"credentials file {saved}")
    (project / ".env").write_text("# comment\nexport RUNWAYML_API_SECRET='key_from_dotenv_old'\n")
    assert auth.resolve_api_key()[0] == "key_from_dotenv_old"
    (project / ".env").write_text(
        'RUNWAYML_API_SECRET=key_from_dotenv_old\nRUNWAY_API_KEY="key_from_dotenv" # note\n'
    )
    key, source = auth.resolve_api_key()
    assert key == "key_from_dotenv" and str(project / ".env") in source
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_from_env_legacy")
    assert auth.resolve_api_key() == (
        "key_from_env_legacy",
        "environment variable RUNWAYML_API_SECRET",
    )
    monkeypatch.setenv("RUNWAY_API_KEY", "key_from_env")
    assert auth.resolve_api_key()[0] == "key_from_env"
    assert auth.resolve_api_key(KEY) == (KEY, "--api-key")


def test_nearest_dotenv_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RUNWAY_API_KEY=outer_key_value_123\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / ".env").write_text("OTHER=1\nRUNWAY_API_KEY=inner_key_value_123\n")
    assert auth.resolve_api_key(cwd=inner)[0] == "inner_key_value_123"
    assert auth.find_dotenv(inner) == inner / ".env"


def test_no_key_is_one_line_naming_every_way(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        auth.resolve_api_key(cwd=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    for way in ("--api-key", "RUNWAY_API_KEY", "RUNWAYML_API_SECRET", ".env", "runway auth set"):
        assert way in message


def test_saved_file_is_private_and_in_the_config_dir() -> None:
    path = auth.save_api_key("  key_saved_0123456789  ")
    assert path == Path(os.environ["RUNWAY_CONFIG_DIR"]) / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["apiKey"] == "key_saved_0123456789"
    assert auth.clear_api_key() == path
    assert not path.exists()
    assert auth.clear_api_key() is None
    with pytest.raises(ConfigError):
        auth.save_api_key("   ")


def test_clear_leaves_the_csharp_cli_file_alone() -> None:
    legacy = write_legacy(Path(os.environ["HOME"]), "key_from_legacy_cli_file")
    auth.save_api_key("key_saved_0123456789")
    auth.clear_api_key()
    assert legacy.exists()
    assert auth.resolve_api_key()[0] == "key_from_legacy_cli_file"


def test_legacy_home_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_legacy(tmp_path, "key_from_cli_home_123")
    monkeypatch.setenv("RUNWAY_CLI_HOME", str(tmp_path))
    assert auth.resolve_api_key()[0] == "key_from_cli_home_123"


def test_corrupt_credentials_are_skipped(tmp_path: Path) -> None:
    path = auth.credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert auth.find_api_key(cwd=tmp_path) is None


def test_describe_masks_the_key() -> None:
    info = auth.describe("sk_live_verysecretvalue_9f3a")
    assert info == {"key": "****9f3a", "source": "--api-key"}
    assert "verysecret" not in repr(auth.find_api_key("sk_live_verysecretvalue_9f3a"))
    assert auth.describe() == {"key": None, "source": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB = two \n", {"A": "1", "B": "two"}),
        ("export A='x y'\n", {"A": "x y"}),
        ('A="quoted # not a comment"\n', {"A": "quoted # not a comment"}),
        ("A=value # comment\n", {"A": "value"}),
        ("# only comment\n\nnoequals\n=novalue\n", {}),
        ("A=\n", {"A": ""}),
    ],
)
def test_dotenv_parser(text: str, expected: dict[str, str]) -> None:
    assert auth.parse_dotenv(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('A="line one\nline two"\n', {"A": "line one\nline two"}),
        ("A='$HOME stays as written'\n", {"A": "$HOME stays as written"}),
        ('A="escaped \\" quote"\n', {"A": 'escaped " quote'}),
    ],
)
def test_dotenv_edge_cases_as_python_dotenv_reads_them(text: str, expected: dict[str, str]
                                                       ) -> None:
    assert auth.parse_dotenv(text) == expected


def test_dotenv_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    """A .env above the repository (a shared parent folder) is never read."""
    (tmp_path / ".env").write_text("RUNWAY_API_KEY=key_above_the_repo_0001\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    inner = repo / "src"
    inner.mkdir()
    assert auth.find_dotenv(inner) is None
    (repo / ".env").write_text("RUNWAY_API_KEY=key_of_the_repo_0002\n")
    assert auth.find_dotenv(inner) == repo / ".env"


def test_dotenv_search_stops_at_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    work = home / "work" / "here"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / ".env").write_text("RUNWAY_API_KEY=key_above_home_0003\n")
    assert auth.find_dotenv(work) is None
    (home / ".env").write_text("RUNWAY_API_KEY=key_at_home_0004\n")
    assert auth.find_dotenv(work) == home / ".env"


def test_outside_home_and_repos_only_the_working_directory_counts(tmp_path: Path) -> None:
    """e.g. a folder in /tmp: a .env in /tmp itself (anyone can put one there) is ignored."""
    (tmp_path / ".env").write_text("RUNWAY_API_KEY=key_in_a_shared_parent_0005\n")
    inner = tmp_path / "mine"
    inner.mkdir()
    assert auth.find_api_key(cwd=inner) is None


def test_a_dotenv_others_may_write_is_skipped_and_said(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("RUNWAY_API_KEY=key_group_writable_0006\n")
    dotenv.chmod(0o664)
    auth.save_api_key("key_saved_instead_0007")
    found = auth.find_api_key(cwd=tmp_path)
    assert found is not None and found.key == "key_saved_instead_0007"
    assert any("others may write" in note and str(dotenv) in note for note in found.notes)


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="giving a file to another user needs root")
def test_a_dotenv_of_another_user_is_skipped(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("RUNWAY_API_KEY=key_of_someone_else_0008\n")
    dotenv.chmod(0o600)
    os.chown(dotenv, 65534, 65534)
    found = auth.find_api_key(cwd=tmp_path)
    assert found is None or found.key != "key_of_someone_else_0008"
    assert auth.find_dotenv(tmp_path) is None


def test_a_dotenv_key_that_differs_from_the_saved_one_says_which_won(tmp_path: Path) -> None:
    auth.save_api_key("key_saved_by_auth_set_0009")
    dotenv = tmp_path / ".env"
    dotenv.write_text("RUNWAY_API_KEY=key_from_the_dotenv_0010\n")
    dotenv.chmod(0o600)
    found = auth.find_api_key(cwd=tmp_path)
    assert found is not None and found.key == "key_from_the_dotenv_0010"
    (note,) = found.notes
    assert str(dotenv) in note and "differs" in note and "****0009" in note
    assert "key_saved_by_auth_set" not in note


def test_the_credentials_folder_is_private() -> None:
    path = auth.save_api_key("key_saved_0123456789")
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
