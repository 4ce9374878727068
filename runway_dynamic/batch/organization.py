"""The organization's limits as ``GET /v1/organization`` tells them, read defensively.

Runway counts limits per model: how many of its tasks run at once, and how many may be
created in a rolling 24 hours. The batch seeds each model's window from the first and
tells a cap from a passing 429 by the second. Any part the answer lacks is unknown, and
the batch then learns from THROTTLED and 429 alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrgModel:
    """One model's limits and use, from ``GET /v1/organization`` (any part may be unknown)."""

    concurrency: int | None = None
    daily: int | None = None
    used_today: int | None = None

    @property
    def daily_reached(self) -> bool:
        return self.daily is not None and self.used_today is not None and (
            self.used_today >= self.daily)


def parse_organization(data: Any) -> dict[str, OrgModel]:
    """Per-model limits and usage from the organization answer; ``{}`` when its shape is
    not the one we know (the batch then learns from THROTTLED and 429 alone)."""
    tier = _mapping(data, "tier")
    limits, usage = _mapping(tier, "models"), _mapping(_mapping(data, "usage"), "models")
    out: dict[str, OrgModel] = {}
    for model in {*limits, *usage}:
        limit, used = _mapping(limits, model), _mapping(usage, model)
        out[str(model)] = OrgModel(_int(limit.get("maxConcurrentGenerations")),
                                   _int(limit.get("maxDailyGenerations")),
                                   _int(used.get("dailyGenerations")))
    return out


def _mapping(data: Any, name: str) -> Mapping[str, Any]:
    value = data.get(name) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
