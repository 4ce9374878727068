"""Atomic writes (``_files``): permissions, and failures named for the file that failed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runway_dynamic import auth, cache, config
from runway_dynamic._exceptions import CacheError, FileWriteError
from runway_dynamic._files import atomic_write_bytes, link_new


def test_atomic_writes_are_readable_files_unless_told_otherwise(tmp_path: Path) -> None:
    """Plans, pages and indexes are shared with the user's tools; credentials stay 0600."""
    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "plan.json", b"{}")
        atomic_write_bytes(tmp_path / "credentials.json", b"{}", mode=0o600)
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600


def _blocked_dir(tmp_path: Path) -> Path:
    """A directory path that cannot be created: a plain file holds its name (works as root)."""
    blocker = tmp_path / "blocked"
    blocker.write_text("a file, not a directory")
    return blocker / "dir"


def test_a_failed_credentials_write_is_a_file_write_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug fixed: the credentials write failed as a CacheError (re-wrapped as ConfigError);
    it is a FileWriteError that names the path, and not a cache problem."""
    monkeypatch.setenv("RUNWAY_CONFIG_DIR", str(_blocked_dir(tmp_path)))
    with pytest.raises(FileWriteError) as info:
        auth.save_api_key("key_0123456789abcdef")
    assert not isinstance(info.value, CacheError)
    assert info.value.path == str(_blocked_dir(tmp_path))
    assert "key_0123456789abcdef" not in str(info.value)
    assert info.value.to_dict()["error"] == "FileWriteError"


def test_a_failed_config_write_is_a_file_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug fixed: ``config set`` into an unwritable place raised CacheError."""
    monkeypatch.setenv("RUNWAY_CONFIG_DIR", str(_blocked_dir(tmp_path)))
    monkeypatch.setattr(config, "load", dict)  # reading is not what this test is about
    with pytest.raises(FileWriteError) as info:
        config.set_value("poll-interval", "30")
    assert not isinstance(info.value, CacheError)


def test_only_the_index_cache_reports_cache_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The derived index is the one file whose write failure is a CacheError (a warning)."""
    monkeypatch.setenv("RUNWAY_CACHE_DIR", str(_blocked_dir(tmp_path)))
    with pytest.raises(CacheError, match="cannot write"):
        cache.store_index("ab" * 32, {"sha256": "ab" * 32})


def test_link_new_never_replaces_a_file(tmp_path: Path) -> None:
    """The no-clobber claim leaves both files as they were when the name is taken."""
    (tmp_path / "taken").write_bytes(b"old")
    (tmp_path / "new").write_bytes(b"new")
    with pytest.raises(FileExistsError):
        link_new(tmp_path / "new", tmp_path / "taken")
    assert (tmp_path / "taken").read_bytes() == b"old"
    link_new(tmp_path / "new", tmp_path / "free")
    assert (tmp_path / "free").read_bytes() == b"new" and not (tmp_path / "new").exists()
