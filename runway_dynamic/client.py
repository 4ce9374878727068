"""``RunwayClient`` and ``AsyncRunwayClient``: every operation of the spec, over httpx.

>>> with RunwayClient() as client:                       # key: see runway_dynamic.auth
...     task = client.generate("text_to_image", model="gen4_image",
...                            promptText="a lighthouse", ratio="1920:1080")
...     task = client.tasks.wait(task)
...     client.download(task, "out/")

All decisions (which operation, the headers, pre-flight, retry or not, how long to sleep,
what a status means, whether to resubmit) live in :class:`_ClientCore` and the pure
functions of :mod:`runway_dynamic._http`, :mod:`runway_dynamic.tasks`,
:mod:`runway_dynamic.uploads` and :mod:`runway_dynamic.downloads`. The two clients only
send, stream and sleep, so they cannot drift apart. httpx is imported here only, and this
module is imported by the CLI only when a command sends something.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from runway_dynamic._constants import (
    DEFAULT_KEEPALIVE_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    ENV_BASE_URL,
    MODEL_PROPERTY,
    RESUBMIT_BACKOFF,
    TASK_ENDPOINT,
)
from runway_dynamic._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigError,
    RateLimitError,
    RequestMayHaveSucceededError,
    TaskFailedError,
    UsageError,
    status_error_class,
)
from runway_dynamic._http import (
    ERROR_CONNECT_TIMEOUT,
    ERROR_READ_TIMEOUT,
    MAY_HAVE_SUCCEEDED,
    RETRY,
    USER_AGENT,
    PreparedRequest,
    RandomSource,
    classify_transport_error,
    failure_action,
    parse_retry_after,
    prepare_request,
    redact,
    retry_delay,
    should_resubmit,
)
from runway_dynamic.auth import resolve_api_key
from runway_dynamic.boundary import (
    PLACEHOLDER_KEY,
    Boundary,
    check_base_url,
    guard_hooks,
    trust_environment,
)
from runway_dynamic.catalog import Operation
from runway_dynamic.downloads import (
    DEFAULT_PREFIX,
    Placer,
    awrite_stream,
    extension_for,
    numbered,
    output_filename,
    with_extension,
    write_stream,
)
from runway_dynamic.tasks import (
    ProgressCallback,
    Task,
    apoll_until_terminal,
    poll_until_terminal,
    request_timeout,
    terminal_statuses,
)
from runway_dynamic.uploads import (
    UPLOADS_ENDPOINT,
    UploadSlot,
    check_readable,
    guess_mime,
    note_origin,
    parse_upload_slot,
    upload_body,
)

if TYPE_CHECKING:
    from runway_dynamic.history import HistoryStore, Recorder
    from runway_dynamic.media_limits import MediaLimits
    from runway_dynamic.spec import Spec

logger = logging.getLogger("runway_dynamic")

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid")
#: Keys shorter than this are not masked in answers (no real key is that short, and masking a
#: one-letter test key would corrupt every answer that contains the letter).
MIN_MASKED_KEY_LENGTH = 8

# Who may receive what: the Runway key goes only to the API's base URL (prepare_request
# adds it); output downloads and pre-signed upload URLs get no key at all.
_PLAIN_HEADERS = {"User-Agent": USER_AGENT}


class _ClientCore:
    """Everything both clients share: configuration and the decisions, no I/O."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        spec: Spec | None,
        timeout: float,
        max_retries: int,
        preflight: bool,
        poll_interval: float,
        retry_on_internal_error: int,
        retry_backoff_seconds: float,
        headers: Mapping[str, str] | None,
        rng: RandomSource | None,
        clock: Callable[[], float] | None,
        allow_insecure_http: bool | None = None,
        sealed: bool = False,
        history: bool | str | os.PathLike[str] | HistoryStore | None = None,
        allow_unknown_model: bool = False,
    ) -> None:
        if spec is None:
            from runway_dynamic.spec import load_spec

            spec = load_spec()
        self.spec = spec
        #: A sandbox client: loopback only, and never the user's key (runway_dynamic.boundary).
        self.boundary = Boundary(sealed=sealed, sandbox_url=base_url if sealed else None)
        if sealed and not api_key:
            api_key = PLACEHOLDER_KEY
        self._api_key, self.key_source = (
            (api_key, "api_key argument") if api_key else resolve_api_key(None)
        )
        url = base_url or os.environ.get(ENV_BASE_URL) or next(iter(spec.catalog.servers), None)
        if not url:
            raise ConfigError(
                f"no base URL: pass base_url, set {ENV_BASE_URL}, or use a spec with `servers`"
            )
        check_base_url(url, allow_insecure=allow_insecure_http)
        self.boundary.check_outbound(url, "the API base URL")
        self.base_url = url.rstrip("/")
        #: Proxies from the environment apply only off loopback (see runway_dynamic.boundary).
        self.trust_env = trust_environment(self.base_url)
        #: Under ``sealed``, a hook that refuses any request that is not to loopback.
        self.guard = self.boundary.request_guard("a sandbox client")
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.preflight = preflight
        self.allow_unknown_model = allow_unknown_model
        self.poll_interval = poll_interval
        self.retry_on_internal_error = max(0, int(retry_on_internal_error))
        self.retry_backoff_seconds = retry_backoff_seconds
        self.headers = dict(headers or {})
        self._rng: RandomSource = rng if rng is not None else random.Random()
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        #: Per spec, derived once: terminal statuses by endpoint, the tasks route by method.
        self._terminal: dict[str, frozenset[str]] = {}
        self._task_routes: dict[str, tuple[str, str]] = {}
        #: Where create requests are recorded (``None``: nowhere); see runway_dynamic.history.
        #: A sealed client's entries are sandbox rehearsals.
        self.recorder, self._owns_history = self._make_recorder(history, sandbox=sealed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={redact(self._api_key)})"

    # ---- building requests

    def operation_for(self, endpoint: str, method: str | None, has_body: bool) -> Operation:
        """The operation to call; with several at one endpoint, the body decides GET vs the rest."""
        catalog = self.spec.catalog
        op = catalog.operation(endpoint, method)
        if op is not None:
            return op
        ops = catalog.operations_for(endpoint)
        if not ops:
            raise UsageError(f"unknown endpoint {endpoint!r}: not in the spec in use "
                             f"({self.spec.source})")
        if method:
            have = ", ".join(o.method for o in ops)
            raise UsageError(f"{endpoint} has no {method.upper()} operation (it has {have})")
        if not has_body:
            reads = [o for o in ops if o.is_read]
            if reads:
                return reads[0]
        with_body = [o for o in ops if o.has_body]
        if has_body and len(with_body) == 1:
            return with_body[0]
        have = ", ".join(o.method for o in ops)
        raise UsageError(f"{endpoint} has several operations ({have}); pass method=")

    def prepare(
        self,
        endpoint: str,
        *,
        method: str | None = None,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PreparedRequest:
        """The request for ``endpoint``, after pre-flight (:class:`PreflightError` blocks it)."""
        op = self.operation_for(endpoint, method, body is not None)
        if body is not None and self.preflight and isinstance(body, Mapping):
            for problem in self.spec.validator.validate(
                    op.endpoint, body, method=op.method,
                    allow_unknown_model=self.allow_unknown_model):
                logger.warning("pre-flight: %s", problem.message)
        return prepare_request(
            op,
            base_url=self.base_url,
            api_key=self._api_key,
            path_params=path_params,
            query=query,
            body=body,
            extra_headers={**self.headers, **(extra_headers or {})},
        )

    # ---- reacting to outcomes (each returns a delay to retry after, or raises)

    def retry_budget(self, max_retries: int | None) -> int:
        """Resends allowed for one request: its own budget when given, else the client's."""
        return self.max_retries if max_retries is None else max(0, max_retries)

    def after_response(
        self, prepared: PreparedRequest, response: httpx.Response, attempt: int, creates: bool,
        max_retries: int | None = None,
    ) -> float | None:
        """``None`` on success; seconds to wait before a resend; otherwise raises.

        ``max_retries`` overrides the client's budget for this one request.
        """
        status = response.status_code
        if status < 400:
            return None
        budget = self.retry_budget(max_retries)
        action = failure_action(
            prepared.method, creates, status=status, attempt=attempt, max_retries=budget
        )
        if action == RETRY:
            delay = retry_delay(attempt, response.headers.get("retry-after"), self._rng)
            logger.info(
                "%s %s answered %d; retry %d/%d in %.2fs",
                prepared.method, _safe_url(prepared.url), status, attempt + 1, budget, delay,
            )
            return delay
        if action == MAY_HAVE_SUCCEEDED:
            raise RequestMayHaveSucceededError(
                prepared.method, _safe_url(prepared.url), f"HTTP {status} {response.reason_phrase}",
                status_code=status,
            )
        raise self.status_error(prepared, response)

    def after_error(
        self, prepared: PreparedRequest, exc: Exception, attempt: int, creates: bool,
        max_retries: int | None = None,
    ) -> float:
        budget = self.retry_budget(max_retries)
        kind = classify_transport_error(exc)
        action = failure_action(
            prepared.method, creates, error_kind=kind, attempt=attempt, max_retries=budget,
        )
        what = f"{type(exc).__name__}: {self.scrub(str(exc)) or 'no detail'}"
        url = _safe_url(prepared.url)
        if action == RETRY:
            delay = retry_delay(attempt, None, self._rng)
            logger.info(
                "%s %s failed (%s); retry %d/%d in %.2fs",
                prepared.method, url, what, attempt + 1, budget, delay,
            )
            return delay
        if action == MAY_HAVE_SUCCEEDED:
            raise RequestMayHaveSucceededError(prepared.method, url, what) from exc
        cls = APITimeoutError if kind in (ERROR_CONNECT_TIMEOUT, ERROR_READ_TIMEOUT) else (
            APIConnectionError
        )
        raise cls(f"{prepared.method} {url} failed: {what}") from exc

    def status_error(self, prepared: PreparedRequest, response: httpx.Response) -> APIStatusError:
        """The exception for an error answer (class chosen by ``status_error_class``)."""
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text or None
        body = self.scrub_value(body)
        detail = ""
        if isinstance(body, Mapping):
            detail = str(body.get("error") or body.get("message") or "")
            issues = body.get("issues")
            if isinstance(issues, list) and issues:
                detail += " — " + "; ".join(
                    str(i.get("message", i)) if isinstance(i, Mapping) else str(i)
                    for i in issues[:5]
                )
        elif isinstance(body, str):
            detail = body[:300]
        request_id = next(
            (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
        )
        url = _safe_url(prepared.url)
        message = f"{prepared.method} {url} answered {status} {response.reason_phrase}"
        if detail:
            message += f": {detail}"
        if request_id:
            message += f" (request id {request_id})"
        cls = status_error_class(status)
        kwargs: dict[str, Any] = {
            "status_code": status, "body": body, "request_id": request_id,
            "method": prepared.method, "url": url,
        }
        if cls is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
        return cls(self.scrub(message), **kwargs)

    # ---- the history (one recording logic for both clients)

    def _make_recorder(self, history: bool | str | os.PathLike[str] | HistoryStore | None, *,
                       sandbox: bool) -> tuple[Recorder | None, bool]:
        """The recorder for ``history=``, and whether this client made (and closes) its store."""
        if history is None or history is False:
            return None, False
        from runway_dynamic.history import HistoryStore, Recorder

        if isinstance(history, HistoryStore):
            store, owned = history, False
        else:
            store, owned = HistoryStore(None if history is True else history), True
        recorder = Recorder(store, self.spec.catalog, sandbox=sandbox,
                            spec_sha=self.spec.sha256, scrub=self.scrub_value)
        return recorder, owned

    @contextlib.contextmanager
    def recording(self, prepared: PreparedRequest) -> Iterator[Callable[[Any], None]]:
        """Record a create request around its sending: the entry is written before it
        leaves; the block calls the yielded function with the decoded answer. A lost answer
        (or an interruption while waiting for it) leaves the entry ``ANSWER_LOST``."""
        recorder = self.recorder
        entry = recorder.begin(prepared) if recorder is not None else None
        if recorder is None or entry is None:
            yield _ignore
            return
        try:
            yield lambda answer: recorder.answered(entry, answer)
        except RequestMayHaveSucceededError as exc:
            recorder.lost(entry, exc.cause)
            raise
        except APIStatusError as exc:
            recorder.refused(entry, exc.message, f"HTTP {exc.status_code}")
            raise
        except APIConnectionError:  # a create that reached the server is "may have succeeded"
            recorder.not_sent(entry)
            raise
        except BaseException as exc:
            recorder.lost(entry, f"interrupted ({type(exc).__name__}) before the answer came")
            raise

    def observed(self, resource: Any) -> None:
        """A poll's answer (a task, an invocation): the history notes a new status."""
        if self.recorder is not None and isinstance(resource, Mapping):
            self.recorder.observed(resource)

    def saved(self, paths: Iterable[Path], *, task_id: str | None = None,
              url: str | None = None) -> None:
        """Outputs written to disk: the history notes where."""
        if self.recorder is not None:
            self.recorder.saved([str(p) for p in paths], task_id=task_id, url=url)

    def close_history(self) -> None:
        if self.recorder is not None and self._owns_history:
            self.recorder.store.close()

    # ---- secrets

    @property
    def _secret(self) -> str | None:
        """The key as something to mask in answers: a key too short to be a real one (a test's
        ``"k"``) is not masked, or every ``k`` in an answer would be."""
        key = self._api_key
        return key if key and len(key) >= MIN_MASKED_KEY_LENGTH else None

    def scrub(self, text: str) -> str:
        """``text`` with the key masked (in case a server or proxy echoes it back)."""
        key = self._secret
        return text.replace(key, redact(key)) if key and key in text else text

    def scrub_value(self, value: Any) -> Any:
        if not self._secret:
            return value
        dumped = json.dumps(value)
        if self._secret not in dumped:
            return value
        return json.loads(self.scrub(dumped))

    # ---- decoding

    def decode(self, response: httpx.Response) -> Any:
        """The answer's JSON (text when it is not JSON; ``None`` when empty), with the key
        masked wherever the server echoed it (a task's ``failure``, an error detail)."""
        content = response.content
        if response.status_code == 204 or not content:
            return None
        try:
            value = response.json()
        except ValueError:
            value = response.text
        key = self._secret
        if key and key.encode() in content:
            return self.scrub_value(value)
        return value

    # ---- tasks, resources

    @cached_property
    def media_limits(self) -> MediaLimits:
        """What the spec says media may be (derived once per client)."""
        from runway_dynamic.media_limits import media_limits

        return media_limits(self.spec.catalog)

    def check_upload(self, file: Path) -> None:
        """Refuse, before anything is sent, a file the spec's media limits would refuse."""
        size = check_readable(file)
        problem = self.media_limits.upload_problem(size, guess_mime(file))
        if problem:
            raise UsageError(f"{file}: {problem}")

    def deadline(self, timeout: float | None) -> float | None:
        """When a wait of ``timeout`` seconds started now must end (clock time)."""
        return None if timeout is None else self._clock() + timeout

    def time_left(self, deadline: float | None) -> float | None:
        """Seconds until ``deadline`` (``None``: no deadline); never negative."""
        return None if deadline is None else max(0.0, deadline - self._clock())

    def poll_timeout(self, deadline: float | None) -> float:
        """One poll's request timeout: never past the wait's deadline."""
        return request_timeout(deadline, self._clock(), self.timeout)

    def task_request(self, task_id: str, method: str) -> tuple[str, dict[str, str]]:
        """The tasks endpoint and its path parameter, whatever the spec names it (looked up
        once per method: a batch asks for every poll)."""
        route = self._task_routes.get(method)
        if route is None:
            op = self.operation_for(TASK_ENDPOINT, method, False)
            route = self._task_routes[method] = (op.endpoint, _single_path_param(op))
        return route[0], {route[1]: task_id}

    def check_can_wait(self) -> None:
        """A wait polls ``GET tasks/{id}``: without it in the spec, refuse before the create
        (:class:`UsageError`, nothing sent) rather than after a paid submit."""
        if self.spec.catalog.operation(TASK_ENDPOINT, "GET") is None:
            raise UsageError(
                f"the spec in use ({self.spec.source}) has no GET {TASK_ENDPOINT}, so a task "
                "could not be followed; nothing was sent. Create it without waiting, or use "
                "a spec that has it ('runway spec rollback' returns to the previous one)")

    def terminal_for(self, endpoint: str) -> frozenset[str]:
        """The statuses that end a wait on ``endpoint``, read from its answer's schema once
        (walking it cost ~40 µs, on every wait of a batch)."""
        known = self._terminal.get(endpoint)
        if known is None:
            op = self.spec.catalog.operation(endpoint, "GET")
            known = self._terminal[endpoint] = terminal_statuses(
                op.success_schema() if op else None)
        return known

    def resubmit_decision(self, exc: TaskFailedError, resubmitted: int, limit: int | None) -> bool:
        allowed = self.retry_on_internal_error if limit is None else max(0, limit)
        return should_resubmit(
            exc.failure_code, status="FAILED", resubmitted=resubmitted, max_resubmissions=allowed
        )

    @staticmethod
    def output_chooser(
        task: Task, url: str, directory: Path, prefix: str, when: datetime, index: int | None,
        to: Path | None = None,
    ) -> Callable[[str | None], Path]:
        """Names one output of ``task`` once the answer's content type is known: in
        ``directory`` by prefix, time and task id, or after ``to`` (:func:`numbered`)."""

        def choose(content_type: str | None) -> Path:
            if to is not None:
                return with_extension(numbered(to, index), content_type, url)
            ext = extension_for(content_type, url)
            return directory / output_filename(prefix, task.id, ext, when=when, index=index)

        return choose


def _ignore(answer: Any) -> None:
    """The answer callback when nothing is recorded."""


def _single_path_param(op: Operation) -> str:
    names = [p.name for p in op.params("path")]
    if len(names) != 1:
        raise UsageError(f"{op.method} {op.path} takes {len(names)} path parameters, not 1")
    return names[0]


def _timeout_kwargs(timeout: float | None) -> dict[str, Any]:
    """``build_request`` arguments for a per-request timeout (none: the client's own)."""
    return {} if timeout is None else {"timeout": timeout}


def _safe_url(url: str) -> str:
    """The URL without its query (pre-signed URLs carry credentials there)."""
    return url.split("?", 1)[0]


def _model_body(model: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {MODEL_PROPERTY: model, **{k: v for k, v in fields.items() if v is not None}}


def _as_id(task: Task | str) -> str:
    return task.id if isinstance(task, Task) else str(task)


def _describe_file(path: Path) -> tuple[str, str]:
    return path.name, guess_mime(path) or "application/octet-stream"


class _UploadBody:
    """Builds the multipart upload request, streaming the file from disk in chunks.

    Each attempt opens a fresh handle (a resend must start from the first byte); every
    handle is closed when the upload is over, whatever happened.
    """

    def __init__(self, http: httpx.Client | httpx.AsyncClient, slot: UploadSlot, file: Path,
                 metadata: str | None = None):
        self._http = http
        self._slot = slot
        self._file = file
        #: The form's ``metadata`` field, sent as given beside the slot's own fields.
        self._fields = {**slot.fields, **({"metadata": metadata} if metadata is not None
                                          else {})}
        self._name, self._mime = _describe_file(file)
        self._handles: list[IO[bytes]] = []

    def build(self) -> httpx.Request:
        handle = self._file.open("rb")
        self._handles.append(handle)
        return self._http.build_request(
            "POST", self._slot.upload_url, headers=_PLAIN_HEADERS, data=dict(self._fields),
            files={"file": (self._name, handle, self._mime)},
        )

    def __enter__(self) -> _UploadBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._handles:
            handle.close()


# =========================================================================== sync


class Tasks:
    """``client.tasks``: get, cancel, delete and wait for tasks."""

    def __init__(self, client: RunwayClient) -> None:
        self._client = client

    def get(self, task: Task | str, *, extra_headers: Mapping[str, str] | None = None,
            timeout: float | None = None, max_retries: int | None = None) -> Task:
        core = self._client._core
        endpoint, params = core.task_request(_as_id(task), "GET")
        data = self._client.request(
            endpoint, method="GET", path_params=params, extra_headers=extra_headers,
            timeout=timeout, max_retries=max_retries,
        )
        core.observed(data)
        return Task.from_json(data or {})

    def cancel(self, task: Task | str) -> None:
        """Cancel a running task (Runway's ``DELETE /v1/tasks/{id}`` cancels or deletes)."""
        endpoint, params = self._client._core.task_request(_as_id(task), "DELETE")
        self._client.request(endpoint, method="DELETE", path_params=params)

    def delete(self, task: Task | str) -> None:
        """Delete a finished task (same call as :meth:`cancel`, named for the intent)."""
        self.cancel(task)

    def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_interrupt: bool = False,
        first_poll_after: float = 0.0,
    ) -> Task:
        """Poll until SUCCEEDED (returned) or FAILED/CANCELLED/timeout (raised).

        With ``cancel_on_interrupt`` a Ctrl-C cancels the task before re-raising;
        ``first_poll_after`` waits before the first look (a task created just now).
        """
        task_id = _as_id(task)
        core = self._client._core
        deadline = core.deadline(timeout)

        def fetch() -> Mapping[str, Any]:
            # one try per poll: the waiter backs off and retries until the deadline
            return self.get(task_id, timeout=core.poll_timeout(deadline), max_retries=0).raw

        try:
            data = poll_until_terminal(
                fetch,
                terminal=core.terminal_for(TASK_ENDPOINT),
                interval=core.poll_interval if poll_interval is None else poll_interval,
                timeout=timeout,
                on_progress=on_progress,
                clock=core._clock,
                sleep=self._client._sleep,
                resource_id=task_id,
                first_poll_after=first_poll_after,
            )
        except KeyboardInterrupt:
            if cancel_on_interrupt:
                _best_effort(lambda: self.cancel(task_id), task_id)
            raise
        return Task.from_json(data)


def _best_effort(call: Callable[[], Any], task_id: str) -> None:
    try:
        call()
    except APIError as exc:
        logger.warning("could not cancel task %s: %s", task_id, exc)


class RunwayClient:
    """A synchronous client for every operation of the spec.

    Args:
        api_key: the key; when omitted, found by :func:`runway_dynamic.auth.resolve_api_key`.
        base_url: default ``RUNWAY_BASE_URL``, else the spec's first ``servers`` URL.
        spec: a loaded :class:`~runway_dynamic.spec.Spec` (default: :func:`load_spec`).
        timeout: seconds per HTTP request.
        max_retries: resends after the first attempt (see :func:`_http.failure_action`).
        preflight: validate bodies against the spec before sending.
        poll_interval: seconds between task polls.
        retry_on_internal_error: resubmissions of a task that fails with ``INTERNAL.*``.
        retry_backoff_seconds: pause before such a resubmission.
        headers: extra headers for every request (e.g. sandbox fault injection).
        allow_insecure_http: allow a plain ``http://`` base URL to a host that is not loopback
            (refused by default: the key would travel in cleartext).
        sealed: a sandbox client: every request must go to loopback, and the key sent is a
            placeholder unless ``api_key`` is given (see :mod:`runway_dynamic.boundary`).
        history: record every task-creating request and what became of it in a local
            history (:mod:`runway_dynamic.history`): ``True`` for the user's history file,
            a path, or a :class:`~runway_dynamic.history.HistoryStore`. Off by default; a
            sealed client's entries are marked as sandbox rehearsals.
        allow_unknown_model: send a model id that is a near miss of a listed one
            (``veo3.1fast``) as written; by default pre-flight refuses it as a typo
            (:class:`PreflightError`, nothing sent), as the CLI does without
            ``--allow-unknown-model``. Ids far from every listed one pass either way.
        transport / http_client: for tests and custom networking; sleep, clock and rng too.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        spec: Spec | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        preflight: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        retry_on_internal_error: int = 0,
        retry_backoff_seconds: float = RESUBMIT_BACKOFF,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rng: RandomSource | None = None,
        allow_insecure_http: bool | None = None,
        sealed: bool = False,
        history: bool | str | os.PathLike[str] | HistoryStore | None = None,
        allow_unknown_model: bool = False,
    ) -> None:
        self._core = _ClientCore(
            api_key=api_key, base_url=base_url, spec=spec, timeout=timeout,
            max_retries=max_retries, preflight=preflight, poll_interval=poll_interval,
            retry_on_internal_error=retry_on_internal_error,
            retry_backoff_seconds=retry_backoff_seconds, headers=headers, rng=rng, clock=clock,
            allow_insecure_http=allow_insecure_http, sealed=sealed, history=history,
            allow_unknown_model=allow_unknown_model,
        )
        self._http = (
            http_client if http_client is not None
            else httpx.Client(timeout=timeout, transport=transport,
                              trust_env=self._core.trust_env,
                              event_hooks=guard_hooks(self._core.guard))
        )
        self._sleep: Callable[[float], None] = sleep if sleep is not None else time.sleep
        self.tasks = Tasks(self)

    # ---- plumbing

    @property
    def spec(self) -> Spec:
        return self._core.spec

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def __repr__(self) -> str:
        return repr(self._core)

    def close(self) -> None:
        self._http.close()
        self._core.close_history()

    def __enter__(self) -> RunwayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(
        self,
        prepared: PreparedRequest,
        *,
        build: Callable[[], httpx.Request] | None = None,
        stream: bool = False,
        creates: bool | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send with the retry policy; the only place the sync client touches the network."""
        core = self._core
        creates = prepared.creates if creates is None else creates
        attempt = 0
        while True:
            # httpx copies the headers into its own Headers: no copy of ours is needed
            request = build() if build else self._http.build_request(
                prepared.method, prepared.url, headers=prepared.headers, json=prepared.json,
                **_timeout_kwargs(timeout),
            )
            try:
                response = self._http.send(request, stream=stream, follow_redirects=stream)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("%s %s -> %d", prepared.method, _safe_url(prepared.url),
                                 response.status_code)
                if stream and response.status_code >= 400:
                    response.read()
                    response.close()
                delay = core.after_response(prepared, response, attempt, creates, max_retries)
            except httpx.TransportError as exc:
                delay = core.after_error(prepared, exc, attempt, creates, max_retries)
            else:
                if delay is None:
                    return response
            self._sleep(delay)
            attempt += 1

    # ---- the generic call

    def request(
        self,
        endpoint: str,
        *,
        method: str | None = None,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call any operation; the decoded JSON answer (``None`` for 204).

        ``max_retries`` overrides the client's retry budget for this call (0: the caller
        handles 429s and connection failures itself, as a batch does); ``timeout`` its
        per-request timeout (seconds).

        >>> client.request("avatars/{id}", path_params={"id": avatar_id})
        """
        core = self._core
        prepared = core.prepare(
            endpoint, method=method, path_params=path_params, query=query, body=body,
            extra_headers=extra_headers,
        )
        with core.recording(prepared) as answered:
            data = core.decode(self._send(prepared, max_retries=max_retries, timeout=timeout))
            answered(data)
        return data

    # ---- generation

    def create_task(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        method: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
    ) -> Task:
        """Submit a task-creating body as it is; the new :class:`Task` (status not yet known)."""
        data = self.request(endpoint, method=method or "POST", body=dict(body),
                            extra_headers=extra_headers, max_retries=max_retries)
        if not isinstance(data, Mapping) or "id" not in data:
            raise APIError(f"POST {endpoint} answered without a task id")
        return Task.from_json(data)

    def generate(
        self,
        endpoint: str,
        *,
        model: str,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Task:
        """Start a generation: ``fields`` are the body's spec names (``None`` ones are left out).

        >>> client.generate("text_to_video", model="gen4.5", promptText="a fox", ratio="1280:720",
        ...                 duration=5)
        """
        return self.create_task(endpoint, _model_body(model, fields), extra_headers=extra_headers)

    def run(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        on_submit: Callable[[Task], None] | None = None,
        cancel_on_interrupt: bool = False,
        retry_on_internal_error: int | None = None,
        retry_backoff_seconds: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Task:
        """Create, wait, and resubmit after ``INTERNAL.*`` failures; the SUCCEEDED task.

        Each resubmission is a new, billed task; ``on_submit`` sees every task created.
        """
        core = self._core
        core.check_can_wait()
        backoff = core.retry_backoff_seconds if retry_backoff_seconds is None else (
            retry_backoff_seconds
        )
        resubmitted = 0
        deadline = core.deadline(timeout)  # one deadline for every resubmission's wait
        while True:
            task = self.create_task(endpoint, body, extra_headers=extra_headers)
            if on_submit is not None:
                on_submit(task)
            try:
                return self.tasks.wait(
                    task, timeout=core.time_left(deadline), poll_interval=poll_interval,
                    on_progress=on_progress,
                    cancel_on_interrupt=cancel_on_interrupt,
                    # just created: not done yet, so the first poll waits one interval
                    first_poll_after=core.poll_interval if poll_interval is None
                    else poll_interval,
                )
            except TaskFailedError as exc:
                if not core.resubmit_decision(exc, resubmitted, retry_on_internal_error):
                    raise
                resubmitted += 1
                logger.warning("task %s failed (%s); resubmitting (%d) in %.1fs",
                               task.id, exc.failure_code, resubmitted, backoff)
                self._sleep(backoff)

    def wait_for(
        self,
        endpoint: str,
        resource_id: str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        terminal: frozenset[str] | None = None,
    ) -> Mapping[str, Any]:
        """Poll any resource (``avatars/{id}``, ``realtime_sessions/{id}``) until it settles.

        Terminal statuses come from the GET answer's schema (``READY``/``FAILED`` for avatars).
        """
        core = self._core
        op = core.operation_for(endpoint, "GET", False)
        params = {_single_path_param(op): resource_id}
        deadline = core.deadline(timeout)

        def fetch() -> Mapping[str, Any]:
            resource = self.request(op.endpoint, method="GET", path_params=params,
                                    max_retries=0, timeout=core.poll_timeout(deadline)) or {}
            core.observed(resource)
            return resource

        return poll_until_terminal(
            fetch,
            resource_id=resource_id,
            terminal=terminal or core.terminal_for(op.endpoint),
            interval=core.poll_interval if poll_interval is None else poll_interval,
            timeout=timeout,
            on_progress=on_progress,
            clock=core._clock,
            sleep=self._sleep,
            label=op.endpoint.split("/")[0].rstrip("s"),
        )

    # ---- files

    def upload(self, path: str | os.PathLike[str], *, metadata: str | None = None) -> str:
        """Upload a local file; its ``runway://`` URI for any media field.

        A file the spec's limits refuse (not image, video or audio; too large) is a
        :class:`UsageError` before anything is sent. ``metadata``: a text sent with the file
        as the upload form's ``metadata`` field (the official SDK's ``file_metadata``).
        """
        file = Path(path)
        self._core.check_upload(file)
        op = self._core.operation_for(UPLOADS_ENDPOINT, "POST", True)
        slot = parse_upload_slot(self.request(op.endpoint, method="POST",
                                              body=upload_body(op, file.name)))
        self._put_file(slot, file, metadata)
        note_origin(slot.runway_uri, file)
        return slot.runway_uri

    def _put_file(self, slot: UploadSlot, file: Path, metadata: str | None = None) -> None:
        prepared = PreparedRequest("POST", slot.upload_url, _PLAIN_HEADERS)
        with _UploadBody(self._http, slot, file, metadata) as body:
            self._send(prepared, build=body.build, creates=False)

    def download(
        self,
        task: Task | str,
        directory: str | os.PathLike[str] = ".",
        *,
        prefix: str = DEFAULT_PREFIX,
        when: datetime | None = None,
        to: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Save every output of a SUCCEEDED task; the paths written (never overwriting).

        Named in ``directory`` by prefix, time and task id; or, with ``to``, after that
        file name (``clip.mp4``; several outputs: ``clip-1.mp4``, ``clip-2.mp4``…; no
        suffix: the output's type gives one)."""
        found = task if isinstance(task, Task) and task.output else self.tasks.get(task)
        if not found.output:
            raise UsageError(f"task {found.id} has no outputs (status {found.status})")
        stamp = when or datetime.now(timezone.utc)
        target_dir = Path(directory)
        several = len(found.output) > 1
        paths = [
            self._save(url, self._core.output_chooser(
                found, url, target_dir, prefix, stamp, index if several else None,
                None if to is None else Path(to)))
            for index, url in enumerate(found.output, start=1)
        ]
        self._core.saved(paths, task_id=found.id)
        return paths

    def download_url(self, url: str, target: str | os.PathLike[str]) -> Path:
        """Stream one URL (no key is sent) to ``target``, atomically and never overwriting.

        A ``target`` without a suffix gets one from the answer's type or the URL. Returns
        where the file went: ``target``, or the next free ``<stem>.<n><ext>``.
        """
        path = Path(target)
        saved = self._save(url, lambda content_type: with_extension(path, content_type, url))
        self._core.saved([saved], url=url)
        return saved

    def _save(self, url: str, choose: Callable[[str | None], Path]) -> Path:
        prepared = PreparedRequest("GET", url, _PLAIN_HEADERS)
        response = self._send(prepared, stream=True, creates=False)
        try:
            target = choose(response.headers.get("content-type"))
            return write_stream(_checked(response.iter_bytes(), url), target)
        finally:
            response.close()


def _checked(chunks: Any, url: str) -> Any:
    """Re-raise a mid-stream network failure as :class:`APIConnectionError`."""
    try:
        yield from chunks
    except httpx.TransportError as exc:
        raise APIConnectionError(f"download of {_safe_url(url)} broke off: {exc}") from exc


# =========================================================================== async


class AsyncTasks:
    """``client.tasks`` of :class:`AsyncRunwayClient` (mirrors :class:`Tasks`)."""

    def __init__(self, client: AsyncRunwayClient) -> None:
        self._client = client

    async def get(
        self, task: Task | str, *, extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None, max_retries: int | None = None,
    ) -> Task:
        core = self._client._core
        endpoint, params = core.task_request(_as_id(task), "GET")
        data = await self._client.request(
            endpoint, method="GET", path_params=params, extra_headers=extra_headers,
            timeout=timeout, max_retries=max_retries,
        )
        core.observed(data)
        return Task.from_json(data or {})

    async def cancel(self, task: Task | str) -> None:
        endpoint, params = self._client._core.task_request(_as_id(task), "DELETE")
        await self._client.request(endpoint, method="DELETE", path_params=params)

    async def delete(self, task: Task | str) -> None:
        await self.cancel(task)

    async def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_interrupt: bool = False,
        first_poll_after: float = 0.0,
    ) -> Task:
        """Poll until SUCCEEDED (returned) or FAILED/CANCELLED/timeout (raised).

        With ``cancel_on_interrupt`` a cancelled wait (Ctrl-C, ``task.cancel()``) cancels the
        task too before re-raising.
        """
        import asyncio

        task_id = _as_id(task)
        core = self._client._core
        deadline = core.deadline(timeout)

        async def fetch() -> Mapping[str, Any]:
            # one try per poll: the waiter backs off and retries until the deadline
            return (await self.get(task_id, timeout=core.poll_timeout(deadline),
                                   max_retries=0)).raw

        try:
            data = await apoll_until_terminal(
                fetch,
                resource_id=task_id,
                terminal=core.terminal_for(TASK_ENDPOINT),
                interval=core.poll_interval if poll_interval is None else poll_interval,
                timeout=timeout,
                on_progress=on_progress,
                clock=core._clock,
                sleep=self._client._sleep,
                first_poll_after=first_poll_after,
            )
        except (KeyboardInterrupt, asyncio.CancelledError):
            if cancel_on_interrupt:
                try:
                    await self.cancel(task_id)
                except APIError as exc:
                    logger.warning("could not cancel task %s: %s", task_id, exc)
            raise
        return Task.from_json(data)


