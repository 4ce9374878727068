"""_paths computes the user directories as platformdirs does, without importing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from runway_dynamic import _paths
from runway_dynamic._constants import (
    APP_DIR_NAME,
    ENV_CACHE_DIR,
    ENV_CONFIG_DIR,
    ENV_DATA_DIR,
)

_OURS = {"user_cache_dir": _paths.cache_dir, "user_config_dir": _paths.config_dir,
         "user_data_dir": _paths.data_dir}
_XDG = {"user_cache_dir": "XDG_CACHE_HOME", "user_config_dir": "XDG_CONFIG_HOME",
        "user_data_dir": "XDG_DATA_HOME"}


@pytest.mark.parametrize("home", ["/home/someone", "/home/someone/", "/", "relative/home", None])
@pytest.mark.parametrize("xdg", [None, "", "/srv/xdg", "/srv/xdg/", "relative/xdg", "  "])
@pytest.mark.parametrize("name", sorted(_OURS))
def test_user_dirs_agree_with_platformdirs_on_this_platform(
        monkeypatch: pytest.MonkeyPatch, name: str, xdg: str | None, home: str | None) -> None:
    """For every HOME and XDG variable (set, empty, relative, unset), each directory is the
    one platformdirs gives for the app on this platform."""
    for variable in (ENV_CACHE_DIR, ENV_CONFIG_DIR, ENV_DATA_DIR):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in (("HOME", home), (_XDG[name], xdg)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    try:
        expected = Path(getattr(platformdirs, name)(APP_DIR_NAME, appauthor=False))
    except RuntimeError:  # no home platformdirs can find: it refuses, and so do we
        with pytest.raises(RuntimeError):
            _OURS[name]()
        return
    assert _OURS[name]() == expected


def test_user_dirs_do_not_import_platformdirs_on_an_xdg_platform() -> None:
    code = ("import sys; from runway_dynamic import _paths; "
            "_paths.cache_dir(); _paths.config_dir(); _paths.data_dir(); "
            "print('platformdirs' in sys.modules)")
    env = {"HOME": "/home/someone", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True, timeout=60)
    expected = "True" if sys.platform in ("win32", "darwin") else "False"
    assert done.stdout.strip() == expected
