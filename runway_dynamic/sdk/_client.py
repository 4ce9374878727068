"""``RunwayML`` and ``AsyncRunwayML``: the official SDK's surface on our engine.

Namespaces and methods are not written down anywhere: they come from the spec's catalog
when first touched (:mod:`._names` places each operation, :mod:`._arguments` maps its
arguments), so a spec with a new endpoint or model has its method and arguments at once.
Each call maps the arguments, turns local files into URIs, runs pre-flight (every problem
at once, by Python argument name, before anything is sent) and goes out through the one
engine, :class:`runway_dynamic.client.RunwayClient`, with its retry policy: a call that
creates a task is never resent once it may have reached the API.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    ENV_API_KEY_LEGACY,
    ENV_BASE_URL_OFFICIAL,
    TASK_ENDPOINT,
)
from runway_dynamic._exceptions import (
    PreflightBadRequestError,
    RequestMayHaveSucceededError,
    TaskCancelledError,
    TaskError,
    TaskFailedError,
    TaskTimeoutError,
    UsageError,
    WorkflowInvocationFailedError,
    WorkflowInvocationTimeoutError,
    as_official,
)
from runway_dynamic.catalog import CREATES_RESOURCE, CREATES_TASK, LISTS
from runway_dynamic.naming import closest, python_name
from runway_dynamic.sdk._arguments import (
    EXTRA_BODY,
    EXTRA_HEADERS,
    EXTRA_QUERY,
    NOT_GIVEN,
    TIMEOUT,
    Arguments,
    Request,
)
from runway_dynamic.sdk._names import Placement, place_operations
from runway_dynamic.sdk._results import (
    AsyncPage,
    AsyncPaginator,
    Page,
    RawResponse,
    Result,
    TaskResult,
    cursor_parameter,
    page_shape,
    wrap,
)

if TYPE_CHECKING:
    import httpx

    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.sandbox import Sandbox
    from runway_dynamic.spec import Spec

logger = logging.getLogger("runway_dynamic")

#: The official SDK's default wait for ``wait_for_task_output`` (seconds).
DEFAULT_TASK_WAIT = 600.0
#: Seconds between polls against an in-process sandbox (its tasks take about a second).
SANDBOX_POLL_INTERVAL = 0.1
#: Methods whose behaviour is more than one request (the official SDK's upload helper).
UPLOAD_METHOD = ("uploads", "create_ephemeral")
_UPLOAD_ARGS = ("file", "file_metadata")
#: What the official SDK raises when a wait on this reader ends badly, where it names it
#: otherwise than TaskFailedError / TaskTimeoutError: ``(failed, timed out)``.
OFFICIAL_WAIT_ERRORS: Mapping[str, tuple[type[TaskFailedError], type[TaskTimeoutError]]] = {
    "workflow_invocations/{id}": (WorkflowInvocationFailedError, WorkflowInvocationTimeoutError),
}


# =========================================================================== the surface


class Surface:
    """Every namespace and method of one spec (names only; built once per client)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.methods: dict[tuple[str, ...], Placement] = {}
        self.children: dict[tuple[str, ...], set[str]] = {(): set()}
        for placement in place_operations(spec.catalog):
            for path in (placement.path, *placement.aliases):
                self.methods.setdefault(path, placement)
                for depth in range(len(path)):
                    self.children.setdefault(path[:depth], set()).add(path[depth])
                    if depth:
                        self.children.setdefault(path[:depth], set())
        self._arguments: dict[tuple[str, ...], Arguments] = {}
        #: Endpoints that read what a create made (``tasks/{id}``): what they answer can
        #: be waited on, as what the create answered can.
        self.readers = frozenset(op.result_endpoint for op in spec.catalog.operations
                                 if op.result_endpoint is not None)

    def is_namespace(self, path: tuple[str, ...]) -> bool:
        return path in self.children and path not in self.methods

    def arguments(self, path: tuple[str, ...]) -> Arguments:
        found = self._arguments.get(path)
        if found is None:
            found = Arguments(self.methods[path].operation, ".".join(path))
            self._arguments[path] = found
        return found

    def summary(self, placement: Placement) -> str:
        if placement.kind == CREATES_TASK:
            return ("starts a task; returns an object with .id and "
                    ".wait_for_task_output(timeout=...)")
        if placement.kind == CREATES_RESOURCE:
            return "creates a resource; returns it (.wait_for_task_output() waits until ready)"
        if placement.kind == LISTS:
            return "lists; iterate over the result for every item of every page"
        return placement.kind.replace("_", " ")


