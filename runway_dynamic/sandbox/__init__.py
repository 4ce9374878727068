"""A local, stateful simulator of the Runway API, built from the spec's catalog.

A real HTTP server on loopback (uvicorn and a plain ASGI callable, in a thread of its own):
every operation of the spec is routed; bodies are checked by our own pre-flight and refused
with Runway-shaped 400s; answers conform to the response schemas; tasks run PENDING →
RUNNING → SUCCEEDED over ``task_seconds`` and their outputs are real PNG/WAV/MP4 files
served by the sandbox.

>>> from runway_dynamic.sandbox import Sandbox
>>> with Sandbox(task_seconds=0.2) as sb, sb.client() as client:   # doctest: +SKIP
...     task = client.run("text_to_image", {"model": "gen4_image", ...})

Any non-empty ``Authorization: Bearer`` key is accepted (missing → 401 when
``require_auth``); header parameters the spec pins (``X-Runway-Version``) must be sent
exactly (else 400). ``python -m runway_dynamic.sandbox`` serves in the foreground.

Fault injection
---------------
Faults come from the constructor (``faults=["status=503; times=2"]``, each string applies
to every request) and per request from the header ``X-Sandbox-Fault: <fault>[; <fault>...]``.
A spec is ``;``-separated directives:

==============================  =========================================================
``status=503``                  answer that 4xx/5xx status with a Runway-shaped error body
``retry-after=2``               add ``Retry-After: 2`` (typically with ``status=429``)
``times=N``                     only the first N requests carrying this exact spec string
                                get the fault (counter keyed by the full string); later
                                ones pass normally
``drop``                        close the connection without a response, before doing
                                anything (no state change)
``drop=after``                  process the request fully (a task IS created), then close
                                the connection without a response (the lost response)
``delay=0.5``                   sleep that many seconds before answering
``task=throttled:2``            the created task is THROTTLED for 2 s before it runs
``task-fail=CODE``              the created task ends FAILED with ``failureCode`` CODE
                                (e.g. ``INTERNAL.BAD_OUTPUT.CODE01``, ``SAFETY.INPUT.TEXT``)
                                instead of SUCCEEDED; with ``times=N`` only the first N fail
==============================  =========================================================

A malformed spec is answered with a 400 that says what is wrong.

Organization limits
-------------------
``limits=OrgLimits(concurrency=5, daily=200, credits=10_000)`` plays Runway's per-model
limits: tasks beyond ``concurrency`` running are THROTTLED and start in submission order;
the ``daily``-th create of a model within 24 hours and later ones get a 429; a create whose
estimate exceeds the credits left gets a 400. ``GET /v1/organization`` reports them.
``GET /_sandbox/tasks`` lists every task with its body (what a person finds in the
dashboard) and ``GET /_sandbox/stats`` counts them.

Media limits
------------
What the spec states about media is enforced (:mod:`runway_dynamic.media_limits`): an
upload slot is refused for a file name that is not of a media type the spec's media fields
take, and an uploaded file of another type or larger than the upload cap is refused (413)
before it is stored. Uploaded files are streamed to a temporary directory, never held in
memory, and removed when the sandbox stops. Model ids the spec does not list get a 400.

Modules: :mod:`.app` (the API semantics, no sockets), :mod:`.asgi` (HTTP ↔ app),
:mod:`.server` (uvicorn in a thread), :mod:`.multipart`, :mod:`.state`, :mod:`.faults`,
:mod:`.examples`, :mod:`.media`.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.sandbox.app import SandboxApp
    from runway_dynamic.sandbox.asgi import ASGIApp
    from runway_dynamic.sandbox.faults import HEADER as FAULT_HEADER
    from runway_dynamic.sandbox.server import SandboxServer
    from runway_dynamic.sandbox.state import OrgLimits, SandboxState
    from runway_dynamic.spec import Spec

__all__ = ["FAULT_HEADER", "OrgLimits", "Sandbox", "SandboxState"]


def __getattr__(name: str) -> Any:
    """The state and fault modules load on first use (PEP 562): ``runway --sandbox`` with
    a command that sends nothing (``--dry-run``) pays for neither."""
    if name == "FAULT_HEADER":
        from runway_dynamic.sandbox.faults import HEADER

        return HEADER
    if name in ("OrgLimits", "SandboxState"):
        from runway_dynamic.sandbox import state

        return getattr(state, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Sandbox:
    """The Runway API simulator on a loopback port. ``start()``/``stop()`` or ``with``.

    The port is bound when the sandbox is made; the app built from the spec and the HTTP
    server when it starts (or, with ``start(lazy=True)``, when the first client connects:
    a ``runway --sandbox`` command that sends nothing pays for neither).

    >>> sb = Sandbox(task_seconds=0.5).start()     # doctest: +SKIP
    >>> sb.base_url                                 # doctest: +SKIP
    'http://127.0.0.1:40123'
    >>> sb.stop()                                   # doctest: +SKIP
    """

    def __init__(
        self,
        spec: Spec | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        task_seconds: float = 1.0,
        faults: list[str] | None = None,
        require_auth: bool = True,
        verbose: bool = False,
        limits: OrgLimits | None = None,
        upload_max_bytes: int | None = None,
    ) -> None:
        from runway_dynamic.sandbox.server import SandboxServer
        from runway_dynamic.spec import load_spec

        self.spec = spec if spec is not None else load_spec()
        self.host = host
        self.task_seconds = task_seconds
        self.require_auth = require_auth
        self.verbose = verbose
        self.faults = list(faults or ())
        if self.faults:
            from runway_dynamic.sandbox.faults import parse_fault

            for text in self.faults:
                parse_fault(text)  # a malformed fault fails here, not on the first request
        self.limits = limits
        self.upload_max_bytes = upload_max_bytes
        self._state: SandboxState | None = None
        self._state_lock = threading.Lock()
        self._app: SandboxApp | None = None
        self._app_lock = threading.Lock()
        # Bound (and listening) first: the port and base URL are known before the app seeds
        # its state and before serving starts.
        self._server: SandboxServer = SandboxServer(host, port, verbose=verbose,
                                                    app_factory=self._asgi)
        self.port: int = self._server.port

    @property
    def state(self) -> SandboxState:
        """Tasks, uploads, resources and the request log (read it in tests); made on first
        use, so that a sandbox nobody calls costs no state."""
        with self._state_lock:
            if self._state is None:
                from runway_dynamic.sandbox.state import SandboxState

                self._state = SandboxState()
            return self._state

    def _close_state(self) -> None:
        if self._state is not None:
            self._state.close()

    @property
    def app(self) -> SandboxApp:
        """The API semantics (built from the spec on first use; it seeds ``state``)."""
        with self._app_lock:
            if self._app is None:
                from runway_dynamic.sandbox.app import SandboxApp

                self._app = SandboxApp(
                    self.spec, self.state, base_url=lambda: self.base_url,
                    task_seconds=self.task_seconds, faults=self.faults,
                    require_auth=self.require_auth, limits=self.limits,
                    upload_max_bytes=self.upload_max_bytes,
                )
            return self._app

    def _asgi(self) -> ASGIApp:
        from runway_dynamic.sandbox.asgi import build_asgi

        return build_asgi(self.app, verbose=self.verbose)

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` — what a client uses as its base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def client(self, **kwargs: Any) -> RunwayClient:
        """A sealed :class:`RunwayClient` for this sandbox: loopback only, no proxy, and a
        placeholder key (your key is never read). Other arguments go to the client."""
        from runway_dynamic.client import RunwayClient

        return RunwayClient(base_url=self.base_url, spec=self.spec, sealed=True, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncRunwayClient:
        """The asynchronous twin of :meth:`client`."""
        from runway_dynamic.client import AsyncRunwayClient

        return AsyncRunwayClient(base_url=self.base_url, spec=self.spec, sealed=True, **kwargs)

    def start(self, *, lazy: bool = False) -> Sandbox:
        """Serve in a background thread; returns ``self`` once it serves (``lazy``: at once,
        and the server is made when the first client connects)."""
        self._server.start(lazy=lazy)
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (for ``runway sandbox serve``)."""
        try:
            self._server.serve_forever()
        finally:
            self._close_state()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close open connections, free the port, remove uploaded files."""
        self._server.stop(timeout)
        self._close_state()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Sandbox({self.base_url}, task_seconds={self.task_seconds})"
