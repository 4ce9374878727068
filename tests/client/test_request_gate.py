"""The async client's gate on requests on the wire, as a loopback server sees them.

A client with nothing configured bounds its requests at once by its pool's kept-alive
connections (httpx's defaults: 20 of 100); a caller's ``max_concurrent_requests`` wins;
tasks cancelled while they wait at the gate leave no slot taken. The server counts the
requests open at once (received, not yet answered) and can hold them open.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from client_fakes import answer_running_task

from runway_dynamic._constants import DEFAULT_KEEPALIVE_CONNECTIONS
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.spec import Spec

KEY = "key_gate_test_not_secret_0001"
#: Longest a request is held open waiting for company (a bound, never reached when green).
HOLD_LIMIT = 5.0


class Counter:
    """Requests open at once: the most seen, and a way to hold them until released."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.open = 0
        self.most = 0
        self.received = 0
        self.answered = 0
        #: Hold each request until this many have arrived (or :data:`HOLD_LIMIT`): the
        #: first ones are then certainly open together.
        self.hold_until_received = 0
        self.released = threading.Event()
        self.released.set()

    def enter(self) -> None:
        with self.lock:
            self.open += 1
            self.received += 1
            self.most = max(self.most, self.open)
            self.lock.notify_all()
            self.lock.wait_for(lambda: self.received >= self.hold_until_received, HOLD_LIMIT)
        self.released.wait(HOLD_LIMIT)

    def leave(self) -> None:
        with self.lock:
            self.open -= 1
            self.answered += 1

    def wait_open(self, n: int) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.open >= n, HOLD_LIMIT)


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # 300 clients connect at once when nothing bounds them
    daemon_threads = True
    counter: Counter


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        counter = self.server.counter
        counter.enter()
        try:
            answer_running_task(self)
        finally:
            counter.leave()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, Counter]]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.counter = Counter()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.counter
    finally:
        httpd.counter.released.set()
        httpd.shutdown()
        httpd.server_close()


def _client(url: str, spec: Spec, **kwargs: Any) -> AsyncRunwayClient:
    return AsyncRunwayClient(KEY, base_url=url, spec=spec, timeout=30, max_retries=0,
                             **kwargs)


async def _get_all(client: AsyncRunwayClient, n: int) -> None:
    await asyncio.wait_for(
        asyncio.gather(*(client.tasks.get(f"task-{i}") for i in range(n))), 60)


def test_a_client_with_defaults_keeps_at_most_its_kept_alive_connections_busy(
    server: tuple[str, Counter], bundled_spec: Spec,
) -> None:
    """300 reads at once with nothing configured: 20 open at the server, never more."""
    url, counter = server
    counter.hold_until_received = DEFAULT_KEEPALIVE_CONNECTIONS

    async def scenario() -> int | None:
        async with _client(url, bundled_spec) as client:
            await _get_all(client, 300)
            return client.max_concurrent_requests

    bound = asyncio.run(scenario())
    assert bound == DEFAULT_KEEPALIVE_CONNECTIONS
    assert counter.answered == 300
    assert counter.most == DEFAULT_KEEPALIVE_CONNECTIONS


def test_the_default_bound_comes_from_the_pool_of_a_callers_http_client(
    server: tuple[str, Counter], bundled_spec: Spec,
) -> None:
    url, counter = server
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)

    async def scenario() -> int | None:
        async with httpx.AsyncClient(limits=limits) as http, \
                _client(url, bundled_spec, http_client=http) as client:
            await _get_all(client, 100)
            return client.max_concurrent_requests

    assert asyncio.run(scenario()) == 6
    assert counter.answered == 100 and counter.most <= 6


@pytest.mark.parametrize("bound", [3, DEFAULT_KEEPALIVE_CONNECTIONS + 10])
def test_a_callers_max_concurrent_requests_wins_over_the_default(
    server: tuple[str, Counter], bundled_spec: Spec, bound: int,
) -> None:
    """Below or above the default: the server sees exactly that many at once, never more.

    The first ``bound`` requests are held until all have arrived, so reaching the bound is
    certain; one more would show."""
    url, counter = server
    counter.hold_until_received = bound

    async def scenario() -> int | None:
        async with _client(url, bundled_spec, max_concurrent_requests=bound) as client:
            await _get_all(client, 10 * bound)
            return client.max_concurrent_requests

    assert asyncio.run(scenario()) == bound
    assert counter.answered == 10 * bound
    assert counter.most == bound


def test_max_connections_sizes_the_pool_and_the_bound(
    server: tuple[str, Counter], bundled_spec: Spec,
) -> None:
    url, counter = server

    async def scenario() -> int | None:
        async with _client(url, bundled_spec, max_connections=4) as client:
            await _get_all(client, 50)
            return client.max_concurrent_requests

    assert asyncio.run(scenario()) == 4
    assert counter.most <= 4


def test_tasks_cancelled_at_the_gate_leave_no_slot_taken(
    server: tuple[str, Counter], bundled_spec: Spec,
) -> None:
    """With the gate full and the server holding every request, cancel most of the waiters
    (and one request on the wire): the rest finish, and afterwards the full bound of
    requests can be open at once again."""
    url, counter = server
    bound = 4
    counter.released.clear()

    async def scenario() -> list[Any]:
        async with _client(url, bundled_spec, max_concurrent_requests=bound) as client:
            tasks = [asyncio.create_task(client.tasks.get(f"task-{i}")) for i in range(40)]
            assert await asyncio.to_thread(counter.wait_open, bound)
            for task in [tasks[0], *tasks[10:]]:  # one on the wire, 30 at the gate
                task.cancel()
            await asyncio.sleep(0)
            counter.released.set()
            outcomes = await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), 30)
            # every slot is free again: `bound` requests can be held open together
            counter.released.clear()
            again = [asyncio.create_task(client.tasks.get(f"again-{i}")) for i in range(bound)]
            assert await asyncio.to_thread(counter.wait_open, bound)
            counter.released.set()
            await asyncio.wait_for(asyncio.gather(*again), 30)
            return outcomes

    outcomes = asyncio.run(scenario())
    cancelled = [o for o in outcomes if isinstance(o, asyncio.CancelledError)]
    finished = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(cancelled) == 31 and len(finished) == 9
    assert counter.most <= bound


def test_zero_turns_the_gate_off(bundled_spec: Spec) -> None:
    client = AsyncRunwayClient(KEY, base_url="http://127.0.0.1:9", spec=bundled_spec,
                               max_concurrent_requests=0)
    assert client.max_concurrent_requests is None
    asyncio.run(client.close())
