"""Points in time as people type them: ``7d``, ``12h``, ``2026-11-30``, an ISO timestamp.

``--since`` and ``clear --before`` take either a duration back from now (``90s``, ``30m``,
``12h``, ``7d``, ``2w``) or a date/time: ``2026-11-30`` (local midnight),
``2026-11-30T14:00`` (local time) or ``2026-11-30T14:00:00+00:00`` (as given).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from runway_dynamic._exceptions import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_point(text: str, option: str, *, now: float | None = None) -> float:
    """Seconds since the epoch for ``text`` (a duration back from ``now``, or a date/time).

    A value that is neither is a :class:`UsageError` naming ``option`` and the forms taken.
    """
    now = time.time() if now is None else now
    match = _DURATION.match(text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2).lower()]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text!r}: give a duration back from now (30m, 12h, 7d, "
                         "2w) or a date such as 2026-11-30 or 2026-11-30T14:00") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a naive date or time is the user's local time
    return when.timestamp()


def iso(seconds: float) -> str:
    """A UTC timestamp for JSON output: ``2026-12-02T01:27:06.123Z``."""
    stamp = datetime.fromtimestamp(seconds, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def local(seconds: float) -> str:
    """A local time for tables: ``2026-12-02 02:27``."""
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")
