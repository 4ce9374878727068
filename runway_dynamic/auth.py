"""Where the API key comes from, and the credentials file that keeps it.

Precedence (first hit wins):

1. the explicit key (``--api-key`` / ``RunwayClient(api_key=...)``)
2. ``RUNWAY_API_KEY``, then ``RUNWAYML_API_SECRET`` (the official SDK's name)
3. the nearest trustworthy ``.env`` (same two names; see :func:`find_dotenv`)
4. ``<config dir>/credentials.json`` (written by :func:`save_api_key`, mode 0600 in a
   0700 folder); with a profile (``--profile NAME``, ``RUNWAY_PROFILE``), that profile's
   ``<config dir>/profiles/NAME/credentials.json`` instead
5. ``~/.runway-cli/credentials.json`` (the C# CLI's file, read only; ``RUNWAY_CLI_HOME``
   moves it as it does for that CLI); never with a profile: a profile without a key has
   no key, rather than spending another one

A ``.env`` is looked for from the working directory upward, but never above the user's home
or the repository root, and only one owned by the current user that no one else may write
is read: a ``.env`` dropped in a shared folder (``/tmp``) must not choose whose key is
spent. It is parsed by python-dotenv (escapes, multi-line values, ``export``), imported only
when a ``.env`` exists. Keys are never printed whole: :func:`describe` masks them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from runway_dynamic import _paths
from runway_dynamic._constants import ENV_API_KEY, ENV_API_KEY_LEGACY
from runway_dynamic._exceptions import ConfigError, FileWriteError
from runway_dynamic._files import atomic_write_bytes
from runway_dynamic._frozen import Frozen
from runway_dynamic._http import redact

CREDENTIALS_FILE = "credentials.json"
ENV_LEGACY_CLI_HOME = "RUNWAY_CLI_HOME"
KEY_NAMES = (ENV_API_KEY, ENV_API_KEY_LEGACY)
NO_KEY_MESSAGE = (
    f"no Runway API key: pass --api-key, set {ENV_API_KEY} (or {ENV_API_KEY_LEGACY}), "
    "put it in a .env file, or run `runway auth set`"
)


class KeySource(Frozen):
    """A key and where it was found (the key itself is kept out of the repr).

    ``notes`` are what a person should know about the choice: a ``.env`` skipped as
    untrustworthy, or a ``.env`` key that differs from the one saved by ``auth set``.
    """

    _fields = ("key", "source", "notes")
    key: str
    source: str
    notes: tuple[str, ...]

    def __init__(self, key: str, source: str, notes: tuple[str, ...] = ()) -> None:
        self._set(key=key, source=source, notes=notes)

    def __repr__(self) -> str:
        return f"KeySource(key={redact(self.key)}, source={self.source!r})"


def credentials_path() -> Path:
    """Our credentials file: the active profile's (see :func:`_paths.settings_dir`)."""
    return _paths.settings_dir() / CREDENTIALS_FILE


def no_key_message() -> str:
    """:data:`NO_KEY_MESSAGE`, naming the profile when one is active."""
    profile = _paths.active_profile()
    if profile is None:
        return NO_KEY_MESSAGE
    return (f"no Runway API key for profile {profile!r}: save one with "
            f"`runway auth set --profile {profile}`, or pass --api-key")


def legacy_credentials_path() -> Path:
    """The C# CLI's credentials file (``$RUNWAY_CLI_HOME`` or ``~``, then ``.runway-cli``)."""
    home = os.environ.get(ENV_LEGACY_CLI_HOME) or str(Path.home())
    return Path(home) / ".runway-cli" / CREDENTIALS_FILE


# --------------------------------------------------------------------------- .env


def parse_dotenv(text: str) -> dict[str, str]:
    """The variables of a ``.env`` text (python-dotenv's reading; nothing is interpolated)."""
    from io import StringIO

    from dotenv import dotenv_values

    values = dotenv_values(stream=StringIO(text), interpolate=False)
    return {name: value for name, value in values.items() if value is not None}


def dotenv_candidates(start: Path | None = None) -> list[Path]:
    """The folders searched for a ``.env``: from ``start`` (the cwd) up to and including the
    user's home or a repository root (a folder with ``.git``), whichever comes first; just
    ``start`` when it is under neither."""
    here = (start or Path.cwd()).resolve()
    home = Path.home().resolve()
    chain = [here, *here.parents]
    for index, directory in enumerate(chain):
        if directory == home or (directory / ".git").exists():
            return chain[: index + 1]
    return [here]


