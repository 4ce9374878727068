"""Files written atomically get ordinary permissions unless a secret asks for 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runway_dynamic.cache import atomic_write_bytes


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
