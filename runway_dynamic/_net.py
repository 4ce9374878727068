"""Which hosts are this machine, and what an HTTP client may do about proxies and cleartext.

Pure functions below every layer (the spec loader needs them as much as the client); the
policy that uses them — what a sandbox run may reach — is :mod:`runway_dynamic.boundary`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from runway_dynamic._exceptions import ConfigError

#: Set to ``1`` to allow a plain ``http://`` base URL to a host that is not loopback.
ENV_ALLOW_INSECURE_HTTP = "RUNWAY_ALLOW_INSECURE_HTTP"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    """``127.0.0.0/8``, ``::1`` and ``localhost`` (names are not resolved: no DNS leaves)."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine: a loopback host, a path or ``file:``, or a URL
    with no host at all (``postgresql:///db`` talks to a local socket)."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        return True
    if parts.scheme in ("http", "https", "ws", "wss"):
        return is_loopback_host(parts.hostname)
    return not parts.hostname or is_loopback_host(parts.hostname)


def check_base_url(url: str, *, allow_insecure: bool | None = None) -> None:
    """Refuse a base URL that would carry the key in cleartext over a network.

    ``http://`` is fine to loopback (the sandbox); to any other host it needs
    ``allow_insecure`` (or ``RUNWAY_ALLOW_INSECURE_HTTP=1``).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"base URL {url!r} is not an http(s) URL")
    if parts.scheme == "https" or is_loopback_host(parts.hostname):
        return
    if allow_insecure is None:
        allow_insecure = os.environ.get(ENV_ALLOW_INSECURE_HTTP, "").strip() in ("1", "true")
    if not allow_insecure:
        raise ConfigError(
            f"refusing to send the API key in cleartext to {parts.hostname} ({url}): use "
            f"https://, or set {ENV_ALLOW_INSECURE_HTTP}=1 if you really mean it"
        )


def trust_environment(base_url: str) -> bool:
    """Whether an HTTP client for ``base_url`` may take proxies from the environment.

    Loopback traffic never goes through a proxy: a proxy there would see the request (and
    its key) that the user meant to keep on this machine.
    """
    return not is_loopback_url(base_url)


def guard_hooks(
    guard: Callable[[Any], None] | None, *, asynchronous: bool = False
) -> dict[str, list[Callable[[Any], Any]]]:
    """``event_hooks=`` for an httpx client: the guard on every request, when there is one
    (an ``AsyncClient`` needs coroutine hooks: ``asynchronous=True``)."""
    if guard is None:
        return {}
    if not asynchronous:
        return {"request": [guard]}
    check = guard

    async def aguard(request: Any) -> None:
        check(request)

    return {"request": [aguard]}
