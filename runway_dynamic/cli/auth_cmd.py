"""``runway auth set|show|clear``: the API key in the credentials file, and where it comes from.

The key is read with a hidden prompt (:func:`getpass.getpass`, on the terminal) or from
stdin with ``--stdin``; it is never echoed, printed or put in an error — ``show`` prints it
masked (``****`` and at most its last 4 characters).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from runway_dynamic._constants import ENV_API_KEY, ENV_API_KEY_LEGACY
from runway_dynamic._exceptions import ConfigError, UsageError
from runway_dynamic.cli._context import PROG, current, echo, emit_json

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ProfileOption = Annotated[str | None, typer.Option(
    "--profile", metavar="NAME", show_default=False,
    help="The profile whose key this is (same as the global --profile; default: "
         "$RUNWAY_PROFILE, else the default profile).")]


def _use(profile: str | None) -> str | None:
    """Apply a command-level ``--profile``; the active profile's name (``None``: default)."""
    from runway_dynamic import _paths

    if profile is not None:
        _paths.use_profile(profile)
    return _paths.active_profile()


def _for(profile: str | None) -> str:
    return f" for profile {profile!r}" if profile else ""


def _read_key(from_stdin: bool) -> str:
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        key = next((line.strip() for line in lines if line.strip()), "")
    elif sys.stdin.isatty():
        import getpass

        key = getpass.getpass("Runway API key (input hidden): ").strip()
    else:
        raise UsageError("auth set: no terminal to prompt on; pipe the key in with --stdin, "
                         f"e.g. printenv MY_KEY | {PROG} auth set --stdin")
    if not key:
        raise UsageError("auth set: no key given (empty input); nothing was saved")
    if any(ch.isspace() for ch in key):
        raise UsageError("auth set: the key contains whitespace; give the key alone")
    return key


def set_key(
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="Read the key from stdin instead of a hidden prompt.")] = False,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", metavar="KEY", show_default=False,
        help="The key itself (as other CLIs take it; your shell history keeps it, so a "
             "hidden prompt or --stdin is safer).")] = None,
    profile: ProfileOption = None,
    json: JsonOption = False,
) -> int:
    """Save your API key (hidden prompt, --stdin or --api-key) to the credentials file.

    The file is written atomically with mode 0600; the key is never echoed. With
    --profile NAME it is that profile's key (several keys or organizations side by side).
    """
    from runway_dynamic._http import redact
    from runway_dynamic.auth import save_api_key

    chosen = _use(profile)
    if api_key is not None:
        if stdin:
            raise UsageError("auth set: give the key once: --api-key or --stdin")
        key = api_key.strip()
        if not key or any(ch.isspace() for ch in key):
            raise UsageError("auth set: --api-key needs the key alone (no spaces)")
        sys.stderr.write(f"{PROG}: note: the key is now in your shell history; "
                         f"'{PROG} auth set' (hidden prompt) or --stdin keeps it out\n")
    else:
        key = _read_key(stdin)
    path = save_api_key(key)
    shadowed = [name for name in (ENV_API_KEY, ENV_API_KEY_LEGACY) if os.environ.get(name)]
    if current().wants_json(json):
        emit_json({"saved": str(path), "key": redact(key), "shadowedBy": shadowed,
                   "profile": chosen})
        return 0
    sys.stderr.write(f"{PROG}: saved the API key ({redact(key)}){_for(chosen)} to {path}\n")
    for name in shadowed:
        sys.stderr.write(f"{PROG}: note: {name} is set and takes precedence over the file\n")
    return 0


def show(profile: ProfileOption = None, json: JsonOption = False) -> int:
    """Show the API key in use, masked, and where it came from (and the profile).

    Exits 1 when no key is configured.
    """
    from runway_dynamic.auth import describe, no_key_message

    _use(profile)
    found = describe(current().api_key)
    if current().wants_json(json):
        emit_json(found)
    elif found["key"] is not None:
        echo(f"key:    {found['key']}")
        echo(f"source: {found['source']}")
        if found.get("profile"):
            echo(f"profile: {found['profile']}")
    if found["key"] is None:
        if not current().wants_json(json):
            raise ConfigError(no_key_message())
        return 1
    return 0


def clear(profile: ProfileOption = None, json: JsonOption = False) -> int:
    """Remove the API key saved by 'runway auth set' (the profile's, with --profile)."""
    from runway_dynamic.auth import clear_api_key, credentials_path, find_api_key

    _use(profile)
    removed = clear_api_key()
    remaining = find_api_key(current().api_key)
    if current().wants_json(json):
        emit_json({"removed": str(removed) if removed else None,
                   "stillConfigured": remaining.source if remaining else None})
        return 0
    if removed is None:
        sys.stderr.write(f"{PROG}: no credentials file at {credentials_path()}; nothing to do\n")
    else:
        sys.stderr.write(f"{PROG}: removed {removed}\n")
    if remaining is not None:
        sys.stderr.write(f"{PROG}: note: a key is still configured ({remaining.source})\n")
    return 0
