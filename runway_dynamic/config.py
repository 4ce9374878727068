"""User settings of the CLI (``runway config``): one small JSON file in the config dir.

Keys (values are validated on ``set``; the file is rewritten atomically):

=============================  ===========================================================
``default-model.<command>``    the model a generation command uses when ``--model`` is not
                               given (``default-model.video veo3.1_fast``; an endpoint
                               works too: ``default-model.text_to_video gen4.5``)
``output-dir``                 where ``--download`` saves files
``poll-interval``              seconds between task status checks (a number > 0)
``base-url``                   the API's base URL (after ``--sandbox`` and ``RUNWAY_BASE_URL``)
``output-format``              ``json``, ``yaml`` or ``table`` for resource commands
``history``                    ``on`` (default) or ``off``: record create requests in the
                               local history (``runway history``)
``history-max-mb``             the history's size cap in MB (oldest entries go first)
=============================  ===========================================================

>>> set_value("poll-interval", "2")          # doctest: +SKIP
(2.0, [])
>>> get("poll-interval")                     # doctest: +SKIP
2.0

Nothing here imports the catalog: a default model is checked against a catalog the caller
passes (the CLI has one loaded anyway), so reading settings costs one small file read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic import _paths
from runway_dynamic._exceptions import ConfigError, UsageError

if TYPE_CHECKING:
    from runway_dynamic.catalog import Catalog

CONFIG_FILE = "config.json"
DEFAULT_MODEL_PREFIX = "default-model."
OUTPUT_FORMATS = ("json", "yaml", "table")

#: The fixed keys and what each holds (``default-model.<endpoint>`` keys come on top).
KEYS: dict[str, str] = {
    "output-dir": "Directory where --download saves files.",
    "poll-interval": "Seconds between task status checks (a number > 0).",
    "base-url": "API base URL, used unless --sandbox or RUNWAY_BASE_URL say otherwise.",
    "output-format": "Output of resource commands on a terminal: " + ", ".join(OUTPUT_FORMATS),
    "history": "on or off: record every task-creating request in 'runway history'.",
    "history-max-mb": "The history's size cap in MB; past it the oldest entries go first.",
}
_ON = ("on", "true", "yes", "1")
_OFF = ("off", "false", "no", "0")


def path() -> Path:
    """Where the settings live (``RUNWAY_CONFIG_DIR`` or the platform's config dir; a
    profile's below it, see :func:`runway_dynamic._paths.settings_dir`)."""
    return _paths.settings_dir() / CONFIG_FILE


def load() -> dict[str, Any]:
    """Every setting (empty when there is no file). A broken file is a :class:`ConfigError`."""
    where = path()
    try:
        raw = where.read_bytes()
    except FileNotFoundError:
        return {}  # most runs: no JSON library to import (a command's --help asks for this)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read settings ({exc.strerror})") from None
    import orjson

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc}); fix it or delete the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must hold a JSON object of settings")
    return data


def get(key: str, default: Any = None) -> Any:
    """One setting, or ``default``: the read-only accessor for the CLI and its run options.

    A value of the wrong kind (edited by hand: ``"poll-interval": "soon"``) is a
    :class:`ConfigError` naming the key and how to fix it, never a crash further on.
    """
    data = load()
    if key not in data:
        return default
    value = data[key]
    problem = _wrong_kind(key, value)
    if problem:
        raise ConfigError(f"{path()}: setting {key!r} is {value!r}, but it must be {problem}; "
                          f"fix it with 'runway config set {key} VALUE' or "
                          f"'runway config unset {key}'")
    return value


def _wrong_kind(key: str, value: Any) -> str | None:
    """What ``value`` should have been for ``key``, or ``None`` when it is fine."""
    if key == "poll-interval":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return None if ok else "a number of seconds above 0"
    if key == "output-format":
        return None if value in OUTPUT_FORMATS else f"one of {', '.join(OUTPUT_FORMATS)}"
    if key == "base-url":
        ok = isinstance(value, str) and value.startswith(("http://", "https://"))
        return None if ok else "an http(s) URL"
    if key == "output-dir" or key.startswith(DEFAULT_MODEL_PREFIX):
        return None if isinstance(value, str) and value.strip() else "a non-empty text"
    return None


#: Other names of model endpoints a ``default-model.<name>`` key may use (the CLI passes
#: its generation commands: ``video`` → ``text_to_video``); the library knows endpoints only.
EndpointNames = Mapping[str, str]


def named_endpoint(name: str, names: EndpointNames | None = None) -> str:
    """The endpoint a default-model key names: one of ``names`` (``video`` →
    ``text_to_video``), else the name read as an endpoint."""
    if names and name in names:
        return names[name]
    return name.replace("-", "_")


def default_model(endpoint: str) -> str | None:
    """The configured default model of a model endpoint (``text_to_video``), if any."""
    value = get(DEFAULT_MODEL_PREFIX + endpoint)
    return value if isinstance(value, str) else None


def history_enabled() -> bool:
    """Whether create requests go into the local history (the ``history`` setting; on)."""
    return get("history", True) is not False


