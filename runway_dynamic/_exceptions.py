"""The one exception tree of runway-dynamic.

::

    RunwayError                      exit 1
    ├── SpecError                    a spec could not be found, read, parsed or resolved
    │   └── SpecLimitError           a spec breaks a bound on untrusted input (size, depth…)
    ├── CacheError                   the on-disk index could not be written (reported, never fatal)
    ├── FileWriteError               a file (config, credentials, plan, results) was not written
    ├── UsageError                   bad arguments from the caller                 exit 2
    │   ├── PreflightError           a request body failed pre-flight checks       exit 2
    │   │   └── PreflightBadRequestError   the same on the official SDK's surface, also a
    │   │                            BadRequestError (what the API would have answered)
    │   ├── LocalPathError           a local path the command needs is unusable    exit 2
    │   └── SandboxBoundaryError     a sealed (--sandbox) run asked to reach out   exit 2
    ├── ConfigError                  missing key, unreadable config or credentials
    ├── JournalError                 a batch journal is damaged, locked, in use or not ours
    ├── HistoryError                 the history file is damaged, locked, foreign or unreadable
    ├── APIError                     talking to the API went wrong
    │   ├── APIConnectionError       no response (refused, reset, DNS)
    │   │   └── APITimeoutError
    │   ├── RequestMayHaveSucceededError   a non-idempotent POST lost its response
    │   │   (on the official SDK's surface also an APIConnectionError or InternalServerError:
    │   │    LostResponseError, ServerErrorAfterSendError)
    │   └── APIStatusError           the API answered 4xx/5xx (one class per status)
    │       ├── BadRequestError (400), AuthenticationError (401), PermissionDeniedError (403),
    │       ├── NotFoundError (404), ConflictError (409), UnprocessableEntityError (422),
    │       └── RateLimitError (429), InternalServerError (5xx)
    └── TaskError                    a task reached a bad end
        ├── TaskFailedError          FAILED (failure, failureCode)                 exit 3
        ├── TaskCancelledError       CANCELLED                                     exit 3
        └── TaskTimeoutError         still running when the wait gave up           exit 4
    (WorkflowInvocationFailedError and WorkflowInvocationTimeoutError, the official SDK's
    names for a workflow invocation's wait, subclass TaskFailedError and TaskTimeoutError;
    APIResponseValidationError, its name for an answer off the schema, is an APIError.)

Every exception carries data (``to_dict()`` for ``--json``) and a message for people.
``RunwayMLError`` is another name for ``RunwayError``: the official SDK's root.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runway_dynamic._constants import EXIT_ERROR, EXIT_TASK_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from runway_dynamic._problems import Problem


class RunwayError(Exception):
    """Root of every error raised by runway-dynamic."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``--json`` output."""
        return {"error": type(self).__name__, "message": self.message}


