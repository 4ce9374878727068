"""The CLI's one client factory: key, base URL and headers of every client a command makes.

Every command that talks to the API gets its client here, sync or async, so the sandbox
boundary (:mod:`runway_dynamic.boundary`) is applied in one place: under ``--sandbox`` the
client talks to the in-process sandbox on loopback, ignores proxies, and sends a placeholder
key (the user's key is not even read).

Outside the sandbox:

- key: ``--api-key`` → ``RUNWAY_API_KEY``/``RUNWAYML_API_SECRET`` → ``.env`` → credentials
  file (:mod:`runway_dynamic.auth`); none → :class:`ConfigError` naming every way to give one;
- base URL: ``RUNWAY_BASE_URL`` → the ``base-url`` setting → the spec's first server;
- headers: ``RUNWAY_EXTRA_HEADERS`` (a JSON object; meant for sandbox fault injection), ``-H``
  and ``--runway-version`` (:func:`request_headers`);
- history: every client records its creates in the user's history (:func:`history`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import ENV_BASE_URL
from runway_dynamic._exceptions import ConfigError, UsageError
from runway_dynamic.cli._context import Invocation, warn

if TYPE_CHECKING:
    from runway_dynamic.cli._run import RunOptions
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.history import HistoryStore

#: Poll interval under ``--sandbox`` when none is given: its tasks take seconds, not minutes.
SANDBOX_POLL_INTERVAL = 0.25
#: A JSON object of extra headers for every API request (tests: ``X-Sandbox-Fault``).
ENV_EXTRA_HEADERS = "RUNWAY_EXTRA_HEADERS"


def extra_headers() -> dict[str, str]:
    """``RUNWAY_EXTRA_HEADERS`` as a dict (a JSON object of strings); empty when unset."""
    raw = os.environ.get(ENV_EXTRA_HEADERS)
    if not raw:
        return {}
    import orjson

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ConfigError(f"{ENV_EXTRA_HEADERS} must be a JSON object of header names to values")
    return {str(k): str(v) for k, v in data.items()}


def request_headers(invocation: Invocation) -> dict[str, str]:
    """The extra headers of every API request: ``RUNWAY_EXTRA_HEADERS``, then ``-H``, then
    ``--runway-version`` in the header(s) the spec pins (:attr:`Catalog.pinned_headers`).

    ``-H`` may not set ``Authorization`` (the key comes from ``--api-key``/``--profile``, so
    that it is redacted, kept from the sandbox and never recorded) nor a pinned header
    (``--runway-version`` says it): both are refused with exit 2, not overridden silently.
    Only API requests carry these, never uploads or downloads to other hosts; under
    ``--sandbox`` that is the loopback sandbox alone.
    """
    headers = extra_headers()
    if not invocation.headers and invocation.runway_version is None:
        return headers
    pinned = invocation.spec().catalog.pinned_headers
    lowered = {name.lower(): name for name in pinned}
    for name, value in invocation.headers:
        if name.lower() == "authorization":
            raise UsageError("-H may not set Authorization: give the key with --api-key, "
                             "--profile or 'runway auth set'")
        if name.lower() in lowered:
            raise UsageError(f"-H may not set {lowered[name.lower()]}: use --runway-version")
        headers[name] = value
    if invocation.runway_version is not None:
        if not pinned:
            raise UsageError("--runway-version: this spec pins no version header to set; "
                             "send one with -H 'NAME: VALUE' if the API wants it")
        for name in pinned:
            headers[name] = invocation.runway_version
    return headers


def api_key(invocation: Invocation) -> str | None:
    """The key a request would carry (the placeholder under ``--sandbox``), or ``None``.

    What a person should know about the choice (a ``.env`` skipped as untrustworthy, or
    one whose key differs from the saved key) is said once, as a warning.
    """
    found = invocation.boundary.key_source(invocation.api_key)
    if found is None:
        return None
    for note in found.notes:
        if note not in _SAID:
            _SAID.add(note)
            warn(note)
    return found.key


#: Key notes already shown in this process (a command may make several clients).
_SAID: set[str] = set()


def require_api_key(invocation: Invocation) -> str:
    """:func:`api_key`, or :class:`ConfigError` naming every way to give one (exit 1)."""
    key = api_key(invocation)
    if key is None:
        from runway_dynamic.auth import no_key_message

        raise ConfigError(no_key_message())
    return key


def base_url(invocation: Invocation) -> str:
    """The sandbox's URL under ``--sandbox``; else ``RUNWAY_BASE_URL``, the ``base-url``
    setting, the spec's first server. Plain ``http://`` to another host is refused."""
    boundary = invocation.boundary
    if boundary.sealed:
        if boundary.sandbox_url is None:
            raise UsageError("this command cannot run under --sandbox")
        return boundary.sandbox_url
    url = os.environ.get(ENV_BASE_URL)
    if not url:
        from runway_dynamic import config

        configured = config.get("base-url")
        url = configured if isinstance(configured, str) and configured else None
    if not url:
        servers = invocation.spec().catalog.servers
        url = servers[0] if servers else None
    if not url:
        raise ConfigError(f"no base URL: the spec lists no servers; set {ENV_BASE_URL}")
    from runway_dynamic.boundary import check_base_url

    check_base_url(url)
    return url.rstrip("/")


