"""User directories (cache, config, data), overridable by environment for tests and CI.

Settings and the saved key are per *profile* (``--profile NAME`` / ``RUNWAY_PROFILE``):
without one they live in the config dir itself, with one in ``profiles/NAME`` below it, so
several keys or organizations never share a file. :func:`settings_dir` is the one answer.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from pathlib import Path

from runway_dynamic._constants import (
    APP_DIR_NAME,
    ENV_CACHE_DIR,
    ENV_CONFIG_DIR,
    ENV_DATA_DIR,
    ENV_PROFILE,
)
from runway_dynamic._exceptions import UsageError

#: What a profile may be called: a plain name, so it is one folder and nothing else.
_PROFILE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
#: The name of the settings without a profile (``--profile default`` is the same).
DEFAULT_PROFILE = "default"
_chosen: list[str | None] = []  # set by use_profile (the CLI's --profile), else the env


def cache_dir() -> Path:
    """Derived indexes and pulled specs live here."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    return _user_dir("XDG_CACHE_HOME", ".cache", "user_cache_dir")


def config_dir() -> Path:
    """Configuration and credentials live here."""
    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    return _user_dir("XDG_CONFIG_HOME", ".config", "user_config_dir")


def data_dir() -> Path:
    """Local registries (soul-ids, registered workflows) live here."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    return _user_dir("XDG_DATA_HOME", ".local/share", "user_data_dir")


def _user_dir(variable: str, under_home: str, platformdirs_name: str) -> Path:
    """platformdirs' ``user_*_dir`` of the app, computed here where the XDG rule alone
    decides it (Linux and the BSDs with an absolute ``$HOME``): importing platformdirs costs
    a few ms of every command's start-up. ``$VARIABLE`` when it is an absolute path, else
    ``$HOME/UNDER_HOME``; then the app's folder. Elsewhere (Windows, macOS, Android, no
    usable ``$HOME``) platformdirs answers. A test holds the two to the same answers."""
    home = os.environ.get("HOME", "")
    if not _xdg_platform() or not posixpath.isabs(home):
        import platformdirs

        return Path(getattr(platformdirs, platformdirs_name)(APP_DIR_NAME, appauthor=False))
    base = os.environ.get(variable, "")
    if not posixpath.isabs(base):
        base = posixpath.join(home.rstrip("/") or "/", under_home)
    return Path(posixpath.join(base, APP_DIR_NAME))


def _xdg_platform() -> bool:
    """Where platformdirs follows the XDG base-directory rule: not Windows, macOS or iOS,
    and nothing that may be an Android app."""
    if sys.platform in ("win32", "darwin", "ios") or hasattr(sys, "getandroidapilevel"):
        return False
    return not (os.environ.get("ANDROID_DATA") == "/data"
                and os.environ.get("ANDROID_ROOT") == "/system")


def check_profile(name: str) -> str:
    """``name`` if it can name a profile; :class:`UsageError` (exit 2) otherwise."""
    if not re.fullmatch(_PROFILE_NAME, name) or ".." in name:
        raise UsageError(f"profile name {name!r}: use letters, digits, '.', '_' or '-' "
                         "(up to 64, starting with a letter or digit)")
    return name


def use_profile(name: str | None) -> None:
    """Make ``name`` this process's profile (before ``RUNWAY_PROFILE``); ``None`` forgets it."""
    _chosen[:] = [] if name is None else [check_profile(name)]


def active_profile() -> str | None:
    """The profile in use: :func:`use_profile`'s, else ``RUNWAY_PROFILE``; ``None`` for the
    default settings."""
    name = _chosen[0] if _chosen else (os.environ.get(ENV_PROFILE) or None)
    if name is None or name == DEFAULT_PROFILE:
        return None
    return check_profile(name)


def settings_dir() -> Path:
    """Where the settings and the saved key of the active profile live."""
    profile = active_profile()
    base = config_dir()
    return base if profile is None else base / "profiles" / profile
