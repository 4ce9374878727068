"""Typed values from text: CLI flags and CSV cells go through this one conversion.

``kind`` is a field's JSON kind as the catalog names it (``string``, ``integer``,
``number``, ``boolean``, ``object``, ``array``, ``any``, or ``scalar``: a number or boolean
as JSON reads it, else the text); ``where`` names the flag or the cell in the message when
the text does not fit.
"""

from __future__ import annotations

import math
from typing import Any

from runway_dynamic._exceptions import UsageError

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_json(text: str, where: str) -> Any:
    """``text`` as JSON; :class:`UsageError` naming ``where`` when it is not."""
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{where}: invalid JSON ({exc}): {clip(text)}") from None


def unchecked_from_text(raw: Any, kind: str, where: str) -> Any:
    """For a value nothing will check (a model the spec does not list): ``raw`` as a
    ``kind`` when it reads as one, else as JSON's numbers and booleans, else the text."""
    try:
        return from_text(raw, kind, where)
    except UsageError:
        return from_text(raw, "scalar", where)


def from_text(raw: Any, kind: str, where: str) -> Any:
    """The JSON value ``raw`` stands for as a ``kind``; non-strings pass unchanged."""
    if not isinstance(raw, str):
        return raw  # already typed (typer parsed it, or it came from JSON)
    if kind == "string":
        return raw
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f"{where} takes an integer here, got {raw!r}") from None
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"{where} takes a number here, got {raw!r}") from None
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise UsageError(f"{where} takes true or false, got {raw!r}")
    if kind in ("object", "array"):
        return parse_json(raw, where)
    if kind == "scalar":  # no type the spec agrees on: JSON's numbers and booleans
        lowered = raw.strip()
        if lowered in ("true", "false"):
            return lowered == "true"
        try:
            number = float(lowered)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return int(lowered) if lowered.lstrip("+-").isdigit() else number
    # "any" (string or array/object): JSON only when it looks like JSON.
    if raw.lstrip().startswith(("[", "{")):
        return parse_json(raw, where)
    return raw