def poll_interval(invocation: Invocation, given: float | None) -> float | None:
    """``--poll-interval``, else the ``poll-interval`` setting, else the sandbox's short
    interval under ``--sandbox``, else ``None`` (the client's default)."""
    if given is not None and given <= 0:
        raise UsageError("--poll-interval must be more than 0 seconds")
    if given is None:
        from runway_dynamic import config

        given = config.get("poll-interval")
    if given is None and invocation.boundary.sealed:
        return SANDBOX_POLL_INTERVAL
    return given


def history(invocation: Invocation) -> HistoryStore | None:
    """Where this run's creates are recorded: the user's history (``runway history``), with
    the command line, unless ``--no-history`` or ``runway config set history off`` say not
    to. Under ``--sandbox`` the client marks its entries as rehearsals."""
    from runway_dynamic import config

    if not invocation.history or not config.history_enabled():
        return None
    from runway_dynamic.cli.history_cmd import open_store

    return open_store(invocation.command_line())


def _client_kwargs(invocation: Invocation, poll: float | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "base_url": base_url(invocation), "spec": invocation.spec(),
        "headers": request_headers(invocation) or None, "sealed": invocation.boundary.sealed,
        "history": history(invocation),
    }
    interval = poll_interval(invocation, poll)
    if interval is not None:
        kwargs["poll_interval"] = interval
    return kwargs


def make_client(invocation: Invocation, options: RunOptions | None = None, *,
                preflight: bool = True) -> RunwayClient:
    """A :class:`RunwayClient` for this invocation, with the run options' poll and resubmit
    settings."""
    from runway_dynamic.client import RunwayClient

    key = require_api_key(invocation)
    kwargs = _client_kwargs(invocation, options.poll_interval if options else None)
    if options is not None:
        kwargs["retry_on_internal_error"] = options.retry_on_internal_error
        kwargs["retry_backoff_seconds"] = options.retry_backoff_seconds
    return RunwayClient(key, preflight=preflight, **kwargs)


def make_async_client(invocation: Invocation, *, poll_interval: float | None = None,
                      retry_backoff_seconds: float | None = None,
                      connections: int | None = None,
                      allow_unknown_model: bool = False) -> AsyncRunwayClient:
    """An :class:`AsyncRunwayClient` for this invocation; ``connections`` bounds the requests
    on the wire at once and sizes the pool for them."""
    from runway_dynamic.client import AsyncRunwayClient

    key = require_api_key(invocation)
    kwargs = _client_kwargs(invocation, poll_interval)
    if retry_backoff_seconds is not None:
        kwargs["retry_backoff_seconds"] = retry_backoff_seconds
    if connections is not None:
        kwargs["max_connections"] = max(1, connections)
    return AsyncRunwayClient(key, allow_unknown_model=allow_unknown_model, **kwargs)