class AsyncRunwayClient:
    """The asynchronous twin of :class:`RunwayClient` (same arguments, awaitable methods).

    Requests on the wire at once are bounded, however many tasks are being followed; the
    rest wait their turn in the client, which keeps a thousand concurrent waits cheap (the
    connection pool's own bookkeeping grows with its connections and its queue).

    Args:
        max_concurrent_requests: that bound. By default, the number of connections the
            pool keeps alive: 20 with httpx's default pool (100 connections, 20 kept
            alive), ``max_connections`` when given, or the limits of ``http_client``'s
            pool. ``0`` turns the bound off (requests then queue inside httpx's pool).
        max_connections: the pool's size; all its connections are kept alive. Defaults to
            ``max_concurrent_requests`` when that is given, else to httpx's default pool.

    The other arguments are :class:`RunwayClient`'s.

    >>> async with AsyncRunwayClient() as client:       # at most 20 requests at once
    ...     tasks = await asyncio.gather(*(client.run("text_to_image", body)
    ...                                    for body in bodies))
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        spec: Spec | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        preflight: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        retry_on_internal_error: int = 0,
        retry_backoff_seconds: float = RESUBMIT_BACKOFF,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        rng: RandomSource | None = None,
        max_concurrent_requests: int | None = None,
        max_connections: int | None = None,
        allow_insecure_http: bool | None = None,
        sealed: bool = False,
        history: bool | str | os.PathLike[str] | HistoryStore | None = None,
        allow_unknown_model: bool = False,
    ) -> None:
        import asyncio

        self._core = _ClientCore(
            api_key=api_key, base_url=base_url, spec=spec, timeout=timeout,
            max_retries=max_retries, preflight=preflight, poll_interval=poll_interval,
            retry_on_internal_error=retry_on_internal_error,
            retry_backoff_seconds=retry_backoff_seconds, headers=headers, rng=rng, clock=clock,
            allow_insecure_http=allow_insecure_http, sealed=sealed, history=history,
            allow_unknown_model=allow_unknown_model,
        )
        size = max_connections or max_concurrent_requests
        # A pool sized by the caller keeps all its connections alive; otherwise httpx's own.
        limits = (httpx.Limits(max_connections=size, max_keepalive_connections=size) if size
                  else httpx.Limits(max_connections=DEFAULT_MAX_CONNECTIONS,
                                    max_keepalive_connections=DEFAULT_KEEPALIVE_CONNECTIONS))
        self._http = (
            http_client if http_client is not None
            else httpx.AsyncClient(timeout=timeout, transport=transport, limits=limits,
                                   trust_env=self._core.trust_env,
                                   event_hooks=guard_hooks(self._core.guard, asynchronous=True))
        )
        if http_client is None and transport is None:
            from runway_dynamic import _pool

            _pool.install(self._http._transport)  # O(C) bookkeeping instead of O(C²)
        self._sleep: Callable[[float], Awaitable[None]] = (
            sleep if sleep is not None else asyncio.sleep
        )
        if max_concurrent_requests is None:
            max_concurrent_requests = _wire_bound(
                limits if http_client is None else _pool_limits_of(http_client))
        #: The bound on requests on the wire at once (``None``: no bound, with ``0``).
        self.max_concurrent_requests: int | None = max_concurrent_requests or None
        self._gate = (asyncio.Semaphore(max_concurrent_requests)
                      if max_concurrent_requests else None)
        self.tasks = AsyncTasks(self)

    @property
    def spec(self) -> Spec:
        return self._core.spec

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def __repr__(self) -> str:
        return repr(self._core)

    async def close(self) -> None:
        await self._http.aclose()
        self._core.close_history()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncRunwayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _send(
        self,
        prepared: PreparedRequest,
        *,
        build: Callable[[], httpx.Request] | None = None,
        stream: bool = False,
        creates: bool | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        core = self._core
        creates = prepared.creates if creates is None else creates
        attempt = 0
        while True:
            # httpx copies the headers into its own Headers: no copy of ours is needed
            request = build() if build else self._http.build_request(
                prepared.method, prepared.url, headers=prepared.headers, json=prepared.json,
                **_timeout_kwargs(timeout),
            )
            try:
                if self._gate is None:
                    response = await self._http.send(request, stream=stream,
                                                     follow_redirects=stream)
                else:
                    async with self._gate:
                        response = await self._http.send(request, stream=stream,
                                                         follow_redirects=stream)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("%s %s -> %d", prepared.method, _safe_url(prepared.url),
                                 response.status_code)
                if stream and response.status_code >= 400:
                    await response.aread()
                    await response.aclose()
                delay = core.after_response(prepared, response, attempt, creates, max_retries)
            except httpx.TransportError as exc:
                delay = core.after_error(prepared, exc, attempt, creates, max_retries)
            else:
                if delay is None:
                    return response
            await self._sleep(delay)
            attempt += 1

    async def request(
        self,
        endpoint: str,
        *,
        method: str | None = None,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        core = self._core
        prepared = core.prepare(
            endpoint, method=method, path_params=path_params, query=query, body=body,
            extra_headers=extra_headers,
        )
        with core.recording(prepared) as answered:
            data = core.decode(
                await self._send(prepared, max_retries=max_retries, timeout=timeout))
            answered(data)
        return data

    async def create_task(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        method: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
    ) -> Task:
        data = await self.request(endpoint, method=method or "POST", body=dict(body),
                                  extra_headers=extra_headers, max_retries=max_retries)
        if not isinstance(data, Mapping) or "id" not in data:
            raise APIError(f"POST {endpoint} answered without a task id")
        return Task.from_json(data)

    async def generate(
        self,
        endpoint: str,
        *,
        model: str,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Task:
        return await self.create_task(
            endpoint, _model_body(model, fields), extra_headers=extra_headers
        )

    async def run(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        on_submit: Callable[[Task], None] | None = None,
        cancel_on_interrupt: bool = False,
        retry_on_internal_error: int | None = None,
        retry_backoff_seconds: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Task:
        core = self._core
        core.check_can_wait()
        backoff = core.retry_backoff_seconds if retry_backoff_seconds is None else (
            retry_backoff_seconds
        )
        resubmitted = 0
        deadline = core.deadline(timeout)  # one deadline for every resubmission's wait
        while True:
            task = await self.create_task(endpoint, body, extra_headers=extra_headers)
            if on_submit is not None:
                on_submit(task)
            try:
                return await self.tasks.wait(
                    task, timeout=core.time_left(deadline), poll_interval=poll_interval,
                    on_progress=on_progress,
                    cancel_on_interrupt=cancel_on_interrupt,
                    first_poll_after=core.poll_interval if poll_interval is None
                    else poll_interval,
                )
            except TaskFailedError as exc:
                if not core.resubmit_decision(exc, resubmitted, retry_on_internal_error):
                    raise
                resubmitted += 1
                logger.warning("task %s failed (%s); resubmitting (%d) in %.1fs",
                               task.id, exc.failure_code, resubmitted, backoff)
                await self._sleep(backoff)

    async def wait_for(
        self,
        endpoint: str,
        resource_id: str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        terminal: frozenset[str] | None = None,
    ) -> Mapping[str, Any]:
        core = self._core
        op = core.operation_for(endpoint, "GET", False)
        params = {_single_path_param(op): resource_id}
        deadline = core.deadline(timeout)

        async def fetch() -> Mapping[str, Any]:
            resource = await self.request(op.endpoint, method="GET", path_params=params,
                                          max_retries=0,
                                          timeout=core.poll_timeout(deadline)) or {}
            core.observed(resource)
            return resource

        return await apoll_until_terminal(
            fetch,
            resource_id=resource_id,
            terminal=terminal or core.terminal_for(op.endpoint),
            interval=core.poll_interval if poll_interval is None else poll_interval,
            timeout=timeout,
            on_progress=on_progress,
            clock=core._clock,
            sleep=self._sleep,
            label=op.endpoint.split("/")[0].rstrip("s"),
        )

    async def upload(self, path: str | os.PathLike[str], *, metadata: str | None = None) -> str:
        file = Path(path)
        self._core.check_upload(file)
        op = self._core.operation_for(UPLOADS_ENDPOINT, "POST", True)
        slot = parse_upload_slot(await self.request(op.endpoint, method="POST",
                                                    body=upload_body(op, file.name)))
        prepared = PreparedRequest("POST", slot.upload_url, _PLAIN_HEADERS)
        with _UploadBody(self._http, slot, file, metadata) as body:
            await self._send(prepared, build=body.build, creates=False)
        note_origin(slot.runway_uri, file)
        return slot.runway_uri

    async def download(
        self,
        task: Task | str,
        directory: str | os.PathLike[str] = ".",
        *,
        prefix: str = DEFAULT_PREFIX,
        when: datetime | None = None,
        to: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        found = task if isinstance(task, Task) and task.output else await self.tasks.get(task)
        if not found.output:
            raise UsageError(f"task {found.id} has no outputs (status {found.status})")
        stamp = when or datetime.now(timezone.utc)
        target_dir = Path(directory)
        several = len(found.output) > 1
        paths = [
            await self._save(url, self._core.output_chooser(
                found, url, target_dir, prefix, stamp, index if several else None,
                None if to is None else Path(to)))
            for index, url in enumerate(found.output, start=1)
        ]
        self._core.saved(paths, task_id=found.id)
        return paths

    async def download_url(self, url: str, target: str | os.PathLike[str], *,
                           place: Placer | None = None) -> Path:
        """The async twin of :meth:`RunwayClient.download_url`; ``place`` makes the finished
        file durable and names it (default: a thread of its own; see ``awrite_stream``)."""
        path = Path(target)
        saved = await self._save(url,
                                 lambda content_type: with_extension(path, content_type, url),
                                 place)
        self._core.saved([saved], url=url)
        return saved

    async def _save(self, url: str, choose: Callable[[str | None], Path],
                    place: Placer | None = None) -> Path:
        prepared = PreparedRequest("GET", url, _PLAIN_HEADERS)
        response = await self._send(prepared, stream=True, creates=False)
        try:
            target = choose(response.headers.get("content-type"))
            return await awrite_stream(_achecked(response.aiter_bytes(), url), target,
                                       place=place)
        finally:
            await response.aclose()


def _wire_bound(limits: httpx.Limits) -> int:
    """The default bound on requests on the wire: as many as the pool keeps connections alive.

    httpcore's pool rescans every connection and every waiting request on each event (and
    polls each idle socket): with one connection per task in flight, 64 tasks cost 2.4x
    and 256 tasks 5.5x the CPU per request of a client bounded to 20, and requests queued
    inside the pool cost more still (benchmarks/bench_sandbox.py --in-flight). Past the
    keep-alive count, the pool also closes connections as soon as they fall idle and opens
    new ones (a TLS handshake each, against the real API). So the gate lets through no more
    requests than the pool keeps warm; the rest wait in the gate, where a wait is O(1).
    """
    bounds = [n for n in (limits.max_connections, limits.max_keepalive_connections)
              if n is not None and n > 0]
    return min(bounds) if bounds else DEFAULT_KEEPALIVE_CONNECTIONS


def _pool_limits_of(http_client: httpx.AsyncClient) -> httpx.Limits:
    """The limits of a caller's client when its transport is httpx's own (they live on its
    httpcore pool, which stores "no limit" as ``sys.maxsize``); httpx's defaults otherwise."""
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)

    def limit(name: str, default: int) -> int:
        value = getattr(pool, name, None)
        return value if isinstance(value, int) and 0 < value < sys.maxsize else default

    return httpx.Limits(
        max_connections=limit("_max_connections", DEFAULT_MAX_CONNECTIONS),
        max_keepalive_connections=limit("_max_keepalive_connections",
                                        DEFAULT_KEEPALIVE_CONNECTIONS))


async def _achecked(chunks: Any, url: str) -> Any:
    try:
        async for chunk in chunks:
            yield chunk
    except httpx.TransportError as exc:
        raise APIConnectionError(f"download of {_safe_url(url)} broke off: {exc}") from exc
