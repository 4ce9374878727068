"""runway-dynamic: a client, CLI and sandbox for the Runway API, driven by its OpenAPI spec.

>>> import runway_dynamic as rd
>>> spec = rd.load_spec()
>>> spec.models("text_to_video")

Public names load lazily (PEP 562) so that ``import runway_dynamic`` stays cheap on the CLI
start-up path: nothing here imports httpx, jsonschema or openapi-core until it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CacheError,
    ConfigError,
    ConflictError,
    FileWriteError,
    HistoryError,
    InternalServerError,
    JournalError,
    NotFoundError,
    PermissionDeniedError,
    PreflightBadRequestError,
    PreflightError,
    RateLimitError,
    RequestMayHaveSucceededError,
    RunwayError,
    RunwayMLError,
    SandboxBoundaryError,
    SpecError,
    SpecLimitError,
    TaskCancelledError,
    TaskError,
    TaskFailedError,
    TaskTimeoutError,
    UnprocessableEntityError,
    UsageError,
    WorkflowInvocationFailedError,
    WorkflowInvocationTimeoutError,
)
from runway_dynamic._version import __version__

if TYPE_CHECKING:
    from runway_dynamic.catalog import Catalog, Field, Operation, Variant
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.sandbox import Sandbox
    from runway_dynamic.sdk import AsyncRunwayML, RunwayML
    from runway_dynamic.spec import Spec, load_spec
    from runway_dynamic.tasks import Task
    from runway_dynamic.validation import Problem

_LAZY = {
    "AsyncRunwayClient": "runway_dynamic.client",
    "AsyncRunwayML": "runway_dynamic.sdk",
    "Catalog": "runway_dynamic.catalog",
    "Field": "runway_dynamic.catalog",
    "HistoryStore": "runway_dynamic.history",
    "Operation": "runway_dynamic.catalog",
    "Problem": "runway_dynamic.validation",
    "RunwayClient": "runway_dynamic.client",
    "RunwayML": "runway_dynamic.sdk",
    "Sandbox": "runway_dynamic.sandbox",
    "Spec": "runway_dynamic.spec",
    "Task": "runway_dynamic.tasks",
    "Variant": "runway_dynamic.catalog",
    "load_spec": "runway_dynamic.spec",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncRunwayClient",
    "AsyncRunwayML",
    "AuthenticationError",
    "BadRequestError",
    "CacheError",
    "Catalog",
    "ConfigError",
    "ConflictError",
    "Field",
    "FileWriteError",
    "HistoryError",
    "HistoryStore",
    "InternalServerError",
    "JournalError",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "PreflightBadRequestError",
    "PreflightError",
    "Problem",
    "RateLimitError",
    "RequestMayHaveSucceededError",
    "RunwayClient",
    "RunwayError",
    "RunwayML",
    "RunwayMLError",
    "Sandbox",
    "SandboxBoundaryError",
    "Spec",
    "SpecError",
    "SpecLimitError",
    "Task",
    "TaskCancelledError",
    "TaskError",
    "TaskFailedError",
    "TaskTimeoutError",
    "UnprocessableEntityError",
    "UsageError",
    "Variant",
    "WorkflowInvocationFailedError",
    "WorkflowInvocationTimeoutError",
    "__version__",
    "load_spec",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runway_dynamic' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