def history_max_bytes() -> int | None:
    """The history's size cap (``history-max-mb``), or ``None`` for the store's default."""
    value = get("history-max-mb")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value * 1024 * 1024)
    return None


def _save(data: Mapping[str, Any]) -> Path:
    import orjson

    from runway_dynamic._files import atomic_write_bytes

    where = path()
    atomic_write_bytes(where, orjson.dumps(dict(sorted(data.items())),
                                           option=orjson.OPT_INDENT_2) + b"\n")
    return where


def check_key(key: str, catalog: Catalog | None = None, *,
              names: EndpointNames | None = None) -> str:
    """The key as stored; :class:`UsageError` naming the valid keys when it is not one.
    ``names``: other names of endpoints, kept as given (``default-model.video``)."""
    if key in KEYS:
        return key
    if key.startswith(DEFAULT_MODEL_PREFIX):
        name = key[len(DEFAULT_MODEL_PREFIX):]
        endpoint = named_endpoint(name, names)
        if endpoint != name.replace("-", "_"):
            return key  # a name of its own for an endpoint (default-model.video)
        if catalog is not None and endpoint not in catalog.endpoints():
            from runway_dynamic.naming import closest

            near = closest(endpoint, catalog.endpoints())
            hint = f"; did you mean {', '.join(DEFAULT_MODEL_PREFIX + n for n in near)}?" \
                if near else ""
            raise UsageError(f"{endpoint!r} is not a model endpoint of the spec{hint} "
                             "('runway models' lists them)")
        return DEFAULT_MODEL_PREFIX + endpoint
    from runway_dynamic.naming import closest

    near = closest(key, [*KEYS, DEFAULT_MODEL_PREFIX + "ENDPOINT"])
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise UsageError(f"unknown setting {key!r}{hint} Settings: {', '.join(KEYS)}, "
                     f"{DEFAULT_MODEL_PREFIX}ENDPOINT")


def _positive(key: str, raw: str, unit: str, shown_unit: str = "") -> float:
    """A number above 0 for ``key`` (:class:`UsageError` naming the key and unit if not)."""
    try:
        number = float(raw)
    except ValueError:
        raise UsageError(f"{key} takes a number of {unit}, got {raw!r}") from None
    if not number > 0:
        raise UsageError(f"{key} must be more than 0{shown_unit}, got {raw!r}")
    return number


def parse_value(key: str, raw: str, catalog: Catalog | None = None, *,
                names: EndpointNames | None = None) -> tuple[Any, list[str]]:
    """The value to store for ``key`` and any warnings; :class:`UsageError` when invalid.
    ``names`` as for :func:`check_key`."""
    warnings: list[str] = []
    if key == "poll-interval":
        return _positive(key, raw, "seconds", " seconds"), warnings
    if key == "output-format":
        if raw not in OUTPUT_FORMATS:
            raise UsageError(f"output-format must be one of {', '.join(OUTPUT_FORMATS)}, "
                             f"got {raw!r}")
        return raw, warnings
    if key == "base-url":
        from urllib.parse import urlsplit

        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"base-url must be an http(s) URL such as "
                             f"https://api.example.com, got {raw!r}")
        return raw.rstrip("/"), warnings
    if key == "history":
        word = raw.strip().lower()
        if word not in _ON + _OFF:
            raise UsageError(f"history must be on or off, got {raw!r}")
        return word in _ON, warnings
    if key == "history-max-mb":
        return _positive(key, raw, "megabytes"), warnings
    if key == "output-dir":
        if not raw.strip():
            raise UsageError("output-dir must not be empty")
        return raw, warnings
    if key.startswith(DEFAULT_MODEL_PREFIX) and catalog is not None:
        endpoint = named_endpoint(key[len(DEFAULT_MODEL_PREFIX):], names)
        raw = catalog.resolve_model(raw)  # veo3.1-fast is stored as veo3.1_fast
        known_here = catalog.models(endpoint)
        if raw not in known_here:
            elsewhere = catalog.endpoints_for(raw)
            if elsewhere:
                raise UsageError(f"model {raw!r} does not serve {endpoint} (it serves "
                                 f"{', '.join(elsewhere)}); models of {endpoint}: "
                                 f"{', '.join(known_here)}")
            warnings.append(f"model {raw!r} is not in the spec for {endpoint} (known: "
                            f"{', '.join(known_here)}); saved anyway, it is sent as given")
    return raw, warnings


def set_value(key: str, raw: str, catalog: Catalog | None = None, *,
              names: EndpointNames | None = None) -> tuple[Any, list[str]]:
    """Validate and store one setting; ``(stored value, warnings)``; ``names`` as for
    :func:`check_key`."""
    key = check_key(key, catalog, names=names)
    value, warnings = parse_value(key, raw, catalog, names=names)
    data = load()
    data[key] = value
    _save(data)
    return value, warnings


def unset(key: str) -> bool:
    """Remove one setting; whether it was there."""
    data = load()
    if key not in data:
        return False
    del data[key]
    _save(data)
    return True