class Namespace:
    """``client.<name>``: methods and nested namespaces, from the spec (see ``dir()``)."""

    def __init__(self, client: _Base, path: tuple[str, ...], raw: bool = False) -> None:
        self._client = client
        self._path = path
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._client._child(self._path, name, self._raw)
        setattr(self, name, value)
        return value

    @functools.cached_property
    def with_raw_response(self) -> Namespace:
        """The same methods, returning the HTTP answer (``.headers``, ``.status_code``,
        ``.parse()``) instead of the parsed result."""
        return Namespace(self._client, self._path, raw=True)

    def __dir__(self) -> list[str]:
        names = self._client._surface.children.get(self._path, set())
        return sorted({*names, *([] if self._raw else ["with_raw_response"])})

    def __repr__(self) -> str:
        return f"<{'.'.join(self._path)} ({', '.join(sorted(self.__dir__()))})>"


class _Base:
    """What the sync and async clients share: configuration, the surface, the decisions."""

    _engine: Any
    _is_async = False

    def _setup(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: Any,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, object] | None,
        http_client: Any,
        sandbox: bool | Sandbox,
        spec: Spec | None,
        poll_interval: float | None,
        runway_version: str | None,
        history: bool | str | os.PathLike[str] | HistoryStore | None,
    ) -> dict[str, Any]:
        """The engine's arguments, and the sandbox when one is asked for."""
        self._sandbox: Sandbox | None = None
        self._own_sandbox = False
        if sandbox:
            from runway_dynamic.sandbox import Sandbox as _Sandbox

            if isinstance(sandbox, _Sandbox):
                self._sandbox = sandbox
            else:
                self._sandbox = _Sandbox(spec=spec).start()
                self._own_sandbox = True
            spec = self._sandbox.spec
            base_url = self._sandbox.base_url
        if spec is None:
            from runway_dynamic.spec import load_spec

            spec = load_spec()
        if poll_interval is None:
            poll_interval = SANDBOX_POLL_INTERVAL if self._sandbox else _configured_interval()
        headers = dict(default_headers or {})
        if runway_version:
            for param in _pinned_headers(spec):
                headers.setdefault(param, runway_version)
        self._default_query = dict(default_query or {})
        self.poll_interval = poll_interval
        self.max_retries = max_retries
        self.timeout = DEFAULT_TIMEOUT if timeout is NOT_GIVEN or timeout is None else timeout
        self._surface = Surface(spec)
        sealed = self._sandbox is not None
        return {
            "base_url": str(base_url) if base_url is not None else (
                os.environ.get(ENV_BASE_URL_OFFICIAL) or None),
            "spec": spec, "timeout": self.timeout, "max_retries": max_retries,
            "preflight": False,  # run here, so problems name Python arguments
            "poll_interval": poll_interval, "headers": headers, "http_client": http_client,
            # the official SDK's variable first, then our key chain; a sandbox client is
            # sealed: loopback only, and a placeholder key unless one is given
            "api_key": api_key or (None if sealed else os.environ.get(ENV_API_KEY_LEGACY)),
            "sealed": sealed, "history": history,
        }

    @staticmethod
    def _noted(core: Any, answered: Callable[[Any], None], response: httpx.Response) -> None:
        """The history, when on, learns each answer: a create's task id, a read's status."""
        if core.recorder is None:
            return
        data = core.decode(response)
        answered(data)
        core.observed(data)

    # ---- names

    @property
    def spec(self) -> Spec:
        return self._surface.spec

    @property
    def base_url(self) -> str:
        return str(self._engine.base_url)

    @property
    def api_key(self) -> str:
        """The key sent (as the official client exposes it)."""
        return str(self._engine._core._api_key)

    @property
    def engine(self) -> Any:
        """The :class:`RunwayClient` (or async twin) underneath: every feature of ours."""
        return self._engine

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._child((), name, False)
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        own = {n for n in dir(type(self)) if not n.startswith("_")}
        return sorted(own | self._surface.children[()])

    def _child(self, parent: tuple[str, ...], name: str, raw: bool) -> Any:
        path = (*parent, name)
        surface = self._surface
        if path in surface.methods:
            return self._method(path, raw)
        if surface.is_namespace(path):
            return Namespace(self, path, raw)
        where = ".".join(parent) or type(self).__name__
        near = closest(name, surface.children.get(parent, ()))
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise AttributeError(f"{where} has no attribute {name!r}{hint}")

    @functools.cached_property
    def with_raw_response(self) -> Namespace:
        """``client.with_raw_response.tasks.retrieve(id)``: the HTTP answer, then ``parse()``."""
        return Namespace(self, (), raw=True)

    # ---- one method

    def _method(self, path: tuple[str, ...], raw: bool) -> Callable[..., Any]:
        surface = self._surface
        placement = surface.methods[path]
        arguments = surface.arguments(path)
        if path == UPLOAD_METHOD:
            function = self._upload_function(raw)
            doc = ("Upload a local file (path, open file, or (name, bytes) tuple) for use in "
                   "generation requests; returns an object whose .uri is the runway:// URI.")
            signature = _upload_signature()
        else:
            function = self._call_function(placement, arguments, raw)
            doc = arguments.doc(surface.summary(placement))
            signature = arguments.signature()
        function.__name__ = path[-1]
        function.__qualname__ = ".".join(path)
        function.__doc__ = doc
        function.__signature__ = signature  # type: ignore[attr-defined]
        function.signature_for = arguments.signature  # type: ignore[attr-defined]
        return function

    def _call_function(self, placement: Placement, arguments: Arguments,
                       raw: bool) -> Callable[..., Any]:
        raise NotImplementedError

    def _upload_function(self, raw: bool) -> Callable[..., Any]:
        raise NotImplementedError

    # ---- pure steps of a call

    def _planned(self, placement: Placement, arguments: Arguments,
                 request: Request) -> Any:
        """The body with stand-ins for local files, after pre-flight; raises
        :class:`PreflightBadRequestError` naming every problem by its Python argument."""
        from runway_dynamic.uploads import (
            local_media,
            placeholder_media,
            placeholder_uploader,
            replace_media,
        )
        from runway_dynamic.validation import errors

        op = placement.operation
        body = request.body or {}
        messages: list[str] = []
        found = local_media(op, request.variant, body, python_name)
        stand_ins = {}
        for media in found:
            try:
                stand_ins[media.where] = placeholder_media(media)
            except UsageError as exc:  # reported with the rest, the field left aside
                messages.append(str(exc))
                stand_ins[media.where] = placeholder_uploader(media.path)
        planned = replace_media(body, stand_ins) if stand_ins else body
        problems = self.spec.preflight(op.endpoint, planned, method=op.method)
        for problem in problems:
            if not problem.is_error:
                logger.warning("pre-flight: %s", arguments.describe(problem))
        blocking = errors(problems)
        messages += [arguments.describe(p) for p in blocking]
        if messages:
            raise PreflightBadRequestError(op.endpoint, blocking, messages)
        return body

    def _prepare(self, placement: Placement, request: Request, body: Any) -> Any:
        """The engine's request for a call (headers, key, URL; pre-flight already ran)."""
        op = placement.operation
        return self._engine._core.prepare(
            op.endpoint, method=op.method, path_params=request.path_params,
            query={**self._default_query, **request.query}, body=body,
            extra_headers=request.headers)

    def _shape(self, placement: Placement, data: Any,
               next_page: Callable[[str], Any] | None) -> Any:
        """The decoded answer as the method returns it."""
        op = placement.operation
        schema = op.success_schema()
        if placement.kind == LISTS and isinstance(data, Mapping):
            items, cursor, item_schema = page_shape(schema)
            if items is not None:
                rows = data.get(items) or []
                page_cls = AsyncPage if self._is_async else Page
                cursor_value = data.get(cursor) if cursor else None
                return page_cls([wrap(r, item_schema) for r in rows],
                                str(cursor_value) if cursor_value else None, next_page, data)
        if placement.kind in (CREATES_TASK, CREATES_RESOURCE):
            reader = op.result_endpoint
        else:  # tasks.retrieve(id).wait_for_task_output() waits too
            reader = op.endpoint if op.endpoint in self._surface.readers else None
        if reader and isinstance(data, Mapping) and "id" in data:
            return TaskResult(data, schema, functools.partial(self._wait, reader))
        return wrap(data, schema)

    def _next_page_request(self, placement: Placement, request: Request
                           ) -> Callable[[str], Request] | None:
        if placement.kind != LISTS:
            return None
        _, cursor, _ = page_shape(placement.operation.success_schema())
        names = [p.name for p in placement.operation.params("query")]
        param = cursor_parameter(cursor, names) if cursor else None
        if param is None:
            return None

        def advance(value: str) -> Request:
            return Request(request.path_params, {**request.query, param: value},
                           request.headers, request.body, request.variant, request.timeout)

        return advance

    def _wait(self, reader: str, resource_id: str, timeout: float | None) -> Any:
        raise NotImplementedError

    def _waitable(self, reader: str, data: Any) -> Any:
        """What a reader answered, with ``wait_for_task_output()`` when it names an id."""
        schema = self._reader_schema(reader)
        if isinstance(data, Mapping) and "id" in data:
            return TaskResult(data, schema, functools.partial(self._wait, reader))
        return wrap(data, schema)

    def _reader_schema(self, reader: str) -> Any:
        op = self.spec.catalog.operation(reader, "GET")
        return op.success_schema() if op else None

    def _settled(self, reader: str, error: TaskError) -> TaskError:
        """The error to raise for a wait that ended badly, with ``task_details`` set. A
        cancelled task is a :class:`TaskFailedError`, as in the official SDK's waiter."""
        failed, timed_out = OFFICIAL_WAIT_ERRORS.get(reader, (TaskFailedError, TaskTimeoutError))
        if isinstance(error, TaskCancelledError):
            error = failed(task_id=error.task_id, failure="the task was cancelled",
                           failure_code=None, task=error.task)
        elif isinstance(error, TaskFailedError) and type(error) is not failed:
            error = failed(task_id=error.task_id, failure=error.failure,
                           failure_code=error.failure_code, task=error.task)
        elif isinstance(error, TaskTimeoutError) and type(error) is not timed_out:
            error = timed_out(str(error), task_id=error.task_id, task=error.task)
        error.task_details = wrap(error.task, self._reader_schema(reader))
        return error

    # ---- the sandbox

    def _stop_sandbox(self) -> None:
        if self._sandbox is not None and self._own_sandbox:
            self._sandbox.stop()
            self._own_sandbox = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def _configured_interval() -> float:
    """``runway config set poll-interval`` applies to this surface too."""
    from runway_dynamic import config

    try:
        value = config.get("poll-interval")
    except Exception:  # an unreadable settings file must not stop a library call
        return DEFAULT_POLL_INTERVAL
    return float(value) if isinstance(value, (int, float)) and value > 0 else (
        DEFAULT_POLL_INTERVAL)


