"""The only place that maps spec names to CLI names and back.

Spec body fields are camelCase (``promptText``); flags are kebab-case (``--prompt-text``).
Endpoints are API paths without the version prefix (``/v1/text_to_video`` → ``text_to_video``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")


def kebab(name: str) -> str:
    """``promptText`` → ``prompt-text``; ``X-Runway-Version`` → ``x-runway-version``."""
    spaced = _CAMEL_BOUNDARY.sub("-", name)
    return re.sub(r"[^A-Za-z0-9.]+", "-", spaced).strip("-").lower()


def flag_for(name: str) -> str:
    """The CLI flag of a spec field or parameter: ``promptText`` → ``--prompt-text``."""
    return "--" + kebab(name)


def camel(kebab_name: str) -> str:
    """``prompt-text`` → ``promptText`` (the inverse of :func:`kebab` for camelCase names)."""
    head, *rest = kebab_name.lstrip("-").split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def endpoint_name(path: str) -> str:
    """An API path without its version prefix: ``/v1/tasks/{id}`` → ``tasks/{id}``."""
    return _VERSION_PREFIX.sub("", path).strip("/")


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``word``, best first (for "did you mean")."""
    pool = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, pool, n=n, cutoff=0.5)
    if not found:
        lowered = word.lower()
        found = [c for c in pool if lowered in c.lower() or c.lower() in lowered][:n]
    return found
