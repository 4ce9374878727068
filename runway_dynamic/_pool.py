"""A linear bookkeeping pass for the async client's connection pool (httpcore's own pool).

httpcore's ``AsyncConnectionPool`` runs ``_assign_requests_to_connections`` when a request
starts and when its response closes. In httpcore 1.0 that pass asks every connection
whether it has expired — for an idle HTTP/1.1 connection a poll of its socket, reached
through anyio's attribute mapping, ~35 µs — and, for every idle connection, lists all the
connections again (O(C²)). With the 20 kept-alive connections of a default
:class:`~runway_dynamic.client.AsyncRunwayClient` that bookkeeping was the largest part of
the client's CPU per request (``benchmarks/bench_sandbox.py --in-flight``; httpcore's open
pull requests 1035 and 1169 describe the same costs).

:class:`LeanPool` does the same job in O(connections + queued requests):

- an idle connection is checked for expiry (the socket poll) when it is about to be handed
  to a request, so one the server has closed is never reused; all of them are checked at
  most once per :data:`SWEEP_SECONDS` too, so expired ones do not linger;
- idle connections beyond ``max_keepalive_connections`` are closed (counting idle ones,
  as the limit means; httpcore 1.0 compares the count of all connections);
- a connection already handed to a request that has not started on it yet is neither
  handed out again nor closed (httpcore 1.0 does both: the loser of the first retries,
  the second breaks the request — httpcore issue 1110).

It is installed only on a plain ``httpcore.AsyncConnectionPool`` with HTTP/2 off, whose
private attributes are the ones this pass reads; anything else is left as it is.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpcore

#: How often every idle connection is checked for expiry, at most (seconds).
SWEEP_SECONDS = 1.0
#: The httpcore releases whose pool this pass was written against and tested with (the
#: request objects' methods it calls are private too: a newer line keeps httpcore's pass).
_VERSION = re.compile(r"1\.0\.\d+\Z")
#: The pool attributes the pass reads and writes (httpcore 1.0's).
_NEEDED = ("_connections", "_requests", "_max_connections", "_max_keepalive_connections",
           "_http2", "create_connection")


class LeanPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with :meth:`_assign_requests_to_connections` in linear time."""

    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_SECONDS
        # Connections handed to a request that has not started on them yet look idle.
        reserved = {id(r.connection) for r in self._requests if r.connection is not None}
        kept: list[Any] = []
        idle = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if id(connection) not in reserved:
                if sweep and connection.has_expired():
                    closing.append(connection)
                    continue
                if connection.is_idle():
                    if idle >= self._max_keepalive_connections:
                        closing.append(connection)
                        continue
                    idle += 1
            kept.append(connection)
        self._connections[:] = kept

        queued = [r for r in self._requests if r.is_queued()]
        if not queued:
            return closing
        available = [c for c in kept if id(c) not in reserved and c.is_available()]
        for pool_request in queued:
            origin = pool_request.request.url.origin
            connection = self._reusable(available, origin, checked=sweep, closing=closing)
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    victim = next((c for c in self._connections
                                   if id(c) not in reserved and c.is_idle()), None)
                    if victim is None:
                        continue  # every connection is busy: the request stays queued
                    self._connections.remove(victim)
                    closing.append(victim)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            reserved.add(id(connection))
            pool_request.assign_to_connection(connection)
        return closing

    def _reusable(self, available: list[Any], origin: httpcore.Origin, *, checked: bool,
                  closing: list[Any]) -> Any:
        """The first available connection to ``origin`` that has not expired (taken out of
        ``available``: an HTTP/1.1 connection serves one request at a time); expired ones
        found on the way are closed."""
        index = 0
        while index < len(available):
            connection = available[index]
            if not connection.can_handle_request(origin):
                index += 1
                continue
            del available[index]
            if not checked and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


def install(transport: Any) -> bool:
    """Put :class:`LeanPool`'s pass on ``transport``'s pool (an ``httpx.AsyncHTTPTransport``)
    when that pool is httpcore's plain one without HTTP/2; ``True`` when it was."""
    if not _VERSION.match(getattr(httpcore, "__version__", "")):
        return False  # another httpcore may change what the pass relies on: its own pass
    pool = getattr(transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool:
        return False
    if not all(hasattr(pool, name) for name in _NEEDED) or pool._http2:
        return False
    pool.__class__ = LeanPool
    return True
