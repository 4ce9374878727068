"""The async client's pool pass (runway_dynamic._pool) against loopback servers.

Real sockets, real httpx and httpcore: connections are reused, a connection the server
closed while idle is never handed to a request, the pool's limits hold with requests
queued inside it, and cancelled requests leave it working.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest
from client_fakes import answer_running_task

from runway_dynamic import _pool
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.spec import Spec

KEY = "key_pool_test_not_secret_0001"
WAIT = 10.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Condition()
        self.connections = 0
        self.open_connections = 0
        self.most_connections = 0
        self.closed = 0
        #: Close each connection after one answer, without saying so (no Connection: close).
        self.drop_after_answer = False
        #: Requests wait for this before being answered.
        self.go = threading.Event()
        self.go.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)  # the socket is closed (FIN sent) only here
        with self.lock:
            self.open_connections -= 1
            self.closed += 1
            self.lock.notify_all()

    def wait_closed(self, n: int) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.closed >= n, WAIT)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open_connections += 1
            self.server.most_connections = max(self.server.most_connections,
                                               self.server.open_connections)

    def do_GET(self) -> None:
        self.server.go.wait(WAIT)
        answer_running_task(self)
        if self.server.drop_after_answer:
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


def _serve() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.go.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve()


@pytest.fixture
def other_server() -> Iterator[_Server]:
    yield from _serve()


def _lean_client(connections: int, keepalive: int | None = None) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections,
                          max_keepalive_connections=keepalive or connections)
    http = httpx.AsyncClient(limits=limits, timeout=WAIT)
    assert _pool.install(http._transport)
    return http


def test_a_default_client_gets_the_lean_pool_and_a_callers_client_is_left_alone(
    bundled_spec: Spec,
) -> None:
    async def scenario() -> tuple[type, type]:
        async with httpx.AsyncClient() as http, \
                AsyncRunwayClient(KEY, base_url="http://127.0.0.1:9", spec=bundled_spec) as ours, \
                AsyncRunwayClient(KEY, base_url="http://127.0.0.1:9", spec=bundled_spec,
                                  http_client=http) as theirs:
            return type(ours._http._transport._pool), type(theirs._http._transport._pool)

    mine, callers = asyncio.run(scenario())
    assert mine is _pool.LeanPool
    assert callers is not _pool.LeanPool
    assert not _pool.install(httpx.AsyncHTTPTransport(http2=True))


def test_another_httpcore_line_keeps_its_own_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass relies on httpcore 1.0's private pool and request objects: on another
    release line the pool is left as httpcore made it."""
    monkeypatch.setattr(httpcore, "__version__", "1.1.0")
    assert not _pool.install(httpx.AsyncHTTPTransport())
    monkeypatch.setattr(httpcore, "__version__", "1.0.99")
    assert _pool.install(httpx.AsyncHTTPTransport())


def test_requests_one_after_another_reuse_one_connection(
    server: _Server, bundled_spec: Spec,
) -> None:
    async def scenario() -> None:
        async with AsyncRunwayClient(KEY, base_url=server.url, spec=bundled_spec,
                                     max_retries=0) as client:
            for i in range(20):
                await client.tasks.get(f"task-{i}")

    asyncio.run(scenario())
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused(server: _Server) -> None:
    """Each answer is followed by a silent close: every next request needs, and gets, a new
    connection (a reused one would fail: the pool would hand out a dead socket)."""
    server.drop_after_answer = True

    async def scenario() -> list[int]:
        async with _lean_client(4) as http:
            statuses = []
            for i in range(10):
                statuses.append((await http.get(f"{server.url}/v1/tasks/t{i}")).status_code)
                assert await asyncio.to_thread(server.wait_closed, i + 1)
            return statuses

    assert asyncio.run(scenario()) == [200] * 10
    assert server.connections == 10


def test_limits_hold_with_requests_queued_in_the_pool(server: _Server) -> None:
    async def scenario() -> list[int]:
        async with _lean_client(5) as http:
            answers = await asyncio.wait_for(asyncio.gather(
                *(http.get(f"{server.url}/v1/tasks/t{i}") for i in range(200))), 60)
            return [a.status_code for a in answers]

    assert asyncio.run(scenario()) == [200] * 200
    assert server.most_connections <= 5


def test_a_full_pool_closes_an_idle_connection_to_reach_another_origin(
    server: _Server, other_server: _Server,
) -> None:
    async def scenario() -> list[int]:
        async with _lean_client(1) as http:
            statuses = []
            for i in range(6):
                where = server if i % 2 == 0 else other_server
                statuses.append((await http.get(f"{where.url}/v1/tasks/t{i}")).status_code)
            return statuses

    assert asyncio.run(scenario()) == [200] * 6
    assert server.connections == 3 and other_server.connections == 3


def test_requests_cancelled_while_queued_in_the_pool_leave_it_working(server: _Server) -> None:
    server.go.clear()

    async def scenario() -> tuple[list[Any], list[int]]:
        async with _lean_client(2) as http:
            pending = [asyncio.create_task(http.get(f"{server.url}/v1/tasks/t{i}"))
                       for i in range(12)]
            await asyncio.sleep(0.05)  # let them reach the pool; the server holds answers
            for task in pending[1::2]:
                task.cancel()
            server.go.set()
            outcomes = await asyncio.wait_for(
                asyncio.gather(*pending, return_exceptions=True), 30)
            after = await asyncio.wait_for(asyncio.gather(
                *(http.get(f"{server.url}/v1/tasks/again{i}") for i in range(10))), 30)
            # (the server may count more: a request cancelled on the wire closes its
            # connection here while the server still holds its end)
            assert len(http._transport._pool.connections) <= 2
            return outcomes, [a.status_code for a in after]

    outcomes, after = asyncio.run(scenario())
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes[1::2])
    assert [o.status_code for o in outcomes[::2]] == [200] * 6
    assert after == [200] * 10
