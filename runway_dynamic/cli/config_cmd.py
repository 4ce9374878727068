"""``runway config get|set|unset|list|path``: the user settings of :mod:`runway_dynamic.config`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from runway_dynamic import config
from runway_dynamic.cli._context import PROG, current, echo, emit_json, warn

if TYPE_CHECKING:
    from runway_dynamic.catalog import Catalog

Key = Annotated[str, typer.Argument(
    metavar="KEY", show_default=False,
    help="output-dir, poll-interval, base-url, output-format, history, history-max-mb or "
         "default-model.ENDPOINT.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON output.")]


def _catalog_if_needed(key: str) -> Catalog | None:
    """The catalog, loaded only for keys it validates (default models)."""
    return current().spec().catalog if key.startswith(config.DEFAULT_MODEL_PREFIX) else None


def _names() -> dict[str, str]:
    """The generation commands' names, which ``default-model.<command>`` keys may use."""
    from runway_dynamic.cli._command_names import generation_endpoints

    return generation_endpoints()


def get(key: Key, json: JsonOption = False) -> int:
    """Print one setting (exit 1 when it is not set)."""
    stored = config.check_key(key, _catalog_if_needed(key), names=_names())
    value = config.get(stored)
    if current().wants_json(json):
        emit_json({"key": stored, "value": value})
        return 0 if value is not None else 1
    if value is None:
        sys.stderr.write(f"{PROG}: {stored} is not set\n")
        return 1
    echo(str(value))
    return 0


def set_(
    key: Key,
    value: Annotated[str, typer.Argument(metavar="VALUE", show_default=False)],
    json: JsonOption = False,
) -> int:
    """Validate and save one setting (default models are checked against the spec)."""
    stored, warnings = config.set_value(key, value, _catalog_if_needed(key), names=_names())
    for message in warnings:
        warn(message)
    canonical = config.check_key(key, None, names=_names())
    if current().wants_json(json):
        emit_json({"key": canonical, "value": stored, "path": str(config.path())})
    else:
        sys.stderr.write(f"{PROG}: {canonical} = {stored} (saved in {config.path()})\n")
    return 0


def unset(key: Key, json: JsonOption = False) -> int:
    """Remove one setting."""
    stored = config.check_key(key, None, names=_names())
    removed = config.unset(stored)
    if current().wants_json(json):
        emit_json({"key": stored, "removed": removed})
    elif not removed:
        sys.stderr.write(f"{PROG}: {stored} was not set\n")
    return 0


def list_(json: JsonOption = False) -> int:
    """Print every setting, and the keys that can be set."""
    data = config.load()
    if current().wants_json(json):
        emit_json(data)
        return 0
    for key, value in sorted(data.items()):
        echo(f"{key} = {value}")
    if not data:
        sys.stderr.write(f"{PROG}: no settings yet; keys: {', '.join(config.KEYS)}, "
                         f"{config.DEFAULT_MODEL_PREFIX}ENDPOINT\n")
    return 0


def path() -> int:
    """Print where the settings file lives."""
    echo(str(config.path()))
    return 0