def untrusted_reason(path: Path) -> str | None:
    """Why a ``.env`` must not be read (another owner, writable by others), or ``None``."""
    import stat

    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "it belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "others may write to it"
    return None


def find_dotenv(start: Path | None = None, notes: list[str] | None = None) -> Path | None:
    """The nearest trustworthy ``.env`` (see :func:`dotenv_candidates`); a ``.env`` that is
    skipped for being untrustworthy is said in ``notes``."""
    for directory in dotenv_candidates(start):
        candidate = directory / ".env"
        if not candidate.is_file():
            continue
        reason = untrusted_reason(candidate)
        if reason is None:
            return candidate
        if notes is not None:
            notes.append(f"ignoring {candidate}: {reason}")
    return None


# --------------------------------------------------------------------------- resolution


def _read_credentials(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    for name in ("apiKey", "api_key"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def find_api_key(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> KeySource | None:
    """The first key by precedence, or ``None``."""
    if explicit and explicit.strip():
        return KeySource(explicit.strip(), "--api-key")
    profile = _paths.active_profile()
    env = os.environ if environ is None else environ
    for name in KEY_NAMES:
        value = (env.get(name) or "").strip()
        if value:
            return KeySource(value, f"environment variable {name}", _shadowing(profile, name))
    notes: list[str] = []
    dotenv = find_dotenv(cwd, notes)
    if dotenv is not None:
        try:
            values = parse_dotenv(dotenv.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            values = {}
        for name in KEY_NAMES:
            value = values.get(name, "").strip()
            if value:
                saved = _read_credentials(credentials_path())
                if saved and saved != value:
                    notes.append(f"using {name} from {dotenv}; it differs from the key saved "
                                 f"by 'runway auth set' ({redact(saved)}), which is not used")
                notes += _shadowing(profile, f"{name} in {dotenv}")
                return KeySource(value, f"{name} in {dotenv}", tuple(notes))
    files = [credentials_path()] if profile else [credentials_path(), legacy_credentials_path()]
    for path in files:
        found = _read_credentials(path)
        if found:
            return KeySource(found, f"credentials file {path}", tuple(notes))
    return None


def _shadowing(profile: str | None, source: str) -> tuple[str, ...]:
    """A note when ``source`` wins over the active profile's own saved key (whose key is
    spent should never be a surprise)."""
    if profile is None or not _read_credentials(credentials_path()):
        return ()
    return (f"using the key from {source}, not the one saved for profile {profile!r}",)


def resolve_api_key(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[str, str]:
    """``(key, where it came from)``; :class:`ConfigError` naming every way to give one."""
    found = find_api_key(explicit, environ=environ, cwd=cwd)
    if found is None:
        raise ConfigError(no_key_message())
    return found.key, found.source


def save_api_key(key: str) -> Path:
    """Store ``key`` in our credentials file (atomic write, mode 0600); return its path.

    :class:`FileWriteError` names the file when it cannot be written.
    """
    key = key.strip()
    if not key:
        raise ConfigError("refusing to save an empty API key")
    payload = {"apiKey": key, "updatedAt": datetime.now(timezone.utc).isoformat()}
    path = credentials_path()
    try:  # the folder that holds the key is the user's alone
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    except OSError as exc:
        raise FileWriteError(path.parent, exc.strerror) from None
    atomic_write_bytes(path, json.dumps(payload, indent=2).encode(), mode=0o600)
    return path


def clear_api_key() -> Path | None:
    """Remove our credentials file; the path removed, or ``None`` if there was none.

    The C# CLI's file is left alone (it belongs to that tool).
    """
    path = credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot remove ({exc.strerror})") from None
    return path


def describe(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> dict[str, str | None]:
    """``{"key": masked key or None, "source": where it came from or None}`` for ``auth
    show``, and ``"profile"`` when one is active."""
    found = find_api_key(explicit, environ=environ, cwd=cwd)
    out: dict[str, str | None] = {"key": None, "source": None}
    if found is not None:
        out = {"key": redact(found.key), "source": found.source}
    profile = _paths.active_profile()
    if profile is not None:
        out["profile"] = profile
    return out
