"""Where the API key comes from, and the credentials file that keeps it.

Precedence (first hit wins):

1. the explicit key (``--api-key`` / ``RunwayClient(api_key=...)``)
2. ``RUNWAY_API_KEY``, then ``RUNWAYML_API_SECRET`` (the official SDK's name)
3. the nearest ``.env`` from the working directory upward (same two names)
4. ``<config dir>/credentials.json`` (written by :func:`save_api_key`, mode 0600)
5. ``~/.runway-cli/credentials.json`` (the C# CLI's file, read only; ``RUNWAY_CLI_HOME``
   moves it as it does for that CLI)

``.env`` files are read with a small parser here rather than python-dotenv: we need only
``KEY=VALUE`` lines (optional ``export``, quotes, comments), not interpolation, and one
less dependency keeps start-up lean. Keys are never printed whole: :func:`describe` masks them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from runway_dynamic import _paths
from runway_dynamic._constants import ENV_API_KEY, ENV_API_KEY_LEGACY
from runway_dynamic._exceptions import ConfigError
from runway_dynamic._files import atomic_write_bytes
from runway_dynamic._http import redact

CREDENTIALS_FILE = "credentials.json"
ENV_LEGACY_CLI_HOME = "RUNWAY_CLI_HOME"
KEY_NAMES = (ENV_API_KEY, ENV_API_KEY_LEGACY)
NO_KEY_MESSAGE = (
    f"no Runway API key: pass --api-key, set {ENV_API_KEY} (or {ENV_API_KEY_LEGACY}), "
    "put it in a .env file, or run `runway auth set`"
)


@dataclass(frozen=True)
class KeySource:
    """A key and where it was found (the key itself is kept out of the repr)."""

    key: str
    source: str

    def __repr__(self) -> str:
        return f"KeySource(key={redact(self.key)}, source={self.source!r})"


def credentials_path() -> Path:
    """Our credentials file, in the user config dir."""
    return _paths.config_dir() / CREDENTIALS_FILE


def legacy_credentials_path() -> Path:
    """The C# CLI's credentials file (``$RUNWAY_CLI_HOME`` or ``~``, then ``.runway-cli``)."""
    home = os.environ.get(ENV_LEGACY_CLI_HOME) or str(Path.home())
    return Path(home) / ".runway-cli" / CREDENTIALS_FILE


# --------------------------------------------------------------------------- .env


def parse_dotenv(text: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs of a ``.env`` text: ``export`` prefixes, quotes and comments allowed."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split(" #", 1)[0].strip()
        out[name] = value
    return out


def find_dotenv(start: Path | None = None) -> Path | None:
    """The nearest ``.env`` file from ``start`` (default: the cwd) up to the root."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / ".env"
        if candidate.is_file():
            return candidate
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
    env = os.environ if environ is None else environ
    for name in KEY_NAMES:
        value = (env.get(name) or "").strip()
        if value:
            return KeySource(value, f"environment variable {name}")
    dotenv = find_dotenv(cwd)
    if dotenv is not None:
        try:
            values = parse_dotenv(dotenv.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            values = {}
        for name in KEY_NAMES:
            value = values.get(name, "").strip()
            if value:
                return KeySource(value, f"{name} in {dotenv}")
    for path in (credentials_path(), legacy_credentials_path()):
        found = _read_credentials(path)
        if found:
            return KeySource(found, f"credentials file {path}")
    return None


def resolve_api_key(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[str, str]:
    """``(key, where it came from)``; :class:`ConfigError` naming every way to give one."""
    found = find_api_key(explicit, environ=environ, cwd=cwd)
    if found is None:
        raise ConfigError(NO_KEY_MESSAGE)
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
    """``{"key": masked key or None, "source": where it came from or None}`` for ``auth show``."""
    found = find_api_key(explicit, environ=environ, cwd=cwd)
    if found is None:
        return {"key": None, "source": None}
    return {"key": redact(found.key), "source": found.source}
