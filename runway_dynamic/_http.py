"""Pure request building and retry decisions, shared by the sync and async senders.

Nothing here does I/O: the clients only send what :func:`prepare_request` builds and sleep
for what :func:`retry_delay` says. That keeps both clients in step and the policy testable
with a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from runway_dynamic._constants import (
    INITIAL_RETRY_DELAY,
    JITTER_MAX,
    JITTER_MIN,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from runway_dynamic._exceptions import UsageError
from runway_dynamic._frozen import Frozen
from runway_dynamic._version import __version__
from runway_dynamic.catalog import Operation

USER_AGENT = f"runway-dynamic/{__version__}"
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")


def redact(secret: str | None) -> str:
    """A key shown to people: its last 4 characters at most, never the whole of it."""
    if not secret:
        return "<none>"
    tail = secret[-4:] if len(secret) >= 12 else ""
    return f"****{tail}"


#: Query parameters whose value is a credential (libpq's ``password``, API tokens).
_SECRET_QUERY = frozenset({"password", "sslpassword", "passwd", "pwd", "secret", "token",
                           "access_token", "api_key", "apikey", "key", "client_secret"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """The URL without its credentials: the password of its user part and the values of
    query parameters that hold one (``?password=``, ``?token=``) become ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
        port = parts.port
    except ValueError:  # not a URL after all (a bad port): nothing to keep it from showing
        return url
    if password is not None:
        host = parts.hostname or ""
        if port:
            host += f":{port}"
        user = f"{parts.username}:***@" if parts.username else "***@"
        parts = parts._replace(netloc=user + host)
    if parts.query:
        pairs = [pair.partition("=") for pair in parts.query.split("&")]
        parts = parts._replace(query="&".join(
            name + eq + ("***" if eq and name.lower() in _SECRET_QUERY else value)
            for name, eq, value in pairs))
    return urlunsplit(parts)


def redact_urls(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text) if "://" in text else text


class PreparedRequest(Frozen):
    """A request ready to send: what ``--dry-run`` prints and what the clients send."""

    _fields = ("method", "url", "headers", "json", "operation")
    _hidden = ("headers", "operation")
    _uncompared = ("operation",)
    method: str
    url: str
    headers: Mapping[str, str]
    json: Any
    operation: Operation | None

    def __init__(self, method: str, url: str, headers: Mapping[str, str], json: Any = None,
                 operation: Operation | None = None) -> None:
        self._set(method=method, url=url, headers=headers, json=json, operation=operation)

    @property
    def creates(self) -> bool:
        """Whether resending it could make something twice: the operation's kind says; a
        request outside the spec (a presigned upload URL) is assumed to unless idempotent."""
        if self.operation is not None:
            return self.operation.creates
        return self.method.upper() not in IDEMPOTENT_METHODS

    def redacted_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        for name in list(out):
            if name.lower() == "authorization":
                scheme, _, secret = out[name].partition(" ")
                out[name] = f"{scheme} {redact(secret)}" if secret else redact(scheme)
            elif is_secret_header(name):
                out[name] = redact(out[name])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The request as printed by ``--dry-run`` (key redacted)."""
        out: dict[str, Any] = {"method": self.method, "url": self.url,
                               "headers": self.redacted_headers()}
        if self.json is not None:
            out["body"] = self.json
        return out

    def __repr__(self) -> str:
        return f"PreparedRequest({self.method} {self.url})"


#: Words that make a header's value a credential (``X-Api-Key``, ``Cookie``…): shown masked.
_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "password", "signature",
                        "credential", "session")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def is_secret_header(name: str) -> bool:
    """Whether a header's value is shown only masked (in ``--dry-run``, the history…)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)