class SpecError(RunwayError):
    """A spec source is missing, unreadable, not OpenAPI, or has a broken ``$ref``."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        self.reason = message

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "source": self.source}


class SpecLimitError(SpecError):
    """A spec goes beyond one of the bounds on untrusted input (see ``runway_dynamic._limits``).

    ``limit`` names the bound (``spec-max-bytes``, ``yaml-aliases``, ``schema-depth``,
    ``index-max-bytes``…) and ``maximum`` its value, so a script can tell which one it met.
    """

    def __init__(self, message: str, *, limit: str, maximum: int,
                 source: str | None = None) -> None:
        super().__init__(f"{message} (limit {limit} = {maximum:,})", source=source)
        self.limit = limit
        self.maximum = maximum

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "limit": self.limit, "maximum": self.maximum}


class CacheError(RunwayError):
    """The derived index could not be stored; callers warn and go on."""


class FileWriteError(RunwayError):
    """A file could not be written (atomically, by :mod:`runway_dynamic._files`)."""

    def __init__(self, path: str | os.PathLike[str], reason: str | None) -> None:
        self.path = os.fspath(path)
        self.reason = reason or "unknown error"
        super().__init__(f"{self.path}: cannot write ({self.reason})")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "path": self.path, "reason": self.reason}


class ConfigError(RunwayError):
    """Configuration or credentials are missing or unreadable."""


class _StoreError(RunwayError):
    """A local store (a batch journal, the history) that cannot be used: where, and why."""

    def __init__(self, message: str, *, path: str, reason: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "path": self.path, "reason": self.reason}


class JournalError(_StoreError):
    """A batch journal cannot be used as it is; it is never reset or rewritten to fix that.

    ``reason`` is one of ``exists``, ``missing``, ``not_a_journal``, ``version``,
    ``damaged``, ``locked`` (another program holds SQLite's lock), ``in_use`` (another
    ``runway batch`` runs it), ``unreachable`` (a shared journal's server cannot be
    reached) or ``claim_lost`` (a shared journal's job went to another worker after this
    one's lease lapsed; nothing was sent for it here).
    """


class HistoryError(_StoreError):
    """The history file (``runway history``) cannot be used as it is; it is never reset.

    ``reason`` is one of ``not_history``, ``version``, ``damaged``, ``locked``,
    ``unreadable`` or ``unusable``. Recording into the history never fails a request: the
    client warns once and goes on without it.
    """


class UsageError(RunwayError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class PreflightError(UsageError):
    """A request failed pre-flight validation; nothing was sent.

    ``problems`` holds every problem found, warnings too; the message lists the errors.
    ``describe`` is how the caller's interface presents one problem (the CLI names each
    field's flag); by default :meth:`Problem.to_dict`, which names fields by spec name.
    """

    def __init__(self, endpoint: str, problems: Sequence[Problem], *,
                 describe: Callable[[Problem], dict[str, Any]] | None = None) -> None:
        self.endpoint = endpoint
        self.problems = list(problems)
        self.describe = describe or Problem.to_dict
        lines = [f"pre-flight check failed for {endpoint}:"]
        lines += [f"  - {self.describe(p)['message']}" for p in self.errors]
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "endpoint": self.endpoint,
            "problems": [self.describe(p) for p in self.problems],
        }


class LocalPathError(UsageError):
    """A local file or directory a command needs cannot be used (checked before sending)."""

    def __init__(self, what: str, path: str | os.PathLike[str], reason: str) -> None:
        self.what = what
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{what} {self.path}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "what": self.what, "path": self.path,
                "reason": self.reason}


class ShapeError(UsageError):
    """The parts given for a nested field fit none, or several, of its shapes (the
    alternatives of a ``oneOf`` told apart by a constant); nothing was sent.

    ``path`` is the field (``("voice",)``); ``reason`` is ``ambiguous`` or ``no_shape``;
    ``shapes`` holds each candidate's name and the paths that only it takes; ``tag`` is the
    path of the constant that tells them apart (give it to choose). :meth:`render` names
    paths as the caller's interface does (the CLI: by flag), like a pre-flight problem.
    """

    def __init__(self, path: Sequence[str | int], reason: str,
                 shapes: Sequence[tuple[str, Sequence[Sequence[str | int]]]], *,
                 tag: Sequence[str | int] | None = None,
                 given: Sequence[Sequence[str | int]] = (), value: str | None = None) -> None:
        self.path = tuple(path)
        self.reason = reason
        self.shapes = tuple((name, tuple(tuple(p) for p in paths)) for name, paths in shapes)
        self.tag = tuple(tag) if tag is not None else None
        self.given = tuple(tuple(p) for p in given)
        self.value = value
        super().__init__(self.render())

    def render(self, name: Callable[[tuple[str | int, ...]], str | None] | None = None) -> str:
        """The message, each path named by ``name`` (default: its spec path)."""
        from runway_dynamic._problems import render_path

        def call(path: tuple[str | int, ...]) -> str:
            return (name(path) if name is not None else None) or render_path(path)

        shapes = "; ".join(f"{label}: {' '.join(call(p) for p in paths) or '(nothing else)'}"
                           for label, paths in self.shapes)
        what = call(self.path)
        pick = (f"; choose with {call(self.tag)} "
                f"{'|'.join(label for label, _ in self.shapes)}" if self.tag else "")
        if self.value is not None:
            if self.reason == "ambiguous":
                return f"{what} {self.value!r} fits several shapes ({shapes}){pick}"
            return f"{what} {self.value!r} fits none of its shapes ({shapes})"
        given = " and ".join(call(p) for p in self.given) or "the values given"
        if self.reason == "ambiguous":
            return f"{what}: {given} fit several shapes ({shapes}){pick}"
        return f"{given} do not fit one shape of {what}; its shapes: {shapes}"

    def to_dict(self) -> dict[str, Any]:
        from runway_dynamic._problems import render_path

        return {**super().to_dict(), "field": render_path(self.path), "reason": self.reason,
                "shapes": [name for name, _ in self.shapes]}


class SandboxBoundaryError(UsageError):
    """A sealed run (``--sandbox``) was asked to reach a host that is not loopback."""

    def __init__(self, purpose: str, target: str) -> None:
        self.purpose = purpose
        self.target = target
        super().__init__(
            f"{purpose}: refusing to reach {target} under --sandbox (nothing may leave this "
            "machine); use a loopback URL, or run without --sandbox"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "purpose": self.purpose, "target": self.target}


#: The official SDK's name for the root (``except runwayml.RunwayMLError`` keeps working).
RunwayMLError = RunwayError


class APIError(RunwayError):
    """Something went wrong talking to the API."""


class APIConnectionError(APIError):
    """No response arrived (refused, reset, DNS failure)."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class RequestMayHaveSucceededError(APIError):
    """A task-creating POST lost its response: a task may exist and may be billed.

    Runway has no idempotency key, so the request is not resent.
    """

    def __init__(self, method: str, url: str, cause: str, *,
                 status_code: int | None = None) -> None:
        self.method = method
        self.url = url
        self.cause = cause
        #: The 5xx status that answered it; ``None`` when the connection was lost.
        self.status_code = status_code
        RunwayError.__init__(
            self,
            f"{method} {url} lost its response ({cause}); the request may have reached "
            "Runway and created a billed task, so it was not resent. Check your recent "
            "tasks in the Runway dashboard before trying again."
        )


class APIResponseValidationError(APIError):
    """An answer that does not match the spec's schema: the official SDK's name, for code that
    catches it. This library reads answers leniently and does not raise it today."""


class APIStatusError(APIError):
    """The API answered with an error status."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.method = method
        self.url = url

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "status": self.status_code,
            "body": self.body,
            "requestId": self.request_id,
        }


class BadRequestError(APIStatusError):
    """400. Exit 1, not 2: the request was sent (exit 2 promises that nothing was)."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422 (exit 1: the request was sent)."""


class PreflightBadRequestError(PreflightError, BadRequestError):
    """Pre-flight failed on the official SDK's surface (``runway_dynamic.RunwayML``).

    Nothing was sent. Code written for the official SDK, which sends bad requests and gets
    the API's 400, catches it as :class:`BadRequestError` (``status_code`` 400); it is a
    :class:`PreflightError` too. ``messages`` name every problem by its Python argument.
    """

    exit_code = EXIT_USAGE

    def __init__(self, endpoint: str, problems: Sequence[Problem],
                 messages: Sequence[str]) -> None:
        self.endpoint = endpoint
        self.problems = list(problems)
        self.messages = list(messages)
        text = "\n".join([f"pre-flight check failed for {endpoint} (nothing was sent):",
                          *(f"  - {m}" for m in self.messages)])
        RunwayError.__init__(self, text)
        self.status_code = 400
        self.body = {"error": "pre-flight check failed", "issues": list(self.messages)}
        self.request_id = None
        self.method = None
        self.url = None

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "status": 400,
                "endpoint": self.endpoint, "issues": list(self.messages),
                "problems": [p.to_dict() for p in self.problems]}