def _pinned_headers(spec: Spec) -> list[str]:
    return list(spec.catalog.pinned_headers)


def _upload_signature() -> Any:
    import inspect

    kw = inspect.Parameter.KEYWORD_ONLY
    return inspect.Signature([
        inspect.Parameter("file", kw, annotation="str | os.PathLike[str] | IO[bytes] | tuple"),
        inspect.Parameter("file_metadata", kw, default=NOT_GIVEN, annotation=str),
        inspect.Parameter(EXTRA_HEADERS, kw, default=None),
        inspect.Parameter(EXTRA_QUERY, kw, default=None),
        inspect.Parameter(EXTRA_BODY, kw, default=None),
        inspect.Parameter(TIMEOUT, kw, default=None),
    ])


class _LocalFile:
    """A file to upload as a path: the path given, or the content written to a temporary
    directory under the name given (removed afterwards)."""

    def __init__(self, file: Any) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if isinstance(file, (str, os.PathLike)):
            self.path = Path(os.fspath(file))
            return
        name: str | None
        if isinstance(file, tuple):
            name, content = file[0], file[1]
        else:
            name, content = getattr(file, "name", None), file
        if isinstance(content, (str, os.PathLike)) and name is None:
            self.path = Path(os.fspath(content))
            return
        if not isinstance(name, str) or not name:
            raise UsageError("cannot tell the file's name: pass a path, an open file, or a "
                             "(filename, content) tuple such as ('still.png', data)")
        data = content if isinstance(content, bytes) else (
            Path(os.fspath(content)).read_bytes() if isinstance(content, os.PathLike)
            else content.read())
        self._tmp = tempfile.TemporaryDirectory(prefix="runway-upload-")
        self.path = Path(self._tmp.name) / os.path.basename(name)
        self.path.write_bytes(data)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _check_upload_args(kwargs: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The file and ``file_metadata`` (sent as the upload form's ``metadata`` field)."""
    unknown = sorted(set(kwargs) - {*_UPLOAD_ARGS, EXTRA_HEADERS, EXTRA_QUERY, EXTRA_BODY,
                                    TIMEOUT})
    if unknown:
        raise TypeError(f"uploads.create_ephemeral() got an unexpected keyword argument "
                        f"{unknown[0]!r}")
    if "file" not in kwargs:
        raise TypeError("uploads.create_ephemeral() missing required argument: 'file'")
    metadata = kwargs.get("file_metadata", NOT_GIVEN)
    if metadata is not NOT_GIVEN and not isinstance(metadata, str):
        raise TypeError(f"uploads.create_ephemeral(file_metadata=...) takes a str (e.g. "
                        f"json.dumps(...)), not {type(metadata).__name__}")
    return kwargs["file"], None if metadata is NOT_GIVEN else metadata


# =========================================================================== sync


class RunwayML(_Base):
    """The official SDK's client (``runwayml.RunwayML``), on runway-dynamic's engine.

    >>> client = RunwayML()                          # RUNWAYML_API_SECRET, or our key chain
    >>> task = client.image_to_video.create(model="gen4_turbo", prompt_image="still.png",
    ...                                     ratio="1280:720", prompt_text="waves")
    >>> task.wait_for_task_output().output

    Arguments as the official client takes them (``api_key``, ``base_url``, ``timeout``,
    ``max_retries``, ``default_headers``, ``default_query``, ``http_client``,
    ``runway_version``), and ours: ``sandbox=True`` runs against an in-process sandbox (no
    key, nothing billed; a :class:`~runway_dynamic.Sandbox` may be passed instead),
    ``spec=`` a :class:`~runway_dynamic.Spec` to take the surface from, ``poll_interval=``
    seconds between polls of a wait (default: ``runway config``'s, else 5), ``history=``
    ``True`` (or a path or a HistoryStore) to record each create in ``runway history``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: Any = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: httpx.Client | None = None,
        runway_version: str | None = None,
        sandbox: bool | Sandbox = False,
        spec: Spec | None = None,
        poll_interval: float | None = None,
        history: bool | str | os.PathLike[str] | HistoryStore | None = None,
    ) -> None:
        from runway_dynamic.client import RunwayClient

        kwargs = self._setup(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query,
            http_client=http_client, sandbox=sandbox, spec=spec,
            poll_interval=poll_interval, runway_version=runway_version, history=history)
        try:
            self._engine: RunwayClient = RunwayClient(**kwargs)
        except BaseException:
            self._stop_sandbox()
            raise

    def close(self) -> None:
        """Close the connections (and stop the in-process sandbox, if this client made it)."""
        try:
            self._engine.close()
        finally:
            self._stop_sandbox()

    def __enter__(self) -> RunwayML:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- sending

    def _send(self, placement: Placement, request: Request, body: Any) -> Any:
        prepared = self._prepare(placement, request, body)
        core = self._engine._core
        try:
            with core.recording(prepared) as answered:
                response = self._engine._send(prepared, timeout=request.timeout)
                self._noted(core, answered, response)
            return response
        except RequestMayHaveSucceededError as exc:
            raise as_official(exc) from exc

    def _perform(self, placement: Placement, arguments: Arguments, request: Request,
                 raw: bool) -> Any:
        body = request.body
        if body is not None:
            from runway_dynamic.uploads import resolve_body_media

            self._planned(placement, arguments, request)
            body = resolve_body_media(placement.operation, request.variant, body,
                                      self._engine.upload, python_name)
        response = self._send(placement, request, body)
        advance = self._next_page_request(placement, request)

        def next_page(cursor: str) -> Any:
            assert advance is not None
            return self._perform(placement, arguments, advance(cursor), False)

        def parse() -> Any:
            return self._shape(placement, self._engine._core.decode(response),
                               next_page if advance else None)

        return RawResponse(response, parse) if raw else parse()

    def _call_function(self, placement: Placement, arguments: Arguments,
                       raw: bool) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            return self._perform(placement, arguments, arguments.bind(args, kwargs), raw)

        return method

    def _upload_function(self, raw: bool) -> Callable[..., Any]:
        def create_ephemeral(**kwargs: Any) -> Any:
            file, metadata = _check_upload_args(kwargs)
            local = _LocalFile(file)
            try:
                uri = self._engine.upload(local.path, metadata=metadata)
            finally:
                local.close()
            result = Result({"uri": uri})
            return RawResponse(None, lambda: result) if raw else result

        return create_ephemeral

    def _wait(self, reader: str, resource_id: str, timeout: float | None) -> Any:
        try:
            if reader == TASK_ENDPOINT:
                data: Any = self._engine.tasks.wait(resource_id, timeout=timeout).raw
            else:
                data = self._engine.wait_for(reader, resource_id, timeout=timeout)
        except TaskError as exc:
            settled = self._settled(reader, exc)
            if settled is exc:
                raise
            raise settled from exc
        return self._waitable(reader, data)


# =========================================================================== async


class AsyncRunwayML(_Base):
    """The asynchronous twin of :class:`RunwayML` (same arguments; methods are awaited,
    lists are ``async for``-able or awaited for their first page)."""

    _is_async = True

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: Any = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: httpx.AsyncClient | None = None,
        runway_version: str | None = None,
        sandbox: bool | Sandbox = False,
        spec: Spec | None = None,
        poll_interval: float | None = None,
        history: bool | str | os.PathLike[str] | HistoryStore | None = None,
    ) -> None:
        from runway_dynamic.client import AsyncRunwayClient

        kwargs = self._setup(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query,
            http_client=http_client, sandbox=sandbox, spec=spec,
            poll_interval=poll_interval, runway_version=runway_version, history=history)
        try:
            self._engine: AsyncRunwayClient = AsyncRunwayClient(**kwargs)
        except BaseException:
            self._stop_sandbox()
            raise

    async def close(self) -> None:
        try:
            await self._engine.close()
        finally:
            self._stop_sandbox()

    async def __aenter__(self) -> AsyncRunwayML:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _send(self, placement: Placement, request: Request, body: Any) -> Any:
        prepared = self._prepare(placement, request, body)
        core = self._engine._core
        try:
            with core.recording(prepared) as answered:
                response = await self._engine._send(prepared, timeout=request.timeout)
                self._noted(core, answered, response)
            return response
        except RequestMayHaveSucceededError as exc:
            raise as_official(exc) from exc

    async def _perform(self, placement: Placement, arguments: Arguments, request: Request,
                       raw: bool) -> Any:
        body = request.body
        if body is not None:
            from runway_dynamic.uploads import aresolve_body_media

            self._planned(placement, arguments, request)
            body = await aresolve_body_media(placement.operation, request.variant, body,
                                             self._engine.upload, python_name)
        response = await self._send(placement, request, body)
        advance = self._next_page_request(placement, request)

        async def next_page(cursor: str) -> Any:
            assert advance is not None
            return await self._perform(placement, arguments, advance(cursor), False)

        def parse() -> Any:
            return self._shape(placement, self._engine._core.decode(response),
                               next_page if advance else None)

        return RawResponse(response, parse) if raw else parse()

    def _call_function(self, placement: Placement, arguments: Arguments,
                       raw: bool) -> Callable[..., Any]:
        if placement.kind == LISTS and not raw:
            def paginate(*args: Any, **kwargs: Any) -> AsyncPaginator[Any]:
                request = arguments.bind(args, kwargs)
                return AsyncPaginator(
                    lambda: self._perform(placement, arguments, request, False))

            return paginate

        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._perform(placement, arguments, arguments.bind(args, kwargs), raw)

        return method

    def _upload_function(self, raw: bool) -> Callable[..., Any]:
        async def create_ephemeral(**kwargs: Any) -> Any:
            file, metadata = _check_upload_args(kwargs)
            local = _LocalFile(file)
            try:
                uri = await self._engine.upload(local.path, metadata=metadata)
            finally:
                local.close()
            result = Result({"uri": uri})
            return RawResponse(None, lambda: result) if raw else result

        return create_ephemeral

    def _wait(self, reader: str, resource_id: str, timeout: float | None) -> Awaitable[Any]:
        return self._await(reader, resource_id, timeout)

    async def _await(self, reader: str, resource_id: str, timeout: float | None) -> Any:
        try:
            if reader == TASK_ENDPOINT:
                data: Any = (await self._engine.tasks.wait(resource_id, timeout=timeout)).raw
            else:
                data = await self._engine.wait_for(reader, resource_id, timeout=timeout)
        except TaskError as exc:
            settled = self._settled(reader, exc)
            if settled is exc:
                raise
            raise settled from exc
        return self._waitable(reader, data)