def parse_header_line(text: str) -> tuple[str, str]:
    """``'Name: value'`` → ``("Name", "value")`` (``curl -H``'s form); :class:`UsageError`
    for a missing colon, an invalid name, or a line break in the value (header injection)."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _HEADER_NAME.fullmatch(name):
        raise UsageError(f"-H needs 'Name: value' with a header name of letters, digits and "
                         f"-, got {redact_urls(text.split(':', 1)[0][:40])!r}")
    if any(ch in value for ch in "\r\n\x00"):
        raise UsageError(f"-H {name}: the value must be one line")
    return name, value


def fill_path(path: str, path_params: Mapping[str, Any]) -> str:
    """Substitute ``{name}`` segments, percent-encoding values; missing ones are an error."""
    missing = [n for n in _PATH_PARAM.findall(path) if n not in path_params]
    if missing:
        raise UsageError(f"{path} needs path parameter(s): {', '.join(missing)}")
    return _PATH_PARAM.sub(lambda m: quote(str(path_params[m.group(1)]), safe=""), path)


def prepare_request(
    operation: Operation,
    *,
    base_url: str,
    api_key: str | None,
    path_params: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    extra_headers: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """Build the exact request for ``operation``: URL, spec-pinned headers, auth, JSON body."""
    url = base_url.rstrip("/") + fill_path(operation.path, path_params or {})
    pairs: list[tuple[str, str]] = []
    for name, value in (query or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs += [(name, _query_text(v)) for v in values]
    if pairs:
        url += "?" + urlencode(pairs)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    headers.update(operation.constant_headers)
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    headers.update(extra_headers or {})
    return PreparedRequest(operation.method, url, headers, body, operation)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- retry policy
#
# Every decision below is pure: the clients report what happened (a status, or the kind of
# transport error) and do what these functions say. The table lives in the tests.

#: Methods that may be resent after the request reached the server (RFC 9110 idempotent).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})

#: Statuses worth another try for idempotent requests. 408 (the server gave up waiting for
#: the request) and 500 are included: resending a read or a delete is harmless. 409 is not:
#: on this API it means a state conflict that a quick resend does not resolve.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# Transport error kinds, as reported by classify_transport_error().
#: Nothing was sent: connection refused, DNS, connect timeout, no free pooled connection.
ERROR_CONNECT = "connect"
ERROR_CONNECT_TIMEOUT = "connect_timeout"
#: The request went out (maybe only partly) and no response came back.
ERROR_READ_TIMEOUT = "read_timeout"
ERROR_DROPPED = "dropped"
#: Not a network condition (bad URL, local protocol misuse): never retried.
ERROR_OTHER = "other"

NOT_SENT_ERRORS = frozenset({ERROR_CONNECT, ERROR_CONNECT_TIMEOUT})
SENT_ERRORS = frozenset({ERROR_READ_TIMEOUT, ERROR_DROPPED})

# Outcomes of failure_action().
RETRY = "retry"
RAISE = "raise"
MAY_HAVE_SUCCEEDED = "may_have_succeeded"


def failure_action(
    method: str,
    creates: bool,
    status: int | None = None,
    error_kind: str | None = None,
    *,
    attempt: int,
    max_retries: int,
) -> str:
    """After a failed attempt: :data:`RETRY`, :data:`RAISE` or :data:`MAY_HAVE_SUCCEEDED`.

    ``attempt`` counts from 0 (the first send). Give either the response ``status`` or the
    transport ``error_kind``. A request that ``creates`` (a task or a resource; see
    :attr:`Operation.creates`) is resent only when nothing can exist: a 429, or an error
    before the request left. When it may have reached Runway (a 5xx, a read timeout, a
    dropped connection) the answer is :data:`MAY_HAVE_SUCCEEDED` — never a resend.
    """
    budget_left = attempt < max_retries
    idempotent = method.upper() in IDEMPOTENT_METHODS
    if status is not None:
        if status < 400:
            return RAISE
        if idempotent:
            return RETRY if budget_left and status in RETRYABLE_STATUSES else RAISE
        if status == 429:
            return RETRY if budget_left else RAISE
        if status >= 500 and creates:
            return MAY_HAVE_SUCCEEDED
        return RAISE
    if error_kind in NOT_SENT_ERRORS:
        return RETRY if budget_left else RAISE
    if error_kind in SENT_ERRORS:
        if idempotent:
            return RETRY if budget_left else RAISE
        return MAY_HAVE_SUCCEEDED if creates else RAISE
    return RAISE


def should_retry(
    method: str,
    creates: bool,
    status: int | None = None,
    error_kind: str | None = None,
    *,
    attempt: int,
    max_retries: int,
) -> bool:
    """Whether to send the request again (see :func:`failure_action` for the rules)."""
    return (
        failure_action(
            method, creates, status, error_kind, attempt=attempt, max_retries=max_retries
        )
        == RETRY
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        import email.utils
        import time

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


class RandomSource(Protocol):
    """The part of :class:`random.Random` that :func:`retry_delay` uses."""

    def uniform(self, a: float, b: float) -> float: ...


def retry_delay(
    attempt: int,
    retry_after_header: str | None,
    rng: RandomSource,
    *,
    now: float | None = None,
) -> float:
    """Seconds to sleep before resend number ``attempt + 1``.

    ``Retry-After`` (seconds or an HTTP date) is honoured as given when it is at most
    :data:`MAX_RETRY_AFTER` (60 s); a longer or unreadable one falls back to the backoff:
    0.5 s doubling per attempt, capped at 8 s, times a jitter factor in [0.75, 1.0] drawn
    from ``rng.uniform`` (``random.Random`` or anything with that method).
    """
    hinted = parse_retry_after(retry_after_header, now=now)
    if hinted is not None and hinted <= MAX_RETRY_AFTER:
        return hinted
    base = min(INITIAL_RETRY_DELAY * (2 ** max(0, attempt)), MAX_RETRY_DELAY)
    return float(base * rng.uniform(JITTER_MIN, JITTER_MAX))


def classify_transport_error(exc: BaseException) -> str:
    """Map an httpx transport exception to an error kind (httpx imported only when called)."""
    import httpx

    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ERROR_CONNECT_TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        return ERROR_CONNECT
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
        return ERROR_READ_TIMEOUT
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return ERROR_DROPPED
    return ERROR_OTHER


# --------------------------------------------------------------------------- resubmission


def should_resubmit(
    failure_code: str | None, *, status: str | None, resubmitted: int, max_resubmissions: int
) -> bool:
    """Whether a finished task should be submitted again as a new (billed) task.

    Only FAILED tasks whose ``failureCode`` starts with ``INTERNAL`` (system or quality
    rejections that a new attempt may pass) are resubmitted, at most ``max_resubmissions``
    times. Moderation (``SAFETY.*``), input validation and every other code are final.
    """
    if status != "FAILED" or not failure_code:
        return False
    return failure_code.upper().startswith("INTERNAL") and resubmitted < max_resubmissions
