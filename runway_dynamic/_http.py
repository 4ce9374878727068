"""Pure request building and retry decisions, shared by the sync and async senders.

Nothing here does I/O: the clients only send what :func:`prepare_request` builds and sleep
for what :func:`retry_delay` says. That keeps both clients in step and the policy testable
with a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from runway_dynamic._exceptions import UsageError
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


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready to send: what ``--dry-run`` prints and what the clients send."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    json: Any = None
    operation: Operation | None = field(default=None, repr=False, compare=False)

    @property
    def creates_task(self) -> bool:
        """A POST whose success response carries a new resource id (not idempotent)."""
        return self.method == "POST"

    def redacted_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        for name in list(out):
            if name.lower() == "authorization":
                scheme, _, secret = out[name].partition(" ")
                out[name] = f"{scheme} {redact(secret)}" if secret else redact(scheme)
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