class RateLimitError(APIStatusError):
    """429: concurrency, daily or spend limits of the organization."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx."""


class LostResponseError(RequestMayHaveSucceededError, APIConnectionError):
    """:class:`RequestMayHaveSucceededError` after a lost connection, as the official SDK's
    surface raises it: also the :class:`APIConnectionError` its callers catch."""


# Both bases carry method/url/status_code, typed a little differently (str vs str | None).
class ServerErrorAfterSendError(RequestMayHaveSucceededError, InternalServerError):  # type: ignore[misc]
    """:class:`RequestMayHaveSucceededError` after a 5xx, as the official SDK's surface
    raises it: also the :class:`InternalServerError` its callers catch."""

    def __init__(self, method: str, url: str, cause: str, *, status_code: int | None = None,
                 body: Any = None) -> None:
        RequestMayHaveSucceededError.__init__(self, method, url, cause,
                                              status_code=status_code)
        self.status_code = status_code or 500
        self.body = body
        self.request_id = None


def as_official(error: RequestMayHaveSucceededError) -> RequestMayHaveSucceededError:
    """The same error, also of the class code written for the official SDK catches (it
    resends such a request and raises that class once its retries are spent). Only
    ``runway_dynamic.RunwayML`` raises these: our own callers read a plain
    :class:`APIConnectionError` as "not sent"."""
    cls = LostResponseError if error.status_code is None else ServerErrorAfterSendError
    return cls(error.method, error.url, error.cause, status_code=error.status_code)


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP status — the one place this is decided."""
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIStatusError


class TaskError(RunwayError):
    """A task did not succeed."""

    exit_code = EXIT_TASK_FAILED
    #: The task as the official SDK's surface shows it (attribute access: ``.status``,
    #: ``.failure_code``); set by ``runway_dynamic.RunwayML``'s waiters.
    task_details: Any = None

    def __init__(
        self, message: str, *, task_id: str, task: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.task = dict(task or {})

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "taskId": self.task_id, "task": self.task}


class TaskFailedError(TaskError):
    """The task ended FAILED."""

    def __init__(
        self,
        *,
        task_id: str,
        failure: str | None,
        failure_code: str | None,
        task: Mapping[str, Any] | None = None,
    ) -> None:
        self.failure = failure
        self.failure_code = failure_code
        code = f" [{failure_code}]" if failure_code else ""
        super().__init__(
            f"task {task_id} failed{code}: {failure or 'no reason given'}",
            task_id=task_id,
            task=task,
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "failure": self.failure, "failureCode": self.failure_code}


class TaskCancelledError(TaskError):
    """The task ended CANCELLED."""


class TaskTimeoutError(TaskError):
    """The task was still running when the wait timed out."""

    exit_code = EXIT_TIMEOUT


class WorkflowInvocationFailedError(TaskFailedError):
    """A workflow invocation ended FAILED or CANCELLED (the official SDK's name for it)."""

    @property
    def invocation_details(self) -> Any:
        """The invocation, as the official SDK's surface shows it."""
        return self.task_details


class WorkflowInvocationTimeoutError(TaskTimeoutError):
    """A workflow invocation was still running when the wait timed out."""

    @property
    def invocation_details(self) -> Any:
        return self.task_details
