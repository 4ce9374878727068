"""A scripted fake Runway behind httpx.MockTransport, and one harness for both clients.

Every client test takes the ``client_kind`` parameter and runs once with
:class:`RunwayClient` and once with :class:`AsyncRunwayClient` through :class:`Harness`, so
the two are held to the same behaviour by the same assertions.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from runway_dynamic.client import AsyncRunwayClient, RunwayClient
from runway_dynamic.spec import Spec

API_KEY = "key_test_5ecret_value_do_not_print_7f3a"
BASE = "https://api.test"
OUTPUT_HOST = "https://files.test"
UPLOAD_URL = "https://uploads.test/bucket"

Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def answer_running_task(handler: BaseHTTPRequestHandler) -> None:
    """A loopback server's answer to ``GET …/tasks/ID``: that task, still RUNNING."""
    task_id = handler.path.rstrip("/").rsplit("/", 1)[-1]
    body = json.dumps({"id": task_id, "status": "RUNNING"}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class FakeRunway:
    """Answers like Runway; ``script`` queues special answers per ``"METHOD /path"``."""

    script: dict[str, list[Scripted]] = field(default_factory=dict)
    log: list[httpx.Request] = field(default_factory=list)
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: statuses a new task goes through on successive GETs (the last one sticks)
    lifecycle: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"status": "PENDING"},
            {"status": "RUNNING", "progress": 0.5},
            {"status": "SUCCEEDED"},
        ]
    )
    outputs: int = 1
    failures: list[dict[str, Any]] = field(default_factory=list)  # per created task, in order
    uploads: list[dict[str, Any]] = field(default_factory=list)

    def queue(self, route: str, *answers: Scripted) -> None:
        self.script.setdefault(route, []).extend(answers)

    def calls(self, route: str) -> int:
        method, _, path = route.partition(" ")
        return sum(1 for r in self.log if r.method == method and r.url.path == path)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        route = f"{request.method} {request.url.path}"
        queued = self.script.get(route)
        if queued:
            answer = queued.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if callable(answer) and not isinstance(answer, httpx.Response):
                return answer(request)
            return answer
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if request.url.host == "files.test":
            kind = "image/png" if path.endswith("png") else "video/mp4"
            return httpx.Response(
                200, headers={"content-type": kind}, content=b"DATA:" + path.encode()
            )
        if request.url.host == "uploads.test":
            self.uploads.append({"body": request.content})
            return httpx.Response(204)
        if path == "/v1/uploads" and method == "POST":
            name = json.loads(request.content)["filename"]
            return httpx.Response(
                200,
                json={
                    "uploadUrl": UPLOAD_URL,
                    "fields": {"key": f"k/{name}"},
                    "runwayUri": f"runway://uploads/{name}",
                },
            )
        if path.startswith("/v1/tasks/"):
            tid = path.rsplit("/", 1)[1]
            if tid not in self.tasks:
                return httpx.Response(404, json={"error": "Task not found"})
            if method == "DELETE":
                self.tasks[tid] = [{"status": "CANCELLED"}]
                return httpx.Response(204)
            steps = self.tasks[tid]
            step = steps.pop(0) if len(steps) > 1 else steps[0]
            body = {"id": tid, "createdAt": "2025-01-01T00:00:00Z", **step}
            if body["status"] == "SUCCEEDED":
                body["output"] = [f"{OUTPUT_HOST}/{tid}/{i}.png" for i in range(self.outputs)]
            return httpx.Response(200, json=body)
        if method == "POST":
            tid = str(uuid.uuid4())
            steps = [dict(s) for s in self.lifecycle]
            if self.failures:
                failure = self.failures.pop(0)
                if failure:
                    steps = [{"status": "RUNNING"}, {"status": "FAILED", **failure}]
            self.tasks[tid] = steps
            return httpx.Response(200, json={"id": tid, "estimatedCost": {"credits": 5}})
        return httpx.Response(404, json={"error": f"no route {method} {path}"})


class Harness:
    """One face over both clients: ``h.call("tasks.wait", task)`` awaits when it must."""

    def __init__(self, kind: str, api: FakeRunway, spec: Spec, **options: Any) -> None:
        self.kind = kind
        self.api = api
        self.sleeps: list[float] = []
        self.now = 0.0  # a fake clock that moves only when the client sleeps
        transport = httpx.MockTransport(api.handler)
        common: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": BASE,
            "spec": spec,
            "poll_interval": 1.0,
            "clock": lambda: self.now,
            **options,
        }
        if kind == "sync":
            self.client: Any = RunwayClient(transport=transport, sleep=self.sleep, **common)
        else:

            async def asleep(seconds: float) -> None:
                self.sleep(seconds)

            self.client = AsyncRunwayClient(transport=transport, sleep=asleep, **common)
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        target: Any = self.client
        for part in name.split("."):
            target = getattr(target, part)
        result = target(*args, **kwargs)
        if inspect.isawaitable(result):
            assert self.loop is not None
            return self.loop.run_until_complete(result)
        return result

    def close(self) -> None:
        self.call("close")
        if self.loop is not None:
            self.loop.close()
