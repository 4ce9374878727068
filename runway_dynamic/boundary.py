"""The sandbox boundary: the one place that decides what a run may reach and which key it sends.

A *sealed* run (``runway --sandbox …``, or a client made by ``rd.Sandbox().client()``)
promises that nothing leaves the machine and nothing is billed:

- every API request goes to the loopback sandbox, never through a proxy
  (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` are ignored for loopback traffic);
- the key sent is :data:`PLACEHOLDER_KEY`; the user's key is never read into a request;
- anything that must reach the outside (``spec pull``, ``--spec URL``, fetching a web page)
  is refused with :class:`SandboxBoundaryError` (exit 2) unless its target is loopback;
- an external agent is started only when the user named it.

Whatever the mode, a child process never inherits an API key (:func:`child_environment`).

>>> Boundary(sealed=True).check_outbound("https://example.com/page", "fetching a page")
Traceback (most recent call last):
SandboxBoundaryError: fetching a page: refusing to reach https://example.com/page under ...
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import ENV_API_KEY, ENV_API_KEY_LEGACY
from runway_dynamic._exceptions import SandboxBoundaryError
from runway_dynamic._frozen import Frozen
from runway_dynamic._net import (
    ENV_ALLOW_INSECURE_HTTP,
    check_base_url,
    guard_hooks,
    is_loopback_host,
    is_loopback_url,
    trust_environment,
)

__all__ = [
    "ENV_ALLOW_INSECURE_HTTP", "KEY_VARIABLES", "PLACEHOLDER_KEY", "Boundary",
    "check_base_url", "child_environment", "guard_hooks", "is_loopback_host",
    "is_loopback_url", "trust_environment",
]

if TYPE_CHECKING:
    from runway_dynamic.auth import KeySource

#: The key sent to a sandbox. Not a secret: any non-empty key works there.
PLACEHOLDER_KEY = "sandbox-placeholder-key"
#: Environment variables that may carry an API key; never passed to a child process.
KEY_VARIABLES = (ENV_API_KEY, ENV_API_KEY_LEGACY)


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment for a child process, without any API key in it."""
    env = dict(os.environ if environ is None else environ)
    for name in KEY_VARIABLES:
        env.pop(name, None)
    return env


class Boundary(Frozen):
    """What one run may reach. ``sealed``: a sandbox run; ``sandbox_url``: where it sends."""

    _fields = ("sealed", "sandbox_url")
    sealed: bool
    sandbox_url: str | None

    def __init__(self, sealed: bool = False, sandbox_url: str | None = None) -> None:
        self._set(sealed=sealed, sandbox_url=sandbox_url)

    def key_source(self, explicit: str | None = None) -> KeySource | None:
        """The key to send and where it came from: the placeholder when sealed (the user's
        key is not even read), else the first by precedence
        (:func:`runway_dynamic.auth.find_api_key`)."""
        from runway_dynamic.auth import KeySource, find_api_key

        if self.sealed:
            return KeySource(PLACEHOLDER_KEY, "the sandbox's placeholder")
        return find_api_key(explicit)

    def api_key(self, explicit: str | None = None) -> str | None:
        """:meth:`key_source`'s key (``None`` when there is none)."""
        found = self.key_source(explicit)
        return found.key if found is not None else None

    def check_outbound(self, url: str, purpose: str) -> None:
        """Refuse (exit 2) to reach ``url`` for ``purpose`` when sealed, unless it is loopback."""
        if self.sealed and not is_loopback_url(url):
            raise SandboxBoundaryError(purpose, url)

    def agent_allowed(self, named: bool) -> bool:
        """Whether an external agent (claude, codex) may start: when sealed, only if named."""
        return named or not self.sealed

    def request_guard(self, purpose: str) -> Callable[[Any], None] | None:
        """An httpx ``request`` event hook that applies :meth:`check_outbound` to every
        request, redirects included; ``None`` when not sealed (nothing to guard)."""
        if not self.sealed:
            return None

        def guard(request: Any) -> None:
            self.check_outbound(str(request.url), purpose)

        return guard
