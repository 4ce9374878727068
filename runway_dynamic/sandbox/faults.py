"""Fault injection: the grammar of ``X-Sandbox-Fault`` / ``faults=[...]`` and its counters.

A fault spec is ``;``-separated directives (see the package docstring for the table)::

    status=429; retry-after=2; times=1
    drop=after
    task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=2

Parsing is pure; :class:`FaultCounters` remembers how often each exact spec string has
fired so that ``times=N`` lets the first N requests carrying it fail and the rest pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

HEADER = "X-Sandbox-Fault"

_DIRECTIVES = ("status", "retry-after", "times", "drop", "delay", "task", "task-fail")


class FaultSyntaxError(ValueError):
    """A fault spec that does not follow the grammar (answered with a 400)."""


@dataclass(frozen=True)
class Fault:
    """What to do to one request. Fields are ``None``/false when a directive is absent."""

    status: int | None = None
    retry_after: float | None = None
    times: int | None = None
    drop: str | None = None  # "before" (no processing) or "after" (processed, response lost)
    delay: float = 0.0
    throttled_seconds: float | None = None
    fail_code: str | None = None
    source: str = field(default="", compare=False)

    def merged(self, other: Fault) -> Fault:
        """Both faults at once: the other's set directives win, delays add up."""
        return replace(
            self,
            status=other.status if other.status is not None else self.status,
            retry_after=other.retry_after if other.retry_after is not None else self.retry_after,
            drop=other.drop or self.drop,
            delay=self.delay + other.delay,
            throttled_seconds=other.throttled_seconds
            if other.throttled_seconds is not None else self.throttled_seconds,
            fail_code=other.fail_code or self.fail_code,
            times=None,
            source=";".join(s for s in (self.source, other.source) if s),
        )


def _number(name: str, text: str, *, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise FaultSyntaxError(f"{name} needs {kind}, got {text!r}") from None
    if value < 0:
        raise FaultSyntaxError(f"{name} must not be negative, got {text!r}")
    return value


def parse_fault(spec: str) -> Fault:
    """Parse one fault spec (``status=503; retry-after=2; times=1``) into a :class:`Fault`."""
    values: dict[str, object] = {}
    for raw in spec.split(";"):
        part = raw.strip()
        if not part:
            continue
        name, sep, text = part.partition("=")
        name, text = name.strip().lower(), text.strip()
        if name not in _DIRECTIVES:
            raise FaultSyntaxError(
                f"unknown fault directive {name!r}; known: {', '.join(_DIRECTIVES)}"
            )
        if name == "status":
            status = int(_number(name, text, integer=True))
            if not 400 <= status <= 599:
                raise FaultSyntaxError(f"status must be a 4xx or 5xx code, got {text!r}")
            values["status"] = status
        elif name == "retry-after":
            values["retry_after"] = _number(name, text)
        elif name == "times":
            values["times"] = int(_number(name, text, integer=True))
        elif name == "delay":
            values["delay"] = _number(name, text)
        elif name == "drop":
            if sep and text not in ("after", "before"):
                raise FaultSyntaxError(f"drop takes no value or 'after', got {text!r}")
            values["drop"] = text if sep else "before"
        elif name == "task":
            state, _, seconds = text.partition(":")
            if state.strip().lower() != "throttled":
                raise FaultSyntaxError(f"task takes 'throttled:SECONDS', got {text!r}")
            values["throttled_seconds"] = _number("task=throttled", seconds.strip() or "0")
        elif name == "task-fail":
            if not text:
                raise FaultSyntaxError("task-fail needs a failure code, e.g. SAFETY.INPUT.TEXT")
            values["fail_code"] = text
    return Fault(source=spec.strip(), **values)  # type: ignore[arg-type]


class FaultCounters:
    """How many requests each exact fault spec has affected (for ``times=N``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}

    def admit(self, fault: Fault) -> bool:
        """Count one request carrying ``fault``; whether the fault applies to it."""
        if fault.times is None:
            return True
        with self._lock:
            seen = self._seen.get(fault.source, 0)
            self._seen[fault.source] = seen + 1
            return seen < fault.times


def effective_fault(
    specs: Iterable[Fault], counters: FaultCounters
) -> Fault:
    """The one fault a request gets from the server-wide and per-request specs."""
    result = Fault()
    for fault in specs:
        if counters.admit(fault):
            result = result.merged(fault)
    return result
